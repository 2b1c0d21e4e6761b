"""Faults, through the CLI as users run it: a flaky or rate-limited GitHub (the fake, with fault
injection, over real HTTP), lost responses, pushes racing other runs, a run killed mid-way,
and MLflow and Prometheus that are down or never answer.

Each test asserts the exit code, one line on stderr, and the state left in the fake's bare
repository and pull requests; where a run fails, a rerun must converge on exactly one PR.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.git import EnvRepo
from bot.adapters.github import Forge
from bot.core.commits import PushResult
from bot.core.names import promote_branch
from bot.core.trailers import parse_trailers
from tests.envfixtures import (
    CONFIG,
    DEFAULT_POLICY_PATH,
    ENVIRONMENT,
    NEIGHBOUR_FILES,
    REPO,
    TOKEN,
    CliResult,
    bare_git,
    bare_path,
    deploy,
    fast_github,
    github_env_repo,
    merge_pull,
    results_file,
    run_cli,
)
from tests.fakegithub import FakeGitHub
from tests.realparts.prometheus import AuthProxy, PrometheusServer, free_port

pytestmark = pytest.mark.slow

OWNER, NAME = REPO.split("/")
MODEL = "fraud-detector"
OTHER = "churn-model"
FOLDER = f"environments/{ENVIRONMENT}/{MODEL}"
BRANCH = promote_branch(ENVIRONMENT, MODEL)
LABELS = ["model-promotion", f"env:{ENVIRONMENT}"]
REVIEWERS_CONFIG = CONFIG + "reviewers: [alice]\n"
HAND_WRITTEN = """\
# Helm values for {model}, written by the ML platform team.
image:
  repository: ghcr.io/acme/{model}
  tag: "1-1111111"   # bumped by model-bot
model:
  version: "1"
replicaCount: 2
"""


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def fake(fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeGitHub:
    """acme/env with two hand-written models at version 1 and reviewers configured; the bot
    and alice may write. Clones go to a temp dir of the test's own."""
    fast_github(monkeypatch)
    github_env_repo(
        fake_github,
        files={
            ".model-bot.yaml": REVIEWERS_CONFIG,
            f"{FOLDER}/values.yaml": HAND_WRITTEN.format(model=MODEL),
            f"environments/{ENVIRONMENT}/{OTHER}/values.yaml": HAND_WRITTEN.format(model=OTHER),
        },
    )
    fake_github.add_user("alice")
    fake_github.set_permission(OWNER, NAME, "alice", "write")
    work = tmp_path / "tmp"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    fake_github.reset_requests()
    return fake_github


def promote(
    fake: FakeGitHub,
    tmp_path: Path,
    *extra: str,
    model: str = MODEL,
    version: str = "2",
    env: dict[str, str | None] | None = None,
) -> CliResult:
    return run_cli(
        "promote",
        "--results",
        results_file(tmp_path, model, version, champion="1"),
        "--policy",
        DEFAULT_POLICY_PATH,
        "--environment",
        ENVIRONMENT,
        "--env-repo",
        REPO,
        "--github-api-url",
        fake.api_url,
        *extra,
        env=env,
        tmp_path=tmp_path,
    )


def assert_no_clone_left() -> None:
    """Every run removes its working clone, whether it succeeded or failed."""
    assert list(Path(tempfile.gettempdir()).iterdir()) == []


def assert_ok(result: CliResult, outcome: str) -> None:
    assert result.exit_code == 0, result
    assert result.stderr == "", result.stderr
    assert f"outcome: {outcome}" in result.stdout, result.stdout
    assert result.outputs["outcome"] == outcome
    assert_no_clone_left()


def assert_error(result: CliResult, *parts: str, code: int = 2) -> None:
    """Exit `code` with exactly one line on stderr, naming what failed."""
    assert result.exit_code == code, result
    assert result.stderr.startswith("model-bot: error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert TOKEN not in result.stdout + result.stderr
    for part in parts:
        assert part in result.stderr, result.stderr
    assert_no_clone_left()


def calls(fake: FakeGitHub, method: str, path_regex: str) -> int:
    import re

    pattern = re.compile(path_regex)
    return sum(1 for r in fake.requests if r.method == method and pattern.search(r.path))


def git(fake: FakeGitHub, *args: str) -> str:
    return bare_git(bare_path(fake), *args)


def changed_files(fake: FakeGitHub, base: str, head: str) -> set[str]:
    return set(git(fake, "diff", "--name-only", f"{base}...{head}").splitlines())


def assert_one_promotion(
    fake: FakeGitHub,
    *,
    model: str = MODEL,
    version: str = "2",
    reviewers: bool = True,
) -> dict[str, Any]:
    """Exactly one pull request, open, labelled (and with its reviewer), whose branch is one
    commit on top of the base holding exactly the promotion's files."""
    branch = f"model-bot/promote/{ENVIRONMENT}/{model}"
    pulls = fake.pulls(OWNER, NAME)
    assert len(pulls) == 1, [(p["number"], p["head"]["ref"]) for p in pulls]
    (pull,) = pulls
    assert (pull["state"], pull["head"]["ref"], pull["base"]["ref"]) == ("open", branch, "main")
    tip = fake.branch_sha(OWNER, NAME, branch)
    assert pull["head"]["sha"] == tip
    labels = fake.issue_labels(OWNER, NAME, pull["number"])
    assert sorted(labels) == sorted(LABELS) and len(labels) == len(LABELS)
    if reviewers:
        assert fake.requested_reviewers(OWNER, NAME, pull["number"])["users"] == ["alice"]
    base = git(fake, "merge-base", "refs/heads/main", tip)
    assert git(fake, "rev-list", "--count", f"{base}..{tip}") == "1"
    folder = f"environments/{ENVIRONMENT}/{model}"
    assert changed_files(fake, base, tip) == {
        f"{folder}/values.yaml",
        f"{folder}/rollout.yaml",
        f"{folder}/analysis-template.yaml",
        f"reports/{ENVIRONMENT}/{model}/{version}.md",
        f"reports/{ENVIRONMENT}/{model}/{version}.evidence.json",
    }
    values = git(fake, "show", f"{tip}:{folder}/values.yaml")
    assert f'tag: "{version}-abc1234"   # bumped by model-bot' in values
    assert f'version: "{version}"' in values and "replicaCount: 2" in values
    trailers = parse_trailers(git(fake, "log", "-1", "--format=%B", tip))
    assert (trailers["Model"], trailers["Model-Version"]) == (model, version)
    assert fake.server_errors == []
    return pull


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the forge's waits (backoff, rate limits) instead of sleeping them."""
    recorded: list[float] = []
    monkeypatch.setattr(Forge.__init__, "__defaults__", (recorded.append,))
    return recorded


# --------------------------------------------------------------------------- 5xx

# The GitHub calls of a first promotion, in order (the API budget asserted in
# test_promote_e2e): read the repo, look for an open PR, open it, label it, ask for review.
FIRST_PROMOTION_CALLS = [
    ("GET", r"^/repos/acme/env$"),
    ("GET", r"^/repos/acme/env/pulls$"),
    ("POST", r"^/repos/acme/env/pulls$"),
    ("POST", r"^/repos/acme/env/issues/\d+/labels$"),
    ("POST", r"^/repos/acme/env/pulls/\d+/requested_reviewers$"),
]
CALL_IDS = ["get-repo", "get-pulls", "post-pulls", "post-labels", "post-reviewers"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [(m, p, 502 if i % 2 == 0 else 503) for i, (m, p) in enumerate(FIRST_PROMOTION_CALLS)],
    ids=CALL_IDS,
)
def test_transient_5xx_on_any_call_is_retried_and_the_promotion_succeeds(
    fake: FakeGitHub, tmp_path: Path, method: str, path: str, status: int
) -> None:
    fake.inject(status=status, times=2, method=method, path_regex=path)
    result = promote(fake, tmp_path)
    assert_ok(result, "created")
    assert "pull request: #1 " in result.stdout
    # Two failures, then the answer; the pull requests are listed twice (open ones, then the
    # closed ones that may have rejected this version).
    lists = 2 if path.endswith("pulls$") and method == "GET" else 1
    assert calls(fake, method, path) == 2 + lists
    assert_one_promotion(fake)


def test_backoff_is_exponential_jittered_and_capped(
    fake: FakeGitHub, tmp_path: Path, sleeps: list[float]
) -> None:
    backoff = 10.0
    retries = 6
    fake.inject(status=503, times=retries, method="GET", path_regex=r"/pulls$")
    env = {"MODEL_BOT_GITHUB_BACKOFF": str(backoff), "MODEL_BOT_GITHUB_RETRIES": str(retries)}
    result = promote(fake, tmp_path, env=env)
    assert_ok(result, "created")
    assert len(sleeps) == retries
    for attempt, slept in enumerate(sleeps, start=1):
        ceiling = min(30.0, backoff * 2 ** (attempt - 1))
        assert ceiling / 2 <= slept <= ceiling, (attempt, sleeps)
    assert max(sleeps) <= 30.0  # capped: 10, 20, then 30 s at most
    ratios = [s / min(30.0, backoff * 2 ** (i - 1)) for i, s in enumerate(sleeps, start=1)]
    assert len({round(r, 6) for r in ratios}) > 1  # jittered, not a fixed schedule
    assert_one_promotion(fake)


@pytest.mark.parametrize(
    ("method", "path", "doing", "left", "rerun"),
    [
        (*FIRST_PROMOTION_CALLS[0], "read the repository", "nothing", "created"),
        (*FIRST_PROMOTION_CALLS[1], "list pull requests", "nothing", "created"),
        # pushed, no PR: the rerun opens it on the pushed commit
        (*FIRST_PROMOTION_CALLS[2], "open a pull request", "branch", "created"),
        # PR open, unlabelled, no reviewer: the rerun labels it and asks for review
        (*FIRST_PROMOTION_CALLS[3], "label pull request #1", "pull", "unchanged"),
    ],
    ids=CALL_IDS[:4],
)
def test_persistent_5xx_exits_2_and_a_rerun_converges(
    fake: FakeGitHub,
    tmp_path: Path,
    method: str,
    path: str,
    doing: str,
    left: str,
    rerun: str,
) -> None:
    fake.inject(status=503, times=1000, method=method, path_regex=path)
    broken = promote(fake, tmp_path)
    assert_error(broken, f"GitHub answered 503 while trying to {doing}")
    assert calls(fake, method, path) == 5  # the first try and MODEL_BOT_GITHUB_RETRIES=4 more
    tip = fake.branch_sha(OWNER, NAME, BRANCH)
    assert (tip is not None) == (left != "nothing")
    assert len(fake.pulls(OWNER, NAME)) == (1 if left == "pull" else 0)
    fake.clear_faults()

    again = promote(fake, tmp_path)
    assert_ok(again, rerun)
    if tip is not None:
        assert fake.branch_sha(OWNER, NAME, BRANCH) == tip  # no second commit
    pull = assert_one_promotion(fake)
    assert f"pull request: #{pull['number']} " in again.stdout

    third = promote(fake, tmp_path)
    assert_ok(third, "unchanged")
    assert len(fake.pulls(OWNER, NAME)) == 1


def test_a_run_stopped_before_updating_the_pr_is_finished_by_the_next(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    """Version 3 pushed over the open PR of 2, then GitHub fails the PATCH: the branch holds
    3 while the PR still says 2. The rerun must update the PR, not call it unchanged."""
    assert_ok(promote(fake, tmp_path), "created")
    fake.inject(status=503, times=1000, method="PATCH", path_regex=r"/pulls/1$")
    broken = promote(fake, tmp_path, version="3")
    assert_error(broken, "GitHub answered 503 while trying to update pull request #1")
    assert fake.pulls(OWNER, NAME)[0]["title"] == f"Promote {MODEL} 2 to {ENVIRONMENT}"
    tip = fake.branch_sha(OWNER, NAME, BRANCH)
    fake.clear_faults()

    again = promote(fake, tmp_path, version="3")
    assert_ok(again, "updated")
    assert fake.branch_sha(OWNER, NAME, BRANCH) == tip  # the pushed commit, reused
    pull = assert_one_promotion(fake, version="3")
    assert pull["title"] == f"Promote {MODEL} 3 to {ENVIRONMENT}"
    assert "version `3`" in pull["body"]
    comments = [c["body"] for c in fake.comments(OWNER, NAME, pull["number"])]
    assert comments == [
        f"model-bot: superseded `2` by `3`; this pull request now promotes {MODEL} `3` to "
        f"{ENVIRONMENT}."
    ]
    assert_ok(promote(fake, tmp_path, version="3"), "unchanged")


def test_persistent_5xx_on_review_requests_is_a_warning(fake: FakeGitHub, tmp_path: Path) -> None:
    """The PR stands without its reviewer (README: a refused reviewer is a warning)."""
    fake.inject(status=503, times=1000, method="POST", path_regex=r"/requested_reviewers$")
    result = promote(fake, tmp_path)
    assert result.exit_code == 0, result
    assert result.stderr.startswith("warning: reviewers not requested: GitHub answered 503")
    assert result.stderr.count("\n") == 1
    assert result.outputs["outcome"] == "created"
    assert_one_promotion(fake, reviewers=False)


# --------------------------------------------------------------------------- rate limits


def test_secondary_rate_limit_is_waited_out(fake: FakeGitHub, tmp_path: Path) -> None:
    """A real wait: Retry-After 1 s, then the same call succeeds."""
    fake.secondary_rate_limit(times=1, retry_after=1, method="POST", path_regex=r"/pulls$")
    started = time.monotonic()
    result = promote(fake, tmp_path, env={"MODEL_BOT_MAX_RATE_LIMIT_WAIT": "5"})
    assert time.monotonic() - started >= 1.0
    assert_ok(result, "created")
    assert calls(fake, "POST", r"/pulls$") == 2
    assert_one_promotion(fake)


@pytest.mark.parametrize(
    ("limit", "expected"),
    [("secondary", [30.0]), ("primary", [20.0])],
)
def test_rate_limits_wait_as_github_says(
    fake: FakeGitHub, tmp_path: Path, sleeps: list[float], limit: str, expected: list[float]
) -> None:
    if limit == "secondary":
        fake.secondary_rate_limit(times=1, retry_after=30, method="GET", path_regex=r"env$")
    else:
        fake.rate_limit_primary(times=1, reset_in=20, method="GET", path_regex=r"env$")
    result = promote(fake, tmp_path, env={"MODEL_BOT_MAX_RATE_LIMIT_WAIT": "60"})
    assert_ok(result, "created")
    assert sleeps == pytest.approx(expected, abs=1.5)
    assert_one_promotion(fake)


@pytest.mark.parametrize(
    "setup",
    [
        lambda fake: fake.secondary_rate_limit(times=1, retry_after=120, path_regex=r"env$"),
        lambda fake: fake.rate_limit_primary(times=1, reset_in=600, path_regex=r"env$"),
        # every wait is short, but together they exceed the bound
        lambda fake: fake.secondary_rate_limit(times=10, retry_after=25, path_regex=r"env$"),
    ],
    ids=["secondary-too-long", "primary-too-long", "too-many-waits"],
)
def test_a_rate_limit_wait_over_the_bound_exits_2(
    fake: FakeGitHub,
    tmp_path: Path,
    sleeps: list[float],
    setup: Callable[[FakeGitHub], None],
) -> None:
    setup(fake)
    started = time.monotonic()
    result = promote(fake, tmp_path, env={"MODEL_BOT_MAX_RATE_LIMIT_WAIT": "60"})
    assert time.monotonic() - started < 10
    assert_error(
        result,
        "GitHub rate limit while trying to read the repository",
        "MODEL_BOT_MAX_RATE_LIMIT_WAIT=60s",
    )
    assert sum(sleeps) <= 60
    assert fake.git_requests == [] and fake.pulls(OWNER, NAME) == []


# --------------------------------------------------------------------------- lost responses


@pytest.mark.parametrize(
    "path",
    [r"^/repos/acme/env/pulls$", r"/labels$", r"/requested_reviewers$"],
    ids=["post-pulls", "post-labels", "post-reviewers"],
)
def test_a_lost_response_is_recovered_in_the_same_run(
    fake: FakeGitHub, tmp_path: Path, path: str
) -> None:
    fake.drop_response(times=1, method="POST", path_regex=path)
    result = promote(fake, tmp_path)
    assert_ok(result, "created")
    assert_one_promotion(fake)
    assert calls(fake, "POST", r"^/repos/acme/env/pulls$") == 1  # never posted twice


def test_a_lost_pr_response_is_found_by_the_next_run(
    fake: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PR was created but its response was lost, and GitHub then failed every read: the
    run gives up (exit 2); the next one finds the PR instead of opening another."""
    original = Forge.create_pull

    def create_pull(self: Forge, **kwargs: str) -> Any:
        fake.drop_response(times=1, method="POST", path_regex=r"^/repos/acme/env/pulls$")
        fake.inject(status=502, times=1000, method="GET", path_regex=r"/pulls$")
        return original(self, **kwargs)

    monkeypatch.setattr(Forge, "create_pull", create_pull)
    broken = promote(fake, tmp_path)
    assert_error(broken, "GitHub answered 502 while trying to list pull requests")
    assert len(fake.pulls(OWNER, NAME)) == 1  # created on the server
    tip = fake.branch_sha(OWNER, NAME, BRANCH)
    monkeypatch.setattr(Forge, "create_pull", original)
    fake.clear_faults()
    fake.reset_requests()

    again = promote(fake, tmp_path)
    assert_ok(again, "unchanged")
    assert calls(fake, "POST", r"^/repos/acme/env/pulls$") == 0
    assert fake.branch_sha(OWNER, NAME, BRANCH) == tip  # no second commit
    assert_one_promotion(fake)


# --------------------------------------------------------------------------- racing pushes


def racing_push(
    fake: FakeGitHub, every_time: bool, outcomes: list[str] | None = None
) -> Callable[..., PushResult]:
    """EnvRepo.push, but another run pushes the bot's branch between our read and our push;
    `outcomes` collects each push's status."""
    original = EnvRepo.push
    raced: list[str] = []
    seen = outcomes if outcomes is not None else []

    def push(self: EnvRepo, branch: str, *, expected_remote_sha: str | None) -> PushResult:
        if every_time or not raced:
            main = fake.branch_sha(OWNER, NAME, "main")
            raced.append(
                fake.commit_files(
                    OWNER,
                    NAME,
                    branch,
                    {f"{FOLDER}/values.yaml": f"# a racing run, take {len(raced)}\n"},
                    "A racing run",
                    parent=main,
                )
            )
        pushed = original(self, branch, expected_remote_sha=expected_remote_sha)
        seen.append(pushed.status)
        return pushed

    return push


def test_a_push_rejected_by_a_racing_run_is_reread_and_retried(
    fake: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcomes: list[str] = []
    monkeypatch.setattr(EnvRepo, "push", racing_push(fake, every_time=False, outcomes=outcomes))
    result = promote(fake, tmp_path)
    assert_ok(result, "created")
    assert outcomes == ["rejected-stale", "ok"]  # the lease caught the racer; read again
    assert_one_promotion(fake)


def test_a_branch_that_keeps_moving_gives_up_then_converges(
    fake: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = EnvRepo.push
    outcomes: list[str] = []
    monkeypatch.setattr(EnvRepo, "push", racing_push(fake, every_time=True, outcomes=outcomes))
    broken = promote(fake, tmp_path)
    assert_error(broken, f"{BRANCH} kept moving while pushing (3 attempts)")
    assert outcomes == ["rejected-stale"] * 3
    assert fake.pulls(OWNER, NAME) == []
    monkeypatch.setattr(EnvRepo, "push", original)

    again = promote(fake, tmp_path)
    assert_ok(again, "created")
    assert_one_promotion(fake)


def test_a_push_that_loses_the_race_on_the_server_is_retried(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    """git checks the lease against the refs it read; a concurrent push can still update the
    branch on the server before ours does (here: a hook, once). The server then refuses our
    ref update: that is a moved branch (re-read, retry), not a refusal."""
    bare = bare_path(fake)
    main = fake.branch_sha(OWNER, NAME, "main")
    hook = bare / "hooks" / "pre-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(
        "#!/bin/sh\n"
        "[ -e raced ] && exit 0\n"
        "touch raced\n"
        f"mkdir -p refs/heads/{BRANCH.rsplit('/', 1)[0]}\n"
        f"echo {main} > refs/heads/{BRANCH}\n"
    )
    hook.chmod(0o755)
    result = promote(fake, tmp_path)
    assert (bare / "raced").exists()
    assert_ok(result, "created")
    assert_one_promotion(fake)


def test_a_twin_run_pushing_the_very_same_commit_first_is_a_moved_branch(
    fake: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs started in the same second make the same commit (same parent, content,
    author and time). The one that pushes second finds nothing to update: it must not take
    the other's work for its own, but read the branch again."""
    original = EnvRepo.push
    statuses: list[str] = []

    def push(self: EnvRepo, branch: str, *, expected_remote_sha: str | None) -> PushResult:
        if not statuses:
            twin = original(self, branch, expected_remote_sha=expected_remote_sha)
            statuses.append(f"twin {twin.status}")
        pushed = original(self, branch, expected_remote_sha=expected_remote_sha)
        statuses.append(pushed.status)
        return pushed

    monkeypatch.setattr(EnvRepo, "push", push)
    result = promote(fake, tmp_path)  # the twin pushed and died: this run opens the PR
    assert_ok(result, "created")
    assert statuses == ["twin ok", "rejected-stale"]
    assert_one_promotion(fake)

    statuses.clear()
    newer = promote(fake, tmp_path, version="3")  # the twin pushed 3 and died before the PR
    assert_ok(newer, "updated")
    assert statuses == ["twin ok", "rejected-stale"]
    (pull,) = fake.pulls(OWNER, NAME)
    assert pull["title"] == f"Promote {MODEL} 3 to {ENVIRONMENT}"
    assert "version `3`" in pull["body"]
    assert [c["body"] for c in fake.comments(OWNER, NAME, pull["number"])] == [
        f"model-bot: superseded `2` by `3`; this pull request now promotes {MODEL} `3` to "
        f"{ENVIRONMENT}."
    ]


def test_a_divergent_bot_branch_is_rebuilt_on_the_base(fake: FakeGitHub, tmp_path: Path) -> None:
    """Someone pushed junk to the bot's branch (no PR open): the bot rebuilds it."""
    fake.commit_files(
        OWNER,
        NAME,
        BRANCH,
        {f"{FOLDER}/junk.yaml": "junk: true\n", f"{FOLDER}/values.yaml": "broken: [\n"},
        "Junk",
        parent=fake.branch_sha(OWNER, NAME, "main"),
    )
    result = promote(fake, tmp_path)
    assert_ok(result, "created")
    tip = fake.branch_sha(OWNER, NAME, BRANCH)
    assert git(fake, "rev-parse", f"{tip}~1") == fake.branch_sha(OWNER, NAME, "main")
    assert f"{FOLDER}/junk.yaml" not in git(fake, "ls-tree", "-r", "--name-only", tip)
    assert_one_promotion(fake)


def test_the_base_moving_between_runs_still_gives_a_clean_pr(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    first = promote(fake, tmp_path)
    assert_ok(first, "created")
    tip = fake.branch_sha(OWNER, NAME, BRANCH)

    # Another model's promotion merges: the PR is still exactly right.
    other = promote(fake, tmp_path, model=OTHER)
    assert_ok(other, "created")
    merge_pull(fake, REPO, 2)
    again = promote(fake, tmp_path)
    assert_ok(again, "unchanged")
    assert fake.branch_sha(OWNER, NAME, BRANCH) == tip

    # A person edits this model's values on main: the PR is rebuilt on the new base.
    values = git(fake, "show", f"main:{FOLDER}/values.yaml")
    fake.commit_files(
        OWNER,
        NAME,
        "main",
        {f"{FOLDER}/values.yaml": values.replace("replicaCount: 2", "replicaCount: 2\nfoo: bar")},
        "More capacity",
    )
    main = fake.branch_sha(OWNER, NAME, "main")
    rebuilt = promote(fake, tmp_path)
    assert_ok(rebuilt, "updated")
    new_tip = fake.branch_sha(OWNER, NAME, BRANCH)
    assert git(fake, "rev-parse", f"{new_tip}~1") == main
    pull = next(p for p in fake.pulls(OWNER, NAME) if p["head"]["ref"] == BRANCH)
    assert pull["mergeable"] is not False

    merged = merge_pull(fake, REPO, pull["number"])
    values = git(fake, "show", f"{merged}:{FOLDER}/values.yaml")
    assert 'tag: "2-abc1234"' in values and "foo: bar" in values
    other_values = git(fake, "show", f"{merged}:environments/{ENVIRONMENT}/{OTHER}/values.yaml")
    assert 'tag: "2-abc1234"' in other_values
    for path, text in NEIGHBOUR_FILES.items():
        assert git(fake, "show", f"{merged}:{path}") == text.strip("\n")


# --------------------------------------------------------------------------- killed runs


def subprocess_env(fake: FakeGitHub, tmp_path: Path) -> dict[str, str]:
    work = tmp_path / "subprocess-tmp"
    work.mkdir(exist_ok=True)
    return {
        **os.environ,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_API_URL": fake.api_url,
        "MODEL_BOT_GITHUB_WRITE_INTERVAL": "0",
        "MODEL_BOT_GITHUB_BACKOFF": "0.01",
        "TMPDIR": str(work),
    }


def promote_argv(fake: FakeGitHub, tmp_path: Path, model: str = MODEL) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bot",
        "promote",
        "--results",
        str(results_file(tmp_path, model, "2", champion="1")),
        "--policy",
        str(DEFAULT_POLICY_PATH),
        "--environment",
        ENVIRONMENT,
        "--env-repo",
        REPO,
    ]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def killed() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.parametrize("server_created_it", [False, True], ids=["pr-never-made", "pr-made"])
def test_a_run_killed_between_push_and_pr_is_completed_by_the_next(
    fake: FakeGitHub,
    tmp_path: Path,
    killed: list[subprocess.Popen[bytes]],
    server_created_it: bool,
) -> None:
    """SIGKILL while the PR-creating POST waits for its answer. Either GitHub never made the
    PR (`pr-never-made`: the request fails after the kill) or it did (`pr-made`); the next
    run finishes the promotion with no second commit and no second PR."""
    fake.latency = 0.6  # every API answer is held back: time to kill the waiting client
    if not server_created_it:
        fake.inject(status=502, times=1, method="POST", path_regex=r"^/repos/acme/env/pulls$")
    process = subprocess.Popen(
        promote_argv(fake, tmp_path),
        env=subprocess_env(fake, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    killed.append(process)
    wait_for(
        lambda: calls(fake, "POST", r"^/repos/acme/env/pulls$") == 1 or process.poll() is not None,
        60,
        "the POST that opens the PR",
    )
    assert process.poll() is None, process.communicate()
    tip = fake.branch_sha(OWNER, NAME, BRANCH)
    assert tip is not None  # pushed before the POST
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL
    if server_created_it:
        wait_for(lambda: len(fake.pulls(OWNER, NAME)) == 1, 10, "the server to make the PR")
        assert fake.issue_labels(OWNER, NAME, 1) == []  # killed before labelling
    else:
        # The held POST takes its 502 only after its latency sleep; until then the fault is
        # still queued, and the next run's POST could take it while the held one makes the PR.
        assert fake.wait_for_faults_used(timeout=30), "the held POST never took its 502"
        assert fake.pulls(OWNER, NAME) == []
    fake.latency = 0.0
    fake.reset_requests()

    again = promote(fake, tmp_path)
    assert again.exit_code == 0, again
    assert again.outputs["outcome"] == ("unchanged" if server_created_it else "created")
    assert fake.branch_sha(OWNER, NAME, BRANCH) == tip  # the killed run's commit, reused
    assert calls(fake, "POST", r"^/repos/acme/env/pulls$") == (0 if server_created_it else 1)
    assert_one_promotion(fake)


# --------------------------------------------------------------------------- MLflow


def mlflow_promote(fake: FakeGitHub, uri: str, timeout: str = "2") -> CliResult:
    return run_cli(
        "promote",
        "--mlflow-model",
        MODEL,
        "--mlflow-version",
        "2",
        "--tracking-uri",
        uri,
        "--mlflow-timeout",
        timeout,
        "--policy",
        DEFAULT_POLICY_PATH,
        "--environment",
        ENVIRONMENT,
        "--env-repo",
        REPO,
        "--github-api-url",
        fake.api_url,
    )


@pytest.mark.parametrize("server", ["closed-port", "silent"])
def test_unreachable_or_silent_mlflow_exits_2_naming_the_uri_in_bounded_time(
    fake: FakeGitHub, silent_server: str, server: str
) -> None:
    uri = f"http://127.0.0.1:{free_port()}" if server == "closed-port" else silent_server
    started = time.monotonic()
    result = mlflow_promote(fake, uri)
    elapsed = time.monotonic() - started
    assert elapsed < 8, elapsed  # --mlflow-timeout 2: two tries of 1 s, plus imports
    assert_error(result, f"from MLflow at {uri}")
    if server == "silent":
        assert "no answer within 2s" in result.stderr
    assert fake.requests == [] and fake.git_requests == []  # nothing started


# --------------------------------------------------------------------------- Prometheus

CANARY = "error-regression"  # its canary fails the analysis whenever Prometheus answers


def analyze(fake: FakeGitHub, url: str, at: int, tmp_path: Path) -> CliResult:
    return run_cli(
        "analyze",
        "--model",
        CANARY,
        "--environment",
        ENVIRONMENT,
        "--policy",
        DEFAULT_POLICY_PATH,
        "--env-repo",
        REPO,
        "--github-api-url",
        fake.api_url,
        "--prometheus-url",
        url,
        "--prometheus-timeout",
        "1",
        "--at",
        str(at),
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize("how", ["closed-port", "silent", "slow", "503"])
def test_unreachable_or_slow_prometheus_is_inconclusive_and_reverts_nothing(
    fake: FakeGitHub,
    prometheus: PrometheusServer,
    auth_proxy_factory: Callable[..., AuthProxy],
    silent_server: str,
    tmp_path: Path,
    how: str,
) -> None:
    deploy(fake, REPO, CANARY, ("1", "2"), workdir=tmp_path)
    url = {
        "closed-port": lambda: f"http://127.0.0.1:{free_port()}",
        "silent": lambda: silent_server,
        "slow": lambda: auth_proxy_factory(prometheus.url, delay=3.0).url,
        "503": lambda: auth_proxy_factory(prometheus.url, leak_status=503).url,
    }[how]()
    writes = sum(fake.request_count(m) for m in ("POST", "PATCH", "PUT", "DELETE"))
    bot_refs = git(fake, "for-each-ref", "refs/heads/model-bot/rollback/")

    started = time.monotonic()
    result = analyze(fake, url, prometheus.now, tmp_path)
    assert time.monotonic() - started < 8

    assert result.exit_code == 3, result
    assert "verdict: INCONCLUSIVE" in result.stdout
    assert result.outputs["verdict"] == "inconclusive"
    assert result.outputs["outcome"] == "unchanged"
    assert result.outputs["pull-request-number"] == ""
    assert sum(fake.request_count(m) for m in ("POST", "PATCH", "PUT", "DELETE")) == writes
    assert git(fake, "for-each-ref", "refs/heads/model-bot/rollback/") == bot_refs == ""
    assert [
        p for p in fake.pulls(OWNER, NAME) if p["head"]["ref"].startswith("model-bot/rollback")
    ] == []

    # The same canary with Prometheus answering: it fails and is reverted.
    control = analyze(fake, prometheus.url, prometheus.now, tmp_path)
    assert control.exit_code == 1, control
    assert "verdict: FAIL" in control.stdout
