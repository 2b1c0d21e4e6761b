"""`model-bot promote` against GitHub's eventual consistency and refusals, switched on per
test in the fake GitHub: a just-pushed branch not yet visible to the pull request API, a pull
request list that lags a write, refused labels, and team reviewers that are not
collaborators. The sources of each behaviour are cited in tests/fakegithub/test_fake_github.py.
"""

from __future__ import annotations

from tests.integration.test_promote_e2e import (  # noqa: F401 - env is a fixture
    CONFIG,
    PASSING,
    Env,
    env,
    promote,
)


def pulls(env: Env) -> list[int]:  # noqa: F811
    return [p["number"] for p in env.fake.pulls("acme", "env")]


def test_a_head_not_yet_visible_is_asked_again(env: Env) -> None:  # noqa: F811
    """`head_not_yet_visible`: right after the push, POST /pulls answers 422 with
    `{"resource": "PullRequest", "field": "head", "code": "invalid"}`. The bot took every 422
    for a maybe-duplicate, found none and failed; now it backs off and asks again."""
    env.fake.head_not_yet_visible("acme", "env", times=2)
    result = promote(env, "--results", str(PASSING))
    assert result.exit_code == 0, result
    assert "outcome: created" in result.stdout
    assert pulls(env) == [1]
    creates = [
        r for r in env.fake.requests if (r.method, r.path) == ("POST", "/repos/acme/env/pulls")
    ]
    assert len(creates) == 3


def test_a_lost_answer_and_a_lagging_list_still_give_one_pr(env: Env) -> None:  # noqa: F811
    """`drop_response` + `lag_pull_listing`: the PR was created but its answer was lost, and
    the list does not show it yet; the retried POST is refused as a duplicate (422), and the
    bot keeps looking until the list shows the PR, never opening a second one."""
    env.fake.drop_response(times=1, method="POST", path_regex=r"/pulls$")
    env.fake.lag_pull_listing("acme", "env", times=3)
    result = promote(env, "--results", str(PASSING))
    assert result.exit_code == 0, result
    assert pulls(env) == [1]
    assert "pull request: #1 " in result.stdout


def test_refused_labels_are_a_warning_and_the_run_succeeds(env: Env) -> None:  # noqa: F811
    """`refuse_labels`: a token without issues write access gets 403 "Resource not
    accessible by integration" for labels, after the PR exists; the run used to fail then."""
    env.fake.refuse_labels("acme", "env")
    result = promote(env, "--results", str(PASSING))
    assert result.exit_code == 0, result
    assert "outcome: created" in result.stdout
    assert result.stderr.startswith("warning: labels not added: ")
    assert "Resource not accessible by integration" in result.stderr
    assert result.stderr.count("\n") == 1
    assert pulls(env) == [1]
    assert env.fake.requested_reviewers("acme", "env", 1)["users"] == ["alice", "bob"]


def test_a_team_that_is_not_a_collaborator_does_not_drop_the_users(env: Env) -> None:  # noqa: F811
    """`add_team`: GitHub answers 422 "Reviews may only be requested from collaborators.
    One or more of the teams you specified is not a collaborator of the acme/env repository."
    and requests nobody, users included, when they share one request."""
    env.fake.add_team("acme", "ml-platform", repos=())
    result = promote(env, "--results", str(PASSING))
    assert result.exit_code == 0, result
    assert env.fake.requested_reviewers("acme", "env", 1)["users"] == ["alice", "bob"]
    assert env.fake.requested_reviewers("acme", "env", 1)["teams"] == []
    (warning,) = result.stderr.splitlines()
    assert warning.startswith("warning: reviewer not requested: team ml-platform: Reviews may")


def test_each_refused_reviewer_is_named(env: Env) -> None:  # noqa: F811
    """Two teams, one a collaborator: the refused one is named, the other still requested."""
    env.fake.add_team("acme", "ml-platform", repos=())
    env.fake.add_team("acme", "sre", repos=("acme/env",))
    config = CONFIG.replace("team_reviewers: [ml-platform]", "team_reviewers: [ml-platform, sre]")
    env.fake.commit_files("acme", "env", "main", {".model-bot.yaml": config}, "Two teams")
    result = promote(env, "--results", str(PASSING))
    assert result.exit_code == 0, result
    assert env.fake.requested_reviewers("acme", "env", 1)["teams"] == ["sre"]
    assert env.fake.requested_reviewers("acme", "env", 1)["users"] == ["alice", "bob"]
    (warning,) = result.stderr.splitlines()
    assert warning.startswith("warning: reviewer not requested: team ml-platform: ")
