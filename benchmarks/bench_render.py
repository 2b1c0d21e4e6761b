"""Benchmark: rendering 1,000 model environments takes under 1 s in total.

Each of 250 models is rendered into 4 environments (values, Rollout and AnalysisTemplate
with two Prometheus metrics, environment values merged in) from an empty folder, in one
process, so templates and queries compile once; the first render's compilation is
included. A second pass re-renders over the first pass's files (every outcome
`unchanged`), and a third bumps the version in 100 hand-written values files in place.

    .venv/bin/python benchmarks/bench_render.py      # prints rows, exits 1 if one misses
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from bot.core.config import BotConfig
from bot.core.policy import load_policy
from bot.core.render import RenderRequest, render_change

ROOT = Path(__file__).resolve().parents[1]
MODELS = 250
ENVIRONMENTS = ("dev", "staging", "prod", "prod-eu")
TARGET_SECONDS = 1.0
HAND_WRITTEN = 100

CONFIG = BotConfig.model_validate(
    {
        "environments": {
            name: {
                "namespace": f"ml-{name}",
                "values": {"replicaCount": 3, "resources": {"limits": {"cpu": "2"}}},
            }
            for name in ENVIRONMENTS
        }
    }
)

HAND_VALUES = b"""\
# written by a person
image:
  repository: ghcr.io/acme/model   # registry
  tag: "6"   # bumped by model-bot
model:
  version: 6
resources: {limits: {cpu: "1"}}
"""


def _requests(version: str) -> list[RenderRequest]:
    policy = load_policy(ROOT / "policies" / "default.yaml")
    return [
        RenderRequest(
            model=f"model-{index:03d}",
            version=version,
            environment=environment,
            policy=policy.for_environment(environment),
            config=CONFIG,
            image_repository=f"ghcr.io/acme/model-{index:03d}",
            image_tag=f"{version}-3f2a1c9",
        )
        for index in range(MODELS)
        for environment in ENVIRONMENTS
    ]


def run() -> list[dict[str, Any]]:
    requests = _requests("7")
    started = time.perf_counter()
    first = [render_change(request, {}) for request in requests]
    fresh = time.perf_counter() - started

    started = time.perf_counter()
    second = [
        render_change(request, dict(change.files))
        for request, change in zip(requests, first, strict=True)
    ]
    rerender = time.perf_counter() - started
    converged = all(change.outcome == "unchanged" for change in second)

    hand = requests[:HAND_WRITTEN]
    started = time.perf_counter()
    for request in hand:
        folder = f"environments/{request.environment}/{request.model}"
        render_change(request, {f"{folder}/values.yaml": HAND_VALUES})
    edits = time.perf_counter() - started

    count = len(requests)
    return [
        {
            "name": f"render {count} model environments from empty folders",
            "value": round(fresh, 3),
            "unit": "s",
            "target": f"< {TARGET_SECONDS:g}",
            "passed": fresh < TARGET_SECONDS,
        },
        {
            "name": f"re-render {count} model environments, all unchanged",
            "value": round(rerender, 3),
            "unit": "s",
            "target": f"< {TARGET_SECONDS:g} and every outcome unchanged",
            "passed": rerender < TARGET_SECONDS and converged,
        },
        {
            "name": f"render {HAND_WRITTEN} models with a hand-written values file (in-place edit)",
            "value": round(edits, 3),
            "unit": "s",
            "target": f"< {TARGET_SECONDS:g}",
            "passed": edits < TARGET_SECONDS,
        },
    ]


def main() -> int:
    rows = run()
    for row in rows:
        mark = "ok  " if row["passed"] else "SLOW"
        print(f"{mark} {row['name']}: {row['value']} {row['unit']} (target {row['target']})")
    return 0 if all(row["passed"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
