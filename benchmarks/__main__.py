"""`python -m benchmarks`: one table of every speed target, measured in one run.

Each benchmark module exposes `run() -> list[dict]` with rows {name, value, unit, target,
passed}; ratios (CLI start vs `import click`, 10,000 vs 10 models) are measured side by side
inside their module. Exit 1 when a target is missed.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODULES = (
    "bench_cli_start",
    "bench_significance",
    "bench_render",
    "bench_promote",
    "bench_history",
    "bench_event",
    "bench_analysis",
    "bench_monitor",
    "bench_install",
)


def collect(names: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in names:
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            found = module.run()
        except Exception as error:  # one broken benchmark must not hide the others
            traceback.print_exc(file=sys.stderr)
            found = [
                {
                    "name": name,
                    "value": "error",
                    "unit": "",
                    "target": "runs",
                    "passed": False,
                    "note": f"{type(error).__name__}: {error}",
                }
            ]
        for row in found:
            row.setdefault("module", name)
        rows.extend(found)
        print(f"  {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    header = ("benchmark", "measured", "target", "result")
    body = [
        (
            str(r["name"]),
            f"{r['value']} {r['unit']}".strip(),
            str(r["target"]),
            "pass" if r["passed"] else "FAIL",
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip()
        for line in [header, *body]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    names = [n for n in MODULES if not argv or n in argv or n.removeprefix("bench_") in argv]
    print(
        "running benchmarks (2-core machine figures drift; ratios are side by side)...",
        file=sys.stderr,
    )
    rows = collect(names)
    print(table(rows))
    for row in rows:
        if "note" in row:
            print(f"note: {row['name']}: {row['note']}")
    return 0 if all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
