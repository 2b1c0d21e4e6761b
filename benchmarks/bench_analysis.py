"""Benchmark: a canary analysis of 10 metrics against a local Prometheus takes under 1 s.

Starts its own Prometheus with the test scenarios (tests/realparts), then times
`run_analysis` end to end: plan, 10 concurrent range queries, judgement. The first run
includes importing the Prometheus adapter; the median is over the warm runs.

    .venv/bin/python benchmarks/bench_analysis.py      # prints rows, exits 1 if one misses
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 1.0
WARM_RUNS = 7

_ERRORS = (
    'sum(rate(http_requests_total{{app="{{{{ model }}}}",role="{role}",code=~"5.."}}[2m])) / '
    'sum(rate(http_requests_total{{app="{{{{ model }}}}",role="{role}"}}[2m]))'
)
_QUANTILE = (
    "histogram_quantile({q}, sum by (le) (rate(http_request_duration_seconds_bucket"
    '{{app="{{{{ model }}}}",role="{role}"}}[2m])))'
)
_RATE = 'sum(rate(http_requests_total{{app="{{{{ model }}}}",role="{role}"}}[2m]))'


def _metrics() -> list[dict[str, Any]]:
    canary = {"role": "canary"}
    stable = {"role": "stable"}
    metrics: list[dict[str, Any]] = [
        {"name": "error-rate", "query": _ERRORS.format(**canary), "success": "result < 0.01"},
        {
            "name": "error-rate-vs-stable",
            "query": _ERRORS.format(**canary),
            "baseline_query": _ERRORS.format(**stable),
            "success": "result <= 1.5",
        },
        {"name": "request-rate", "query": _RATE.format(**canary), "success": "result > 1"},
        {
            "name": "request-rate-vs-stable",
            "query": _RATE.format(**canary),
            "baseline_query": _RATE.format(**stable),
            "success": "result >= 0.5 && result <= 2",
        },
    ]
    for q in ("0.5", "0.9", "0.95", "0.99"):
        metrics.append(
            {
                "name": f"latency-p{q[2:]}",
                "query": _QUANTILE.format(q=q, **canary),
                "success": "result < 0.25",
            }
        )
    metrics.append(
        {
            "name": "latency-p99-vs-stable",
            "query": _QUANTILE.format(q="0.99", **canary),
            "baseline_query": _QUANTILE.format(q="0.99", **stable),
            "success": "result <= 1.2",
        }
    )
    metrics.append(
        {
            "name": "error-rate-10m",
            "query": _ERRORS.format(**canary).replace("[2m]", "[10m]"),
            "success": "result < 0.01",
            "count": 10,
        }
    )
    return metrics


def run() -> list[dict[str, Any]]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bot.core.policy import Policy
    from bot.core.queries import QueryContext
    from bot.flows.analyze import run_analysis
    from tests.realparts.openmetrics import SCENARIOS
    from tests.realparts.prometheus import running_prometheus

    policy = Policy.model_validate(
        {
            "apiVersion": "model-bot/v1",
            "kind": "PromotionPolicy",
            "primary_metric": "accuracy",
            "analysis": {"interval": "1m", "count": 5, "failure_limit": 1, "metrics": _metrics()},
        }
    )
    assert len(policy.analysis.metrics) == 10
    context = QueryContext(model="healthy", environment="prod", namespace="models")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-analysis-") as tmp:
        started = time.perf_counter()
        with running_prometheus(Path(tmp), [SCENARIOS["healthy"]]) as server:
            ready = time.perf_counter() - started
            from bot.adapters.prometheus import PrometheusSettings, PrometheusSource

            source = PrometheusSource(PrometheusSettings(url=server.url))
            timings = []
            for _ in range(1 + WARM_RUNS):
                began = time.perf_counter()
                verdict = run_analysis(policy, context, source, server.now_datetime)
                timings.append(time.perf_counter() - began)
                if verdict.phase != "pass":
                    raise RuntimeError(f"benchmark analysis did not pass: {verdict.summary}")
    cold, warm = timings[0], statistics.median(timings[1:])
    rows.append(_row("analysis 10 metrics, first run (s)", cold, "s", TARGET_SECONDS))
    rows.append(_row("analysis 10 metrics, warm median (s)", warm, "s", TARGET_SECONDS))
    rows.append(_row("prometheus backfill + ready (s)", ready, "s", 5.0))
    return rows


def _row(name: str, value: float, unit: str, target: float) -> dict[str, Any]:
    return {
        "name": name,
        "value": round(value, 4),
        "unit": unit,
        "target": target,
        "passed": value < target,
    }


def main() -> int:
    rows = run()
    for row in rows:
        print(json.dumps(row))
    return 0 if all(row["passed"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
