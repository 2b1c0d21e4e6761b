"""`model-bot promote` end to end: a real MLflow server, real git, the fake GitHub over HTTP.

Nothing is mocked: the CLI reads the candidate from MLflow, clones the env repo that the fake
serves over git smart HTTP, pushes the bot's branch into the fake's bare repository and
opens the pull request through PyGithub. Tests read the outcome back from the bare repo
(with git) and from the fake's state and request log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.github_commits import CO_AUTHOR
from bot.core.marker import read_marker
from bot.core.trailers import parse_trailers
from tests.cli.test_gate import Result, assert_usage_error, run
from tests.fakegithub import FakeGitHub
from tests.gitrepos import example_env_repo, git
from tests.integration.conftest import api_writes, repo_reads

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("commit_mode")]

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_REPO = REPO / "examples" / "env-repo"
PASSING = REPO / "examples" / "gate-results.json"
FAILING = REPO / "examples" / "gate-results-failing.json"
DEFAULT = REPO / "policies" / "default.yaml"
TOKEN = "ghs_e2eS3cretTokenValue0123456789abcd"
BAD_TOKEN = "ghp_wrongTokenValue0123456789abcdefgh"
RUN_ENV = {
    "GITHUB_TOKEN": TOKEN,
    "MODEL_BOT_GITHUB_WRITE_INTERVAL": "0",
    "MODEL_BOT_GITHUB_BACKOFF": "0.01",
}
CONFIG = """\
apiVersion: model-bot/v1
kind: BotConfig
environments:
  staging:
    namespace: ml-staging
  production:
    namespace: ml-production
image_repository: ghcr.io/acme/models
labels: [model-promotion]
reviewers: [alice, bob]
team_reviewers: [ml-platform]
"""
HAND_WRITTEN_VALUES = """\
# Helm values for {model} in production, written by the ML platform team.
image:
  repository: ghcr.io/acme/fraud-detector
  tag: "1-1111111"   # bumped by model-bot
model:
  name: {model}
  version: "1"
replicaCount: 2
"""


# --- a real MLflow registry -------------------------------------------------------------------


@dataclass(frozen=True)
class Registry:
    uri: str
    model: str
    experiment_id: str
    runs: dict[str, str]  # version -> run id


def _register(
    client: Any,
    experiment_id: str,
    model: str,
    metrics: dict[str, float],
    params: dict[str, str],
    commit: str,
    tags: dict[str, str],
) -> tuple[str, str]:
    run = client.create_run(experiment_id, tags={"mlflow.source.git.commit": commit})
    run_id = run.info.run_id
    for key, value in metrics.items():
        client.log_metric(run_id, key, value)
    for name, text in params.items():
        client.log_param(run_id, name, text)
    client.set_terminated(run_id)
    version = client.create_model_version(model, f"runs:/{run_id}/model", run_id, tags=tags)
    return str(version.version), run_id


@pytest.fixture(scope="module")
def registry(mlflow_server: str) -> Registry:
    """v1 is the champion (alias), v2 the candidate, v3 a newer candidate; all pass."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    suffix = str(int(time.time() * 1000))
    experiment_id = client.create_experiment(f"promote-e2e-{suffix}")
    model = f"fraud-e2e-{suffix}"
    client.create_registered_model(model)
    image = {"image": "ghcr.io/acme/fraud-detector"}
    runs = {}
    for number, metrics, params, commit in [
        ("1", (0.948, 8.4), {"lr": "0.1"}, "1111111aaaa"),
        ("2", (0.951, 8.1), {"lr": "0.05", "depth": "8"}, "3f2a1c9d8e7b"),
        ("3", (0.955, 7.9), {"lr": "0.04", "depth": "9"}, "4e5f6a7b8c9d"),
    ]:
        accuracy, latency = metrics
        version, runs[number] = _register(
            client,
            experiment_id,
            model,
            {"accuracy": accuracy, "latency_p99_ms": latency, "safety_violations": 0},
            params,
            commit,
            {**image, "image_tag": f"{number}-{commit[:7]}"},
        )
        assert version == number
    client.set_registered_model_alias(model, "champion", "1")
    return Registry(mlflow_server, model, experiment_id, runs)


# --- the fake GitHub and its env repo ---------------------------------------------------------


@dataclass
class Env:
    fake: FakeGitHub
    bare: Path

    def refs(self) -> dict[str, str]:
        out = git(self.bare, "for-each-ref", "--format=%(refname) %(objectname)")
        return dict(line.split(" ", 1) for line in out.splitlines())

    def bot_refs(self) -> list[str]:
        return [ref for ref in self.refs() if ref.startswith("refs/heads/model-bot/")]

    def writes(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.fake.write_requests()]

    def calls(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.fake.requests]


def seed_files(extra: dict[str, str] | None = None) -> dict[str, bytes]:
    files = {
        str(p.relative_to(EXAMPLE_REPO)): p.read_bytes()
        for p in EXAMPLE_REPO.rglob("*")
        if p.is_file()
    }
    files[".model-bot.yaml"] = CONFIG.encode()
    files.update({k: v.encode() for k, v in (extra or {}).items()})
    return files


@pytest.fixture
def env(fake_github: FakeGitHub) -> Env:
    """acme/env: examples/env-repo plus reviewers in .model-bot.yaml; `bot` may write."""
    fake = fake_github
    fake.add_user("bot", token=TOKEN, type="Bot")  # an app's installation token (ghs_)
    for login in ("alice", "bob"):
        fake.add_user(login)
    bare = fake.add_repo("acme", "env")
    for login in ("bot", "alice", "bob"):
        fake.set_permission("acme", "env", login, "write")
    fake.commit_files("acme", "env", "main", seed_files(), "Seed the environment repo")
    fake.reset_requests()
    return Env(fake, bare)


def promote(env: Env, *args: str | Path, token: str | None = TOKEN, **flags: str) -> Result:
    """`model-bot promote` against acme/env on the fake; `flags` override the defaults."""
    options = {
        "--policy": str(DEFAULT),
        "--environment": "production",
        "--env-repo": "acme/env",
        "--github-api-url": env.fake.api_url,
    }
    options.update({f"--{k.replace('_', '-')}": v for k, v in flags.items()})
    argv = [part for pair in options.items() for part in pair]
    run_env: dict[str, str | None] = {**RUN_ENV, "GITHUB_TOKEN": token}
    return run("promote", *argv, *args, env=run_env)


def from_mlflow(registry: Registry, version: str) -> tuple[str, ...]:
    return (
        "--mlflow-model",
        registry.model,
        "--mlflow-version",
        version,
        "--tracking-uri",
        registry.uri,
    )


def trailers(env: Env, ref: str) -> dict[str, str]:
    return parse_trailers(git(env.bare, "log", "-1", "--format=%B", ref))


def pull_files(env: Env, number: int) -> dict[str, str]:
    """The PR's files as GitHub lists them (GET /pulls/N/files): name -> status."""
    pull = env.fake.client(TOKEN).get_repo("acme/env").get_pull(number)
    return {f.filename: f.status for f in pull.get_files()}


def assert_secret_free(result: Result, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in result.stdout and secret not in result.stderr


# --- the whole flow from MLflow ---------------------------------------------------------------


def test_promote_from_mlflow_opens_one_pr_then_converges_and_supersedes(
    env: Env, registry: Registry, commit_mode: str
) -> None:
    commit_writes = api_writes(commit_mode)
    reads = repo_reads(commit_mode)
    model = registry.model
    branch = f"model-bot/promote/production/{model}"
    folder = f"environments/production/{model}"
    env.fake.commit_files(
        "acme",
        "env",
        "main",
        {f"{folder}/values.yaml": HAND_WRITTEN_VALUES.format(model=model)},
        f"Add {model}",
    )
    main_sha = env.refs()["refs/heads/main"]
    env.fake.reset_requests()

    first = promote(env, *from_mlflow(registry, "2"))

    assert first.exit_code == 0, first
    assert first.stderr == ""
    assert f"{model} 2 vs champion 1" in first.stdout
    assert "outcome: created\n" in first.stdout
    assert "pull request: #1 " in first.stdout
    # API budget of a first promotion: read the repo (clone URL and default branch, one
    # request), look for an open PR and, with none open, for a closed one that rejected this
    # version, open it, label it, request reviewers: users and teams in one request (apart
    # only when GitHub refuses it, since it then drops every reviewer of the request).
    assert [
        c if "/statuses/" not in c else "POST /repos/acme/env/statuses/SHA" for c in env.calls()
    ] == [
        *reads,  # git mode: the repository; API mode: the config and the model's folder
        "GET /repos/acme/env/pulls",
        "GET /repos/acme/env/pulls",
        *commit_writes,  # API mode: the tree, the commit, the compare-and-swap of the ref
        "POST /repos/acme/env/statuses/SHA",  # model-bot/gate on the pushed head
        "POST /repos/acme/env/pulls",
        "POST /repos/acme/env/issues/1/labels",
        "POST /repos/acme/env/pulls/1/requested_reviewers",  # users and teams at once
    ]
    assert env.fake.request_count() == 6 + len(reads) + len(commit_writes)

    pulls = env.fake.pulls("acme", "env")
    assert len(pulls) == 1
    pr = pulls[0]
    assert pr["title"] == f"Promote {model} 2 to production"
    assert (pr["head"]["ref"], pr["base"]["ref"], pr["state"]) == (branch, "main", "open")
    assert env.fake.issue_labels("acme", "env", 1) == ["model-promotion", "env:production"]
    assert env.fake.requested_reviewers("acme", "env", 1) == {
        "users": ["alice", "bob"],
        "teams": ["ml-platform"],
    }

    # The diff touches this model's folder and its report, nothing else.
    assert pull_files(env, 1) == {
        f"{folder}/values.yaml": "modified",
        f"{folder}/rollout.yaml": "added",
        f"{folder}/analysis-template.yaml": "added",
        f"reports/production/{model}/2.md": "added",
        f"reports/production/{model}/2.evidence.json": "added",
    }
    values_diff = git(
        env.bare, "diff", "--unified=0", "main", branch, "--", f"{folder}/values.yaml"
    )
    changed_lines = [
        line for line in values_diff.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"
    ]
    assert changed_lines == [
        '-  tag: "1-1111111"   # bumped by model-bot',
        '+  tag: "2-3f2a1c9"   # bumped by model-bot',
        '-  version: "1"',
        '+  version: "2"',
    ]

    # The body is the report: gates, lineage with the MLflow run link, rollout, rollback.
    body = pr["body"]
    run_id = registry.runs["2"]
    run_url = f"{registry.uri}/#/experiments/{registry.experiment_id}/runs/{run_id}"
    assert f"## ✅ Gates passed: `{model}` version `2`" in body
    assert "| metric | threshold | candidate | champion | delta | verdict | reason |" in body
    assert "| `accuracy` | `> 0.94` | 0.951 | 0.948 | +0.003 | ✅ pass |" in body
    assert f"| MLflow run | [{run_id}]({run_url}) |" in body
    assert "| code commit | `3f2a1c9d8e7b` |" in body
    assert "### Rollout plan" in body and "Canary (Argo Rollouts): 5%, pause 10m" in body
    assert "comment `/rollback <reason>` here" in body
    meta = read_marker(body)
    assert meta is not None
    assert (meta.action, meta.model, meta.environment) == ("promote", model, "production")
    assert (meta.version, meta.previous_version) == ("2", "1")
    written = trailers(env, branch)
    # API mode: GitHub authors (and signs) the commit; the bot's identity is a co-author.
    co_author = written.pop(CO_AUTHOR, None)
    assert co_author == (
        "model-bot <model-bot@users.noreply.github.com>" if commit_mode == "api" else None
    )
    assert meta.trailers == written  # a squash that keeps the body keeps them
    report = git(env.bare, "show", f"{branch}:reports/production/{model}/2.md")
    assert body.startswith(report)

    # The commit: one, on top of main, with the audit trailers.
    assert git(env.bare, "rev-parse", f"{branch}~1") == main_sha
    assert written == {
        "Model": model,
        "Model-Version": "2",
        "Previous-Version": "1",
        "Environment": "production",
        "Action": "promote",
        "Gate": "PASS 4/4 gates (policy policies/default.yaml)",
        "MLflow-Run": run_id,
        "Code-Commit": "3f2a1c9d8e7b",
    }
    assert env.refs()["refs/heads/main"] == main_sha
    first_tip = env.refs()[f"refs/heads/{branch}"]

    # Again: nothing to do, nothing written.
    env.fake.reset_requests()
    again = promote(env, *from_mlflow(registry, "2"))
    assert again.exit_code == 0, again
    assert "outcome: unchanged (the open pull request already holds exactly this change)" in (
        again.stdout
    )
    # No-op budget: read the repo, list open PRs for the branch (the list's `merged_at` is
    # enough: no per-PR completion), and read the one open PR that holds the change: only a
    # single-PR read carries `mergeable` (a conflicted PR is rebuilt on the current base).
    assert env.calls() == [
        *reads,
        "GET /repos/acme/env/pulls",
        "GET /repos/acme/env/pulls/1",
    ]
    assert env.fake.request_count() == 3
    assert env.refs()[f"refs/heads/{branch}"] == first_tip
    assert len(env.fake.pulls("acme", "env")) == 1

    # A newer version updates the same PR in place and says so.
    env.fake.reset_requests()
    newer = promote(env, *from_mlflow(registry, "3"))
    assert newer.exit_code == 0, newer
    assert "outcome: updated\n" in newer.stdout and "pull request: #1 " in newer.stdout
    assert [
        c if "/statuses/" not in c else "POST /repos/acme/env/statuses/SHA" for c in env.calls()
    ] == [
        *reads,
        "GET /repos/acme/env/pulls",
        *commit_writes,
        "POST /repos/acme/env/statuses/SHA",  # model-bot/gate on the new head
        "PATCH /repos/acme/env/pulls/1",
        "POST /repos/acme/env/issues/1/comments",
        # A twin run superseding at the same moment may have posted the note too: the
        # later of two identical notes is deleted (test_concurrency), so read them once.
        "GET /repos/acme/env/issues/1/comments",
    ]
    pulls = env.fake.pulls("acme", "env")
    assert len(pulls) == 1
    pr = pulls[0]
    assert pr["title"] == f"Promote {model} 3 to production"
    assert pr["head"]["ref"] == branch
    assert f"## ✅ Gates passed: `{model}` version `3`" in pr["body"]
    updated = read_marker(pr["body"])
    assert updated is not None and (updated.version, updated.previous_version) == ("3", "1")
    comments = [c["body"] for c in env.fake.comments("acme", "env", 1)]
    assert comments == [
        f"model-bot: superseded `2` by `3`; this pull request now promotes {model} `3` "
        "to production."
    ]
    tip = env.refs()[f"refs/heads/{branch}"]
    assert tip != first_tip
    assert git(env.bare, "rev-parse", f"{branch}~1") == main_sha  # rebuilt, not stacked
    assert (trailers(env, branch)["Model-Version"], trailers(env, branch)["Code-Commit"]) == (
        "3",
        "4e5f6a7b8c9d",
    )
    assert pull_files(env, 1) == {
        f"{folder}/values.yaml": "modified",
        f"{folder}/rollout.yaml": "added",
        f"{folder}/analysis-template.yaml": "added",
        f"reports/production/{model}/3.md": "added",
        f"reports/production/{model}/3.evidence.json": "added",
    }


# --- gate failure, dry run, no PR ---------------------------------------------------------------


def test_failed_gate_pushes_nothing_and_notifies(env: Env, tmp_path: Path) -> None:
    issue = env.fake.client(TOKEN).get_repo("acme/env").create_issue("Release 2026-11")
    before = env.refs()
    env.fake.reset_requests()
    summary = tmp_path / "summary.md"

    result = promote(
        env,
        "--results",
        str(FAILING),
        "--notify",
        f"acme/env#{issue.number}",
        "--summary-file",
        str(summary),
    )

    assert result.exit_code == 1, result
    assert "decision: FAIL" in result.stdout
    assert "outcome: blocked (the gates failed: nothing was opened)" in result.stdout
    assert f"notified: acme/env#{issue.number}" in result.stdout
    assert env.refs() == before
    assert env.fake.pulls("acme", "env") == []
    assert env.fake.git_requests == []  # not even cloned
    assert env.writes() == [f"POST /repos/acme/env/issues/{issue.number}/comments"]
    comments = env.fake.comments("acme", "env", issue.number)
    assert len(comments) == 1
    assert comments[0]["body"].startswith("## ❌ Gates failed: `fraud-detector` version `8`")
    assert "| ❌ fail |" in comments[0]["body"]
    assert summary.read_text().rstrip("\n") == comments[0]["body"].rstrip("\n")


@pytest.mark.parametrize(
    ("notify", "token", "message"),
    [
        ("acme/env", TOKEN, "--notify: expected OWNER/REPO#NUMBER, got 'acme/env'"),
        ("acme#3", TOKEN, "--notify: expected OWNER/REPO#NUMBER, got 'acme#3'"),
        ("acme/env#0", TOKEN, "--notify: expected OWNER/REPO#NUMBER"),
        ("acme/env#3", None, "--notify: needs GITHUB_TOKEN"),
    ],
)
def test_bad_notify_is_refused_before_anything_runs(
    env: Env, notify: str, token: str | None, message: str
) -> None:
    """Checked up front: a typo must not turn a failed gate's exit 1 into an exit 2 later."""
    result = promote(env, "--results", str(FAILING), "--notify", notify, token=token)
    assert_usage_error(result, message)
    assert result.stdout == ""
    assert env.fake.requests == [] and env.fake.git_requests == []


def test_failed_notification_warns_and_keeps_the_answer(env: Env) -> None:
    result = promote(env, "--results", str(FAILING), "--notify", "acme/env#99")
    assert result.exit_code == 1, result
    assert "outcome: blocked" in result.stdout
    assert result.stderr.startswith("warning: could not notify acme/env#99: ")
    assert "(404)" in result.stderr
    assert_secret_free(result, TOKEN)


# --- on_fail: who is told about a failed gate ----------------------------------------------------
#
# A blocked decision is commented through GitHub's issue-comment endpoint,
# `POST /repos/{owner}/{repo}/issues/{issue_number}/comments` (a pull request's conversation
# comments are issue comments; https://docs.github.com/en/rest/issues/comments#create-an-issue-comment).
# The tests read the comments back from the fake's state and its request log.

BRANCH = "model-bot/promote/production/fraud-detector"
BLOCKED = "outcome: blocked (the gates failed: nothing was opened)"
FAILED_TITLE = "## ❌ Gates failed: `fraud-detector` version `8`"


def policy_with(
    tmp_path: Path, on_fail: str | None = None, environments: dict[str, str] | None = None
) -> Path:
    """policies/default.yaml with its top-level `on_fail` replaced and/or per-environment
    `environments.<env>.on_fail` overrides added."""
    text = DEFAULT.read_text()
    if on_fail is not None:
        assert text.count("\non_fail: block_and_notify\n") == 1
        text = text.replace("\non_fail: block_and_notify\n", f"\non_fail: {on_fail}\n")
    if environments:
        text = text.rstrip("\n") + "\nenvironments:\n"
        text += "".join(
            f"  {name}:\n    on_fail: {value}\n" for name, value in environments.items()
        )
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


def open_promotion_pr(env: Env, **flags: str) -> int:
    """A passing promotion of fraud-detector 7: its open PR, whose number is returned."""
    opened = promote(env, "--results", str(PASSING), **flags)
    assert opened.exit_code == 0, opened
    assert "outcome: created\n" in opened.stdout
    pulls = env.fake.pulls("acme", "env", state="open")
    assert len(pulls) == 1
    assert env.fake.comments("acme", "env") == []  # opening a PR comments nothing
    return int(pulls[0]["number"])


def create_issue(env: Env) -> int:
    return env.fake.client(TOKEN).get_repo("acme/env").create_issue("Release 2026-11").number


def comment_posts(env: Env) -> list[str]:
    return [w for w in env.writes() if w.startswith("POST ") and w.endswith("/comments")]


def test_failed_gate_comments_the_report_on_the_open_promotion_pr(env: Env, tmp_path: Path) -> None:
    """block_and_notify (the default) without --notify: the report goes to the open PR of
    this model and environment (head `model-bot/promote/production/fraud-detector`), through
    `POST /repos/{owner}/{repo}/issues/{issue_number}/comments`; the PR itself is left alone."""
    number = open_promotion_pr(env)
    pr_before = env.fake.pull("acme", "env", number)
    refs_before = env.refs()
    env.fake.reset_requests()
    summary = tmp_path / "summary.md"

    result = promote(env, "--results", str(FAILING), "--summary-file", str(summary))

    assert result.exit_code == 1, result
    assert "decision: FAIL" in result.stdout
    assert f"{BLOCKED}\n" in result.stdout
    assert f"notified: acme/env#{number}\n" in result.stdout
    assert result.stderr == ""
    # Find the open PR by its head branch, then one write: the comment on that PR. Nothing
    # cloned, pushed, opened or edited.
    assert env.calls() == [
        "GET /repos/acme/env/pulls",
        f"POST /repos/acme/env/issues/{number}/comments",
    ]
    assert env.fake.requests[0].query == {"head": f"acme:{BRANCH}", "state": "open"}
    assert env.fake.git_requests == []
    comments = env.fake.comments("acme", "env", number)
    assert len(comments) == 1
    body = comments[0]["body"]
    assert body.startswith(FAILED_TITLE)
    assert "`safety_violations`" in body and "| ❌ fail |" in body
    assert comments[0]["user"]["login"] == "bot"
    assert summary.read_text().rstrip("\n") == body.rstrip("\n")  # the same gate report
    assert env.fake.comments("acme", "env") == comments  # nowhere else
    # Still one PR, still promoting 7, on the same branch tip.
    pulls = env.fake.pulls("acme", "env")
    assert len(pulls) == 1
    pr = pulls[0]
    assert (pr["number"], pr["state"], pr["title"], pr["body"]) == (
        number,
        "open",
        pr_before["title"],
        pr_before["body"],
    )
    assert (pr["head"]["ref"], pr["head"]["sha"]) == (BRANCH, pr_before["head"]["sha"])
    assert env.refs() == refs_before


def _no_pr(env: Env) -> None:
    pass


def _closed_pr(env: Env) -> None:
    number = open_promotion_pr(env)
    env.fake.client(TOKEN).get_repo("acme/env").get_pull(number).edit(state="closed")
    assert env.fake.pulls("acme", "env", state="open") == []


def _other_environment_pr(env: Env) -> None:
    open_promotion_pr(env, environment="staging")
    (pr,) = env.fake.pulls("acme", "env", state="open")
    assert pr["head"]["ref"] == "model-bot/promote/staging/fraud-detector"


@pytest.mark.parametrize(
    "setup",
    [_no_pr, _closed_pr, _other_environment_pr],
    ids=["no-pr", "closed-pr", "other-environment-pr"],
)
def test_failed_gate_without_an_open_promotion_pr_comments_nowhere(
    env: Env, setup: Callable[[Env], None]
) -> None:
    """block_and_notify without --notify and no OPEN PR for this model and environment
    (none, a closed one, or one for staging): no issue comment is posted, quietly."""
    setup(env)
    refs_before = env.refs()
    env.fake.reset_requests()

    result = promote(env, "--results", str(FAILING))

    assert result.exit_code == 1, result
    assert f"{BLOCKED}\n" in result.stdout
    assert "notified:" not in result.stdout
    assert result.stderr == ""
    assert env.writes() == []
    assert env.fake.comments("acme", "env") == []
    assert env.refs() == refs_before


@pytest.mark.parametrize(
    ("on_fail", "environments"),
    [("block", None), ("block_and_notify", {"production": "block"})],
    ids=["policy-block", "production-override-block"],
)
def test_on_fail_block_does_not_notify_and_warns(
    env: Env, tmp_path: Path, on_fail: str, environments: dict[str, str] | None
) -> None:
    """on_fail: block (top level, or `environments.production.on_fail`) with --notify: no
    comment anywhere, not even on the open promotion PR; one warning line on stderr."""
    policy = policy_with(tmp_path, on_fail, environments)
    pr_number = open_promotion_pr(env)
    issue = create_issue(env)
    env.fake.reset_requests()

    result = promote(
        env, "--results", str(FAILING), "--notify", f"acme/env#{issue}", policy=str(policy)
    )

    assert result.exit_code == 1, result
    assert f"{BLOCKED}\n" in result.stdout
    assert "notified:" not in result.stdout
    assert result.stderr.startswith(
        f"warning: acme/env#{issue} was not notified: the policy's on_fail is block "
    )
    assert result.stderr.count("\n") == 1
    assert env.fake.requests == []  # GitHub is not even asked
    assert env.fake.comments("acme", "env", issue) == []
    assert env.fake.comments("acme", "env", pr_number) == []


def test_on_fail_block_without_notify_leaves_the_open_pr_alone(env: Env, tmp_path: Path) -> None:
    policy = policy_with(tmp_path, "block")
    open_promotion_pr(env)
    env.fake.reset_requests()

    result = promote(env, "--results", str(FAILING), policy=str(policy))

    assert result.exit_code == 1, result
    assert f"{BLOCKED}\n" in result.stdout
    assert "notified:" not in result.stdout
    assert result.stderr == ""
    assert env.fake.requests == []
    assert env.fake.comments("acme", "env") == []


@pytest.mark.parametrize(
    ("on_fail", "environments"),
    [("block", {"production": "block_and_notify"}), ("block_and_notify", {"staging": "block"})],
    ids=["production-override-notifies", "staging-override-ignored"],
)
def test_on_fail_of_the_environment_decides(
    env: Env, tmp_path: Path, on_fail: str, environments: dict[str, str]
) -> None:
    """`environments.<env>.on_fail` replaces the top-level value for that environment only."""
    policy = policy_with(tmp_path, on_fail, environments)
    issue = create_issue(env)
    env.fake.reset_requests()

    result = promote(
        env, "--results", str(FAILING), "--notify", f"acme/env#{issue}", policy=str(policy)
    )

    assert result.exit_code == 1, result
    assert f"notified: acme/env#{issue}\n" in result.stdout
    assert result.stderr == ""
    assert env.writes() == [f"POST /repos/acme/env/issues/{issue}/comments"]
    (comment,) = env.fake.comments("acme", "env", issue)
    assert comment["body"].startswith(FAILED_TITLE)


@pytest.mark.parametrize("target", ["open-pr", "notify"])
def test_dry_run_of_a_failed_gate_comments_nothing(env: Env, target: str) -> None:
    """--dry-run: the outcome says who would be told; no comment is posted."""
    pr_number = open_promotion_pr(env)
    issue = create_issue(env)
    where = pr_number if target == "open-pr" else issue
    extra = ("--notify", f"acme/env#{issue}") if target == "notify" else ()
    env.fake.reset_requests()

    result = promote(env, "--results", str(FAILING), "--dry-run", *extra)

    assert result.exit_code == 1, result
    assert (
        f"outcome: blocked (the gates failed: nothing was opened; dry run: acme/env#{where} "
        "would be notified)\n"
    ) in result.stdout
    assert "notified:" not in result.stdout.replace("would be notified", "")
    assert result.stderr == ""
    assert env.writes() == []
    assert env.fake.git_requests == []
    assert env.fake.comments("acme", "env") == []


def test_failed_gate_without_a_token_comments_nothing(env: Env) -> None:
    pr_number = open_promotion_pr(env)
    env.fake.reset_requests()

    result = promote(env, "--results", str(FAILING), token=None)

    assert result.exit_code == 1, result
    assert f"{BLOCKED}\n" in result.stdout
    assert "notified:" not in result.stdout
    assert (
        result.stderr
        == "warning: not notified: GITHUB_TOKEN is not set (on_fail: block_and_notify)\n"
    )
    assert env.fake.requests == []
    assert env.fake.comments("acme", "env", pr_number) == []


def promote_local(env: Env, repo: Path, results: Path, *extra: str) -> Result:
    """`model-bot promote` into a local env repo, with a token and the fake's API URL set:
    anything the bot asked GitHub would show in the fake's request log."""
    return run(
        "promote",
        "--results",
        results,
        "--policy",
        DEFAULT,
        "--environment",
        "production",
        "--env-repo",
        repo,
        "--github-api-url",
        env.fake.api_url,
        *extra,
        env=dict(RUN_ENV),
    )


def test_failed_gate_on_a_local_env_repo_notifies_nobody(env: Env, tmp_path: Path) -> None:
    """A local env repo has no pull requests: block_and_notify without --notify comments
    nothing, asks GitHub nothing and does not complain, even with a token set."""
    repo = example_env_repo(tmp_path / "env-repo")
    first = promote_local(env, repo, PASSING)
    assert first.exit_code == 0, first
    before = git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    assert f"refs/heads/{BRANCH} " in before

    result = promote_local(env, repo, FAILING)

    assert result.exit_code == 1, result
    assert f"{BLOCKED}\n" in result.stdout
    assert "notified:" not in result.stdout
    assert result.stderr == ""
    assert git(repo, "for-each-ref", "--format=%(refname) %(objectname)") == before
    assert git(repo, "status", "--porcelain") == ""
    assert env.fake.requests == []


def test_failed_gate_on_a_local_env_repo_notifies_the_notify_target(
    env: Env, tmp_path: Path
) -> None:
    repo = example_env_repo(tmp_path / "env-repo")
    issue = create_issue(env)
    env.fake.reset_requests()

    result = promote_local(env, repo, FAILING, "--notify", f"acme/env#{issue}")

    assert result.exit_code == 1, result
    assert f"notified: acme/env#{issue}\n" in result.stdout
    assert result.stderr == ""
    assert env.writes() == [f"POST /repos/acme/env/issues/{issue}/comments"]
    (comment,) = env.fake.comments("acme", "env", issue)
    assert comment["body"].startswith(FAILED_TITLE)


def test_dry_run_prints_the_change_and_writes_nothing(env: Env) -> None:
    before = env.refs()
    result = promote(env, "--results", str(PASSING), "--dry-run")
    assert result.exit_code == 0, result
    assert "outcome: created (dry run) (dry run: nothing was pushed or opened)" in result.stdout
    values = "environments/production/fraud-detector/values.yaml"
    assert f"--- a/{values}\n+++ b/{values}\n" in result.stdout
    assert '-  version: "6"\n+  version: "7"\n' in result.stdout
    assert "--- pull request (dry run: not opened) " in result.stdout
    assert "title: Promote fraud-detector 7 to production" in result.stdout
    assert "<!-- model-bot: " in result.stdout
    assert env.refs() == before
    assert env.writes() == []
    assert {r.method for r in env.fake.requests if not r.graphql_read} == {"GET"}  # reads only
    assert not any("receive-pack" in r.path + str(r.query) for r in env.fake.git_requests)


def test_no_pr_pushes_the_branch_only(env: Env, commit_mode: str) -> None:
    result = promote(env, "--results", str(PASSING), "--no-pr")
    assert result.exit_code == 0, result
    assert "outcome: created\n" in result.stdout
    assert "--- pull request (--no-pr: not opened) " in result.stdout
    assert env.bot_refs() == ["refs/heads/model-bot/promote/production/fraud-detector"]
    assert env.fake.pulls("acme", "env") == []
    assert env.writes() == api_writes(commit_mode)

    again = promote(env, "--results", str(PASSING), "--no-pr")
    assert "outcome: unchanged (model-bot/promote/production/fraud-detector already holds" in (
        again.stdout
    )


# --- interrupted and lost writes ----------------------------------------------------------------


def test_run_stopped_between_push_and_pr_is_completed_by_the_next(env: Env) -> None:
    branch = "model-bot/promote/production/fraud-detector"
    env.fake.inject(status=502, times=50, method="POST", path_regex=r"/pulls$")
    broken = promote(env, "--results", str(PASSING))
    assert_usage_error(broken, "GitHub answered 502 while trying to open a pull request")
    assert_secret_free(broken, TOKEN)
    tip = env.refs()[f"refs/heads/{branch}"]
    assert env.fake.pulls("acme", "env") == []
    env.fake.clear_faults()

    result = promote(env, "--results", str(PASSING))

    assert result.exit_code == 0, result
    assert "outcome: created\n" in result.stdout
    assert env.refs()[f"refs/heads/{branch}"] == tip  # no new commit
    pulls = env.fake.pulls("acme", "env")
    assert len(pulls) == 1 and pulls[0]["head"]["sha"] == tip
    assert env.fake.issue_labels("acme", "env", 1) == ["model-promotion", "env:production"]
    assert env.fake.requested_reviewers("acme", "env", 1)["users"] == ["alice", "bob"]


def test_lost_response_to_opening_the_pr_gives_one_pr(env: Env) -> None:
    env.fake.drop_response(times=1, method="POST", path_regex=r"/pulls$")
    result = promote(env, "--results", str(PASSING))
    assert result.exit_code == 0, result
    assert "outcome: created\n" in result.stdout and "pull request: #1 " in result.stdout
    assert len(env.fake.pulls("acme", "env")) == 1
    opened = [
        r for r in env.fake.requests if (r.method, r.path) == ("POST", "/repos/acme/env/pulls")
    ]
    assert len(opened) == 1  # the lost one; the bot then found the PR instead of posting again
    assert env.fake.issue_labels("acme", "env", 1) == ["model-promotion", "env:production"]


def test_missing_labels_are_added_by_the_next_run(env: Env) -> None:
    """A run that stopped after opening the PR but before labelling it: the rerun labels it
    and asks for the reviews that run never asked for."""
    env.fake.inject(status=422, times=1, method="POST", path_regex=r"/labels$")
    broken = promote(env, "--results", str(PASSING))
    assert broken.exit_code == 2
    assert env.fake.issue_labels("acme", "env", 1) == []
    env.fake.reset_requests()
    result = promote(env, "--results", str(PASSING))
    assert result.exit_code == 0, result
    assert "outcome: unchanged" in result.stdout
    assert env.fake.issue_labels("acme", "env", 1) == ["model-promotion", "env:production"]
    assert env.writes() == [
        "POST /repos/acme/env/issues/1/labels",
        "POST /repos/acme/env/pulls/1/requested_reviewers",  # users and teams at once
    ]
    assert env.fake.requested_reviewers("acme", "env", 1)["users"] == ["alice", "bob"]


# --- bad input: exit 2, one line, nothing left behind --------------------------------------------

Setup = Callable[[Env], dict[str, Any]]


def _unknown_environment(env: Env) -> dict[str, Any]:
    return {"flags": {"environment": "qa"}}


def _missing_base(env: Env) -> dict[str, Any]:
    return {"flags": {"base": "nope"}}


def _missing_repo(env: Env) -> dict[str, Any]:
    return {"flags": {"env_repo": "acme/missing"}}


def _bad_token(env: Env) -> dict[str, Any]:
    return {"token": BAD_TOKEN}


def _forbidden(env: Env) -> dict[str, Any]:
    env.fake.inject(status=403, times=10, method="GET", path_regex=r"^/repos/acme/env$")
    # API mode's first read of the repository is its GraphQL query.
    env.fake.inject(status=403, times=10, method="POST", path_regex=r"^/graphql$")
    return {}


def _read_only(env: Env) -> dict[str, Any]:
    reader = env.fake.add_user("reader", token="ghs_readOnlyToken0123456789abcdefgh")
    env.fake.set_permission("acme", "env", "reader", "read")
    env.fake.enforce_permissions = True
    return {"token": reader.token}


def _not_found(env: Env) -> dict[str, Any]:
    env.fake.inject(status=404, times=10, method="GET", path_regex=r"/pulls$")
    return {}


def _no_token(env: Env) -> dict[str, Any]:
    return {"token": None}


def _malformed_config(env: Env) -> dict[str, Any]:
    bad = CONFIG.replace("namespace: ml-production", "namespce: ml-production")
    env.fake.commit_files("acme", "env", "main", {".model-bot.yaml": bad}, "Typo")
    return {}


def _garbage_env_repo(env: Env) -> dict[str, Any]:
    return {"flags": {"env_repo": "not a repo!"}}


BAD_INPUT: list[tuple[str, Setup, tuple[str, ...]]] = [
    (
        "unknown-environment",
        _unknown_environment,
        ("--environment: unknown environment 'qa' (known: production, staging;",),
    ),
    ("missing-base", _missing_base, ("--base: no branch 'nope' in",)),
    ("repo-not-found", _missing_repo, ("acme/missing not found", "check --env-repo")),
    ("bad-token-401", _bad_token, ("GitHub rejected the token (401", "GITHUB_TOKEN")),
    ("forbidden-403", _forbidden, ("may not read the repository in acme/env (403",)),
    ("read-only-403", _read_only, ("could not push", "the token lacks access", "HTTP 403")),
    ("not-found-404", _not_found, ("list pull requests (404)",)),
    ("no-token", _no_token, ("GITHUB_TOKEN: not set", "acme/env")),
    (
        "malformed-config",
        _malformed_config,
        (".model-bot.yaml: environments.production.namespce: unknown field",),
    ),
    ("garbage-env-repo", _garbage_env_repo, ("--env-repo: 'not a repo!' is neither",)),
]


@pytest.mark.parametrize(
    ("setup", "expected"), [(s, e) for _, s, e in BAD_INPUT], ids=[i for i, _, _ in BAD_INPUT]
)
def test_bad_input_exits_2_with_one_line_and_leaves_nothing(
    env: Env, setup: Setup, expected: tuple[str, ...], commit_mode: str
) -> None:
    if setup is _read_only and commit_mode == "api":  # the first write is the tree
        expected = ("the token may not create a tree in acme/env (403",)
    before = env.refs()
    change = setup(env)
    after_setup = env.refs()
    token = change.get("token", TOKEN)

    result = promote(env, "--results", str(PASSING), token=token, **change.get("flags", {}))

    assert_usage_error(result, *expected)
    assert_secret_free(result, TOKEN, BAD_TOKEN, "ghs_readOnlyToken0123456789abcdefgh")
    assert env.refs() == after_setup
    assert [r for r in after_setup if r not in before] == []
    assert env.bot_refs() == []
    assert env.fake.pulls("acme", "env") == []
    assert env.fake.server_errors == []


# --- two environments, one version: reports apart, conflicts rebuilt ---------------------------


def merge_pull(env: Env, number: int) -> None:
    pull = env.fake.client(TOKEN).get_repo("acme/env").get_pull(number)
    assert pull.merge(merge_method="merge").merged


def promote_to_both(env: Env) -> tuple[int, int]:
    """fraud-detector 7 to staging (#1) and to production (#2)."""
    for environment in ("staging", "production"):
        result = promote(env, "--results", str(PASSING), environment=environment)
        assert result.exit_code == 0, result
        assert "outcome: created\n" in result.stdout
    return 1, 2


def test_one_version_in_two_environments_gives_two_reports_that_merge(env: Env) -> None:
    """The default report path names the environment: merging the staging PR leaves the
    production PR mergeable (it used to collide on reports/<model>/<version>.md)."""
    staging, production = promote_to_both(env)
    assert "reports/staging/fraud-detector/7.md" in pull_files(env, staging)
    assert "reports/production/fraud-detector/7.md" in pull_files(env, production)
    merge_pull(env, staging)
    assert env.fake.pull("acme", "env", production)["mergeable"] is True


def test_a_conflicted_promotion_pr_is_rebuilt_on_the_current_base(
    env: Env, commit_mode: str
) -> None:
    """An explicit report path without the environment (an existing user's config): merging
    the staging PR conflicts the production PR. While GitHub has not computed mergeability
    (null) the rerun does not wait for it and changes nothing; once GitHub answers
    `mergeable: false`, the rerun rebuilds the branch on the current base, with the lease."""
    env.fake.commit_files(
        "acme",
        "env",
        "main",
        {".model-bot.yaml": CONFIG + "paths:\n  report: reports/{model}/{version}.md\n"},
        "Keep the old report path",
    )
    staging, production = promote_to_both(env)
    merge_pull(env, staging)
    assert env.fake.pull("acme", "env", production)["mergeable"] is False
    branch = "model-bot/promote/production/fraud-detector"
    stale_tip = env.refs()[f"refs/heads/{branch}"]

    env.fake.reset_requests()
    unknown = promote(env, "--results", str(PASSING))  # GitHub starts computing: null
    assert unknown.exit_code == 0, unknown
    assert "outcome: unchanged" in unknown.stdout
    assert env.refs()[f"refs/heads/{branch}"] == stale_tip
    # The one extra read: the open PR's mergeability (lists do not carry it).
    assert env.calls() == [
        *repo_reads(commit_mode),
        # API mode: this config's report folder is not the default one the first query
        # read with the config: one more query reads it.
        *(["POST /graphql"] if commit_mode == "api" else []),
        "GET /repos/acme/env/pulls",
        f"GET /repos/acme/env/pulls/{production}",
    ]

    rebuilt = promote(env, "--results", str(PASSING))
    assert rebuilt.exit_code == 0, rebuilt
    assert (
        f"outcome: updated (#{production} no longer merged cleanly into main: "
        "rebuilt on the current main)\n"
    ) in rebuilt.stdout
    tip = env.refs()[f"refs/heads/{branch}"]
    main = env.refs()["refs/heads/main"]
    assert tip != stale_tip
    assert git(env.bare, "rev-parse", f"{tip}^") == main  # one new commit on the current base
    assert git(env.bare, "show", f"{tip}:reports/fraud-detector/7.md") == git(
        env.bare, "show", f"{stale_tip}:reports/fraud-detector/7.md"
    )
    assert env.fake.pull("acme", "env", production)["mergeable"] is True
    assert len(env.fake.pulls("acme", "env", state="open")) == 1
    assert env.fake.comments("acme", "env", production) == []  # same version: no "superseded"

    again = promote(env, "--results", str(PASSING))
    assert "outcome: unchanged (the open pull request already holds" in again.stdout
    assert env.refs()[f"refs/heads/{branch}"] == tip


# --- no registry alias: the deployed version is the champion ------------------------------------


@pytest.fixture(scope="module")
def aliasless(mlflow_server: str) -> Registry:
    """A model with no alias at all: v1 (what production runs), v2 much worse than v1 but
    above every absolute threshold, v3 better than v1."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    suffix = str(int(time.time() * 1000))
    experiment_id = client.create_experiment(f"aliasless-{suffix}")
    model = f"aliasless-{suffix}"
    client.create_registered_model(model)
    runs = {}
    for number, accuracy in (("1", 0.99), ("2", 0.95), ("3", 0.995)):
        version, runs[number] = _register(
            client,
            experiment_id,
            model,
            {"accuracy": accuracy, "latency_p99_ms": 8.0, "safety_violations": 0},
            {},
            "abcdef0",
            {"image": "ghcr.io/acme/aliasless", "image_tag": f"{number}-abcdef0"},
        )
        assert version == number
    return Registry(mlflow_server, model, experiment_id, runs)


def deploy(env: Env, model: str, version: str) -> None:
    values = HAND_WRITTEN_VALUES.format(model=model).replace(
        'version: "1"', f'version: "{version}"'
    )
    env.fake.commit_files(
        "acme", "env", "main", {f"environments/production/{model}/values.yaml": values}, "Deploy"
    )


def test_without_any_alias_the_deployed_version_is_the_champion(
    env: Env, aliasless: Registry
) -> None:
    """Production runs 1 and the registry has no alias: 2 is gated against 1 (and fails the
    regression gate it used to pass as a "first promotion"); 3 passes, and its report says
    which champion it was gated against."""
    deploy(env, aliasless.model, "1")

    worse = promote(env, *from_mlflow(aliasless, "2"))
    assert worse.exit_code == 1, worse
    assert f"{aliasless.model} 2 vs champion 1" in worse.stdout
    assert "no champion" not in worse.stdout
    assert "regression_delta" in worse.stdout and "outcome: blocked" in worse.stdout

    better = promote(env, *from_mlflow(aliasless, "3"))
    assert better.exit_code == 0, better
    assert f"{aliasless.model} 3 vs champion 1" in better.stdout
    (pull,) = env.fake.pulls("acme", "env", state="open")
    assert "| champion | the deployed version `1` (no registry alias) |" in pull["body"]


def test_without_any_alias_and_nothing_deployed_it_is_a_first_promotion(
    env: Env, aliasless: Registry
) -> None:
    first = promote(env, *from_mlflow(aliasless, "2"))
    assert first.exit_code == 0, first
    assert "no champion" in first.stdout
    assert "outcome: created" in first.stdout
