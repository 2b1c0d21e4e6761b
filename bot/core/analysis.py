"""Canary analysis: the policy's Prometheus metrics judged into a `Verdict`.

The core is pure: `plan_queries` says which range query each metric needs at `now`, and
`judge` turns what Prometheus answered into measurements and a verdict, with Argo Rollouts'
semantics (`utils/evaluate/evaluate.go`, `analysis/analysis.go`):

* a metric is measured `count` times, `interval` apart, ending at `now`; each point of the
  range query is one measurement;
* a measurement is *pass* when every comparison of the condition holds, *fail* when one
  does not, and *error* when it cannot be judged (no data, NaN, infinity, a query error) --
  "could not evaluate" is never "failed";
* a metric *fails* when its failed measurements exceed `failure_limit`; otherwise it is
  *inconclusive* when fewer than `count` measurements were usable; otherwise it *passes*;
* the verdict fails when any metric fails, else is inconclusive when any metric is, else
  passes. A policy without analysis metrics is inconclusive: there is nothing to judge.

Nothing here fetches: `bot.flows.analyze` asks a metric source (the Prometheus adapter) for
the planned range queries and passes the answers to `judge`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.core.expressions import (
    Comparison,
    format_condition,
    format_number,
    nonfinite_text,
    result_index,
)
from bot.core.policy import Analysis, AnalysisMetric, duration_seconds
from bot.core.queries import QueryContext, effective_query

Phase = Literal["pass", "fail", "inconclusive"]
Outcome = Literal["pass", "fail", "error"]
Labels = tuple[tuple[str, str], ...]

# --- what Prometheus answered ----------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One point of a series: unix seconds and the value (None when it was not a number)."""

    time: float
    value: float | None


@dataclass(frozen=True)
class Series:
    """One series of a range query's matrix: its labels (sorted) and its samples in time order."""

    labels: Labels
    samples: tuple[Sample, ...]

    @staticmethod
    def of(labels: Mapping[str, str], samples: Sequence[Sample]) -> Series:
        return Series(tuple(sorted(labels.items())), tuple(sorted(samples, key=lambda s: s.time)))


@dataclass(frozen=True)
class QueryResult:
    """What one range query returned, or why it returned nothing (`error`, never a secret)."""

    query: str
    series: tuple[Series, ...] = ()
    error: str | None = None
    graph_url: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class RangeQuery:
    """A range query over the canary window: points at `start, start + step, ..., end`."""

    query: str
    start: float
    end: float
    step: float

    @property
    def times(self) -> tuple[float, ...]:
        count = round((self.end - self.start) / self.step) + 1
        return tuple(self.start + k * self.step for k in range(count))


# --- what the bot concluded ------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One measurement: the values the condition read at `time` and what came of it."""

    time: float
    outcome: Outcome
    values: tuple[float | None, ...]
    reason: str = ""


@dataclass(frozen=True)
class Measurement:
    """One metric judged over its window: every point, the phase, and why."""

    metric: str
    query: str
    condition: str
    thresholds: tuple[float, ...]
    interval: int
    count: int
    failure_limit: int
    points: tuple[Point, ...]
    phase: Phase
    reason: str
    relative: bool = False
    graph_url: str | None = None

    @property
    def passed(self) -> int:
        return sum(1 for p in self.points if p.outcome == "pass")

    @property
    def failed(self) -> int:
        return sum(1 for p in self.points if p.outcome == "fail")

    @property
    def errors(self) -> int:
        return sum(1 for p in self.points if p.outcome == "error")

    @property
    def values(self) -> tuple[float | None, ...]:
        """The first value each measurement read (None where there was none)."""
        return tuple(p.values[0] if p.values else None for p in self.points)

    @property
    def latest(self) -> float | None:
        """The most recent value that could be judged."""
        for point in reversed(self.points):
            if point.outcome != "error" and point.values:
                return point.values[0]
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "phase": self.phase,
            "reason": self.reason,
            "query": self.query,
            "condition": self.condition,
            "thresholds": list(self.thresholds),
            "relative": self.relative,
            "interval_seconds": self.interval,
            "count": self.count,
            "failure_limit": self.failure_limit,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "latest": _json_number(self.latest),
            "graph_url": self.graph_url,
            "points": [
                {
                    "time": p.time,
                    "outcome": p.outcome,
                    "values": [_json_number(v) for v in p.values],
                    "reason": p.reason,
                }
                for p in self.points
            ],
        }


@dataclass(frozen=True)
class Verdict:
    """The analysis as a whole: `pass | fail | inconclusive`, each metric, and one line why."""

    phase: Phase
    measurements: tuple[Measurement, ...]
    summary: str
    evaluated_at: float = field(default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "summary": self.summary,
            "evaluated_at": self.evaluated_at,
            "measurements": [m.to_dict() for m in self.measurements],
        }


def _json_number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) or math.isinf(value) else value


# --- planning --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """A metric's `interval` (seconds), `count` and `failure_limit`, defaults applied."""

    interval: int
    count: int
    failure_limit: int


def schedule(analysis: Analysis, metric: AnalysisMetric) -> Schedule:
    settings = analysis.settings(metric)
    return Schedule(
        interval=duration_seconds(settings.interval),
        count=settings.count,
        failure_limit=settings.failure_limit,
    )


def _epoch(now: datetime) -> float:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (e.g. datetime.now(timezone.utc))")
    return float(math.floor(now.timestamp()))


def window(plan: Schedule, now: datetime) -> tuple[float, float, float]:
    """`(start, end, step)` of the canary window: `count` points, `interval` apart, ending now.

    `end` is `now` rounded down to a whole second, so the grid is exact on both sides.
    """
    end = _epoch(now)
    return end - (plan.count - 1) * plan.interval, end, float(plan.interval)


def plan_queries(analysis: Analysis, context: QueryContext, now: datetime) -> dict[str, RangeQuery]:
    """The range query each metric needs at `now`, keyed by metric name."""
    plans = {}
    for metric in analysis.metrics:
        start, end, step = window(schedule(analysis, metric), now)
        plans[metric.name] = RangeQuery(effective_query(metric, context), start, end, step)
    return plans


# --- judging ---------------------------------------------------------------------------------


def _millis(time: float) -> int:
    return round(time * 1000)


def _vectors(series: Sequence[Series], times: Sequence[float]) -> list[list[float | None]]:
    """The instant vector at each of `times`: one value per series present then, by labels."""
    indexed = [
        {_millis(s.time): s.value for s in one.samples}
        for one in sorted(series, key=lambda one: one.labels)
    ]
    return [[by_time[_millis(t)] for by_time in indexed if _millis(t) in by_time] for t in times]


def _unusable(value: float | None) -> str | None:
    if value is None:
        return "not a number"
    return nonfinite_text(value)


def judge_point(
    comparisons: Sequence[Comparison], vector: Sequence[float | None], time: float
) -> Point:
    """One measurement: pass if every comparison holds, fail if one does not, else error."""
    values: list[float | None] = []
    for comparison in comparisons:
        index = result_index(comparison)
        if index >= len(vector):
            reason = (
                "no data"
                if not vector
                else f"no {comparison.operand}: the query returned {len(vector)} series"
            )
            return Point(time, "error", tuple(values), reason)
        value = vector[index]
        values.append(value)
        problem = _unusable(value)
        if problem:
            return Point(time, "error", tuple(values), f"{comparison.operand} is {problem}")
    numbers = [v for v in values if v is not None]  # all of them, after the checks above
    broken = [str(c) for c, v in zip(comparisons, numbers, strict=True) if not c.holds(v)]
    if broken:
        return Point(time, "fail", tuple(values), f"{' && '.join(broken)} does not hold")
    return Point(time, "pass", tuple(values))


def _number(value: float | None) -> str:
    if value is None:
        return "none"
    problem = _unusable(value)
    if problem:
        return problem
    return format_number(value) if value.is_integer() else f"{value:.4g}"


def _error_summary(points: Sequence[Point]) -> str:
    counts: dict[str, int] = {}
    for point in points:
        if point.outcome == "error":
            counts[point.reason] = counts.get(point.reason, 0) + 1
    return ", ".join(f"{reason} ×{n}" if n > 1 else reason for reason, n in counts.items())


def judge_metric(
    analysis: Analysis, metric: AnalysisMetric, observed: QueryResult | None, now: datetime
) -> Measurement:
    """Judge one metric's window (see the module docstring for the rules)."""
    plan = schedule(analysis, metric)
    start, end, step = window(plan, now)
    times = RangeQuery("", start, end, step).times
    comparisons = metric.condition
    condition = format_condition(comparisons)
    relative = metric.baseline_query is not None

    def measurement(points: tuple[Point, ...], phase: Phase, reason: str) -> Measurement:
        return Measurement(
            metric=metric.name,
            query=observed.query if observed is not None else metric.query,
            condition=condition,
            thresholds=tuple(c.threshold for c in comparisons),
            interval=plan.interval,
            count=plan.count,
            failure_limit=plan.failure_limit,
            points=points,
            phase=phase,
            reason=reason,
            relative=relative,
            graph_url=observed.graph_url if observed is not None else None,
        )

    if observed is None or not observed.ok:
        why = "not queried" if observed is None else observed.error or "query failed"
        points = tuple(Point(t, "error", (), why) for t in times)
        return measurement(points, "inconclusive", f"could not measure: {why}")

    vectors = _vectors(observed.series, times)
    points = tuple(judge_point(comparisons, v, t) for v, t in zip(vectors, times, strict=True))
    failed = sum(1 for p in points if p.outcome == "fail")
    usable = sum(1 for p in points if p.outcome != "error")
    latest = next((p.values[0] for p in reversed(points) if p.outcome != "error"), None)
    what = f"{'canary/stable ' if relative else ''}{condition}"
    if failed > plan.failure_limit:
        reason = (
            f"{failed} of {plan.count} measurements broke {what} "
            f"(failure limit {plan.failure_limit}); latest {_number(latest)}"
        )
        return measurement(points, "fail", reason)
    if usable < plan.count:
        errors = _error_summary(points)
        hint = (
            "; the ratio has no value while the stable baseline is zero or absent"
            if relative
            else ""
        )
        reason = (
            f"only {usable} of {plan.count} measurements usable ({errors}){hint}"
            if usable
            else f"no usable measurement ({errors}){hint}"
        )
        return measurement(points, "inconclusive", reason)
    within = f", {failed} failed within failure limit {plan.failure_limit}" if failed else ""
    reason = (
        f"{plan.count - failed} of {plan.count} measurements met {what}{within}; "
        f"latest {_number(latest)}"
    )
    return measurement(points, "pass", reason)


def judge(analysis: Analysis, observations: Mapping[str, QueryResult], now: datetime) -> Verdict:
    """The verdict on a canary from what Prometheus answered for each metric. Pure."""
    evaluated_at = _epoch(now)
    if not analysis.metrics:
        return Verdict(
            "inconclusive",
            (),
            "analysis inconclusive: the policy has no analysis metrics to judge "
            "(add analysis.metrics, e.g. an error-rate query)",
            evaluated_at,
        )
    measurements = tuple(
        judge_metric(analysis, metric, observations.get(metric.name), now)
        for metric in analysis.metrics
    )
    return Verdict(
        _worst(m.phase for m in measurements),
        measurements,
        _summary(measurements),
        evaluated_at,
    )


def _worst(phases: Iterable[Phase]) -> Phase:
    seen = set(phases)
    if "fail" in seen:
        return "fail"
    if "inconclusive" in seen:
        return "inconclusive"
    return "pass"


def _summary(measurements: Sequence[Measurement]) -> str:
    phase = _worst(m.phase for m in measurements)
    if phase == "pass":
        total = sum(m.count for m in measurements)
        return (
            f"analysis passed: {len(measurements)} metric(s), {total} measurements, "
            "every metric within its failure limit"
        )
    word = {"fail": "failed", "inconclusive": "inconclusive"}[phase]
    culprits = "; ".join(f"{m.metric}: {m.reason}" for m in measurements if m.phase == phase)
    return f"analysis {word}: {culprits}"


__all__ = [
    "Measurement",
    "Point",
    "QueryResult",
    "RangeQuery",
    "Sample",
    "Schedule",
    "Series",
    "Verdict",
    "judge",
    "judge_metric",
    "judge_point",
    "plan_queries",
    "schedule",
    "window",
]
