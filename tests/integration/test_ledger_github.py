"""The deployment ledger on the fake GitHub, end to end through the CLI as users run it:
holds that make a rollback stick (and lifting one), a promotion a reviewer closed unmerged,
`history` after each of GitHub's merge methods, a manual edit pushed straight to the base,
and `status` with its canary matrix.

GitHub behaviour relied on (the fake serves it; tests/fakegithub/test_fake_github.py pins each):

* Merging leaves the head branch in place unless the repository enables "Automatically
  delete head branches" (off by default: `delete_branch_on_merge` is false in "Create a
  repository", https://docs.github.com/en/rest/repos/repos#create-a-repository; and
  https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/configuring-pull-request-merges/managing-the-automatic-deletion-of-branches).
  So the bot's promotion branch still points at a commit already merged when it runs again.
* A merge commit's subject is "Merge pull request #N from OWNER/BRANCH" and its message the
  PR title; a squash merge writes the repository's `squash_merge_commit_title` /
  `squash_merge_commit_message` ("Update a repository",
  https://docs.github.com/en/rest/repos/repos#update-a-repository; the UI's choices in
  https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/configuring-pull-request-merges/configuring-commit-squashing-for-pull-requests):
  PR_TITLE + PR_BODY keeps the bot's marker in the commit message, PR_TITLE + BLANK keeps
  only "Title (#N)"; a rebase merge replays the bot's commit (trailers kept, committer
  GitHub) ("About merge methods on GitHub",
  https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/configuring-pull-request-merges/about-merge-methods-on-github).
* "List pull requests associated with a commit" names the merged PR that brought a commit to
  the default branch (its merge, squash or rebased commits), none for a direct push
  (https://docs.github.com/en/rest/commits/commits#list-pull-requests-associated-with-a-commit).
* "Get a pull request" carries `merged_by` and `closed_at`
  (https://docs.github.com/en/rest/pulls/pulls#get-a-pull-request); the PR's issue names who
  closed it in `closed_by` (https://docs.github.com/en/rest/issues/issues#get-an-issue); "List
  reviews for a pull request" gives each reviewer's reviews in order
  (https://docs.github.com/en/rest/pulls/reviews#list-reviews-for-a-pull-request).
* A matrix may be a whole object from `fromJSON` with an `include` list
  (https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/running-variations-of-jobs-in-a-workflow,
  https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/evaluate-expressions-in-workflows-and-actions#fromjson).

The fake authenticates a request by its token (`add_user(login, token=...)`): a PR closed or
merged with another user's token is closed or merged by that user.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.core.marker import read_marker
from bot.core.trailers import parse_trailers
from tests.envfixtures import (
    DEFAULT_POLICY_PATH,
    ENVIRONMENT,
    NEIGHBOUR,
    REPO,
    CliResult,
    bare_git,
    bare_path,
    deploy,
    fast_github,
    folder,
    github_env_repo,
    merge_pull,
    results_file,
    run_cli,
)
from tests.fakegithub import FakeGitHub
from tests.fakegithub import _api as fake_api

OWNER, NAME = REPO.split("/")
MODEL = "fraud-detector"
PROMOTE_BRANCH = f"model-bot/promote/{ENVIRONMENT}/{MODEL}"
ALICE_TOKEN = "ghp_aliceLedgerToken0123456789abcdefABCD"  # merges
BOB_TOKEN = "ghp_bobLedgerToken0123456789abcdefABCDEF"  # closes a PR unmerged


@pytest.fixture
def github(fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    """acme/env (see tests/envfixtures.py) with two people who may write: alice merges, bob
    reviews and closes."""
    fast_github(monkeypatch)
    github_env_repo(fake_github)
    for login, token in (("alice", ALICE_TOKEN), ("bob", BOB_TOKEN)):
        fake_github.add_user(login, token=token)
        fake_github.set_permission(OWNER, NAME, login, "write")
    return fake_github


# --------------------------------------------------------------------------- the CLI


def promote(
    fake: FakeGitHub,
    tmp_path: Path,
    version: str,
    *extra: str | Path,
    champion: str | None = None,
    model: str = MODEL,
    environment: str = ENVIRONMENT,
    policy: Path = DEFAULT_POLICY_PATH,
) -> CliResult:
    results = results_file(tmp_path, model, version, champion=champion)
    return run_cli(
        "promote", "--results", results, "--policy", policy, "--environment", environment,
        "--env-repo", REPO, "--github-api-url", fake.api_url, *extra, tmp_path=tmp_path,
    )  # fmt: skip


def rollback(fake: FakeGitHub, tmp_path: Path, reason: str, *, model: str = MODEL) -> CliResult:
    return run_cli(
        "rollback", "--model", model, "--environment", ENVIRONMENT, "--env-repo", REPO,
        "--github-api-url", fake.api_url, "--reason", reason, tmp_path=tmp_path,
    )  # fmt: skip


def history(fake: FakeGitHub, tmp_path: Path, *extra: str) -> dict[str, Any]:
    result = run_cli(
        "history", "--model", MODEL, "--environment", ENVIRONMENT, "--env-repo", REPO,
        "--github-api-url", fake.api_url, "--format", "json", *extra, tmp_path=tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result
    assert result.stderr == "", result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def opened(result: CliResult) -> int:
    """The PR a promote or rollback run opened (outcome `created`)."""
    assert result.exit_code == 0, result
    assert result.outputs["outcome"] == "created", result.stdout
    return int(result.outputs["pull-request-number"])


def merge(fake: FakeGitHub, number: int, method: str = "merge") -> str:
    """alice merges #`number` through the REST API; the new base sha."""
    return merge_pull(fake, REPO, number, token=ALICE_TOKEN, method=method)


def row(entry: dict[str, Any]) -> tuple[Any, ...]:
    """An entry of `history --format json` without its commit and time."""
    pull = entry["pull_request"]
    return (
        entry["action"],
        entry["previous_version"],
        entry["version"],
        pull["number"] if pull else None,
        entry["merged_by"],
        tuple(entry["approved_by"]),
    )


def minute(stamp: str) -> str:
    """GitHub's `2026-11-30T12:42:29Z` as the bot's text shows times: `2026-11-30 12:42Z`."""
    return f"{stamp[:10]} {stamp[11:16]}Z"


def writes(fake: FakeGitHub) -> list[str]:
    """Every API write and git push since the last `reset_requests`."""
    api = [f"{r.method} {r.path}" for r in fake.requests if r.method != "GET"]
    pushes = [
        f"{r.method} {r.path}"
        for r in fake.git_requests
        if r.query.get("service") == "git-receive-pack" or r.path.endswith("/git-receive-pack")
    ]
    return api + pushes


@contextmanager
def github_clock(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> Iterator[None]:
    """The fake GitHub's clock reads `moment` (inside the block): a merge commit, squash or
    rebase it writes is committed then, as GitHub commits at the time of the merge. Hours
    pass between merges without sleeping."""
    clock = SimpleNamespace(time=lambda: moment.timestamp(), sleep=time.sleep)
    with monkeypatch.context() as patch:
        patch.setattr(fake_api, "time", clock)
        yield


# --------------------------------------------------------------------------- holds


def test_a_rolled_back_version_is_held_until_its_hold_is_lifted(
    github: FakeGitHub, tmp_path: Path
) -> None:
    six = opened(promote(github, tmp_path, "6"))
    merge(github, six)
    seven = opened(promote(github, tmp_path, "7", champion="6"))
    merge(github, seven)
    kept = github.branch_sha(OWNER, NAME, PROMOTE_BRANCH)
    assert kept is not None  # GitHub keeps the head branch after a merge by default
    back = opened(rollback(github, tmp_path, "error rate 5% in the canary"))
    merge(github, back)

    # The training workflow reruns promote for 7: blocked, citing the rollback PR and why.
    bare = bare_path(github)
    refs = bare_git(bare, "for-each-ref")
    pulls = len(github.pulls(OWNER, NAME))
    github.reset_requests()
    again = promote(github, tmp_path, "7", champion="6")
    assert again.exit_code == 1, again
    assert again.outputs["outcome"] == "blocked" and again.outputs["decision"] == "pass"
    assert "outcome: blocked (" in again.stdout
    assert f"{MODEL} 7 was rolled back in {ENVIRONMENT} by #{back} (" in again.stdout
    assert "reason: error rate 5% in the canary" in again.stdout
    assert "--lift-hold REASON" in again.stdout
    assert writes(github) == []  # no push, no PR, no comment, no label
    assert len(github.pulls(OWNER, NAME)) == pulls
    assert bare_git(bare, "for-each-ref") == refs

    held = history(github, tmp_path)["holds"]
    assert [(h["version"], h["pull_request"]["number"], h["reason"]) for h in held] == [
        ("7", back, "error rate 5% in the canary")
    ]

    # Lifted with a reason: the stale branch (its commit merged, then reverted) is rebuilt
    # on the current main and a new PR opened; never GitHub's 422 "No commits between".
    github.reset_requests()
    lifted = promote(
        github, tmp_path, "7", "--lift-hold", "fixed the feature pipeline", champion="6"
    )
    number = opened(lifted)
    assert "No commits between" not in lifted.stdout + lifted.stderr
    assert any(w.endswith("/git-receive-pack") for w in writes(github))  # pushed anew
    assert "POST /repos/acme/env/pulls" in writes(github)
    assert number not in (six, seven, back)
    pull = github.pull(OWNER, NAME, number)
    assert pull["state"] == "open" and pull["head"]["ref"] == PROMOTE_BRANCH
    assert pull["body"].startswith(
        f"**Hold lifted:** version `7` was rolled back in `{ENVIRONMENT}` by #{back} on "
    )
    because = "(reason: error rate 5% in the canary); it is promoted again because: fixed"
    assert because in pull["body"]
    head = pull["head"]["sha"]
    assert head != kept
    assert parse_trailers(bare_git(bare, "log", "-1", "--format=%B", head))["Hold-Lifted"] == (
        "fixed the feature pipeline"
    )
    main = github.branch_sha(OWNER, NAME, "main")
    assert main is not None and bare_git(bare, "rev-parse", f"{head}^") == main

    merge(github, number)
    data = history(github, tmp_path)
    assert [row(e) for e in data["entries"]] == [
        ("promote", "6", "7", number, "alice", ()),
        ("rollback", "7", "6", back, "alice", ()),
        ("promote", "6", "7", seven, "alice", ()),
        ("promote", None, "6", six, "alice", ()),
    ]
    assert data["entries"][0]["hold_lifted"] == "fixed the feature pipeline"
    assert data["entries"][1]["reason"] == "error rate 5% in the canary"
    assert data["holds"] == []


# --------------------------------------------------------------------------- a rejected PR


def test_a_promotion_closed_unmerged_is_proposed_again_only_with_reopen(
    github: FakeGitHub, tmp_path: Path
) -> None:
    merge(github, opened(promote(github, tmp_path, "7")))
    eight = opened(promote(github, tmp_path, "8", champion="7"))
    # bob says no: PATCH /pulls/N state=closed with his token.
    github.client(BOB_TOKEN).get_repo(REPO).get_pull(eight).edit(state="closed")
    closed = github.pull(OWNER, NAME, eight)
    assert closed["state"] == "closed" and closed["merged"] is False
    assert github.issue(OWNER, NAME, eight)["closed_by"]["login"] == "bob"

    github.reset_requests()
    again = promote(github, tmp_path, "8", champion="7")
    assert again.exit_code == 1, again
    assert again.outputs["outcome"] == "blocked"
    assert (
        f"the promotion of {MODEL} 8 to {ENVIRONMENT} (#{eight}, {closed['html_url']}) was "
        f"closed without merging by @bob on {minute(closed['closed_at'])}: not proposed again; "
        "pass --reopen"
    ) in again.stdout
    assert writes(github) == []
    assert [p["number"] for p in github.pulls(OWNER, NAME, "open")] == []

    reopened = promote(github, tmp_path, "8", "--reopen", champion="7")
    number = opened(reopened)
    assert number > eight
    (pull,) = github.pulls(OWNER, NAME, "open")
    assert pull["number"] == number and pull["head"]["ref"] == PROMOTE_BRANCH
    meta = read_marker(pull["body"])
    assert meta is not None and (meta.version, meta.previous_version) == ("8", "7")
    assert github.pull(OWNER, NAME, eight)["state"] == "closed"  # bob's decision stands


# --------------------------------------------------------------------------- merge methods

MERGES = {
    # id: (merge_method, (squash_merge_commit_title, squash_merge_commit_message) or None)
    "merge-commit": ("merge", None),
    "squash-title-and-description": ("squash", ("PR_TITLE", "PR_BODY")),
    "squash-title-only": ("squash", ("PR_TITLE", "BLANK")),
    "rebase": ("rebase", None),
}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("merging", list(MERGES))
def test_history_is_the_same_whichever_way_the_pulls_were_merged(
    github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, merging: str
) -> None:
    method, squash = MERGES[merging]
    if squash is not None:
        github.set_squash_message(OWNER, NAME, title=squash[0], message=squash[1])
    bare = bare_path(github)

    first = opened(promote(github, tmp_path, "1"))
    github.add_review(OWNER, NAME, first, "carol", "APPROVED")
    github.add_review(OWNER, NAME, first, "dave", "COMMENTED")  # a comment approves nothing
    with github_clock(monkeypatch, T0 + HOUR):
        merge(github, first, method)
    second = opened(promote(github, tmp_path, "2", champion="1"))
    github.add_review(OWNER, NAME, second, "dave", "CHANGES_REQUESTED")
    github.add_review(OWNER, NAME, second, "carol", "APPROVED")
    github.add_review(OWNER, NAME, second, "dave", "APPROVED")  # supersedes his request
    with github_clock(monkeypatch, T0 + 2 * HOUR):
        merged = merge(github, second, method)
    back = opened(rollback(github, tmp_path, "p99 doubled"))
    with github_clock(monkeypatch, T0 + 3 * HOUR):
        merge(github, back, method)

    # What the base's commit says about #second, for each method.
    message = bare_git(bare, "log", "-1", "--format=%B", merged)
    claim = parse_trailers(message)
    marker = read_marker(message)
    if merging == "merge-commit":
        assert message.startswith(f"Merge pull request #{second} from {OWNER}/{PROMOTE_BRANCH}")
        assert "Model" not in claim and marker is None  # the claim is on the merged tip
    elif merging == "squash-title-and-description":
        assert marker is not None and marker.version == "2"
    elif merging == "squash-title-only":
        assert message == f"Promote {MODEL} 2 to {ENVIRONMENT} (#{second})"  # the forge is asked
    else:
        assert claim["Model-Version"] == "2" and marker is None

    data = history(github, tmp_path)
    assert [row(e) for e in data["entries"]] == [
        ("rollback", "2", "1", back, "alice", ()),
        ("promote", "1", "2", second, "alice", ("carol", "dave")),
        ("promote", None, "1", first, "alice", ("carol",)),
    ]
    assert [e["at"] for e in data["entries"]] == [_iso(T0 + n * HOUR) for n in (3, 2, 1)]
    assert [h["version"] for h in data["holds"]] == ["2"]
    if squash is None:  # a squash drops it: test_a_squashed_rollback_keeps_its_reason
        assert data["entries"][0]["reason"] == "p99 doubled"
    assert data["entries"][1]["gate"].startswith("PASS ")

    # Which version served between two entries.
    between = history(github, tmp_path, "--at", _iso(T0 + 2 * HOUR + HOUR / 2))
    assert (between["version"], between["since"], between["action"]) == (
        "2",
        _iso(T0 + 2 * HOUR),
        "promote",
    )
    before = history(github, tmp_path, "--at", _iso(T0 + HOUR / 2))
    assert before["version"] is None and before["since"] is None


@pytest.mark.parametrize("message", ["PR_BODY", "BLANK"])
def test_a_squashed_rollback_keeps_its_reason(
    github: FakeGitHub, tmp_path: Path, message: str
) -> None:
    """Squash merges with the PR title and description (or title only): the ledger reads the
    rollback from the marker (in the message, or in the PR the forge names), and the marker
    should say why, as the rollback commit's `Reason` trailer does."""
    github.set_squash_message(OWNER, NAME, title="PR_TITLE", message=message)
    deploy(github, REPO, MODEL, ("1", "2"), method="squash", workdir=tmp_path)
    back = opened(rollback(github, tmp_path, "p99 doubled"))
    merge(github, back, "squash")
    newest = history(github, tmp_path)["entries"][0]
    assert row(newest)[:4] == ("rollback", "2", "1", back)
    assert newest["reason"] == "p99 doubled"


# --------------------------------------------------------------------------- manual edits


def test_a_manual_edit_pushed_to_main_is_reported_as_such(
    github: FakeGitHub, tmp_path: Path
) -> None:
    six = opened(promote(github, tmp_path, "6"))
    merge(github, six)
    path = f"{folder(MODEL)}/values.yaml"
    text = bare_git(bare_path(github), "show", f"main:{path}")
    edited = text.replace('version: "6"', 'version: "6-hotfix"')
    assert edited != text
    # Someone pushes a hotfix straight to main: no PR, no trailers.
    pushed = github.commit_files(
        OWNER, NAME, "main", {path: edited + "\n"}, "hotfix by hand", author=("Alice", "a@x.io")
    )

    data = history(github, tmp_path)
    manual, promoted = data["entries"]
    assert row(manual) == ("manual", "6", "6-hotfix", None, None, ())
    assert manual["commit"] == pushed
    assert row(promoted) == ("promote", None, "6", six, "alice", ())


# --------------------------------------------------------------------------- status


def long_window_policy(tmp_path: Path) -> Path:
    """The default policy with an analysis of 5 x 1h: a promotion stays a canary 5 hours."""
    text = DEFAULT_POLICY_PATH.read_text()
    assert "\n  interval: 1m\n" in text
    path = tmp_path / "long-analysis.yaml"
    path.write_text(text.replace("\n  interval: 1m\n", "\n  interval: 1h\n"))
    return path


def test_status_lists_versions_proposals_holds_and_canaries(
    github: FakeGitHub, tmp_path: Path
) -> None:
    policy = long_window_policy(tmp_path)
    # fraud-detector: 1, then 2 merged just now (a canary); 3 proposed, not merged.
    merge(github, opened(promote(github, tmp_path, "1")))
    two = opened(promote(github, tmp_path, "2", champion="1"))
    merge(github, two)
    three = opened(promote(github, tmp_path, "3", champion="2"))
    # churn: 1, then 2 rolled back (2 is held; a rollback is no canary).
    merge(github, opened(promote(github, tmp_path, "1", model="churn")))
    merge(github, opened(promote(github, tmp_path, "2", champion="1", model="churn")))
    back = opened(rollback(github, tmp_path, "drift", model="churn"))
    merge(github, back)
    # fraud-detector 1 in staging, merged just now.
    staged = opened(promote(github, tmp_path, "1", environment="staging"))
    merge(github, staged)

    github.reset_requests()
    result = run_cli(
        "status", "--env-repo", REPO, "--github-api-url", github.api_url, "--policy", policy,
        "--format", "json", tmp_path=tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result
    assert result.stderr == ""
    assert writes(github) == []
    data = json.loads(result.stdout)

    def summary(d: dict[str, Any]) -> tuple[Any, ...]:
        pull = d["pull_request"]
        proposals = [
            (p["number"], p["action"], p["version"], p["branch"]) for p in d["open_proposals"]
        ]
        return (
            d["environment"],
            d["model"],
            d["version"],
            d["action"],
            pull["number"] if pull else None,
            proposals,
            d["held"],
            d["canary"],
        )

    assert [summary(d) for d in data["deployments"]] == [
        (ENVIRONMENT, "churn", "1", "rollback", back, [], ["2"], False),
        (
            ENVIRONMENT,
            MODEL,
            "2",
            "promote",
            two,
            [(three, "promote", "3", PROMOTE_BRANCH)],
            [],
            True,
        ),
        (ENVIRONMENT, NEIGHBOUR, "9", "manual", None, [], [], False),
        ("staging", MODEL, "1", "promote", staged, [], [], True),
    ]
    matrix = {
        "include": [
            {"model": MODEL, "environment": ENVIRONMENT, "version": "2"},
            {"model": MODEL, "environment": "staging", "version": "1"},
        ]
    }
    assert data["canaries"] == matrix and data["canary_count"] == 2
    # The step outputs a workflow feeds to `strategy.matrix: ${{ fromJSON(...) }}`.
    assert json.loads(result.outputs["canaries"]) == matrix
    assert result.outputs["canary-count"] == "2"

    only = run_cli(
        "status", "--env-repo", REPO, "--github-api-url", github.api_url, "--policy", policy,
        "--environment", "staging", "--format", "json", tmp_path=tmp_path,
    )  # fmt: skip
    assert only.exit_code == 0, only
    assert [(d["environment"], d["model"]) for d in json.loads(only.stdout)["deployments"]] == [
        ("staging", MODEL)
    ]
