"""Benchmark: `model-bot --help` starts within 3x of `python -c "import click"`.

Both are timed side by side (interleaved, several runs each, median wall time), so machine
load affects them alike. Run as a script or call `run()` for rows
{name, value, unit, target, passed}.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FACTOR = 3.0


def _model_bot() -> list[str]:
    script = Path(sys.executable).parent / "model-bot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def _wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True, capture_output=True, timeout=60)
    return time.perf_counter() - start


def run(repeats: int = 9) -> list[dict[str, Any]]:
    baseline_cmd = [sys.executable, "-c", "import click"]
    help_cmd = [*_model_bot(), "--help"]
    _wall(baseline_cmd)  # warm the file cache for both
    _wall(help_cmd)
    baseline, help_ = [], []
    for _ in range(repeats):
        baseline.append(_wall(baseline_cmd))
        help_.append(_wall(help_cmd))
    base, cli = statistics.median(baseline), statistics.median(help_)
    ratio = cli / base
    return [
        {
            "name": f'python -c "import click", median of {repeats}',
            "value": round(base, 3),
            "unit": "s",
            "target": "baseline",
            "passed": True,
        },
        {
            "name": f"model-bot --help, median of {repeats}",
            "value": round(cli, 3),
            "unit": "s",
            "target": f"<= {FACTOR:g} x baseline ({FACTOR * base:.3f} s)",
            "passed": ratio <= FACTOR,
        },
        {
            "name": "model-bot --help / import click",
            "value": round(ratio, 2),
            "unit": "x",
            "target": f"<= {FACTOR:g}",
            "passed": ratio <= FACTOR,
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
