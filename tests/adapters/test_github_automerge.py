"""The GitHub adapter's native auto-merge and its reading of the base's protection, against
the fake GitHub (real HTTP, real git; PyGithub's GraphQL goes to the fake's `/api/graphql`).

GitHub's behaviour the fake serves, with the docs and recordings it comes from (each cited in
tests/fakegithub/test_fake_github.py):

* GraphQL `enablePullRequestAutoMerge` (https://docs.github.com/en/graphql/reference/mutations#enablepullrequestautomerge),
  request and answers as recorded in PyGithub's tests/ReplayData/PullRequest.testEnableAutomerge.txt
  and PullRequest.testEnableAutomergeError.txt: refusals are HTTP 200 with `errors` of type
  UNPROCESSABLE, "Pull request Auto merge is not allowed for this repository" (the
  repository's `allow_auto_merge` is off, GitHub's default) and "Pull request Pull request is
  in clean status" (nothing to wait for: recorded in iterative/workshop-uncool-mlops and
  peter-evans/enable-pull-request-automerge issue #1118);
* "Automatically merging a pull request" (GitHub docs): an armed PR merges once its required
  reviews and status checks pass; the fake merges synchronously on that status or review;
* `auto_merge` of "Get a pull request", https://docs.github.com/en/rest/pulls/pulls#get-a-pull-request;
* "Get a branch" (`protected`, `protection.required_status_checks`) and "Get branch
  protection", https://docs.github.com/en/rest/branches/branch-protection#get-branch-protection
  (404 "Branch not protected"; a token without admin rights gets 404 "Not Found", an App or
  fine-grained token 403 "Resource not accessible by integration" / "... by personal access
  token", as recorded in aackad21/battleship2's and SriChandraSekharA/forge-standard-review's
  notes);
* GraphQL rate limits: HTTP 200 with an error of type RATE_LIMIT (yanyongyu/githubkit issue
  #271: `{"errors":[{"type":"RATE_LIMIT","code":"graphql_rate_limit","message":"API rate
  limit already exceeded for user ID ..."}]}`).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.adapters.github import Forge, ForgeSettings
from bot.core.errors import InvalidInput, Refused
from bot.core.pulls import PullRequestInfo
from tests.envfixtures import (
    BOT_LOGIN,
    REPO,
    TOKEN,
    bare_git,
    bare_path,
    fast_github,
    github_env_repo,
    github_target,
    run_promote,
)
from tests.fakegithub import FakeGitHub, FakeUser

OWNER, NAME = REPO.split("/")
PROTECTION = r"/branches/main/protection$"


@pytest.fixture
def fake(fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    fast_github(monkeypatch)
    github_env_repo(fake_github)
    return fake_github


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def forge(fake: FakeGitHub, sleeps: list[float]) -> Forge:
    return Forge(ForgeSettings.from_env(REPO, TOKEN, fake.api_url), sleep=sleeps.append)


@pytest.fixture
def alice(fake: FakeGitHub) -> FakeUser:
    """A maintainer who approves."""
    user = fake.add_user("alice")
    fake.set_permission(OWNER, NAME, "alice", "maintain")
    return user


def open_pull(forge: Forge, fake: FakeGitHub, name: str) -> PullRequestInfo:
    fake.create_branch(OWNER, NAME, name, from_ref="main")
    fake.commit_files(OWNER, NAME, name, {f"{name}.txt": f"{name}\n"}, f"Change {name}")
    return forge.create_pull(title=f"Promote {name}", body="Why.", head=name, base="main")


def main_sha(fake: FakeGitHub) -> str:
    sha = fake.branch_sha(OWNER, NAME, "main")
    assert sha is not None
    return sha


def parents(fake: FakeGitHub, sha: str) -> list[str]:
    return bare_git(bare_path(fake), "log", "-1", "--format=%P", sha).split()


# --------------------------------------------------------------------------- enable_auto_merge


@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
def test_armed_under_required_checks_then_merged_by_the_armed_method_when_green(
    fake: FakeGitHub, forge: Forge, tmp_path: Path, method: str
) -> None:
    """A promotion PR (the real promote flow) into a base that requires the "ci" check: arming
    works, the PR reads as armed (single read and list) and stays open while the check is
    pending; the "success" status merges it at once, by the armed method, merged by the bot
    (who armed it)."""
    fake.set_auto_merge_allowed(OWNER, NAME, True)
    fake.protect_branch(OWNER, NAME, "main", required_checks=["ci"])
    result = run_promote(github_target(fake), "error-regression", "1", workdir=tmp_path)
    assert result.pull_request is not None
    pr = result.pull_request
    before = main_sha(fake)

    assert forge.enable_auto_merge(pr.number, method) is None
    armed = forge.get_pull(pr.number)
    assert armed.auto_merge and armed.state == "open" and not armed.merged
    assert [p.auto_merge for p in forge.find_pulls(pr.head_ref)] == [True]
    assert fake.pull(OWNER, NAME, pr.number)["auto_merge"]["merge_method"] == method
    assert fake.request_count("POST", "/graphql") == 1

    forge.set_status(
        pr.head_sha, context="ci", state="pending", description="running", target_url=None
    )
    assert not forge.get_pull(pr.number).merged
    forge.set_status(pr.head_sha, context="ci", state="success", description="ok", target_url=None)

    merged = forge.get_pull(pr.number)
    assert merged.merged and merged.state == "closed" and merged.merged_by == BOT_LOGIN
    tip = main_sha(fake)
    assert merged.merge_commit_sha == tip and tip != before
    expected_parents = {"merge": [before, pr.head_sha], "squash": [before], "rebase": [before]}
    assert parents(fake, tip) == expected_parents[method]
    if method != "merge":
        assert tip != pr.head_sha  # squashed or replayed on the base, not the PR's own commit


def test_armed_under_required_reviews_merges_on_the_approval(
    fake: FakeGitHub, forge: Forge, alice: FakeUser
) -> None:
    """Required approving reviews hold the armed PR until a maintainer approves."""
    fake.set_auto_merge_allowed(OWNER, NAME, True)
    fake.protect_branch(OWNER, NAME, "main", required_reviews=1)
    pr = open_pull(forge, fake, "promote-r")
    assert forge.enable_auto_merge(pr.number, "squash") is None
    assert not forge.get_pull(pr.number).merged
    fake.add_review(OWNER, NAME, pr.number, alice.login)
    merged = forge.get_pull(pr.number)
    assert merged.merged and merged.merged_by == BOT_LOGIN and not merged.conflicted


def test_refused_when_the_repository_does_not_allow_auto_merge(
    fake: FakeGitHub, forge: Forge
) -> None:
    """`allow_auto_merge` off (GitHub's default): the refusal is one line, read from the
    repository's setting without asking GraphQL. When the setting was read as on and turned
    off since, GitHub's own refusal comes back as the line."""
    fake.protect_branch(OWNER, NAME, "main", required_checks=["ci"])
    pr = open_pull(forge, fake, "promote-n")
    refusal = forge.enable_auto_merge(pr.number, "squash")
    assert refusal is not None and "\n" not in refusal
    assert refusal == (
        f'auto-merge is not allowed on {REPO} (its "Allow auto-merge" setting is off)'
    )
    assert fake.request_count("POST", "/graphql") == 0
    assert not forge.get_pull(pr.number).auto_merge

    fake.set_auto_merge_allowed(OWNER, NAME, True)
    later = Forge(ForgeSettings.from_env(REPO, TOKEN, fake.api_url), sleep=lambda _: None)
    assert later.default_branch() == "main"  # the repository (allow_auto_merge: true) is read
    fake.set_auto_merge_allowed(OWNER, NAME, False)
    assert later.enable_auto_merge(pr.number, "squash") == (
        f"GitHub refused to enable auto-merge on #{pr.number}: Pull request Auto merge is not "
        "allowed for this repository"
    )


def test_refused_on_an_unprotected_base_clean_status(fake: FakeGitHub, forge: Forge) -> None:
    """Nothing to wait for (the base is not protected, or its checks already passed): GitHub
    refuses to arm a PR that could merge now ("clean status"); returned, not raised, and the
    PR is neither armed nor merged."""
    fake.set_auto_merge_allowed(OWNER, NAME, True)
    pr = open_pull(forge, fake, "promote-c")
    refusal = forge.enable_auto_merge(pr.number, "merge")
    assert refusal == (
        f"GitHub refused to enable auto-merge on #{pr.number}: Pull request Pull request is in "
        "clean status"
    )
    after = forge.get_pull(pr.number)
    assert not after.auto_merge and not after.merged and after.state == "open"

    fake.protect_branch(OWNER, NAME, "main", required_checks=["ci"])
    fake.set_commit_status(OWNER, NAME, pr.head_sha, "ci", "success")
    assert "clean status" in (forge.enable_auto_merge(pr.number, "merge") or "")


def test_refused_for_a_method_the_repository_does_not_allow(fake: FakeGitHub, forge: Forge) -> None:
    fake.set_auto_merge_allowed(OWNER, NAME, True)
    fake.set_merge_methods(OWNER, NAME, merge=False)
    fake.protect_branch(OWNER, NAME, "main", required_checks=["ci"])
    pr = open_pull(forge, fake, "promote-m")
    assert forge.enable_auto_merge(pr.number, "merge") == (
        f"GitHub refused to enable auto-merge on #{pr.number}: Merge method merge commits are "
        "not allowed on this repository"
    )
    assert forge.enable_auto_merge(pr.number, "squash") is None
    with pytest.raises(InvalidInput, match="expected one of merge, squash, rebase"):
        forge.enable_auto_merge(pr.number, "fast-forward")


def test_a_graphql_rate_limit_is_waited_out_then_armed(
    fake: FakeGitHub, forge: Forge, sleeps: list[float]
) -> None:
    """A GraphQL rate limit comes with HTTP 200 and an error of type RATE_LIMIT: waited out
    until `X-RateLimit-Reset` like a REST primary limit, then asked again."""
    fake.set_auto_merge_allowed(OWNER, NAME, True)
    fake.protect_branch(OWNER, NAME, "main", required_checks=["ci"])
    pr = open_pull(forge, fake, "promote-l")
    fake.inject(
        200,
        path_regex=r"^/graphql$",
        headers={
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(time.time()) + 5),
            "X-RateLimit-Resource": "graphql",
        },
        body={
            "errors": [
                {
                    "type": "RATE_LIMIT",
                    "code": "graphql_rate_limit",
                    "message": "API rate limit already exceeded for user ID 1.",
                }
            ]
        },
    )
    assert forge.enable_auto_merge(pr.number, "squash") is None
    assert len(sleeps) == 1 and 1.0 <= sleeps[0] <= 6.0
    assert fake.request_count("POST", "/graphql") == 2
    assert forge.get_pull(pr.number).auto_merge


def test_a_forbidden_graphql_error_is_refused_not_returned(fake: FakeGitHub, forge: Forge) -> None:
    """A GraphQL error of another type than UNPROCESSABLE is no refusal to report but a
    failure: FORBIDDEN (a token without pull-requests write: "Resource not accessible by
    integration", as flutter/cocoon PR #1730 quotes it) raises `Refused`, without the token."""
    fake.set_auto_merge_allowed(OWNER, NAME, True)
    pr = open_pull(forge, fake, "promote-f")
    fake.inject(
        200,
        path_regex=r"^/graphql$",
        body={
            "data": {"enablePullRequestAutoMerge": None},
            "errors": [
                {
                    "type": "FORBIDDEN",
                    "path": ["enablePullRequestAutoMerge"],
                    "locations": [{"line": 1, "column": 63}],
                    "message": "Resource not accessible by integration",
                }
            ],
        },
    )
    with pytest.raises(Refused, match="Resource not accessible by integration") as raised:
        forge.enable_auto_merge(pr.number, "squash")
    assert TOKEN not in str(raised.value)


# --------------------------------------------------------------------------- base_requires_checks


def test_an_unprotected_base_requires_nothing(fake: FakeGitHub, forge: Forge) -> None:
    """Read from "Get a branch" alone (`protected: false`): one request, no admin needed."""
    fake.reset_requests()
    assert forge.base_requires_checks("main") is False
    assert fake.request_count("GET", "/protection") == 0


def test_required_checks_are_seen_without_admin_rights(fake: FakeGitHub, forge: Forge) -> None:
    """The bot's token (write, not admin) cannot read "Get branch protection" (404 "Not
    Found"), but "Get a branch" names the required checks: True."""
    fake.protect_branch(OWNER, NAME, "main", required_checks=["ci"])
    assert forge.base_requires_checks("main") is True
    assert fake.request_count("GET", "/branches/main/protection") == 1


def test_unreadable_rules_without_named_checks_are_unknown(fake: FakeGitHub, forge: Forge) -> None:
    """Protected, no required check named in the branch summary, and the protection (which
    may require reviews) unreadable: None, whether GitHub says 404 (no admin rights) or 403
    (an App or fine-grained token)."""
    fake.protect_branch(OWNER, NAME, "main", required_reviews=1)
    assert forge.base_requires_checks("main") is None
    fake.inject(
        403,
        path_regex=PROTECTION,
        body={
            "message": "Resource not accessible by integration",
            "documentation_url": "https://docs.github.com/rest/branches/branch-protection"
            "#get-branch-protection",
            "status": "403",
        },
    )
    fake.set_permission(OWNER, NAME, BOT_LOGIN, "admin")
    assert forge.base_requires_checks("main") is None


@pytest.mark.parametrize(
    ("reviews", "checks", "expected"),
    [(1, (), True), (0, ("ci",), True), (2, ("ci", "lint"), True), (0, (), False)],
)
def test_with_admin_rights_the_protection_decides(
    fake: FakeGitHub, forge: Forge, reviews: int, checks: tuple[str, ...], expected: bool
) -> None:
    """With admin rights "Get branch protection" is read: required approving reviews or
    status checks make a merge wait; a protection requiring neither does not."""
    fake.set_permission(OWNER, NAME, BOT_LOGIN, "admin")
    fake.protect_branch(OWNER, NAME, "main", required_reviews=reviews, required_checks=checks)
    assert forge.base_requires_checks("main") is expected


def test_a_rate_limited_protection_read_is_waited_out(
    fake: FakeGitHub, forge: Forge, sleeps: list[float]
) -> None:
    """A 403 that is a secondary rate limit is no "cannot read": waited out, asked again."""
    fake.set_permission(OWNER, NAME, BOT_LOGIN, "admin")
    fake.protect_branch(OWNER, NAME, "main", required_reviews=1)
    fake.secondary_rate_limit(retry_after=2, path_regex=PROTECTION)
    assert forge.base_requires_checks("main") is True
    assert sleeps == [2.0]
