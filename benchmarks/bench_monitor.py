"""Benchmark: `monitor` of 100 deployed models with 5 signals each, against a local
Prometheus, takes under 2 s.

A synthetic env repo (`tests.gitrepos.make_synthetic_env_repo`: 100 model folders, each
promoted once with the bot's trailers) and a Prometheus backfilled with 5 steady drift
signals per model (`tests.realparts.driftmetrics`) are built once. Then
`bot.flows.monitor.monitor` runs in local mode, as `model-bot monitor` opens it (the
commits-only clone, the ledger of every model from one read of the history, 500 range
queries on the adapter's thread pool, the judgement); every model must be healthy. The
median is over warm runs (the first also imports the adapters).

    .venv/bin/python benchmarks/bench_monitor.py      # prints rows, exits 1 if one misses
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODELS, SIGNALS = 100, 5
TARGET_SECONDS = 2.0
WARM_RUNS = 3
HOUR = 3600


def _policy(signals: int) -> Any:
    from bot.core.policy import Policy

    return Policy.model_validate(
        {
            "apiVersion": "model-bot/v1",
            "kind": "PromotionPolicy",
            "primary_metric": "accuracy",
            "monitoring": {
                "signals": [
                    {
                        "name": f"psi-f{k}",
                        "query": f'model_feature_psi{{app="{{{{ model }}}}",feature="f{k}"}}',
                        "condition": "result < 0.2",
                        "window": "1h",
                        "step": "5m",
                    }
                    for k in range(signals)
                ]
            },
        }
    )


def run() -> list[dict[str, Any]]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bot.adapters.prometheus import PrometheusSettings, PrometheusSource
    from bot.cli.session import session_opener
    from bot.core.target import EnvRepoTarget
    from bot.flows.monitor import MonitorOptions, monitor
    from tests.gitrepos import EPOCH, make_synthetic_env_repo, model_name
    from tests.realparts.driftmetrics import many
    from tests.realparts.prometheus import running_prometheus

    last_deploy = EPOCH + 60 * MODELS
    now = last_deploy + 2 * HOUR
    policy = _policy(SIGNALS)
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
        root = Path(tmp)
        bare = make_synthetic_env_repo(root / "env.git", models=MODELS, commits=MODELS + 1)
        text = many(
            [model_name(i) for i in range(MODELS)], SIGNALS, EPOCH, EPOCH - HOUR, now + HOUR
        )
        started = time.perf_counter()
        with running_prometheus(root / "prometheus", [], now, openmetrics=text) as server:
            ready = time.perf_counter() - started
            source = PrometheusSource(PrometheusSettings(url=server.url))
            opener = session_opener(
                EnvRepoTarget("local", bare.as_uri()),
                base=None,
                token=None,
                workdir=root,
                read_only=True,
            )
            options = MonitorOptions(now=datetime.fromtimestamp(now, tz=timezone.utc))
            timings = []
            for _ in range(1 + WARM_RUNS):
                began = time.perf_counter()
                result = monitor(policy, options, opener, lambda _url: source, None)
                timings.append(time.perf_counter() - began)
                judged = [w.verdict for w in result.watched]
                if len(judged) != MODELS or any(v.health != "healthy" for v in judged):
                    bad = next((v.summary for v in judged if v.health != "healthy"), "")
                    raise RuntimeError(f"{len(judged)} models judged, not all healthy: {bad}")
                if sum(len(v.signals) for v in judged) != MODELS * SIGNALS:
                    raise RuntimeError("not every signal was judged")
    cold, warm = timings[0], statistics.median(timings[1:])
    name = f"monitor {MODELS} models x {SIGNALS} signals"
    return [
        _row(f"{name}, first run (s)", cold, TARGET_SECONDS),
        _row(f"{name}, warm median (s)", warm, TARGET_SECONDS),
        _row("monitor prometheus backfill + ready (s)", ready, 10.0),
    ]


def _row(name: str, value: float, target: float) -> dict[str, Any]:
    return {
        "name": name,
        "value": round(value, 3),
        "unit": "s",
        "target": f"< {target:g} s",
        "passed": value < target,
    }


if __name__ == "__main__":
    rows = run()
    print(json.dumps(rows, indent=2))
    sys.exit(0 if all(r["passed"] for r in rows) else 1)
