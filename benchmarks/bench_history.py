"""Benchmark: `history` of one model against an env repo of 10,000 models is at most 1.5x the
10-model figure and receives at most 3 MiB.

Two synthetic env repos are built side by side (`tests.gitrepos.make_synthetic_env_repo`),
both with 5,000 commits of history, one with 10,000 model folders and one with 10. Every
commit after the first promotes one model round robin with the bot's trailers, so the
model read, `model-00003`, has a bot commit in both: one (commit 4 of 5,000, near the
root) in the 10,000-model repo, 500 (one every 10 commits) in the 10-model one. Then
`bot.flows.history.history` runs in **local mode** against each, through a `file://` URL
(real git, as `model-bot history` opens it: no working clone, only the commits-only
`history.git` clone of the base, and the trees and files on the way to what is read: the
config, the model's folder at the head, and folders where claims leave a gap; no GitHub),
alternating repos, `RUNS` times each. Each run's ledger is checked (every promotion of the
model plus the first commit's version 1, found as a manual edit), so a broken run fails.
Figures are medians:

* wall time of `history()` (clone to close; interpreter start and imports excluded);
* bytes git received: the size of the working clone's `.git/objects` plus the commits-only
  clone's `history.git/objects`, just before they are removed.

    .venv/bin/python benchmarks/bench_history.py             # rows as JSON, exit 1 on a miss
    .venv/bin/python benchmarks/bench_history.py --profile   # also: git commands, by time
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENT = "production"
MODELS_BIG, MODELS_SMALL, COMMITS = 10_000, 10, 5_000
MODEL_INDEX = 3  # model-00003: promoted in both repos (round robin from commit 1)
LIMIT = 20
RUNS = 5
RATIO_TARGET = 1.5
BYTES_TARGET = 3 * 1024 * 1024  # 3 MiB
_GIT_FILE = "adapters/git.py"


def _setup_path() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def _promotions(models: int) -> int:
    """Commits promoting MODEL_INDEX: commit n (1..COMMITS-1) promotes model (n-1) % models."""
    return len(range(MODEL_INDEX + 1, COMMITS, models))


def _build(path: Path, models: int) -> None:
    from tests.gitrepos import make_synthetic_env_repo

    make_synthetic_env_repo(path, models=models, commits=COMMITS, environment=ENVIRONMENT)


def _objects_size(objects: Path) -> int:
    if not objects.is_dir():
        return 0
    return sum(f.stat().st_size for f in objects.rglob("*") if f.is_file())


def _clone_sizes(repo: Any) -> tuple[int, int]:
    """(working clone `.git/objects`, commits-only `history.git/objects`) of an EnvRepo."""
    working = _objects_size(repo.path / ".git" / "objects")
    history = _objects_size(repo._owned / "history.git" / "objects")
    return working, history


@contextmanager
def _measure_clones(sizes: list[tuple[int, int]]) -> Iterator[None]:
    """Record the size of each clone's object stores when the flow closes it."""
    from bot.adapters.git import EnvRepo

    original = EnvRepo.close

    def close(self: EnvRepo) -> None:
        sizes.append(_clone_sizes(self))
        original(self)

    EnvRepo.close = close  # type: ignore[method-assign]
    try:
        yield
    finally:
        EnvRepo.close = original  # type: ignore[method-assign]


def _command_name(args: tuple[str, ...]) -> str:
    """`fetch`, `sparse-checkout set`, ...: the git subcommand, `-c key=value` skipped."""
    words: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "-c":
            skip = True
        elif not arg.startswith("-"):
            words.append(arg)
    if not words:
        return "?"
    return " ".join(words[:2]) if words[0] == "sparse-checkout" else words[0]


def _caller() -> str:
    """The outermost EnvRepo method on the stack (the one the flow called)."""
    frame = sys._getframe(2)
    name = "?"
    while frame is not None:
        if frame.f_code.co_filename.endswith(_GIT_FILE):
            name = frame.f_code.co_name
        frame = frame.f_back  # type: ignore[assignment]
    return name


@contextmanager
def _git_profile(
    times: dict[str, list[float]], grown: dict[str, list[int]] | None
) -> Iterator[None]:
    """Time every git command the adapter runs, by command, the clone it runs in and the
    EnvRepo method that ran it; with `grown` (--profile only: it walks the object stores),
    also the bytes each clone and fetch added."""
    from bot.adapters.git import EnvRepo

    original = EnvRepo._run

    def timed(self: EnvRepo, *args: str, **kwargs: Any) -> Any:
        env: Mapping[str, str] = kwargs.get("env") or {}
        where = "history.git" if env.get("GIT_DIR", "").endswith("history.git") else "clone"
        command = _command_name(args)
        name = f"{command} [{where}, {_caller()}]"
        sized = grown is not None and command in ("clone", "fetch")
        before = sum(_clone_sizes(self)) if sized else 0
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            times[name].append(time.perf_counter() - started)
            if sized:
                assert grown is not None
                grown[name].append(sum(_clone_sizes(self)) - before)

    EnvRepo._run = timed  # type: ignore[method-assign]
    try:
        yield
    finally:
        EnvRepo._run = original  # type: ignore[method-assign]


def _check(ledger: Any, name: str, models: int) -> None:
    """Every promotion of the model, newest first, then the first commit's version 1."""
    promotions = _promotions(models)
    entries = ledger.entries
    expected: list[tuple[str | None, str | None, str]] = [
        (str(v + 1), str(v), "promote") for v in range(promotions, 0, -1)
    ]
    expected.append(("1", None, "manual"))
    found = [(e.version, e.previous_version, e.action) for e in entries]
    if found != expected:
        raise RuntimeError(
            f"{name}: expected {len(expected)} ledger entries "
            f"({promotions} promotions and the first commit), got {len(found)}: {found[:3]}..."
        )


def _runs(
    repos: dict[str, tuple[Path, int]], workdir: Path, profile: dict[str, Any] | None
) -> dict[str, dict[str, float]]:
    from bot.cli.session import session_opener
    from bot.core.target import EnvRepoTarget
    from bot.flows.history import HistoryOptions, history
    from tests.gitrepos import model_name

    model = model_name(MODEL_INDEX)
    times: dict[str, list[float]] = {name: [] for name in repos}
    sizes: dict[str, list[tuple[int, int]]] = {name: [] for name in repos}
    for run in range(RUNS + 1):  # the first round warms imports and the page cache
        for name, (bare, models) in repos.items():
            options = HistoryOptions(model=model, environment=ENVIRONMENT, limit=LIMIT)
            opener = session_opener(
                EnvRepoTarget("local", bare.as_uri()),
                base=None,
                token=None,
                workdir=workdir,
                read_only=True,  # as `model-bot history` opens it
            )
            found: list[tuple[int, int]] = []
            timings: dict[str, list[float]] = defaultdict(list)
            grown: dict[str, list[int]] = defaultdict(list)
            sizing = grown if profile is not None else None
            with _measure_clones(found), _git_profile(timings, sizing):
                started = time.perf_counter()
                result = history(options, opener)
                elapsed = time.perf_counter() - started
            _check(result.ledger, name, models)
            if result.warnings:
                raise RuntimeError(f"{name}: unexpected warnings {result.warnings}")
            if run:
                times[name].append(elapsed)
                sizes[name].append(found[0])
                if profile is not None:
                    for command, spent in timings.items():
                        entry = profile[name].setdefault(command, {"ms": [], "calls": [], "B": []})
                        entry["ms"].append(sum(spent) * 1000)
                        entry["calls"].append(len(spent))
                        entry["B"].append(sum(grown.get(command, [0])))
    return {
        name: {
            "seconds": statistics.median(times[name]),
            "bytes": statistics.median(w + h for w, h in sizes[name]),
            "working": statistics.median(w for w, _ in sizes[name]),
            "history": statistics.median(h for _, h in sizes[name]),
        }
        for name in repos
    }


def run(profile: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    _setup_path()
    from tests.gitrepos import model_name

    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        repos = {"big": (root / "big.git", MODELS_BIG), "small": (root / "small.git", MODELS_SMALL)}
        for bare, models in repos.values():
            _build(bare, models)
        built = time.perf_counter() - started
        figures = _runs(repos, root / "work", profile)

    big, small = figures["big"], figures["small"]
    time_ratio = big["seconds"] / small["seconds"]
    bytes_ratio = big["bytes"] / small["bytes"]
    model = model_name(MODEL_INDEX)
    size = f"{MODELS_BIG:,} vs {MODELS_SMALL} models, {COMMITS:,} commits each"
    ledgers = (
        f"{model}: {_promotions(MODELS_BIG) + 1} vs {_promotions(MODELS_SMALL) + 1} "
        "ledger entries checked"
    )

    def split(figure: dict[str, float]) -> str:
        return (
            f"{figure['bytes']:,.0f} B (clone .git/objects {figure['working']:,.0f} B + "
            f"history.git/objects {figure['history']:,.0f} B)"
        )

    return [
        {
            "name": f"history (local file:// mode) wall time, {size}",
            "value": round(time_ratio, 2),
            "unit": "x",
            "target": f"<= {RATIO_TARGET}",
            "passed": time_ratio <= RATIO_TARGET,
            "note": f"median of {RUNS}: {big['seconds'] * 1000:.0f} ms vs "
            f"{small['seconds'] * 1000:.0f} ms; {ledgers} (repos built in {built:.1f} s)",
        },
        {
            "name": f"history (local file:// mode) bytes received by git, {MODELS_BIG:,} models",
            "value": round(big["bytes"] / (1024 * 1024), 2),
            "unit": "MiB",
            "target": f"<= {BYTES_TARGET / (1024 * 1024):.0f} MiB",
            "passed": big["bytes"] <= BYTES_TARGET,
            "note": f"median of {RUNS}: {split(big)}; 1 MiB = 1,048,576 B",
        },
        {
            "name": f"history (local file:// mode) bytes received by git, {size}",
            "value": round(bytes_ratio, 1),
            "unit": "x",
            "target": "report",
            "passed": True,
            "note": f"{split(big)} vs {split(small)}",
        },
    ]


def _print_profile(profile: dict[str, dict[str, dict[str, list[float]]]]) -> None:
    def median(name: str, command: str, key: str) -> float:
        return statistics.median(profile[name].get(command, {key: [0.0]})[key])

    commands = sorted(
        {c for by in profile.values() for c in by}, key=lambda c: -median("big", c, "ms")
    )
    width = max(len(c) for c in commands) if commands else 10
    print(
        f"{'git command [repo, EnvRepo method] (median per history)':{width}} "
        f"{'ms 10,000':>10} {'calls':>6} {'bytes':>11} {'ms 10':>8} {'calls':>6} {'bytes':>9}"
    )
    for command in commands:
        big = [median("big", command, key) for key in ("ms", "calls", "B")]
        small = [median("small", command, key) for key in ("ms", "calls", "B")]
        print(
            f"{command:{width}} {big[0]:10.1f} {big[1]:6.0f} {big[2]:11,.0f} "
            f"{small[0]:8.1f} {small[1]:6.0f} {small[2]:9,.0f}"
        )


def main(argv: list[str]) -> int:
    profile: dict[str, Any] | None = {"big": {}, "small": {}} if "--profile" in argv else None
    rows = run(profile)
    for row in rows:
        print(json.dumps(row))
    if profile is not None:
        _print_profile(profile)
    return 0 if all(row["passed"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
