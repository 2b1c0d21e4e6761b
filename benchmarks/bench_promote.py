"""Benchmark: `promote` against an env repo of 10,000 models is at most 1.5x the 10-model figure.

Two synthetic env repos are built side by side (`tests.gitrepos.make_synthetic_env_repo`),
both with 5,000 commits of history, one with 10,000 model folders and one with 10; one
extra commit gives the promoted model a hand-written Rollout (the synthetic one names no
container). Then `bot.flows.promote.promote` runs in **local mode** against each, through a
`file://` URL (real git: partial sparse clone, commit with trailers, leased push of the
bot's branch; no GitHub), alternating repos, `RUNS` times each, deleting the bot's branch
between runs so every run is a first promotion. Figures are medians:

* wall time of `promote()` (clone to push; interpreter start and imports excluded);
* bytes git received: the size of the clone's `.git/objects`, plus the commits-only
  `history.git/objects` the ledger reads (holds), just before they are removed.

The API budget rows run `promote()` against the fake GitHub (tests/fakegithub, real HTTP,
git smart HTTP over the same 10,000-model history): a first promotion, then a no-op rerun,
counting REST requests.

The API commit mode rows (`commit_mode: api`, GitHub creates and signs the commit) run the
same promotion against both histories served by the fake GitHub, side by side, `RUNS` times
each (a new version each run, so each is a first promotion): wall time, bytes git received
(the ledger's commits-only clone: API mode reads the base's files through GitHub's API, with
no working clone) and API requests of each, then the budget of a first promotion and of a
no-op rerun on the 10,000-model repo. The fake runs on the same machine, so the wall time
includes its side of the work (GitHub's, in production): the tree it builds on `base_tree`
rewrites the `environments/<env>` listing, which grows with the models.

    .venv/bin/python benchmarks/bench_promote.py             # rows as JSON, exit 1 on a miss
    .venv/bin/python benchmarks/bench_promote.py --profile   # also: git commands, by time
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENT = "production"
MODELS_BIG, MODELS_SMALL, COMMITS = 10_000, 10, 5_000
RUNS = 5
RATIO_TARGET = 1.5
FIRST_BUDGET, NOOP_BUDGET = 8, 3
API_RATIO_TARGET = 1.2  # issue #17: API commit mode's bytes and time, 10,000 vs 10 models
API_FIRST_BUDGET, API_NOOP_BUDGET = 10, 3
TOKEN = "ghs_benchPromoteToken0123456789abcdef"

CONFIG = """\
apiVersion: model-bot/v1
kind: BotConfig
reviewers: [alice]
team_reviewers: [ml-platform]
"""
ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: {model}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: server
        image: ghcr.io/acme/{model}:1-abc1234
  strategy:
    canary:
      steps:
      - setWeight: 5
      - pause: {{duration: 10m}}
"""


def _setup_path() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def _model(models: int) -> str:
    """A model about halfway through the folder list."""
    from tests.gitrepos import model_name

    return model_name(models // 2 - 1) if models > 10 else model_name(3)


def _build(path: Path, models: int) -> str:
    from tests.gitrepos import make_synthetic_env_repo, seed_env_repo

    make_synthetic_env_repo(path, models=models, commits=COMMITS, environment=ENVIRONMENT)
    model = _model(models)
    seed_env_repo(
        path,
        {
            ".model-bot.yaml": CONFIG.encode(),
            f"environments/{ENVIRONMENT}/{model}/rollout.yaml": ROLLOUT.format(
                model=model
            ).encode(),
        },
        "Name the model's container; request reviewers",
    )
    return model


def _evidence(model: str, version: str = "42") -> Any:
    from bot.core.evidence import Evidence

    return Evidence.model_validate(
        {
            "model": {
                "name": model,
                "version": version,
                "image": f"ghcr.io/acme/{model}",
                "tag": f"{version}-3f2a1c9",
            },
            "metrics": {"accuracy": 0.96, "latency_p99_ms": 5.0, "safety_violations": 0},
            "champion": {"version": "41", "metrics": {"accuracy": 0.95}},
            "lineage": {"run_id": "0123abcd", "code_commit": "3f2a1c9"},
        }
    )


def _env_tree_floor(bare: Path) -> int:
    """Bytes any git client must receive to commit into the flat `environments/<env>` folder.

    A commit that changes one model's folder needs a new `environments/<env>` tree object,
    which lists every model; whoever writes it must hold the old one, at least zlib-compressed
    (a fresh clone has no older version to receive it as a delta against).
    """
    tree = subprocess.run(
        ["git", f"--git-dir={bare}", "cat-file", "tree", f"main:environments/{ENVIRONMENT}"],
        check=True,
        capture_output=True,
    ).stdout
    return len(zlib.compress(tree))


def _objects_size(dot_git: Path) -> int:
    return sum(f.stat().st_size for f in (dot_git / "objects").rglob("*") if f.is_file())


@contextmanager
def _measure_clones(sizes: list[int]) -> Iterator[None]:
    """Record the size of each clone's object store when the promotion closes it."""
    from bot.adapters.git import EnvRepo

    original = EnvRepo.close

    def close(self: EnvRepo) -> None:
        history = self._owned / "history.git"
        ledger = _objects_size(history) if history.exists() else 0
        sizes.append(_objects_size(self.path / ".git") + ledger)
        original(self)

    EnvRepo.close = close  # type: ignore[method-assign]
    try:
        yield
    finally:
        EnvRepo.close = original  # type: ignore[method-assign]


@contextmanager
def _git_timings(into: dict[str, list[float]]) -> Iterator[None]:
    """Time every git command the adapter runs, by its first two words (for --profile)."""
    from bot.adapters.git import EnvRepo

    original = EnvRepo._run

    def timed(self: EnvRepo, *args: str, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            words = [a for a in args if not a.startswith("-")]
            name = " ".join(words[:2]) if words[0] == "sparse-checkout" else words[0]
            into[name].append(time.perf_counter() - started)

    EnvRepo._run = timed  # type: ignore[method-assign]
    try:
        yield
    finally:
        EnvRepo._run = original  # type: ignore[method-assign]


def _delete_branch(bare: Path, branch: str) -> None:
    subprocess.run(
        ["git", f"--git-dir={bare}", "update-ref", "-d", f"refs/heads/{branch}"], check=True
    )


def _local_runs(
    repos: dict[str, tuple[Path, str]], workdir: Path, profile: dict[str, Any] | None
) -> dict[str, dict[str, float]]:
    from bot.cli.session import session_opener
    from bot.cli.targets import parse_env_repo
    from bot.core.names import promote_branch
    from bot.core.policy import load_policy
    from bot.flows.promote import PromoteOptions, promote

    policy = load_policy(ROOT / "policies" / "default.yaml")
    times: dict[str, list[float]] = {name: [] for name in repos}
    sizes: dict[str, list[int]] = {name: [] for name in repos}
    for run in range(RUNS + 1):  # the first round warms imports and the page cache
        for name, (bare, model) in repos.items():
            options = PromoteOptions(ENVIRONMENT, policy_source="bench", local=True)
            opener = session_opener(
                parse_env_repo(bare.as_uri()), base=None, token=None, workdir=workdir
            )
            evidence = _evidence(model)
            _delete_branch(bare, promote_branch(ENVIRONMENT, model))
            found: list[int] = []
            timings: dict[str, list[float]] = defaultdict(list)
            with _measure_clones(found), _git_timings(timings):
                started = time.perf_counter()
                result = promote(evidence, policy, options, opener)
                elapsed = time.perf_counter() - started
            if result.outcome != "created":
                raise RuntimeError(f"{name}: expected a created promotion, got {result}")
            if run:
                times[name].append(elapsed)
                sizes[name].append(found[0])
                if profile is not None:
                    for command, spent in timings.items():
                        profile[name].setdefault(command, []).append(sum(spent))
    return {
        name: {"seconds": statistics.median(times[name]), "bytes": statistics.median(sizes[name])}
        for name in repos
    }


def _api_budget(big: Path, model: str, workdir: Path) -> tuple[int, int, list[str], list[str]]:
    """Requests of a first promotion and of a no-op rerun against the fake GitHub."""
    from bot.cli.session import session_opener
    from bot.core.policy import load_policy
    from bot.core.target import EnvRepoTarget
    from bot.flows.promote import PromoteOptions, promote
    from tests.fakegithub import FakeGitHub

    os.environ["MODEL_BOT_GITHUB_WRITE_INTERVAL"] = "0"
    os.environ["MODEL_BOT_GITHUB_BACKOFF"] = "0.01"
    policy = load_policy(ROOT / "policies" / "default.yaml")
    with FakeGitHub(workdir / "fake") as fake:
        fake.add_user("bot", token=TOKEN)
        fake.add_user("alice")
        served = fake.add_repo("acme", "env")
        fake.set_permission("acme", "env", "bot", "write")
        fake.set_permission("acme", "env", "alice", "write")
        # Serve the 10,000-model history: its objects, and main pointing at its tip.
        shutil.copytree(big / "objects", served / "objects", dirs_exist_ok=True)
        tip = (big / "refs" / "heads" / "main").read_text().strip()
        subprocess.run(
            ["git", f"--git-dir={served}", "update-ref", "refs/heads/main", tip], check=True
        )
        options = PromoteOptions(ENVIRONMENT, policy_source="bench", env_repo="acme/env")
        opener = session_opener(
            EnvRepoTarget("github", "acme/env", fake.api_url),
            base=None,
            token=TOKEN,
            workdir=workdir,
        )
        counts: list[int] = []
        calls: list[list[str]] = []
        for expected in ("created", "unchanged"):
            fake.reset_requests()
            result = promote(_evidence(model), policy, options, opener)
            if result.outcome != expected:
                raise RuntimeError(f"fake GitHub: expected {expected}, got {result}")
            counts.append(fake.request_count())
            calls.append([f"{r.method} {r.path}" for r in fake.requests])
    return counts[0], counts[1], calls[0], calls[1]


def _serve(fake: Any, name: str, source: Path) -> Path:
    """acme/NAME on the fake, holding `source`'s history (its objects, main at its tip)."""
    served = fake.add_repo("acme", name)
    fake.set_permission("acme", name, "bot", "write")
    fake.set_permission("acme", name, "alice", "write")
    shutil.copytree(source / "objects", served / "objects", dirs_exist_ok=True)
    tip = (source / "refs" / "heads" / "main").read_text().strip()
    subprocess.run(["git", f"--git-dir={served}", "update-ref", "refs/heads/main", tip], check=True)
    return served


def _api_mode_runs(
    repos: dict[str, tuple[Path, str]], workdir: Path
) -> tuple[dict[str, dict[str, float]], tuple[int, int, list[str], list[str]]]:
    """`commit_mode: api` side by side on both histories served by the fake GitHub; then the
    budget of a first promotion and of a no-op rerun on the big one."""
    from bot.cli.session import session_opener
    from bot.core.names import promote_branch
    from bot.core.policy import load_policy
    from bot.core.target import EnvRepoTarget
    from bot.flows.promote import PromoteOptions, promote
    from tests.fakegithub import FakeGitHub

    os.environ["MODEL_BOT_GITHUB_WRITE_INTERVAL"] = "0"
    os.environ["MODEL_BOT_GITHUB_BACKOFF"] = "0.01"
    policy = load_policy(ROOT / "policies" / "default.yaml")
    times: dict[str, list[float]] = {name: [] for name in repos}
    sizes: dict[str, list[int]] = {name: [] for name in repos}
    requests: dict[str, list[int]] = {name: [] for name in repos}
    with FakeGitHub(workdir / "fake") as fake:
        fake.add_user("bot", token=TOKEN, type="Bot")  # an app installation token: signed
        fake.add_user("alice")
        served = {name: _serve(fake, name, bare) for name, (bare, _model) in repos.items()}

        def opener(name: str) -> Any:
            target = EnvRepoTarget("github", f"acme/{name}", fake.api_url)
            return session_opener(
                target, base=None, token=TOKEN, workdir=workdir, commit_mode="api"
            )

        for run in range(RUNS + 1):  # the first round warms imports and the page cache
            for name, (_bare, model) in repos.items():
                _delete_branch(served[name], promote_branch(ENVIRONMENT, model))
                options = PromoteOptions(
                    ENVIRONMENT, policy_source="bench", env_repo=f"acme/{name}"
                )
                fake.reset_requests()
                found: list[int] = []
                with _measure_clones(found):
                    started = time.perf_counter()
                    result = promote(
                        _evidence(model, str(100 + run)), policy, options, opener(name)
                    )
                    elapsed = time.perf_counter() - started
                if result.outcome != "created":
                    raise RuntimeError(f"API mode, {name}: expected created, got {result}")
                if run:
                    times[name].append(elapsed)
                    sizes[name].append(found[0])
                    requests[name].append(fake.request_count())
        big_name = "big"
        big_model = repos[big_name][1]
        _delete_branch(served[big_name], promote_branch(ENVIRONMENT, big_model))
        options = PromoteOptions(ENVIRONMENT, policy_source="bench", env_repo="acme/big")
        counts: list[int] = []
        calls: list[list[str]] = []
        for expected in ("created", "unchanged"):
            fake.reset_requests()
            result = promote(_evidence(big_model, "900"), policy, options, opener(big_name))
            if result.outcome != expected:
                raise RuntimeError(f"API mode budget: expected {expected}, got {result}")
            counts.append(fake.request_count())
            calls.append([f"{r.method} {r.path}" for r in fake.requests])
    figures = {
        name: {
            "seconds": statistics.median(times[name]),
            "bytes": statistics.median(sizes[name]),
            "requests": statistics.median(requests[name]),
        }
        for name in repos
    }
    return figures, (counts[0], counts[1], calls[0], calls[1])


def _api_mode_rows(
    figures: dict[str, dict[str, float]], budget: tuple[int, int, list[str], list[str]], size: str
) -> list[dict[str, Any]]:
    big, small = figures["big"], figures["small"]
    time_ratio = big["seconds"] / small["seconds"]
    bytes_ratio = big["bytes"] / small["bytes"]
    first, noop, first_calls, noop_calls = budget
    return [
        {
            "name": f"promote (API commit mode, fake GitHub) requests, {size}",
            "value": f"{big['requests']:.0f} vs {small['requests']:.0f}",
            "unit": "requests",
            "target": "equal",
            "passed": big["requests"] == small["requests"],
            "note": "REST and GraphQL requests of one first promotion (median)",
        },
        {
            "name": f"promote (API commit mode, fake GitHub) wall time, {size}",
            "value": round(time_ratio, 2),
            "unit": "x",
            "target": f"<= {API_RATIO_TARGET}",
            "passed": time_ratio <= API_RATIO_TARGET,
            "note": f"median of {RUNS}: {big['seconds'] * 1000:.0f} ms vs "
            f"{small['seconds'] * 1000:.0f} ms, the fake GitHub's side (the new "
            "environments/<env> tree) included",
        },
        {
            "name": f"promote (API commit mode, fake GitHub) bytes received by git, {size}",
            "value": round(bytes_ratio, 1),
            "unit": "x",
            "target": f"<= {API_RATIO_TARGET}",
            "passed": bytes_ratio <= API_RATIO_TARGET,
            "note": f"{big['bytes']:,.0f} B vs {small['bytes']:,.0f} B: only the ledger's "
            "commits-only clone; the base's files are read by path through the API "
            "(one GraphQL query), no working clone",
        },
        {
            "name": "API requests, first promotion (API commit mode, 10,000 models)",
            "value": first,
            "unit": "requests",
            "target": f"<= {API_FIRST_BUDGET}",
            "passed": first <= API_FIRST_BUDGET,
            "note": ", ".join(first_calls),
        },
        {
            "name": "API requests, no-op rerun (API commit mode, 10,000 models)",
            "value": noop,
            "unit": "requests",
            "target": f"<= {API_NOOP_BUDGET}",
            "passed": noop <= API_NOOP_BUDGET,
            "note": ", ".join(noop_calls),
        },
    ]


def run(profile: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    _setup_path()
    with tempfile.TemporaryDirectory(prefix="bench-promote-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        repos = {
            "big": (root / "big.git", _build(root / "big.git", MODELS_BIG)),
            "small": (root / "small.git", _build(root / "small.git", MODELS_SMALL)),
        }
        built = time.perf_counter() - started
        floor = _env_tree_floor(repos["big"][0])
        figures = _local_runs(repos, root / "work", profile)
        first, noop, first_calls, noop_calls = _api_budget(
            repos["big"][0], repos["big"][1], root / "api"
        )
        api_figures, api_budget = _api_mode_runs(repos, root / "api-mode")

    big, small = figures["big"], figures["small"]
    time_ratio = big["seconds"] / small["seconds"]
    bytes_ratio = big["bytes"] / small["bytes"]
    size = f"{MODELS_BIG:,} vs {MODELS_SMALL} models, {COMMITS:,} commits each"
    return [
        {
            "name": f"promote (local file:// mode) wall time, {size}",
            "value": round(time_ratio, 2),
            "unit": "x",
            "target": f"<= {RATIO_TARGET}",
            "passed": time_ratio <= RATIO_TARGET,
            "note": f"median of {RUNS}: {big['seconds'] * 1000:.0f} ms vs "
            f"{small['seconds'] * 1000:.0f} ms (repos built in {built:.1f} s)",
        },
        {
            "name": f"promote (local file:// mode) bytes received by git, {size}",
            "value": round(bytes_ratio, 1),
            "unit": "x",
            "target": f"<= {RATIO_TARGET}",
            "passed": bytes_ratio <= RATIO_TARGET,
            "note": f"clone .git/objects + history.git/objects: {big['bytes']:,.0f} B vs "
            f"{small['bytes']:,.0f} B (the ledger's commits-only clone: about 1.3 MB of "
            f"{COMMITS:,} commits in each); "
            "a blob:none clone brings every model's tree and the "
            f"environments/{ENVIRONMENT} tree ({MODELS_BIG:,} entries). Floor for any git "
            f"client on this flat layout: that tree alone is {floor:,} B compressed",
        },
        {
            "name": "API requests, first promotion (fake GitHub, 10,000 models)",
            "value": first,
            "unit": "requests",
            "target": f"<= {FIRST_BUDGET}",
            "passed": first <= FIRST_BUDGET,
            "note": ", ".join(first_calls),
        },
        {
            "name": "API requests, no-op rerun (fake GitHub, 10,000 models)",
            "value": noop,
            "unit": "requests",
            "target": f"<= {NOOP_BUDGET}",
            "passed": noop <= NOOP_BUDGET,
            "note": ", ".join(noop_calls),
        },
        *_api_mode_rows(api_figures, api_budget, size),
    ]


def _print_profile(profile: dict[str, dict[str, list[float]]]) -> None:
    commands = sorted(
        {c for by in profile.values() for c in by},
        key=lambda c: -statistics.median(profile["big"].get(c, [0.0])),
    )
    print(f"{'git command (median ms per promotion)':40} {'10,000':>8} {'10':>8}")
    for command in commands:
        cells = [statistics.median(profile[n].get(command, [0.0])) * 1000 for n in ("big", "small")]
        print(f"{command:40} {cells[0]:8.1f} {cells[1]:8.1f}")


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
