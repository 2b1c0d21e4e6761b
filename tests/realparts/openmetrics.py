"""Scenario data for a real Prometheus: OpenMetrics text for `promtool tsdb create-blocks-from`.

Each scenario is one `app` (the model name) with a canary and a stable role, serving steady
traffic: counters `http_requests_total{app,role,code}` and a histogram
`http_request_duration_seconds_bucket{app,role,le}`, one sample every 15 s over the last
30 minutes, ending exactly at `now` so queries at `now` see fresh data.

Gotchas (../../../shared/NOTES.md): timestamps are in seconds, the file ends with `# EOF`, and
a counter family `http_requests` has samples named `http_requests_total`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

RESOLUTION = 15
DURATION = 30 * 60

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, math.inf)

# Cumulative share of requests at or under each bucket bound (`le`); the rest are in +Inf.
FAST = {0.005: 0.1, 0.01: 0.25, 0.025: 0.5, 0.05: 0.9, 0.1: 0.995, 0.25: 1.0}
"""p99 ~= 0.097 s (histogram_quantile interpolates in (0.05, 0.1])."""
SLOW = {0.005: 0.01, 0.01: 0.05, 0.025: 0.2, 0.05: 0.5, 0.1: 0.8, 0.25: 0.95, 0.5: 1.0}
"""p99 ~= 0.45 s (in (0.25, 0.5])."""


@dataclass(frozen=True)
class Traffic:
    """One role's steady traffic: requests per second, share of 5xx, latency distribution."""

    rps: float = 20.0
    error_ratio: float = 0.002
    latency: tuple[tuple[float, float], ...] = tuple(FAST.items())

    def cumulative(self, le: float) -> float:
        """Share of requests at or under `le`."""
        share = 0.0
        for bound, cumulative in self.latency:
            if bound <= le:
                share = cumulative
        return 1.0 if math.isinf(le) else share


@dataclass(frozen=True)
class Scenario:
    """One model (`app`) and what its canary and stable serve; None serves nothing."""

    app: str
    canary: Traffic | None = Traffic()
    stable: Traffic | None = Traffic()
    description: str = ""


SCENARIOS: dict[str, Scenario] = {
    s.app: s
    for s in (
        Scenario("healthy", description="canary as good as stable"),
        Scenario(
            "error-regression",
            canary=Traffic(error_ratio=0.05),
            description="5% of canary requests fail (threshold 1%)",
        ),
        Scenario(
            "latency-regression",
            canary=Traffic(latency=tuple(SLOW.items())),
            description="canary p99 0.45 s (threshold 0.25 s)",
        ),
        Scenario(
            "relative-regression",
            canary=Traffic(error_ratio=0.008),
            stable=Traffic(error_ratio=0.002),
            description="canary 0.8% errors: under 1% absolute, but 4x stable",
        ),
        Scenario(
            "zero-stable",
            stable=Traffic(error_ratio=0.0),
            description="stable serves no errors at all: the canary/stable ratio is +Inf",
        ),
        Scenario(
            "no-data",
            canary=None,
            stable=None,
            description="nothing was ever scraped for this model",
        ),
    )
}


def _label_text(labels: Sequence[tuple[str, str]]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in labels)


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf"
    return repr(float(value))


def _times(now: int, duration: int, resolution: int) -> list[int]:
    steps = duration // resolution
    return [now - (steps - k) * resolution for k in range(steps + 1)]


def _counter_lines(
    scenarios: Sequence[Scenario], times: Sequence[int], resolution: int
) -> Iterator[str]:
    yield "# HELP http_requests Requests served, by status code."
    yield "# TYPE http_requests counter"
    for scenario in scenarios:
        for role, traffic in (("canary", scenario.canary), ("stable", scenario.stable)):
            if traffic is None:
                continue
            per_step = traffic.rps * resolution
            for code, share in (("200", 1 - traffic.error_ratio), ("500", traffic.error_ratio)):
                labels = _label_text((("app", scenario.app), ("role", role), ("code", code)))
                for k, t in enumerate(times):
                    yield f"http_requests_total{{{labels}}} {_number(k * per_step * share)} {t}"


def _histogram_lines(
    scenarios: Sequence[Scenario], times: Sequence[int], resolution: int
) -> Iterator[str]:
    yield "# HELP http_request_duration_seconds Request latency."
    yield "# TYPE http_request_duration_seconds histogram"
    for scenario in scenarios:
        for role, traffic in (("canary", scenario.canary), ("stable", scenario.stable)):
            if traffic is None:
                continue
            per_step = traffic.rps * resolution
            base = (("app", scenario.app), ("role", role))
            # A rough mean for _sum: each request at the middle of its bucket.
            mean, below, lower = 0.0, 0.0, 0.0
            for le in BUCKETS[:-1]:
                share = traffic.cumulative(le) - below
                mean += share * (lower + le) / 2
                below, lower = traffic.cumulative(le), le
            for k, t in enumerate(times):
                total = k * per_step
                for le in BUCKETS:
                    labels = _label_text((*base, ("le", _number(le))))
                    value = total * traffic.cumulative(le)
                    yield f"http_request_duration_seconds_bucket{{{labels}}} {_number(value)} {t}"
                yield (
                    f"http_request_duration_seconds_count{{{_label_text(base)}}} "
                    f"{_number(total)} {t}"
                )
                yield (
                    f"http_request_duration_seconds_sum{{{_label_text(base)}}} "
                    f"{_number(total * mean)} {t}"
                )


def generate(
    scenarios: Iterable[Scenario],
    now: int,
    duration: int = DURATION,
    resolution: int = RESOLUTION,
) -> str:
    """OpenMetrics text for `scenarios`, samples every `resolution` s over `duration`, ending at
    `now` (unix seconds, a whole number)."""
    chosen = list(scenarios)
    times = _times(int(now), duration, resolution)
    lines = [
        *_counter_lines(chosen, times, resolution),
        *_histogram_lines(chosen, times, resolution),
        "# EOF",
    ]
    return "\n".join(lines) + "\n"


def aligned_now(wall_clock: float, resolution: int = RESOLUTION) -> int:
    """The last sample time at or before `wall_clock`, on the generator's grid."""
    return int(wall_clock // resolution) * resolution
