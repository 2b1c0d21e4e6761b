"""bot.adapters.github against the fake GitHub server over real HTTP: retries, rate limits, recovery."""

from __future__ import annotations

import pytest

from bot.adapters.github import Forge, ForgeSettings
from bot.core.errors import ExternalError
from tests.fakegithub import FakeGitHub

TOKEN = "ghs_forgetesttoken1234567890"


@pytest.fixture
def repo(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_user("bot", token=TOKEN)
    fake_github.add_repo("acme", "env")
    fake_github.commit_files("acme", "env", "main", {"README.md": "env\n"})
    fake_github.commit_files("acme", "env", "feature", {"a.txt": "a\n"}, parent="main")
    return fake_github


def forge(fake: FakeGitHub, sleeps: list[float] | None = None, **overrides: float) -> Forge:
    settings = ForgeSettings(
        repo="acme/env",
        token=TOKEN,
        api_url=fake.api_url,
        retries=int(overrides.get("retries", 3)),
        backoff_seconds=0.01,
        max_rate_limit_wait=overrides.get("max_rate_limit_wait", 5.0),
        seconds_between_writes=0,
    )
    recorded = sleeps if sleeps is not None else []
    return Forge(settings, sleep=recorded.append)


def test_create_find_update_label_and_review(repo: FakeGitHub) -> None:
    f = forge(repo)
    repo.add_user("alice")
    repo.set_permission("acme", "env", "alice", "write")
    assert f.find_open_pull("feature") is None
    pr = f.create_pull(title="t", body="b", head="feature", base="main")
    assert f.find_open_pull("feature") == f.get_pull(pr.number)
    f.update_pull(pr.number, title="t2", body="b2")
    f.add_labels(pr.number, ["model-promotion", "env:production"])
    f.request_reviewers(pr.number, ["alice"], ["ml-team"])
    stored = repo.pull("acme", "env", pr.number)
    assert stored["title"] == "t2" and stored["body"] == "b2"
    assert repo.issue_labels("acme", "env", pr.number) == ["model-promotion", "env:production"]
    assert repo.requested_reviewers("acme", "env", pr.number) == {
        "users": ["alice"],
        "teams": ["ml-team"],
    }


def test_first_call_budget(repo: FakeGitHub) -> None:
    f = forge(repo)
    repo.reset_requests()
    pr = f.create_pull(title="t", body="b", head="feature", base="main")
    f.add_labels(pr.number, ["x"])
    assert repo.request_count() == 2


def test_5xx_is_retried_with_backoff(repo: FakeGitHub) -> None:
    sleeps: list[float] = []
    f = forge(repo, sleeps)
    repo.inject(status=502, times=2)
    assert f.find_open_pull("feature") is None
    assert len(sleeps) == 2 and sleeps[1] > 0


def test_5xx_gives_up_with_clear_error(repo: FakeGitHub) -> None:
    f = forge(repo, retries=2)
    repo.inject(status=503, times=10)
    with pytest.raises(
        ExternalError, match="GitHub answered 503 while trying to list pull requests"
    ):
        f.find_open_pull("feature")


def test_secondary_rate_limit_waits_retry_after(repo: FakeGitHub) -> None:
    sleeps: list[float] = []
    f = forge(repo, sleeps)
    repo.secondary_rate_limit(times=1, retry_after=3)
    assert f.find_open_pull("feature") is None
    assert sleeps == [3.0]


def test_rate_limit_wait_is_bounded(repo: FakeGitHub) -> None:
    f = forge(repo, max_rate_limit_wait=2)
    repo.rate_limit_primary(times=1, reset_in=600)
    with pytest.raises(ExternalError, match=r"rate limit .* MODEL_BOT_MAX_RATE_LIMIT_WAIT"):
        f.find_open_pull("feature")


def test_lost_create_response_never_duplicates(repo: FakeGitHub) -> None:
    f = forge(repo)
    repo.drop_response(times=1, method="POST", path_regex=r"/pulls$")
    pr = f.create_pull(title="t", body="b", head="feature", base="main")
    assert [p["number"] for p in repo.pulls("acme", "env")] == [pr.number]


def test_existing_pr_is_returned_on_duplicate(repo: FakeGitHub) -> None:
    f = forge(repo)
    first = f.create_pull(title="t", body="b", head="feature", base="main")
    again = f.create_pull(title="t", body="b", head="feature", base="main")
    assert again.number == first.number
    assert len(repo.pulls("acme", "env")) == 1


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "GitHub rejected the token"),
        (403, "the token may not list pull requests in acme/env"),
        (404, "acme/env not found, or not visible to the token"),
    ],
)
def test_auth_errors_are_one_line_and_tokenless(
    repo: FakeGitHub, status: int, message: str
) -> None:
    f = forge(repo)
    repo.inject(status=status, times=1)
    with pytest.raises(ExternalError) as caught:
        f.find_open_pull("feature")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_bad_token(repo: FakeGitHub) -> None:
    settings = ForgeSettings(
        repo="acme/env", token="wrong-token", api_url=repo.api_url, seconds_between_writes=0
    )
    with pytest.raises(ExternalError, match="GitHub rejected the token"):
        Forge(settings).find_open_pull("feature")


def test_comments_reactions_permission_merge(repo: FakeGitHub) -> None:
    f = forge(repo)
    repo.add_user("alice")
    repo.set_permission("acme", "env", "alice", "write")
    pr = f.create_pull(title="t", body="b", head="feature", base="main")
    comment = f.comment(pr.number, "hello")
    f.react(comment.id, "rocket")
    assert [c.body for c in f.comments(pr.number)] == ["hello"]
    assert f.permission("alice") == "write"
    merged = f.merge_pull(pr.number, "merge it", "")
    assert merged.merged and merged.method == "merge" and merged.refused is None
    assert repo.branch_sha("acme", "env", "main") == merged.sha
    assert f.get_pull(pr.number).merged
