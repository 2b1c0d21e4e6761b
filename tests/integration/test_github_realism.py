"""The bot against GitHub's hard cases, switched on per test in the fake GitHub (real HTTP,
real git): merge methods a repository allows, a transient "Base branch was modified", branch
protection, secondary rate limits without Retry-After, tokens without push or contents
access, test-merge commits of open PRs, and an unreachable API.

Where each behaviour of the fake comes from (GitHub's REST docs, PyGithub's
tests/ReplayData/ recordings) is cited in tests/fakegithub/test_fake_github.py; the tests here
name the switch they use.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.adapters.github import Forge, ForgeSettings
from bot.core.errors import ExternalError
from bot.core.trailers import parse_trailers, read_bot_commit
from tests.envfixtures import (
    BOT_LOGIN,
    REPO,
    TOKEN,
    bare_git,
    bare_path,
    deploy,
    folder,
    folder_blobs,
    run_cli,
)
from tests.fakegithub import FakeGitHub
from tests.integration.test_chatops import Env, comment_id_of, env  # noqa: F401 - fixture
from tests.integration.test_rollback import MODEL, cli, github, rollback_pulls  # noqa: F401

OWNER, NAME = REPO.split("/")
ROLLBACK_ARGS = ("rollback", "--model", MODEL, "--environment", "production", "--env-repo", REPO)


# --------------------------------------------------------------------------- merging


@pytest.mark.parametrize("method", ["squash", "rebase"])
def test_auto_merge_uses_a_method_the_repository_allows(
    github: FakeGitHub,  # noqa: F811
    tmp_path: Path,
    method: str,
) -> None:
    """`set_merge_methods`: a squash-only (or rebase-only) repository answers 405 "Merge
    commits are not allowed on this repository." to merge_method=merge, which the bot used
    always. A squash keeps the rollback's trailers in the squashed commit's message."""
    promotion = deploy(github, REPO, MODEL, ("1", "2"), workdir=tmp_path)[-1]
    github.set_merge_methods(
        OWNER, NAME, merge=False, squash=method == "squash", rebase=method == "rebase"
    )
    result = cli(github, REPO, tmp_path, "--auto-merge")
    assert result.exit_code == 0, result
    assert "(merged)" in result.stdout and "warning" not in result.stderr
    (pull,) = rollback_pulls(github)
    assert pull["merged"] is True
    bare = bare_path(github)
    main = github.branch_sha(OWNER, NAME, "main")
    assert main is not None
    assert folder_blobs(bare, main, folder(MODEL)) == folder_blobs(
        bare, promotion.base_before, folder(MODEL)
    )
    tip = parse_trailers(bare_git(bare, "log", "-1", "--format=%B", main))
    claim = read_bot_commit(tip)
    assert claim is not None and (claim.action, claim.version, claim.previous_version) == (
        "rollback",
        "1",
        "2",
    )
    if method == "squash":
        assert bare_git(bare, "rev-list", "--count", "--no-walk", "--min-parents=2", main) == "0"


def test_a_transient_base_branch_modified_is_merged_on_retry(
    github: FakeGitHub,  # noqa: F811
    tmp_path: Path,
) -> None:
    """`base_branch_modified`: 405 "Base branch was modified. Review and try the merge
    again." right after a push is transient; the bot asks again."""
    deploy(github, REPO, MODEL, ("1", "2"), workdir=tmp_path)
    github.base_branch_modified(OWNER, NAME, times=2)
    github.reset_requests()
    result = cli(github, REPO, tmp_path, "--auto-merge")
    assert result.exit_code == 0, result
    assert "(merged)" in result.stdout
    (pull,) = rollback_pulls(github)
    assert pull["merged"] is True
    assert github.request_count("PUT", "/merge") == 3


def test_branch_protection_leaves_the_revert_open_and_blocked(
    github: FakeGitHub,  # noqa: F811
    tmp_path: Path,
) -> None:
    """`protect_branch`: GitHub refuses the merge (405, the PR's mergeable_state "blocked");
    the run says so as `blocked` (exit 1) with GitHub's reason, not as a success plus a
    warning, and the revert PR stays open for a person to approve and merge."""
    deploy(github, REPO, MODEL, ("1", "2"), workdir=tmp_path)
    before = github.branch_sha(OWNER, NAME, "main")
    github.protect_branch(OWNER, NAME, "main", required_reviews=1)
    github.reset_requests()
    result = cli(github, REPO, tmp_path, "--auto-merge")
    assert result.exit_code == 1, result
    assert "outcome: blocked (#3 was not merged: At least 1 approving review is required" in (
        result.stdout
    )
    assert result.outputs["outcome"] == "blocked"
    assert "(merged)" not in result.stdout
    (pull,) = rollback_pulls(github)
    assert pull["state"] == "open" and pull["merged"] is False
    assert github.branch_sha(OWNER, NAME, "main") == before
    # A rule is not transient: the merge is asked again only while GitHub had not computed
    # the new PR's mergeable_state yet ("unknown" on its first read), then never.
    assert github.request_count("PUT", "/merge") == 2


# --------------------------------------------------------------------------- rate limits


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_limit_without_retry_after_is_a_rate_limit(
    github: FakeGitHub,  # noqa: F811
    tmp_path: Path,
    status: int,
) -> None:
    """`secondary_rate_limit(retry_after=None, status=...)`: GitHub's docs say to wait at
    least a minute; over MODEL_BOT_MAX_RATE_LIMIT_WAIT the run stops naming the rate limit,
    never as a permission problem ("grant it contents ... access") or a bare 429."""
    deploy(github, REPO, MODEL, ("1", "2"), workdir=tmp_path)
    github.secondary_rate_limit(times=1, retry_after=None, status=status, method="GET")
    result = run_cli(
        *ROLLBACK_ARGS,
        "--github-api-url",
        github.api_url,
        env={"MODEL_BOT_MAX_RATE_LIMIT_WAIT": "5"},
        tmp_path=tmp_path,
    )
    assert result.exit_code == 2, result
    assert "GitHub rate limit while trying to" in result.stderr
    assert "(secondary): would wait 60s" in result.stderr
    assert "grant it" not in result.stderr and "answered 429" not in result.stderr


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_limit_without_retry_after_is_waited_out(
    github: FakeGitHub,  # noqa: F811
    status: int,
) -> None:
    waits: list[float] = []
    forge = Forge(
        ForgeSettings(REPO, TOKEN, github.api_url, backoff_seconds=0.01, max_rate_limit_wait=120),
        sleep=waits.append,
    )
    github.secondary_rate_limit(times=1, retry_after=None, status=status, method="GET")
    assert forge.default_branch() == "main"
    assert waits == [60.0]


# --------------------------------------------------------------------------- ChatOps


def test_chatops_fails_closed_when_the_token_cannot_read_permissions(env: Env) -> None:  # noqa: F811
    """`deny_push`: GET .../collaborators/{user}/permission answers 403 "Must have push
    access to view collaborator permission." (Repository.testCollaboratorPermissionNoPushAccess
    in PyGithub's ReplayData). The bot cannot tell whether the commenter may roll back: it
    refuses, says why, and the run fails (exit 2) so the workflow turns red."""
    env.fake.deny_push(OWNER, NAME, BOT_LOGIN)
    number = env.merged.number
    run = env.run_cli(env.event("alice", number, "/rollback latency doubled"))
    assert run.code == 2
    assert run.err.count("\n") == 1 and "needs push access" in run.err
    assert "chatops:" not in run.out  # the error is printed once
    assert env.rollback_pulls() == []


def test_chatops_fails_closed_when_the_token_cannot_see_the_config(env: Env) -> None:  # noqa: F811
    """`hide_contents`: a contents read answers 404 for a file the token may not see. With
    `chatops.permission: admin` configured, taking that 404 for "no config" would let a
    `write` user roll back; the bot refuses instead."""
    env.fake.commit_files(
        OWNER, NAME, "main", {".model-bot.yaml": "chatops: {permission: admin}\n"}, "Admins only"
    )
    env.fake.hide_contents(OWNER, NAME, BOT_LOGIN)
    number = env.merged.number
    run = env.run_cli(env.event("alice", number, "/rollback"))
    assert run.code == 2
    assert "cannot read .model-bot.yaml" in run.err and "contents read access" in run.err
    assert env.rollback_pulls() == []
    (reply,) = env.replies(number)
    assert "the rollback failed" in reply


def test_a_failed_reaction_does_not_stop_the_command(env: Env) -> None:  # noqa: F811
    env.fake.inject(502, times=50, method="POST", path_regex=r"/reactions$")
    number = env.merged.number
    run = env.run_cli(env.event("alice", number, "/rollback"))
    assert run.code == 0, run.err
    assert "chatops: done" in run.out
    assert len(env.rollback_pulls()) == 1


def test_an_open_promotion_with_a_test_merge_commit_is_not_taken_for_merged(env: Env) -> None:  # noqa: F811
    """An open PR's merge_commit_sha is GitHub's test-merge commit, not null; only merged_at
    says the PR merged."""
    from tests.envfixtures import github_target, run_promote

    opened = run_promote(github_target(env.fake), MODEL, "8", champion="7", workdir=env.tmp)
    assert opened.pull_request is not None
    number = opened.pull_request.number
    env.fake.pull(OWNER, NAME, number)  # the first read leaves mergeable null
    assert env.fake.pull(OWNER, NAME, number)["merge_commit_sha"] is not None
    run = env.run_cli(env.event("alice", number, "/rollback"))
    assert run.code == 0, run.err
    assert "chatops: rejected" in run.out
    (reply,) = env.replies(number)
    assert "is not merged yet" in reply
    assert env.rollback_pulls() == []


def test_chatops_against_an_unreachable_api_fails_fast_and_once(env: Env) -> None:  # noqa: F811
    """Connections refused: the first call is tried three times, then no call is made again
    (the best-effort reply and reaction included)."""
    event = env.event("alice", env.merged.number, "/rollback")
    started = time.monotonic()
    run = env.run_cli(event, "--github-api-url", "http://127.0.0.1:9/api/v3")
    elapsed = time.monotonic() - started
    assert run.code == 2
    assert run.err.count("\n") == 1 and "cannot reach GitHub at http://127.0.0.1:9" in run.err
    assert elapsed < 15, elapsed  # it took 45-49 s: three retries of every call


def test_an_unreachable_api_is_not_asked_again_in_the_run() -> None:
    settings = ForgeSettings("acme/env", TOKEN, "http://127.0.0.1:9/api/v3", backoff_seconds=0.01)
    waits: list[float] = []
    forge = Forge(settings, sleep=waits.append)
    with pytest.raises(ExternalError, match="cannot reach GitHub"):
        forge.get_pull(1)
    assert len(waits) == 2
    with pytest.raises(ExternalError, match=r"cannot reach GitHub .* \(while trying to comment"):
        forge.comment(1, "x")
    assert len(waits) == 2
