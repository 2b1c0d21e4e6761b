"""Watching a deployed model: its policy's `monitoring:` signals judged into a verdict. Pure.

`plan_signals` says which range query each signal needs; `judge_model` turns the answers into
`healthy | drifted | inconclusive`:

* a signal's samples are `step` apart, ending at `now`, over its `window`, but never before
  the deployed version reached the environment (the ledger's entry in force): drift that
  started under the previous version is not this version's;
* a sample *fails* when the condition does not hold, and is *unusable* when it cannot be
  judged (no data, NaN, no gate evidence to compare with), with the analysis' semantics
  (`bot.core.analysis.judge_point`); with `relative_to_evidence` the condition reads the value
  divided by that metric of the deployed version's gate evidence;
* a signal is *breached* when more samples fail than its `failure_limit`; *no data* when no
  sample is usable; *error* when the query failed (Prometheus down, a bad query);
* the verdict is `inconclusive` when any query failed (an unreachable Prometheus never starts
  a retraining), else `drifted` when a signal is breached or the deployed version is older
  than `max_age_days`, else `inconclusive` when a signal has no data (or nothing is watched),
  else `healthy`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Literal

from bot.core.analysis import Point, QueryResult, RangeQuery, judge_point, vectors_at
from bot.core.expressions import format_condition, format_number
from bot.core.monitoring import Monitoring, Signal, monitor_duration_seconds
from bot.core.queries import QueryContext, fill_query

Health = Literal["healthy", "drifted", "inconclusive"]
SignalPhase = Literal["ok", "breached", "no-data", "error"]
DAY = 86400.0


@dataclass(frozen=True)
class Deployed:
    """What runs, from the ledger: the version and when it reached the environment, and the
    metrics of its committed gate evidence (None: no evidence file)."""

    model: str
    environment: str
    version: str | None
    since: datetime | None
    evidence: Mapping[str, float | None] | None = None


@dataclass(frozen=True)
class SignalResult:
    name: str
    query: str
    condition: str
    phase: SignalPhase
    reason: str
    points: tuple[Point, ...] = ()
    start: float | None = None  # the window judged: since max(now - window, deployed)
    end: float | None = None
    baseline: float | None = None  # the gate evidence's value, for a relative signal
    graph_url: str | None = None

    @property
    def failed(self) -> int:
        return sum(1 for p in self.points if p.outcome == "fail")

    @property
    def usable(self) -> int:
        return sum(1 for p in self.points if p.outcome != "error")

    @property
    def latest(self) -> float | None:
        for point in reversed(self.points):
            if point.outcome != "error" and point.values:
                return point.values[0]
        return None


@dataclass(frozen=True)
class MonitorVerdict:
    model: str
    environment: str
    version: str | None
    since: datetime | None
    health: Health
    signals: tuple[SignalResult, ...]
    age_days: float | None
    max_age_days: int | None
    summary: str
    evaluated_at: float

    @property
    def age_exceeded(self) -> bool:
        return (
            self.max_age_days is not None
            and self.age_days is not None
            and self.age_days > self.max_age_days
        )

    @property
    def breached(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.signals if s.phase == "breached")

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why retraining is due, one short text each (the dispatch's `reason`)."""
        found = [f"signal {name} breached" for name in self.breached]
        if self.age_exceeded:
            assert self.age_days is not None
            found.append(
                f"model age {math.floor(self.age_days)} days over max_age_days {self.max_age_days}"
            )
        return tuple(found)


def _epoch(now: datetime) -> float:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (e.g. datetime.now(timezone.utc))")
    return now.timestamp()


def _since(moment: datetime) -> float:
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=timezone.utc).timestamp()
    return moment.timestamp()


def signal_window(signal: Signal, since: datetime | None, now: datetime) -> RangeQuery | None:
    """The samples of `signal` that count at `now`: `step` apart, ending at `now`, none
    before `since` (the deployment) nor before `now - window`; None when there is none."""
    end = _epoch(now)
    step = monitor_duration_seconds(signal.step)
    earliest = end - monitor_duration_seconds(signal.window)
    if since is not None:
        earliest = max(earliest, _since(since))
    if earliest > end:
        return None
    count = int((end - earliest) // step)
    return RangeQuery(signal.query, end - count * step, end, float(step))


def plan_signals(
    monitoring: Monitoring, context: QueryContext, since: datetime | None, now: datetime
) -> dict[str, RangeQuery]:
    """The range query each signal needs at `now`, keyed by signal name (queries filled in)."""
    plans = {}
    for index, signal in enumerate(monitoring.signals):
        window = signal_window(signal, since, now)
        if window is not None:
            query = fill_query(signal.query, context, f"monitoring.signals[{index}].query")
            plans[signal.name] = RangeQuery(query, window.start, window.end, window.step)
    return plans


def _baseline(signal: Signal, deployed: Deployed) -> tuple[float | None, str | None]:
    metric = signal.relative_to_evidence
    if metric is None:
        return None, None
    if deployed.evidence is None:
        return None, f"no gate evidence committed for {deployed.version} to compare {metric} with"
    value = deployed.evidence.get(metric)
    if value is None or math.isnan(value) or math.isinf(value):
        return None, f"the gate evidence of {deployed.version} has no usable {metric}"
    if value == 0:
        return None, f"the gate evidence's {metric} is 0: a ratio to it means nothing"
    return value, None


def judge_signal(
    signal: Signal,
    planned: RangeQuery | None,
    observed: QueryResult | None,
    deployed: Deployed,
) -> SignalResult:
    """One signal over its window (see the module docstring for the rules)."""
    condition = format_condition(signal.comparisons)
    shown = (
        f"result / evidence.{signal.relative_to_evidence}" if signal.relative_to_evidence else ""
    )
    base = SignalResult(
        name=signal.name,
        query=observed.query if observed is not None else signal.query,
        condition=f"{condition} (result = {shown})" if shown else condition,
        phase="no-data",
        reason="",
        graph_url=observed.graph_url if observed is not None else None,
    )
    if planned is None:
        return _with(base, "no-data", "no sample yet: the deployed version is younger than a step")
    base = replace(base, start=planned.start, end=planned.end)
    if observed is None:
        return _with(base, "error", "not queried")
    if not observed.ok:
        return _with(base, "error", f"could not measure: {observed.error}")
    baseline, missing = _baseline(signal, deployed)
    if missing is not None:
        return _with(base, "no-data", missing)
    times = planned.times
    points = []
    for vector, time in zip(vectors_at(observed.series, times), times, strict=True):
        if baseline is not None:
            vector = [None if v is None else v / baseline for v in vector]
        points.append(judge_point(signal.comparisons, vector, time))
    judged = replace(base, points=tuple(points), baseline=baseline)
    failed, usable = judged.failed, judged.usable
    latest = _number(judged.latest)
    if failed > signal.failure_limit:
        return _with(
            judged,
            "breached",
            f"{failed} of {len(points)} samples broke {condition} "
            f"(failure limit {signal.failure_limit}); latest {latest}",
        )
    if usable == 0:
        reasons = sorted({p.reason for p in points if p.reason})
        return _with(judged, "no-data", f"no usable sample ({', '.join(reasons) or 'no data'})")
    return _with(
        judged,
        "ok",
        f"{usable - failed} of {len(points)} samples met {condition}; latest {latest}",
    )


def _with(result: SignalResult, phase: SignalPhase, reason: str) -> SignalResult:
    return replace(result, phase=phase, reason=reason)


def _number(value: float | None) -> str:
    if value is None:
        return "none"
    return format_number(value) if value.is_integer() else f"{value:.4g}"


def judge_model(
    monitoring: Monitoring,
    deployed: Deployed,
    planned: Mapping[str, RangeQuery],
    observed: Mapping[str, QueryResult],
    now: datetime,
) -> MonitorVerdict:
    """The verdict on one deployed model from what the metric source answered. Pure."""
    at = _epoch(now)
    age = None if deployed.since is None else max(0.0, (at - _since(deployed.since)) / DAY)

    def verdict(health: Health, signals: Sequence[SignalResult], summary: str) -> MonitorVerdict:
        return MonitorVerdict(
            model=deployed.model,
            environment=deployed.environment,
            version=deployed.version,
            since=deployed.since,
            health=health,
            signals=tuple(signals),
            age_days=age,
            max_age_days=monitoring.max_age_days,
            summary=summary,
            evaluated_at=at,
        )

    if deployed.version is None:
        return verdict("inconclusive", (), "nothing deployed: no version to watch")
    signals = [
        judge_signal(s, planned.get(s.name), observed.get(s.name), deployed)
        for s in monitoring.signals
    ]
    errors = [s for s in signals if s.phase == "error"]
    if errors:
        why = "; ".join(f"{s.name}: {s.reason}" for s in errors)
        return verdict("inconclusive", signals, f"inconclusive (nothing dispatched): {why}")
    draft = verdict("drifted", signals, "")
    if draft.reasons:
        return verdict("drifted", signals, f"drifted: {'; '.join(draft.reasons)}")
    missing = [s for s in signals if s.phase == "no-data"]
    if missing:
        why = "; ".join(f"{s.name}: {s.reason}" for s in missing)
        return verdict("inconclusive", signals, f"inconclusive: {why}")
    if not signals and monitoring.max_age_days is None:
        return verdict(
            "inconclusive",
            signals,
            "inconclusive: the policy's monitoring has no signals and no max_age_days to judge",
        )
    watched = f"{len(signals)} signal(s) healthy" if signals else "no signals"
    aged = (
        f", age {math.floor(age or 0)} of {monitoring.max_age_days} days"
        if monitoring.max_age_days is not None
        else ""
    )
    return verdict("healthy", signals, f"healthy: {watched}{aged}")


def worst(healths: Sequence[Health]) -> Health:
    """Several models at once: drifted if any drifted, else inconclusive if any, else healthy
    (no model at all is inconclusive: nothing was watched)."""
    if "drifted" in healths:
        return "drifted"
    if "inconclusive" in healths or not healths:
        return "inconclusive"
    return "healthy"


__all__ = [
    "Deployed",
    "Health",
    "MonitorVerdict",
    "SignalResult",
    "judge_model",
    "judge_signal",
    "plan_signals",
    "signal_window",
    "worst",
]
