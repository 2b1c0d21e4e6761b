"""The rollout plan: canary steps and analysis metrics, computed once from the policy.

The rendered Rollout and AnalysisTemplate (`bot.core.render`) and the PR's "Rollout plan"
section (`bot.text.proposal`) both read this value, so the text describes the very plan the
manifests carry. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.expressions import Comparison
from bot.core.policy import Policy
from bot.core.queries import QueryContext, effective_query


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
    failure_limit: int
    initial_delay: str | None


@dataclass(frozen=True)
class RolloutPlan:
    strategy: str  # canary | blueGreen
    steps: tuple[CanaryStep, ...]
    pause: str
    auto_promotion: bool
    rollback_window: int
    replicas: int
    metrics: tuple[MetricPlan, ...]


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
    return RolloutPlan(
        strategy=rollout.strategy,
        steps=steps,
        pause=rollout.pause,
        auto_promotion=rollout.auto_promotion,
        rollback_window=rollout.rollback_window,
        replicas=rollout.replicas,
        metrics=tuple(metrics),
    )


__all__ = ["CanaryStep", "MetricPlan", "RolloutPlan", "rollout_plan"]
