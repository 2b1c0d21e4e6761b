"""The GitHub adapter's reads for the deployment ledger, against the fake GitHub (real HTTP,
real git): the pull request that brought a commit to the base, who merged it and when, who
approved it, and who closed an unmerged one.

GitHub's behaviour the fake serves, with the docs and recordings it comes from (each cited in
tests/fakegithub/test_fake_github.py):

* "List pull requests associated with a commit",
  https://docs.github.com/en/rest/commits/commits#list-pull-requests-associated-with-a-commit
  (list shape as in PyGithub's tests/ReplayData/Commit.testGetPulls.txt);
* "Get a pull request" (`merged_by`, `merged_at`, `closed_at`),
  https://docs.github.com/en/rest/pulls/pulls#get-a-pull-request;
* "Get an issue" (`closed_by`), https://docs.github.com/en/rest/issues/issues#get-an-issue;
* "List reviews for a pull request" (`state`, `user`, `submitted_at`, chronological),
  https://docs.github.com/en/rest/pulls/reviews#list-reviews-for-a-pull-request;
* a repository's squash commit defaults (`squash_merge_commit_title` /
  `squash_merge_commit_message`), https://docs.github.com/en/rest/repos/repos#update-a-repository
  and https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/configuring-pull-request-merges/configuring-commit-squashing-for-pull-requests.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.adapters.github import Forge, ForgeSettings
from bot.core.errors import ExternalError
from bot.core.pulls import PullRequestInfo
from tests.envfixtures import (
    REPO,
    TOKEN,
    bare_git,
    bare_path,
    fast_github,
    github_env_repo,
    merge_pull,
)
from tests.fakegithub import FakeGitHub, FakeUser

OWNER, NAME = REPO.split("/")


@pytest.fixture
def fake(fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    fast_github(monkeypatch)
    github_env_repo(fake_github)
    return fake_github


@pytest.fixture
def forge(fake: FakeGitHub) -> Forge:
    return Forge(ForgeSettings.from_env(REPO, TOKEN, fake.api_url), sleep=lambda _: None)


@pytest.fixture
def alice(fake: FakeGitHub) -> FakeUser:
    """A maintainer who merges, approves and closes."""
    user = fake.add_user("alice")
    fake.set_permission(OWNER, NAME, "alice", "maintain")
    return user


def branch(fake: FakeGitHub, name: str, *messages: str, start: str = "main") -> list[str]:
    """Commits on a new branch `name` from `start`, one file each; their shas."""
    fake.create_branch(OWNER, NAME, name, from_ref=start)
    return [
        fake.commit_files(OWNER, NAME, name, {f"{name}/{i}.txt": f"{message}\n"}, message)
        for i, message in enumerate(messages)
    ]


def open_pull(
    forge: Forge, fake: FakeGitHub, name: str, *messages: str, body: str = "Why."
) -> PullRequestInfo:
    branch(fake, name, *(messages or (f"Change {name}",)))
    return forge.create_pull(title=f"Promote {name}", body=body, head=name, base="main")


def main_sha(fake: FakeGitHub) -> str:
    sha = fake.branch_sha(OWNER, NAME, "main")
    assert sha is not None
    return sha


def is_utc(value: datetime | None) -> bool:
    return value is not None and value.utcoffset() == timedelta(0)


# --------------------------------------------------------------------------- pulls_for_commit


def test_merge_commit_and_the_pulls_own_commit_map_to_it(
    fake: FakeGitHub, forge: Forge, alice: FakeUser
) -> None:
    """A merge-commit merge: the merge commit and the PR's commit (its second parent) both
    map to the PR, which carries who merged it and when (UTC), closed when merged."""
    pr = open_pull(forge, fake, "promote-a")
    merge = merge_pull(fake, REPO, pr.number, token=alice.token, method="merge")
    before = datetime.now(timezone.utc)

    (found,) = forge.pulls_for_commit(merge)
    assert (found.number, found.merged, found.merge_commit_sha) == (pr.number, True, merge)
    assert found.merged_by == "alice" and found.body == "Why."
    assert is_utc(found.merged_at) and found.closed_at == found.merged_at
    assert found.merged_at is not None and found.merged_at <= before
    assert [p.number for p in forge.pulls_for_commit(pr.head_sha)] == [pr.number]
    assert forge.get_pull(pr.number).merged_by == "alice"


@pytest.mark.parametrize(
    ("title", "message", "expected_body"),
    [
        ("COMMIT_OR_PR_TITLE", "COMMIT_MESSAGES", "* One\n\n* Two"),
        ("PR_TITLE", "PR_BODY", "Model: a\nVersion: 2"),
        ("PR_TITLE", "BLANK", ""),
    ],
)
def test_a_squash_commit_maps_to_its_pull_whatever_the_message_setting(
    fake: FakeGitHub, forge: Forge, title: str, message: str, expected_body: str
) -> None:
    """Squash merges with each of GitHub's default message settings (`set_squash_message`):
    the squashed commit (with or without the PR's description) maps back to the PR; the
    squashed-away branch commits are not on main and belong to no open PR."""
    fake.set_squash_message(OWNER, NAME, title=title, message=message)
    pr = open_pull(forge, fake, "promote-b", "One", "Two", body="Model: a\nVersion: 2")
    squash = merge_pull(fake, REPO, pr.number, method="squash")

    text = bare_git(bare_path(fake), "log", "-1", "--format=%B", squash)
    assert text == f"Promote promote-b (#{pr.number})\n\n{expected_body}".rstrip()
    (found,) = forge.pulls_for_commit(squash)
    assert (found.number, found.merged, found.merge_commit_sha) == (pr.number, True, squash)
    assert found.merged_by == "model-bot" and found.body == "Model: a\nVersion: 2"
    assert forge.pulls_for_commit(pr.head_sha) == []


def test_every_commit_of_a_rebase_merge_maps_to_its_pull(fake: FakeGitHub, forge: Forge) -> None:
    """A rebase merge replays each commit on main: every replayed commit maps to the PR, whose
    merge_commit_sha is the last of them."""
    fake.commit_files(OWNER, NAME, "main", {"elsewhere.txt": "x\n"}, "Main moved")
    pr = open_pull(forge, fake, "promote-c", "First", "Second", "Third")
    before = main_sha(fake)
    tip = merge_pull(fake, REPO, pr.number, method="rebase")

    replayed = bare_git(bare_path(fake), "rev-list", "--reverse", f"{before}..{tip}").split()
    assert len(replayed) == 3 and replayed[-1] == tip
    for sha in replayed:
        (found,) = forge.pulls_for_commit(sha)
        assert (found.number, found.merge_commit_sha) == (pr.number, tip)
        assert found.merged_by == "model-bot" and is_utc(found.merged_at)


def test_a_direct_push_has_no_pull(fake: FakeGitHub, forge: Forge) -> None:
    pushed = fake.commit_files(OWNER, NAME, "main", {"hotfix.txt": "x\n"}, "Hotfix by hand")
    assert forge.pulls_for_commit(pushed) == []


def test_a_commit_off_the_default_branch_maps_to_its_open_pulls(
    fake: FakeGitHub, forge: Forge
) -> None:
    pr = open_pull(forge, fake, "promote-d")
    (found,) = forge.pulls_for_commit(pr.head_sha)
    assert (found.number, found.state, found.merged) == (pr.number, "open", False)
    assert (found.merged_by, found.merged_at, found.closed_at) == (None, None, None)


def test_merged_pulls_come_first_and_cost_one_read_each(fake: FakeGitHub, forge: Forge) -> None:
    """A branch name lists its open and merged PRs (here an older open PR into `release`
    and a newer merged one into main): the merged one first, read on its own for merged_by
    (one list request plus one per merged PR)."""
    fake.create_branch(OWNER, NAME, "release")
    branch(fake, "promote-e", "E")
    older = forge.create_pull(title="To release", body="", head="promote-e", base="release")
    newer = forge.create_pull(title="To main", body="", head="promote-e", base="main")
    merge_pull(fake, REPO, newer.number)

    fake.reset_requests()
    found = forge.pulls_for_commit("promote-e")
    assert [(p.number, p.merged) for p in found] == [(newer.number, True), (older.number, False)]
    assert found[0].merged_by == "model-bot" and found[1].merged_by is None
    assert fake.request_count("GET", "/pulls") == 2  # the list, then #newer


def test_pulls_for_commit_retries_and_fails_like_every_call(fake: FakeGitHub, forge: Forge) -> None:
    """The adapter's conventions hold: a 502 and a secondary rate limit are asked again; a
    commit GitHub does not know (422) is one line, without the token."""
    pushed = fake.commit_files(OWNER, NAME, "main", {"hotfix.txt": "x\n"}, "Hotfix")
    fake.inject(502, times=1, path_regex=r"/commits/[^/]+/pulls$")
    fake.secondary_rate_limit(times=1, retry_after=1, path_regex=r"/commits/[^/]+/pulls$")
    assert forge.pulls_for_commit(pushed) == []
    assert fake.request_count("GET", f"/commits/{pushed}/pulls") == 3
    with pytest.raises(ExternalError) as caught:
        forge.pulls_for_commit("e" * 40)
    text = str(caught.value)
    assert "422" in text and "No commit found for SHA" in text
    assert "\n" not in text and TOKEN not in text


# --------------------------------------------------------------------------- approvers, closed_by


def test_approvers_are_the_latest_non_comment_reviews_that_approve(
    fake: FakeGitHub, forge: Forge, alice: FakeUser
) -> None:
    """Approve then request changes: not an approver; approve, request changes, approve
    again: an approver; a comment after an approval keeps it; a dismissed approval does not
    count. Sorted logins (reviews in GitHub's chronological order)."""
    pr = open_pull(forge, fake, "promote-f")
    fake.client(alice.token).get_repo(REPO).get_pull(pr.number).create_review(event="APPROVE")
    for login, state in [
        ("zed", "APPROVED"),
        ("bob", "APPROVED"),
        ("bob", "CHANGES_REQUESTED"),
        ("carol", "APPROVED"),
        ("carol", "CHANGES_REQUESTED"),
        ("carol", "APPROVED"),
        ("dave", "COMMENTED"),
        ("zed", "COMMENTED"),
        ("erin", "APPROVED"),
        ("erin", "DISMISSED"),
    ]:
        fake.add_review(OWNER, NAME, pr.number, login, state)
    assert forge.approvers(pr.number) == ("alice", "carol", "zed")

    fake.add_review(OWNER, NAME, pr.number, "bob", "APPROVED")
    assert forge.approvers(pr.number) == ("alice", "bob", "carol", "zed")
    merge_pull(fake, REPO, pr.number)
    assert forge.approvers(pr.number) == ("alice", "bob", "carol", "zed")


def test_no_reviews_no_approvers(fake: FakeGitHub, forge: Forge) -> None:
    pr = open_pull(forge, fake, "promote-g")
    fake.add_review(OWNER, NAME, pr.number, "dave", "COMMENTED", body="looks fine")
    assert forge.approvers(pr.number) == ()


def test_closed_by_of_a_closed_unmerged_pull(
    fake: FakeGitHub, forge: Forge, alice: FakeUser
) -> None:
    """A PR closed unmerged (`PATCH /pulls/{n}` state=closed by alice): closed_by is alice,
    closed_at is set, nothing merged; an open PR has no closer."""
    pr = open_pull(forge, fake, "promote-h")
    assert forge.closed_by(pr.number) is None
    fake.client(alice.token).get_repo(REPO).get_pull(pr.number).edit(state="closed")

    assert forge.closed_by(pr.number) == "alice"
    closed = forge.get_pull(pr.number)
    assert (closed.state, closed.merged, closed.merged_by, closed.merged_at) == (
        "closed",
        False,
        None,
        None,
    )
    assert is_utc(closed.closed_at)
    assert forge.pulls_for_commit(pr.head_sha) == []  # not on main, not open
    (listed,) = forge.find_pulls("promote-h", state="closed")
    assert listed.closed_at == closed.closed_at and listed.merged_by is None


def test_commit_statuses_are_the_newest_state_of_each_context(
    fake: FakeGitHub, forge: Forge
) -> None:
    """ "List commit statuses for a reference" (newest first: the first of each context wins),
    https://docs.github.com/en/rest/commits/statuses#list-commit-statuses-for-a-reference;
    `advance` reads `model-bot/rollout` there (`soak.rollout_completed`)."""
    owner, name = REPO.split("/")
    sha = fake.branch_sha(owner, name, "main")
    assert sha is not None
    assert forge.commit_statuses(sha) == {}
    fake.set_commit_status(owner, name, sha, "model-bot/rollout", "pending")
    fake.set_commit_status(owner, name, sha, "model-bot/rollout", "success")
    forge.set_status(
        sha, context="model-bot/gate", state="failure", description="x", target_url=None
    )
    assert forge.commit_statuses(sha) == {
        "model-bot/rollout": "success",
        "model-bot/gate": "failure",
    }
