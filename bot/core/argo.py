"""Argo Rollouts manifests read back from a model's folder: the Rollout, the analysis
templates it references, their metrics, and their conditions. Pure.

What the cluster will run is what the folder holds, whoever wrote it (the bot or a person),
so the PR's rollout plan (`bot.core.plan.plan_from_manifests`) and `model-bot analyze`
(`bot.core.analysis.template_specs`) both read it from here.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.errors import InvalidInput
from bot.core.expressions import Comparison, ExpressionError, parse_condition
from bot.core.yamledit import load_all

_YAML_SUFFIXES = (".yaml", ".yml")
_KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
TEMPLATE_KINDS = ("AnalysisTemplate", "ClusterAnalysisTemplate")
_ARG = re.compile(r"\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}")


@dataclass(frozen=True)
class TemplateRef:
    """One `templateName` (or `clusterScope: true` name) a Rollout references, and where."""

    name: str
    cluster: bool
    where: str  # "step 3", "background analysis", "prePromotionAnalysis", ...
    args: tuple[tuple[str, str | None], ...] = ()  # name, value (None: a valueFrom)


@dataclass(frozen=True)
class TemplateMetric:
    """One metric of an analysis template, as written (Argo's defaults not applied)."""

    template: str
    name: str
    provider: str  # "prometheus", "web", "job", ... ("" when none)
    query: str | None
    success: str | None
    failure: str | None
    interval: str | None
    count: int | None
    failure_limit: int | None
    initial_delay: str | None
    problem: str | None = None  # why the bot cannot evaluate it as written


@dataclass(frozen=True)
class FolderManifests:
    """The folder's Rollout (its path and document) and its analysis templates by name."""

    rollout_path: str | None
    rollout: Mapping[str, Any] | None
    templates: Mapping[str, tuple[str, Mapping[str, Any]]]  # name -> (path, document)

    def refs(self) -> tuple[TemplateRef, ...]:
        return template_refs(self.rollout) if self.rollout is not None else ()

    def found(self, ref: TemplateRef) -> tuple[str, Mapping[str, Any]] | None:
        hit = self.templates.get(ref.name)
        if hit is None:
            return None
        kind = hit[1].get("kind")
        return hit if (kind == "ClusterAnalysisTemplate") == ref.cluster else None


def _documents(files: Mapping[str, bytes]) -> list[tuple[str, Mapping[str, Any]]]:
    docs = []
    for path in sorted(files):
        if not path.endswith(_YAML_SUFFIXES) or posixpath.basename(path) in _KUSTOMIZATION_NAMES:
            continue
        try:
            loaded = load_all(files[path], path)
        except InvalidInput:
            continue  # not a manifest the bot can read; validation reports it elsewhere
        docs += [(path, doc) for doc in loaded if isinstance(doc, Mapping)]
    return docs


def folder_manifests(files: Mapping[str, bytes]) -> FolderManifests:
    """The Rollout of the folder's files (the first, by path) and every analysis template."""
    rollout_path: str | None = None
    rollout: Mapping[str, Any] | None = None
    templates: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for path, doc in _documents(files):
        kind = doc.get("kind")
        if kind == "Rollout" and rollout is None:
            rollout_path, rollout = path, doc
        elif kind in TEMPLATE_KINDS:
            metadata = doc.get("metadata")
            name = metadata.get("name") if isinstance(metadata, Mapping) else None
            if isinstance(name, str):
                templates.setdefault(name, (path, doc))
    return FolderManifests(rollout_path, rollout, templates)


def _map(node: object, *keys: str) -> Mapping[str, Any]:
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def _list(node: object) -> list[Any]:
    return node if isinstance(node, list) else []


def _args(node: object) -> tuple[tuple[str, str | None], ...]:
    found = []
    for arg in _list(node):
        if isinstance(arg, Mapping) and isinstance(arg.get("name"), str):
            value = arg.get("value")
            found.append((arg["name"], None if value is None else str(value)))
    return tuple(found)


def _refs_of(analysis: Mapping[str, Any], where: str) -> list[TemplateRef]:
    refs = []
    for template in _list(analysis.get("templates")):
        if isinstance(template, Mapping) and isinstance(template.get("templateName"), str):
            refs.append(
                TemplateRef(
                    template["templateName"],
                    template.get("clusterScope") is True,
                    where,
                    _args(analysis.get("args")),
                )
            )
    return refs


def template_refs(rollout: Mapping[str, Any]) -> tuple[TemplateRef, ...]:
    """Every analysis template the Rollout's strategy references, in the order written."""
    strategy = _map(rollout, "spec", "strategy")
    refs: list[TemplateRef] = []
    canary = _map(strategy, "canary")
    refs += _refs_of(_map(canary, "analysis"), "background analysis")
    for index, step in enumerate(_list(canary.get("steps")), start=1):
        refs += _refs_of(_map(step, "analysis"), f"step {index}")
    blue_green = _map(strategy, "blueGreen")
    refs += _refs_of(_map(blue_green, "prePromotionAnalysis"), "prePromotionAnalysis")
    refs += _refs_of(_map(blue_green, "postPromotionAnalysis"), "postPromotionAnalysis")
    return tuple(refs)


def _text(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    return str(value)


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,9}", value.strip()):
        return int(value)
    return None


def template_metrics(
    name: str, template: Mapping[str, Any], ref_args: Sequence[tuple[str, str | None]] = ()
) -> tuple[TemplateMetric, ...]:
    """The metrics of one template, `{{args.NAME}}` in a query filled from the template's
    own `args` defaults and the Rollout's `args` (a `valueFrom` the bot cannot read)."""
    values: dict[str, str | None] = dict(_args(_map(template, "spec").get("args")))
    values.update(ref_args)
    metrics = []
    for metric in _list(_map(template, "spec").get("metrics")):
        if not isinstance(metric, Mapping):
            continue
        provider = _map(metric, "provider")
        kinds = [str(k) for k in provider]
        kind = kinds[0] if kinds else ""
        query = _text(_map(provider, "prometheus").get("query")) if kind == "prometheus" else None
        problem = None
        if kind != "prometheus":
            problem = f"a {kind or 'provider-less'} metric: the bot judges Prometheus metrics only"
        elif query is not None:
            missing = sorted({m for m in _ARG.findall(query) if values.get(m) is None})
            if missing:
                problem = (
                    f"the query uses {', '.join('{{args.' + m + '}}' for m in missing)}, "
                    "which has no value the bot can read (a valueFrom or no value)"
                )
            else:
                query = _ARG.sub(lambda m: str(values[m.group(1)]), query)
        count = metric.get("count")
        failure_limit = metric.get("failureLimit")
        metrics.append(
            TemplateMetric(
                template=name,
                name=str(metric.get("name") or "?"),
                provider=kind,
                query=query,
                success=_text(metric.get("successCondition")),
                failure=_text(metric.get("failureCondition")),
                interval=_text(metric.get("interval")),
                count=_int(count),
                failure_limit=_int(failure_limit),
                initial_delay=_text(metric.get("initialDelay")),
                problem=problem
                or (
                    f"count {count!r} is not a number"
                    if count is not None and _int(count) is None
                    else None
                ),
            )
        )
    return tuple(metrics)


def referenced_metrics(manifests: FolderManifests) -> tuple[TemplateMetric, ...]:
    """The metrics of every template the Rollout references that the folder holds, once
    each (a template referenced by several steps counts once)."""
    seen: set[tuple[str, str]] = set()
    metrics = []
    for ref in manifests.refs():
        hit = manifests.found(ref)
        if hit is None:
            continue
        for metric in template_metrics(ref.name, hit[1], ref.args):
            if (metric.template, metric.name) not in seen:
                seen.add((metric.template, metric.name))
                metrics.append(metric)
    return tuple(metrics)


# --- Argo's condition expressions ------------------------------------------------------------

_WRAPPED = re.compile(r"\b(?:asFloat|float)\(\s*(result(?:\[\s*\d{1,3}\s*\])?)\s*\)")
_FLIPPED = re.compile(r"^\s*([-+0-9.eE]+)\s*(>=|<=|==|!=|>|<)\s*(result(?:\[\d{1,3}\])?)\s*$")
_FLIP = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "==": "==", "!=": "!="}


def _strip_parens(text: str) -> str:
    text = text.strip()
    while text.startswith("(") and text.endswith(")"):
        depth = 0
        for index, char in enumerate(text):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0 and index < len(text) - 1:
                return text  # `(a) && (b)`: the parentheses do not enclose it all
        text = text[1:-1].strip()
    return text


def parse_argo_condition(text: str) -> tuple[Comparison, ...]:
    """An Argo Rollouts `successCondition`/`failureCondition` the bot can judge: comparisons
    of `result` or `result[N]` with a number, joined by `&&` / `and`, as the bot renders
    them and as people commonly write them (`asFloat(result[0]) < 0.01`, `0.95 <= result[0]`,
    parentheses). Anything else (`||`, `len(...)`, `all(...)`, `isNaN(...)`) raises
    `ExpressionError` saying so: the caller treats the metric as not judgeable."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("empty condition")
    if "||" in text or re.search(r"\bor\b", text) or re.search(r"(^|[^=!<>])!(?!=)", text):
        raise ExpressionError(
            f"{text.strip()!r}: the bot judges comparisons joined by && only (no || or !)"
        )
    normal = _WRAPPED.sub(lambda m: re.sub(r"\s+", "", m.group(1)), text)
    parts = [_strip_parens(p) for p in re.split(r"\s*(?:&&|\band\b)\s*", _strip_parens(normal))]
    fixed = []
    for part in parts:
        flipped = _FLIPPED.match(part)
        if flipped:
            number, op, operand = flipped.groups()
            part = f"{operand} {_FLIP[op]} {number}"
        fixed.append(part)
    try:
        return parse_condition(" && ".join(fixed))
    except ExpressionError as error:
        raise ExpressionError(f"{text.strip()!r}: {error}") from None


__all__ = [
    "TEMPLATE_KINDS",
    "FolderManifests",
    "TemplateMetric",
    "TemplateRef",
    "folder_manifests",
    "parse_argo_condition",
    "referenced_metrics",
    "template_metrics",
    "template_refs",
]
