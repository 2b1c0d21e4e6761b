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
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from bot.core.argo import (
    TemplateMetric,
    folder_manifests,
    parse_argo_condition,
    referenced_metrics,
)
from bot.core.expressions import (
    Comparison,
    ExpressionError,
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
    # What was judged: "policy", or the committed templates ("template" plus `templates`).
    source: str = "policy"
    templates: tuple[str, ...] = ()  # `name (path)` of each committed template judged
    differences: tuple[str, ...] = ()  # every way the committed templates differ from the policy

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "summary": self.summary,
            "evaluated_at": self.evaluated_at,
            "source": self.source,
            "templates": list(self.templates),
            "differences": list(self.differences),
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


@dataclass(frozen=True)
class MetricSpec:
    """One metric as judged: from the policy, or from a committed AnalysisTemplate."""

    name: str
    query: str
    success: tuple[Comparison, ...]
    schedule: Schedule
    failure: tuple[Comparison, ...] = ()
    relative: bool = False
    condition: str = ""  # as shown; default: `success` formatted
    problem: str | None = None  # the metric cannot be judged as written, and why

    @property
    def shown(self) -> str:
        if self.condition:
            return self.condition
        return format_condition(self.success)


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


def policy_specs(analysis: Analysis, context: QueryContext | None) -> tuple[MetricSpec, ...]:
    """The policy's metrics as judged (`context` None: the queries unfilled)."""
    return tuple(
        MetricSpec(
            name=metric.name,
            query=effective_query(metric, context) if context is not None else metric.query,
            success=metric.condition,
            schedule=schedule(analysis, metric),
            relative=metric.baseline_query is not None,
        )
        for metric in analysis.metrics
    )


def _seconds(text: str | None) -> int | None:
    """An Argo duration the bot reads (`30s`, `5m`, `1h`, `1m30s`), else None."""
    if text is None:
        return None
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?", text.strip())
    if not parts or not any(parts.groups()):
        return None
    hours, minutes, seconds = (int(g) if g else 0 for g in parts.groups())
    total = hours * 3600 + minutes * 60 + seconds
    return total or None


def template_specs(
    metrics: Sequence[TemplateMetric], defaults: Analysis
) -> tuple[tuple[MetricSpec, ...], tuple[str, ...]]:
    """The committed template's metrics as judged, with Argo's defaults (no `count` and no
    `interval`: one measurement; `failureLimit` 0), and notes where the bot had to choose
    (a `count` left open measures until the run ends: the bot judges the policy's count)."""
    specs: list[MetricSpec] = []
    notes: list[str] = []
    names = [m.name for m in metrics]
    for metric in metrics:
        name = metric.name if names.count(metric.name) == 1 else f"{metric.template}/{metric.name}"
        problem = metric.problem
        success: tuple[Comparison, ...] = ()
        failure: tuple[Comparison, ...] = ()
        for field_name, text in (
            ("successCondition", metric.success),
            ("failureCondition", metric.failure),
        ):
            if text is None or problem is not None:
                continue
            try:
                parsed = parse_argo_condition(text)
            except ExpressionError as error:
                problem = f"cannot read its {field_name}: {error}"
                continue
            if field_name == "successCondition":
                success = parsed
            else:
                failure = parsed
        interval = _seconds(metric.interval)
        if metric.interval is not None and interval is None and problem is None:
            problem = f"cannot read its interval {metric.interval!r}"
        if metric.count is not None:
            count = metric.count
        elif metric.interval is None:
            count = 1
        else:
            count = defaults.count
            notes.append(
                f"metric {name}: the committed template sets no count (the cluster measures "
                f"until the run ends): judged over the policy's count {count}"
            )
        if count < 1 and problem is None:
            problem = f"count {count} measures nothing"
        limit = metric.failure_limit if metric.failure_limit is not None else 0
        if limit < 0:
            limit = max(count, 1)  # Argo's -1: no failure limit; never exceeded
        shown = " ; ".join(
            part
            for part in (
                metric.success or "",
                f"fails when {metric.failure}" if metric.failure is not None else "",
            )
            if part
        )
        specs.append(
            MetricSpec(
                name=name,
                query=metric.query or "",
                success=success,
                schedule=Schedule(
                    interval or duration_seconds(defaults.interval), max(count, 1), limit
                ),
                failure=failure,
                condition=shown or "none (always succeeds)",
                problem=problem,
            )
        )
    return tuple(specs), tuple(notes)


def _same_condition(a: tuple[Comparison, ...], b: tuple[Comparison, ...]) -> bool:
    def key(c: Comparison) -> tuple[int, str, float]:
        return (result_index(c), c.op, c.threshold)

    return sorted(map(key, a)) == sorted(map(key, b))


def spec_differences(
    policy: Sequence[MetricSpec], committed: Sequence[MetricSpec]
) -> tuple[str, ...]:
    """Every way the committed template's metrics differ from the policy's, one line each
    (`result` and `result[0]` are the same operand)."""
    lines: list[str] = []
    wanted = {m.name: m for m in policy}
    for metric in committed:
        mine = wanted.get(metric.name)
        if mine is None:
            lines.append(
                f"metric {metric.name}: in the committed template only, not in the policy: "
                "judged with the template"
            )
            continue
        if metric.query != mine.query:
            lines.append(
                f"metric {metric.name}: the committed template queries {metric.query!r}, the "
                f"policy {mine.query!r}: judged with the template"
            )
        if (
            metric.failure
            or not _same_condition(metric.success, mine.success)
            or (metric.problem is not None and "Condition" in metric.problem)
        ):
            lines.append(
                f"metric {metric.name}: the committed template's condition is "
                f"{metric.shown!r}, the policy's {mine.shown!r}: judged with the template"
            )
        for what, theirs, ours in (
            ("interval", metric.schedule.interval, mine.schedule.interval),
            ("count", metric.schedule.count, mine.schedule.count),
            ("failure limit", metric.schedule.failure_limit, mine.schedule.failure_limit),
        ):
            if theirs != ours:
                unit = "s" if what == "interval" else ""
                lines.append(
                    f"metric {metric.name}: the committed template's {what} is {theirs}{unit}, "
                    f"the policy's {ours}{unit}: judged with the template"
                )
    names = {m.name for m in committed}
    for metric in policy:
        if metric.name not in names:
            lines.append(
                f"metric {metric.name}: in the policy only, not in the committed template: "
                "not judged (the cluster does not run it)"
            )
    return tuple(lines)


@dataclass(frozen=True)
class Basis:
    """What a canary is judged with: the committed templates' metrics where the folder's
    Rollout references templates the folder holds, else the policy's; and every difference."""

    specs: tuple[MetricSpec, ...]
    source: Literal["policy", "template"]
    templates: tuple[str, ...] = ()  # `name (path)` of each committed template judged
    differences: tuple[str, ...] = ()


def analysis_basis(analysis: Analysis, context: QueryContext, files: Mapping[str, bytes]) -> Basis:
    """Choose the metrics to judge from the model folder's committed `files`: what the
    cluster runs (the AnalysisTemplates its Rollout references), naming every way they
    differ from the policy's `analysis`; the policy's where the folder holds none."""
    policy = policy_specs(analysis, context)
    manifests = folder_manifests(files)
    refs = manifests.refs()
    if manifests.rollout is None:
        return Basis(policy, "policy")
    notes: list[str] = []
    if not refs:
        if policy:
            notes.append(
                f"the committed Rollout {manifests.rollout_path} references no analysis "
                "template (the cluster judges nothing): judged with the policy's metrics"
            )
        return Basis(policy, "policy", (), tuple(notes))
    held: list[str] = []
    for ref in refs:
        hit = manifests.found(ref)
        kind = "ClusterAnalysisTemplate" if ref.cluster else "AnalysisTemplate"
        if hit is None:
            note = (
                f"the committed Rollout references {kind} {ref.name} ({ref.where}), which is "
                "not in the model folder: its metrics are not judged"
            )
            if note not in notes:
                notes.append(note)
        elif f"{ref.name} ({hit[0]})" not in held:
            held.append(f"{ref.name} ({hit[0]})")
    if not held:
        notes.append("no referenced template is in the folder: judged with the policy's metrics")
        return Basis(policy, "policy", (), tuple(notes))
    committed, chosen = template_specs(referenced_metrics(manifests), analysis)
    relative = {s.name: s.query for s in policy if s.relative}
    committed = tuple(  # the policy's relative metric, as the bot rendered it: canary ÷ stable
        replace(s, relative=True) if relative.get(s.name) == s.query else s for s in committed
    )
    return Basis(
        committed,
        "template",
        tuple(held),
        (*notes, *chosen, *spec_differences(policy, committed)),
    )


def plan_spec_queries(specs: Sequence[MetricSpec], now: datetime) -> dict[str, RangeQuery]:
    """The range query each judgeable metric needs at `now`, keyed by metric name."""
    plans = {}
    for spec in specs:
        if spec.problem is None:
            start, end, step = window(spec.schedule, now)
            plans[spec.name] = RangeQuery(spec.query, start, end, step)
    return plans


def plan_queries(analysis: Analysis, context: QueryContext, now: datetime) -> dict[str, RangeQuery]:
    """The range query each metric needs at `now`, keyed by metric name."""
    return plan_spec_queries(policy_specs(analysis, context), now)


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


def vectors_at(series: Sequence[Series], times: Sequence[float]) -> list[list[float | None]]:
    """The instant vector each of `times` reads from a range query's series (`monitor` too)."""
    return _vectors(series, times)


def _unusable(value: float | None) -> str | None:
    if value is None:
        return "not a number"
    return nonfinite_text(value)


def judge_point(
    comparisons: Sequence[Comparison],
    vector: Sequence[float | None],
    time: float,
    failure: Sequence[Comparison] = (),
) -> Point:
    """One measurement: pass if every comparison holds, fail if one does not, else error.

    With a `failure` condition (Argo's `failureCondition`), as Argo evaluates them: fail
    when it holds; else pass when the success condition holds (or there is none); else the
    measurement is inconclusive (an error here)."""
    if failure:
        return _judge_both(comparisons, failure, vector, time)
    if not comparisons and not vector:
        return Point(time, "error", (), "no data")
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


def _judge_both(
    success: Sequence[Comparison],
    failure: Sequence[Comparison],
    vector: Sequence[float | None],
    time: float,
) -> Point:
    failed = judge_point(failure, vector, time)
    if failed.outcome == "error":
        return failed
    if failed.outcome == "pass":  # the failure condition holds
        return Point(time, "fail", failed.values, f"{format_condition(tuple(failure))} holds")
    if not success:
        return Point(time, "pass", failed.values)
    passed = judge_point(success, vector, time)
    if passed.outcome == "fail":
        return Point(
            time,
            "error",
            passed.values,
            "neither the success nor the failure condition holds (inconclusive)",
        )
    return passed


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
    """Judge one policy metric's window (see the module docstring for the rules)."""
    spec = next(s for s in policy_specs(analysis, None) if s.name == metric.name)
    return judge_spec(spec, observed, now)


def judge_spec(spec: MetricSpec, observed: QueryResult | None, now: datetime) -> Measurement:
    """Judge one metric's window (see the module docstring for the rules)."""
    plan = spec.schedule
    start, end, step = window(plan, now)
    times = RangeQuery("", start, end, step).times
    comparisons = spec.success
    condition = spec.shown
    relative = spec.relative

    def measurement(points: tuple[Point, ...], phase: Phase, reason: str) -> Measurement:
        return Measurement(
            metric=spec.name,
            query=observed.query if observed is not None else spec.query,
            condition=condition,
            thresholds=tuple(c.threshold for c in (*comparisons, *spec.failure)),
            interval=plan.interval,
            count=plan.count,
            failure_limit=plan.failure_limit,
            points=points,
            phase=phase,
            reason=reason,
            relative=relative,
            graph_url=observed.graph_url if observed is not None else None,
        )

    if spec.problem is not None:
        why = f"cannot judge: {spec.problem}"
        return measurement(tuple(Point(t, "error", (), why) for t in times), "inconclusive", why)
    if observed is None or not observed.ok:
        why = "not queried" if observed is None else observed.error or "query failed"
        points = tuple(Point(t, "error", (), why) for t in times)
        return measurement(points, "inconclusive", f"could not measure: {why}")

    vectors = _vectors(observed.series, times)
    points = tuple(
        judge_point(comparisons, v, t, spec.failure) for v, t in zip(vectors, times, strict=True)
    )
    failed = sum(1 for p in points if p.outcome == "fail")
    usable = sum(1 for p in points if p.outcome != "error")
    latest = next(
        (p.values[0] for p in reversed(points) if p.outcome != "error" and p.values), None
    )
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
    if not analysis.metrics:
        return Verdict(
            "inconclusive",
            (),
            "analysis inconclusive: the policy has no analysis metrics to judge "
            "(add analysis.metrics, e.g. an error-rate query)",
            _epoch(now),
        )
    return judge_specs(policy_specs(analysis, None), observations, now)


def judge_specs(
    specs: Sequence[MetricSpec], observations: Mapping[str, QueryResult], now: datetime
) -> Verdict:
    """The verdict on the metrics `specs` (the policy's or a committed template's). Pure."""
    evaluated_at = _epoch(now)
    if not specs:
        return Verdict(
            "inconclusive", (), "analysis inconclusive: no analysis metrics to judge", evaluated_at
        )
    measurements = tuple(judge_spec(s, observations.get(s.name), now) for s in specs)
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
    "Basis",
    "Measurement",
    "MetricSpec",
    "Point",
    "QueryResult",
    "RangeQuery",
    "Sample",
    "Schedule",
    "Series",
    "Verdict",
    "analysis_basis",
    "judge",
    "judge_metric",
    "judge_point",
    "judge_spec",
    "judge_specs",
    "plan_queries",
    "plan_spec_queries",
    "policy_specs",
    "schedule",
    "spec_differences",
    "template_specs",
    "vectors_at",
    "window",
]
