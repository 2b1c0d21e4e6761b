"""Benchmark: the paired bootstrap on 100,000 paired examples x 2,000 resamples (< 1 s).

Run as a script (`python benchmarks/bench_significance.py`) or call `run()`, which returns
rows {name, value, unit, target, passed} for a benchmark table.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.significance import paired_bootstrap

N = 100_000
RESAMPLES = 2_000
TARGET_SECONDS = 1.0


def _scores(kind: str) -> tuple[list[float], list[float]]:
    import numpy as np

    rng = np.random.default_rng(42)
    if kind == "continuous":
        champion = rng.normal(0.5, 0.2, N)
        candidate = champion + 0.002 + rng.normal(0, 0.1, N)
    else:  # 0/1 correctness, as per-example accuracy
        champion = (rng.random(N) < 0.948).astype(float)
        candidate = np.where(rng.random(N) < 0.01, 1.0, champion)
    return candidate.tolist(), champion.tolist()


def _median_seconds(
    candidate: list[float], champion: list[float], repeats: int
) -> tuple[float, float]:
    """Median wall time and median CPU time (all threads) of one bootstrap."""
    paired_bootstrap(candidate[:1000], champion[:1000], resamples=100)  # warm up numpy
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        paired_bootstrap(candidate, champion, resamples=RESAMPLES, seed=0)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def run(repeats: int = 5) -> list[dict[str, Any]]:
    rows = []
    for kind in ("continuous", "binary"):
        seconds, cpu = _median_seconds(*_scores(kind), repeats=repeats)
        name = f"paired bootstrap {N:,} x {RESAMPLES:,} ({kind} scores), median of {repeats}"
        rows.append(
            {
                "name": name,
                "value": round(seconds, 3),
                "unit": "s",
                "target": f"< {TARGET_SECONDS:g} s",
                "passed": seconds < TARGET_SECONDS,
            }
        )
        rows.append(
            {
                "name": f"{name}, CPU time of all threads",
                "value": round(cpu, 3),
                "unit": "s",
                "target": "info",
                "passed": True,
            }
        )
    return rows


def main() -> int:
    rows = run()
    for row in rows:
        mark = "ok  " if row["passed"] else "SLOW"
        print(f"{mark} {row['name']}: {row['value']} {row['unit']} (target {row['target']})")
    return 0 if all(row["passed"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
