"""The rollout plan: canary steps and analysis metrics.

`rollout_plan` computes it from the policy: the bot's Rollout and AnalysisTemplate
(`bot.core.render`) are rendered from it. `plan_from_manifests` reads it back from the files
a change commits (a person's Rollout included), and the PR's "Rollout plan" section
(`bot.text.proposal`) describes that: the text describes the manifests the cluster will run,
falling back to the policy's plan only where the folder holds no Rollout. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.argo import (
    FolderManifests,
    TemplateMetric,
    TemplateRef,
    folder_manifests,
    parse_argo_condition,
    referenced_metrics,
)
from bot.core.expressions import Comparison, ExpressionError
from bot.core.policy import Policy
from bot.core.queries import QueryContext, effective_query
from bot.core.routing import GATEWAY_API_PLUGIN
from bot.core.traffic import DEFAULT_MAX_SURGE, PodSplit, pod_split


@dataclass(frozen=True)
class CanaryStep:
    weight: int
    pause: str | None  # None: the full-weight last step does not pause
    analysis: bool  # the step is followed by an analysis run


@dataclass(frozen=True)
class MetricPlan:
    name: str
    query: str  # the effective query (a baseline makes it canary ÷ stable)
    condition: tuple[Comparison, ...]
    interval: str
    count: int
    failure_limit: int  # -1: no limit (Argo's `failureLimit: -1`)
    initial_delay: str | None
    # Read back from a template (None: the policy's metric, `condition` says it all):
    template: str | None = None
    success: str | None = None  # successCondition as written
    failure: str | None = None  # failureCondition as written
    problem: str | None = None  # why the bot cannot evaluate it as written


@dataclass(frozen=True)
class TemplateUse:
    """An analysis template the Rollout references: where, and the folder file holding it
    (None: not in the folder, so the cluster must already have it)."""

    name: str
    cluster: bool
    where: tuple[str, ...]
    path: str | None


@dataclass(frozen=True)
class RolloutPlan:
    strategy: str  # canary | blueGreen
    steps: tuple[CanaryStep, ...]
    pause: str
    auto_promotion: bool
    rollback_window: int
    replicas: int
    metrics: tuple[MetricPlan, ...]
    # Read back from the committed Rollout (None: the policy's plan):
    source: str | None = None  # the Rollout's path
    stages: tuple[str, ...] = ()  # canary steps as written, one entry per setWeight
    background: tuple[str, ...] = ()  # canary.analysis templates (a background analysis)
    active_service: str | None = None
    preview_service: str | None = None
    pre_promotion: tuple[str, ...] = ()  # blueGreen.prePromotionAnalysis templates
    post_promotion: tuple[str, ...] = ()  # blueGreen.postPromotionAnalysis templates
    templates: tuple[TemplateUse, ...] = ()
    # How the canary's weights reach the users (bot.core.traffic, bot.core.routing):
    traffic_router: str | None = None  # istio | nginx | gatewayapi | smi | None: pods
    weights: tuple[int, ...] = ()  # the setWeight steps in order
    max_surge: int | str = DEFAULT_MAX_SURGE
    shadow: ShadowPlan | None = None


@dataclass(frozen=True)
class ShadowPlan:
    """The mirror phase before the weighted steps."""

    percentage: int  # share of the requests mirrored to the canary
    duration: str | None  # the pause while mirrored (None: until promoted)
    analysis: bool  # an analysis runs while mirrored


def pod_splits(plan: RolloutPlan) -> tuple[PodSplit, ...]:
    """Without a traffic router, the pods Argo Rollouts runs for each partial weight."""
    if plan.strategy != "canary" or plan.traffic_router is not None:
        return ()
    return tuple(pod_split(plan.replicas, w, plan.max_surge) for w in plan.weights if w < 100)


def rollout_plan(policy: Policy, context: QueryContext) -> RolloutPlan:
    """The plan of `policy` (its environment override already applied) for one model."""
    rollout = policy.rollout
    analysis = policy.analysis
    analysed = bool(analysis.metrics)
    last = len(rollout.steps) - 1
    steps = tuple(
        CanaryStep(
            weight=weight,
            pause=None if (index == last and weight == 100) else rollout.pause,
            analysis=analysed
            and not (index == last and weight == 100)
            and index + 1 >= rollout.analysis_from_step,
        )
        for index, weight in enumerate(rollout.steps)
    )
    metrics = []
    for metric in analysis.metrics:
        settings = analysis.settings(metric)
        metrics.append(
            MetricPlan(
                name=metric.name,
                query=effective_query(metric, context),
                condition=metric.condition,
                interval=settings.interval,
                count=settings.count,
                failure_limit=settings.failure_limit,
                initial_delay=settings.initial_delay,
            )
        )
    shadow = rollout.shadow
    return RolloutPlan(
        strategy=rollout.strategy,
        steps=steps,
        pause=rollout.pause,
        auto_promotion=rollout.auto_promotion,
        rollback_window=rollout.rollback_window,
        replicas=rollout.replicas,
        metrics=tuple(metrics),
        traffic_router=rollout.traffic_routing.provider if rollout.traffic_routing else None,
        weights=rollout.steps if rollout.strategy == "canary" else (),
        shadow=(
            ShadowPlan(shadow.percentage, shadow.duration, shadow.analysis and analysed)
            if shadow is not None
            else None
        ),
    )


# --- read back from the manifests -------------------------------------------------------------


def _map(node: object, *keys: str) -> Mapping[str, Any]:
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else {}


def _names(refs: Sequence[TemplateRef], where: str) -> tuple[str, ...]:
    return tuple(ref.name for ref in refs if ref.where == where)


def _step_text(step: object) -> tuple[str, int | None]:
    """One canary step as the plan says it, and its weight when it is a setWeight."""
    if not isinstance(step, Mapping) or not step:
        return "an empty step", None
    kind = next(iter(step))
    value = step[kind]
    if kind == "setWeight":
        return f"{value}%", value if isinstance(value, int) else None
    if kind == "pause":
        duration = _map(step, "pause").get("duration")
        return (
            (f"pause {duration}", None) if duration is not None else ("pause until promoted", None)
        )
    if kind == "analysis":
        return "analysis", None
    return str(kind), None


def _stages(steps: object) -> tuple[str, ...]:
    """The steps grouped per setWeight: `5%, pause 10m, analysis`."""
    stages: list[list[str]] = []
    for step in steps if isinstance(steps, list) else []:
        text, weight = _step_text(step)
        if weight is not None or not stages:
            stages.append([text])
        else:
            stages[-1].append(text)
    return tuple(", ".join(stage) for stage in stages)


def _metric_plan(metric: TemplateMetric) -> MetricPlan:
    problem = metric.problem
    condition: tuple[Comparison, ...] = ()
    if metric.success is not None and problem is None:
        try:
            condition = parse_argo_condition(metric.success)
        except ExpressionError as error:
            problem = f"successCondition: {error}"
    interval = metric.interval or ""
    # Argo: without a count, one measurement, or (with an interval) until the run ends: 0.
    count = metric.count if metric.count is not None else (0 if metric.interval else 1)
    return MetricPlan(
        name=metric.name,
        query=metric.query or "",
        condition=condition,
        interval=interval,
        count=count,
        failure_limit=metric.failure_limit if metric.failure_limit is not None else 0,
        initial_delay=metric.initial_delay,
        template=metric.template,
        success=metric.success,
        failure=metric.failure,
        problem=problem,
    )


def _uses(manifests: FolderManifests) -> tuple[TemplateUse, ...]:
    uses: dict[tuple[str, bool], TemplateUse] = {}
    for ref in manifests.refs():
        key = (ref.name, ref.cluster)
        hit = manifests.found(ref)
        old = uses.get(key)
        where = (*old.where, ref.where) if old else (ref.where,)
        uses[key] = TemplateUse(ref.name, ref.cluster, where, hit[0] if hit else None)
    return tuple(uses.values())


def plan_from_manifests(files: Mapping[str, bytes]) -> RolloutPlan | None:
    """The plan of the Rollout among `files` (the folder as the change commits it), with
    the metrics of the analysis templates it references that `files` hold; None when the
    files hold no Rollout."""
    manifests = folder_manifests(files)
    rollout = manifests.rollout
    if rollout is None:
        return None
    spec = _map(rollout, "spec")
    strategy = _map(spec, "strategy")
    refs = manifests.refs()
    window = _map(spec, "rollbackWindow").get("revisions")
    replicas = spec.get("replicas")
    common: dict[str, Any] = {
        "pause": "",
        "rollback_window": window if isinstance(window, int) and window > 0 else 0,
        "replicas": replicas if isinstance(replicas, int) else 1,
        "metrics": tuple(_metric_plan(m) for m in referenced_metrics(manifests)),
        "source": manifests.rollout_path,
        "templates": _uses(manifests),
    }
    if "blueGreen" in strategy:
        blue_green = _map(strategy, "blueGreen")
        auto = blue_green.get("autoPromotionEnabled")
        active, preview = blue_green.get("activeService"), blue_green.get("previewService")
        return RolloutPlan(
            strategy="blueGreen",
            steps=(),
            auto_promotion=auto is not False,  # Argo's default: true
            active_service=str(active) if active is not None else None,
            preview_service=str(preview) if preview is not None else None,
            pre_promotion=_names(refs, "prePromotionAnalysis"),
            post_promotion=_names(refs, "postPromotionAnalysis"),
            **common,
        )
    canary = _map(strategy, "canary")
    written = canary.get("steps")
    steps: list[Any] = written if isinstance(written, list) else []
    surge = canary.get("maxSurge", DEFAULT_MAX_SURGE)
    return RolloutPlan(
        strategy="canary" if "canary" in strategy else "none",
        steps=(),
        auto_promotion=True,
        stages=_stages(_after_shadow(steps)),
        background=_names(refs, "background analysis"),
        traffic_router=_router(_map(canary, "trafficRouting")),
        weights=tuple(
            w for step in _after_shadow(steps) if isinstance(w := _map(step).get("setWeight"), int)
        ),
        max_surge=surge if isinstance(surge, int | str) else DEFAULT_MAX_SURGE,
        shadow=_shadow(steps),
        **common,
    )


def _router(routing: Mapping[str, Any]) -> str | None:
    """The provider a Rollout's `trafficRouting` names (None: weights by pod counts)."""
    if not routing:
        return None
    if GATEWAY_API_PLUGIN in _map(routing, "plugins"):
        return "gatewayapi"
    for key in ("istio", "nginx", "smi"):
        if key in routing:
            return key
    return next((str(k) for k in routing if k != "managedRoutes"), None)


def _mirror_index(steps: Sequence[Any]) -> int | None:
    """The index of the step that removes the shadow's mirror (`setMirrorRoute` without
    a match), or None when the steps run no shadow phase."""
    started = False
    for index, step in enumerate(steps):
        mirror = _map(step, "setMirrorRoute")
        if mirror and "match" in mirror:
            started = True
        elif mirror and started:
            return index
        elif _map(step).get("setWeight") is not None:
            return None
    return None


def _after_shadow(steps: Sequence[Any]) -> Sequence[Any]:
    """The steps after the shadow phase (and after the canary scale back to the weights)."""
    end = _mirror_index(steps)
    if end is None:
        return steps
    rest = steps[end + 1 :]
    while rest and _map(rest[0], "setCanaryScale"):
        rest = rest[1:]
    return rest


def _shadow(steps: Sequence[Any]) -> ShadowPlan | None:
    end = _mirror_index(steps)
    if end is None:
        return None
    phase = steps[:end]
    mirror = next(_map(s, "setMirrorRoute") for s in phase if _map(s, "setMirrorRoute"))
    percentage = mirror.get("percentage")
    duration = next((_map(s, "pause").get("duration") for s in phase if "pause" in _map(s)), None)
    return ShadowPlan(
        percentage=percentage if isinstance(percentage, int) else 100,
        duration=str(duration) if duration is not None else None,
        analysis=any("analysis" in _map(s) for s in phase),
    )


def committed_plan(
    policy: Policy,
    context: QueryContext,
    existing: Mapping[str, bytes],
    changed: Mapping[str, bytes],
    deleted: Sequence[str] = (),
) -> RolloutPlan:
    """The plan of the folder as a change leaves it (`existing` overlaid with the `changed`
    files, without the `deleted` ones): read back from its Rollout, else the policy's."""
    final = {**existing, **changed}
    for path in deleted:
        final.pop(path, None)
    return plan_from_manifests(final) or rollout_plan(policy, context)


__all__ = [
    "CanaryStep",
    "MetricPlan",
    "RolloutPlan",
    "ShadowPlan",
    "TemplateUse",
    "committed_plan",
    "plan_from_manifests",
    "pod_splits",
    "rollout_plan",
]
