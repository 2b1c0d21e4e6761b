"""The promotion proposal as text: PR title and body. Pure.

The PR body *is* the evaluation report (decision, gates, significance, lineage) plus the
rollout plan and how to roll back; the same report is committed beside the change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.core.evidence import Evidence
from bot.core.expressions import format_condition
from bot.core.gate import Decision
from bot.core.marker import ProposalMeta
from bot.core.plan import MetricPlan, RolloutPlan, pod_splits
from bot.core.routing import PROVIDER_NAMES
from bot.core.traffic import percent
from bot.text.markdown import code, escape
from bot.text.report import (
    decision_section,
    lineage_section,
    params_section,
    significance_section,
    title_section,
)

GITHUB_BODY_LIMIT = 65_536


def promotion_title(model: str, version: str, environment: str) -> str:
    return f"Promote {model} {version} to {environment}"


def _names(names: Sequence[str]) -> str:
    return ", ".join(code(n, in_table=False) for n in names)


def _strategy_lines(plan: RolloutPlan) -> list[str]:
    if plan.source is None:  # the policy's plan
        if plan.strategy == "canary":
            steps = []
            for step in plan.steps:
                text = f"{step.weight}%"
                if step.pause is not None:
                    text += f", pause {step.pause}"
                if step.analysis:
                    text += ", analysis"
                steps.append(text)
            return ["Canary (Argo Rollouts): " + " → ".join(steps) + ".", *traffic_lines(plan)]
        promotion = "automatic" if plan.auto_promotion else "manual"
        return [
            f"Blue-green (Argo Rollouts): preview first, pre-promotion analysis, then {promotion} promotion."
        ]
    lines = [f"As the Rollout {code(plan.source, in_table=False)} in this change says:", ""]
    if plan.strategy == "canary":
        stages = " → ".join(escape(s) for s in plan.stages) if plan.stages else "no steps"
        lines.append(f"Canary (Argo Rollouts): {stages}.")
        if plan.background:
            lines.append(f"Background analysis throughout: {_names(plan.background)}.")
        lines += traffic_lines(plan)
    elif plan.strategy == "blueGreen":
        promotion = "automatic" if plan.auto_promotion else "manual"
        services = (
            f"active service {code(plan.active_service or '?', in_table=False)}, preview "
            f"service {code(plan.preview_service, in_table=False) if plan.preview_service else 'none'}"
        )
        pre = (
            f"pre-promotion analysis {_names(plan.pre_promotion)}"
            if plan.pre_promotion
            else "no pre-promotion analysis"
        )
        post = (
            f", then post-promotion analysis {_names(plan.post_promotion)}"
            if plan.post_promotion
            else ""
        )
        lines.append(
            f"Blue-green (Argo Rollouts): {services}; {pre}, then {promotion} promotion{post}."
        )
    else:
        lines.append("The Rollout names no canary or blue-green strategy.")
    for use in plan.templates:
        kind = "ClusterAnalysisTemplate" if use.cluster else "AnalysisTemplate"
        where = ", ".join(use.where)
        held = (
            f"in this folder ({code(use.path, in_table=False)})"
            if use.path
            else "**not in this folder**: the cluster must already have it, and its metrics "
            "are not shown below"
        )
        lines.append(f"- {kind} {code(use.name, in_table=False)} ({escape(where)}): {held}.")
    return lines


def traffic_lines(plan: RolloutPlan) -> list[str]:
    """How the canary's weights reach users: exact through a router, or the real pod split
    of every partial step when Argo Rollouts weighs with pods; and the shadow phase."""
    if plan.strategy != "canary":
        return []
    lines: list[str] = []
    shadow = plan.shadow
    if shadow is not None:
        how_long = f"for {shadow.duration}" if shadow.duration else "until promoted"
        judged = (
            ", while the analysis compares the canary with the stable version on the mirrored requests"
            if shadow.analysis
            else ""
        )
        lines.append(
            f"Shadow first: {shadow.percentage}% of the live requests are mirrored to the "
            f"canary {how_long}{judged}. No user sees the shadow's answers: every response "
            "still comes from the stable version. Then the mirror is removed and the weighted "
            "steps begin."
        )
    if plan.traffic_router is not None:
        router = PROVIDER_NAMES.get(plan.traffic_router, plan.traffic_router)
        lines.append(f"Traffic routing: {router} sets each weight exactly.")
        return lines
    splits = pod_splits(plan)
    if not splits:
        return lines
    parts = []
    for split in splits:
        pods = (
            f"{split.canary} canary + {split.stable} stable pod{'s' if split.stable != 1 else ''}"
        )
        share = "exactly" if split.exact else f"{percent(split.share)} of requests, not"
        parts.append(f"{split.weight}% → {pods} ({share} {split.weight}%)")
    lines.append(
        f"No traffic routing: Argo Rollouts approximates each weight with whole pods "
        f"({plan.replicas} replica{'s' if plan.replicas != 1 else ''} behind one Service): "
        + "; ".join(parts)
        + "."
    )
    return lines


def _success(metric: MetricPlan) -> str:
    if metric.template is None:
        return code(format_condition(metric.condition))
    parts = []
    if metric.success is not None:
        parts.append(code(metric.success))
    if metric.failure is not None:
        parts.append("fails when " + code(metric.failure))
    text = "; ".join(parts) or "always (no condition)"
    if metric.problem:
        text += " (" + escape(f"the bot cannot evaluate this: {metric.problem}") + ")"
    return text


def rollout_plan_section(plan: RolloutPlan, level: int = 3) -> str:
    """The canary (or blue-green) steps and the analysis metrics the cluster will judge: read
    back from the committed Rollout and its templates where there is one, else the policy's."""
    heading = "#" * level
    lines = [f"{heading} Rollout plan", ""]
    lines += _strategy_lines(plan)
    if plan.rollback_window:
        lines.append(
            f"A rollback to one of the last {plan.rollback_window} revisions skips the steps "
            "and analysis (`rollbackWindow`): it goes straight to the stable version."
        )
    elif plan.source is not None:
        lines.append(
            "The Rollout sets no `rollbackWindow`: a rollback to an earlier revision runs "
            "the steps and analysis again."
        )
    if plan.metrics:
        lines += [
            "",
            "| metric | query | success | interval | count | failure limit |",
            "|---|---|---|---|---|---|",
        ]
        for metric in plan.metrics:
            count = str(metric.count) if metric.count else "until the run ends"
            limit = str(metric.failure_limit) if metric.failure_limit >= 0 else "none"
            query = code(metric.query) if metric.query else "—"
            lines.append(
                f"| {code(metric.name)} | {query} | {_success(metric)} "
                f"| {escape(metric.interval) if metric.interval else '—'} | {count} | {limit} |"
            )
    elif plan.source is not None and any(use.path is None for use in plan.templates):
        lines += ["", "No analysis metrics in this folder (see the templates above)."]
    else:
        lines += ["", "No analysis metrics: the canary advances on time alone."]
    return "\n".join(lines)


def rollback_section(
    model: str, environment: str, previous_version: str | None, level: int = 3
) -> str:
    heading = "#" * level
    target = (
        f"version {code(previous_version, in_table=False)}"
        if previous_version
        else "the previous version"
    )
    return "\n".join(
        [
            f"{heading} Rolling back",
            "",
            f"After merge, comment `/rollback <reason>` here (write access needed) to open a revert "
            f"pull request back to {target}, or run "
            f"`model-bot rollback --model {model} --environment {environment}`.",
        ]
    )


def changes_section(
    previous_version: str | None,
    version: str,
    changed: Sequence[str],
    level: int = 3,
    deleted: Sequence[str] = (),
) -> str:
    heading = "#" * level
    before = (
        code(previous_version, in_table=False) if previous_version else "nothing (first promotion)"
    )
    lines = [f"{heading} Change", "", f"{before} → {code(version, in_table=False)}", ""]
    lines += [f"- {code(path, in_table=False)}" for path in changed]
    lines += [f"- {code(path, in_table=False)} (deleted)" for path in deleted]
    return "\n".join(lines)


def promotion_report(
    evidence: Evidence,
    decision: Decision,
    plan: RolloutPlan,
    meta: ProposalMeta,
    changed: Sequence[str],
    *,
    deleted: Sequence[str] = (),
) -> str:
    """The evaluation report committed at `reports/<model>/<version>.md`."""
    sections = [
        title_section(evidence, decision),
        changes_section(meta.previous_version, meta.version, changed, deleted=deleted),
        decision_section(evidence, decision),
        significance_section(decision),
        lineage_section(evidence),
        params_section(evidence),
        rollout_plan_section(plan),
        rollback_section(meta.model, meta.environment, meta.previous_version),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def pull_request_body(report: str, meta: ProposalMeta, report_url: str | None) -> str:
    """The report plus the hidden marker, cut to GitHub's body limit with a link to the file."""
    marker = "\n\n" + meta.marker() + "\n"
    if len(report) + len(marker) <= GITHUB_BODY_LIMIT:
        return report + marker
    where = f"[the committed report]({report_url})" if report_url else "the committed report file"
    notice = f"\n\n---\n**Report truncated**: GitHub limits a PR body to {GITHUB_BODY_LIMIT:,} characters; read {where}."
    closing = "\n\n</details>"
    room = GITHUB_BODY_LIMIT - len(marker) - len(notice) - len(closing)
    cut = report[:room]
    # Do not leave half a table row or code span behind.
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    # Our own <details> start lines; untrusted text only appears inside table rows.
    if len(re.findall(r"^<details>", cut, re.M)) > len(re.findall(r"^</details>", cut, re.M)):
        cut += closing  # else the notice would hide in a collapsed section
    return cut + notice + marker


__all__ = [
    "GITHUB_BODY_LIMIT",
    "changes_section",
    "promotion_report",
    "promotion_title",
    "pull_request_body",
    "rollback_section",
    "rollout_plan_section",
]
