"""`model-bot monitor` end to end: a real Prometheus backfilled with drift and decay scenarios
(tests/realparts/driftmetrics.py), real git, and the fake GitHub holding the env repo and a
training repository whose workflow takes a `workflow_dispatch`.

healthy -> nothing; drift that started before the current version was deployed -> healthy;
drifted -> one dispatch and one tracking issue; drifted again -> no second dispatch, the issue
gains evidence; decayed accuracy (relative to the deployed version's gate evidence) ->
dispatch; no data or Prometheus down -> inconclusive, nothing; model age over the maximum ->
dispatch with that reason; the retrained version's promotion (`--drift-issue`) merges ->
`model-bot event` closes the issue; a workflow without `workflow_dispatch` -> exit 2.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.envfixtures import (
    BOT_LOGIN,
    DEFAULT_POLICY_PATH,
    ENVIRONMENT,
    REPO,
    CliResult,
    bare_git,
    bare_path,
    commit_message,
    fast_github,
    github_env_repo,
    merge_pull,
    promote_and_merge,
    results_file,
    run_cli,
)
from tests.fakegithub import FakeGitHub
from tests.realparts.driftmetrics import SCENARIOS, generate
from tests.realparts.prometheus import PrometheusServer
from tests.webhooks import pull_request_closed_event

OWNER, NAME = REPO.split("/")
TRAINING = "acme/training"
TRAIN_WORKFLOW = """\
name: train
on:
  workflow_dispatch:
    inputs:
      model: {required: true}
      environment: {required: true}
      deployed_version: {required: false}
      reason: {required: false}
      drift_issue: {required: false}
      dataset: {required: false, default: latest}
jobs: {}
"""
PUSH_ONLY = "name: ci\non: [push]\njobs: {}\n"
HOUR = 3600
LABEL = "model-bot:drift"


def policy_text(
    workflow: str = "train.yml", signals: bool = True, max_age: int | None = None
) -> str:
    text = """\
apiVersion: model-bot/v1
kind: PromotionPolicy
primary_metric: accuracy
gates: [{metric: accuracy > 0.9}]
monitoring:
  cooldown: 24h
"""
    if signals:
        text += """\
  signals:
    - name: feature-psi
      query: max(model_feature_psi{app="{{ model }}"})
      condition: result < 0.2
      window: 6h
      step: 5m
    - name: accuracy-drop
      query: model_accuracy{app="{{ model }}"}
      relative_to_evidence: accuracy
      condition: result >= 0.95
      window: 6h
      step: 5m
"""
    if max_age is not None:
        text += f"  max_age_days: {max_age}\n"
    text += f"""\
  retrain:
    repository: {TRAINING}
    workflow: {workflow}
    inputs: {{dataset: latest}}
"""
    return text


@pytest.fixture
def github(fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    fast_github(monkeypatch)
    github_env_repo(fake_github)
    owner, name = TRAINING.split("/")
    fake_github.add_repo(owner, name)
    fake_github.set_permission(owner, name, BOT_LOGIN, "write")
    fake_github.commit_files(
        owner,
        name,
        "main",
        {".github/workflows/train.yml": TRAIN_WORKFLOW, ".github/workflows/ci.yml": PUSH_ONLY},
    )
    return fake_github


def deployed_at(github: FakeGitHub, model: str, tmp_path: Path) -> int:
    """Promote and merge `model` 1; when it reached the base (the merge commit's time)."""
    promotion = promote_and_merge(github, REPO, model, "1", workdir=tmp_path)
    return int(bare_git(bare_path(github), "show", "-s", "--format=%ct", promotion.merge))


def write_policy(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def monitor(
    github: FakeGitHub, tmp_path: Path, policy: Path, url: str, *args: str | int
) -> CliResult:
    return run_cli(
        "monitor", "--env-repo", REPO, "--github-api-url", github.api_url, "--policy", policy,
        "--prometheus-url", url, "--environment", ENVIRONMENT, *map(str, args), tmp_path=tmp_path,
    )  # fmt: skip


def drift_issues(github: FakeGitHub) -> list[dict[str, Any]]:
    return [i for i in github.issues(OWNER, NAME) if "pull_request" not in i]


def closed_event(github: FakeGitHub, tmp_path: Path, number: int) -> Path:
    return pull_request_closed_event(github, REPO, tmp_path, number)


def free_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_drift_and_decay_dispatch_once_and_the_retrained_promotion_closes_the_issue(
    github: FakeGitHub,
    prometheus_factory: Callable[..., PrometheusServer],
    tmp_path: Path,
) -> None:
    deployed = {app: deployed_at(github, app, tmp_path) for app in SCENARIOS}
    first, last = min(deployed.values()), max(deployed.values())
    server = prometheus_factory(
        openmetrics=generate(list(SCENARIOS.values()), deployed, first - 8 * HOUR, last + 8 * HOUR)
    )
    policy = write_policy(tmp_path, policy_text())
    training = TRAINING.split("/")

    def at(app: str, after: int = 2 * HOUR + 90) -> int:
        # 90 s past a 5-minute step: the first sample since the deployment reads a value
        # exported after it (Prometheus answers an instant with the newest sample before it).
        return deployed[app] + after

    def judge(app: str, after: int = 2 * HOUR + 90, url: str = server.url) -> CliResult:
        return monitor(github, tmp_path, policy, url, "--model", app, "--at", at(app, after))

    # Healthy: nothing is written anywhere.
    writes = github.request_count("POST") + github.request_count("PATCH")
    steady = judge("steady")
    assert steady.exit_code == 0, steady
    assert "steady 1 in production: HEALTHY" in steady.stdout
    assert steady.outputs["health"] == "healthy"

    # Drift that started before the current version was deployed does not count: with the
    # same 6h window and no deployment to start from, it would be a breach.
    before = run_cli(
        "monitor", "--env-repo", REPO, "--github-api-url", github.api_url, "--policy", policy,
        "--prometheus-url", server.url, "--model", "drifted-before", "--format", "json",
        "--at", str(at("drifted-before")), tmp_path=tmp_path,
    )  # fmt: skip
    assert before.exit_code == 0, before
    [verdict] = json.loads(before.stdout)["models"]
    psi = next(s for s in verdict["signals"] if s["name"] == "feature-psi")
    assert psi["window_start"] >= deployed["drifted-before"]
    assert {s["value"] for s in psi["samples"]} == {0.05}
    assert github.request_count("POST") + github.request_count("PATCH") == writes
    assert github.dispatches(*training) == [] and drift_issues(github) == []

    # Drifted: one dispatch, one tracking issue with every signal's values and graph links.
    drifting = judge("drifting")
    assert drifting.exit_code == 1, drifting
    [issue] = drift_issues(github)
    assert [label["name"] for label in issue["labels"]] == [LABEL]
    assert "<!-- model-bot-drift:" in issue["body"]
    assert "feature-psi" in issue["body"] and "accuracy-drop" in issue["body"]
    assert issue["body"].count(f"{server.url}/graph?g0.expr=") == 2
    assert "0.4" in issue["body"]
    [sent] = github.dispatches(*training)
    assert sent.workflow == "train.yml" and sent.ref == "main"
    assert sent.inputs == {
        "dataset": "latest",
        "model": "drifting",
        "environment": ENVIRONMENT,
        "deployed_version": "1",
        "reason": "signal feature-psi breached",
        "drift_issue": str(issue["number"]),
    }
    assert drifting.outputs["issue-numbers"] == str(issue["number"])
    assert drifting.outputs["dispatched"] == "1"

    # Drifted again (within the cooldown): no second dispatch; the issue gains evidence.
    dispatch_posts = github.request_count("POST", "/dispatches")
    again = judge("drifting", after=2 * HOUR + 90 + 600)
    assert again.exit_code == 1, again
    assert github.request_count("POST", "/dispatches") == dispatch_posts == 1
    assert len(github.dispatches(*training)) == 1
    assert [i["number"] for i in drift_issues(github)] == [issue["number"]]
    [comment] = github.comments(OWNER, NAME, issue["number"])
    assert "not again" in comment["body"] and "feature-psi" in comment["body"]
    assert again.outputs["dispatched"] == "0"

    # Decayed accuracy (0.80 against the gate evidence's 0.95): a second model, its own issue.
    decaying = judge("decaying")
    assert decaying.exit_code == 1, decaying
    assert github.dispatches(*training)[-1].inputs["reason"] == "signal accuracy-drop breached"
    assert len(drift_issues(github)) == 2

    # No data, or Prometheus down: inconclusive, nothing dispatched or opened.
    counts = (len(github.dispatches(*training)), len(drift_issues(github)))
    silent = judge("silent")
    assert silent.exit_code == 3, silent
    assert silent.outputs["health"] == "inconclusive"
    down = judge("drifting", url=free_url())
    assert down.exit_code == 3, down
    assert "cannot connect to Prometheus" in down.stdout
    assert (len(github.dispatches(*training)), len(drift_issues(github))) == counts

    # The training workflow promotes the retrained version with the issue it answers ...
    number = issue["number"]
    promoted = run_cli(
        "promote", "--results", results_file(tmp_path, "drifting", "2", champion="1"),
        "--policy", DEFAULT_POLICY_PATH, "--environment", ENVIRONMENT, "--env-repo", REPO,
        "--github-api-url", github.api_url, tmp_path=tmp_path,
        env={"MODEL_BOT_DRIFT_ISSUE": sent.inputs["drift_issue"]},
    )  # fmt: skip
    assert promoted.exit_code == 0, promoted
    pull = int(promoted.outputs["pull-request-number"])
    body = github.pull(OWNER, NAME, pull)["body"]
    assert f"**Answers drift #{number}:**" in body
    merged = merge_pull(github, REPO, pull)
    assert f"Drift-Issue: {number}" in commit_message(bare_path(github), f"{merged}^2")
    assert github.issue(OWNER, NAME, number)["state"] == "open"

    # ... and when it merges, the issue closes (once).
    closed = run_cli(
        "event", "--event-path", closed_event(github, tmp_path, pull), "--event-name",
        "pull_request", "--env-repo", REPO, "--github-api-url", github.api_url, tmp_path=tmp_path,
    )  # fmt: skip
    assert closed.exit_code == 0, closed
    assert f"drift: closed drift issue #{number}" in closed.stdout
    assert github.issue(OWNER, NAME, number)["state"] == "closed"
    assert "closing this drift issue" in github.comments(OWNER, NAME, number)[-1]["body"]
    twice = run_cli(
        "event", "--event-path", closed_event(github, tmp_path, pull), "--event-name",
        "pull_request", "--env-repo", REPO, "--github-api-url", github.api_url, tmp_path=tmp_path,
    )  # fmt: skip
    assert f"drift issue #{number} is already closed" in twice.stdout
    # The other model's issue stays open.
    assert [i["state"] for i in drift_issues(github) if i["number"] != number] == ["open"]


def test_a_model_older_than_the_maximum_age_is_retrained_with_that_reason(
    github: FakeGitHub, tmp_path: Path
) -> None:
    since = deployed_at(github, "aging", tmp_path)
    policy = write_policy(tmp_path, policy_text(signals=False, max_age=1))
    young = monitor(
        github, tmp_path, policy, free_url(), "--model", "aging", "--at", since + 12 * HOUR
    )
    assert young.exit_code == 0, young
    assert github.dispatches(*TRAINING.split("/")) == []
    old = monitor(
        github, tmp_path, policy, free_url(), "--model", "aging", "--at", since + 50 * HOUR
    )
    assert old.exit_code == 1, old
    [sent] = github.dispatches(*TRAINING.split("/"))
    assert sent.inputs["reason"] == "model age 2 days over max_age_days 1"
    assert len(drift_issues(github)) == 1


@pytest.mark.parametrize(
    ("workflow", "status"),
    [("ci.yml", "422"), ("missing.yml", "404")],
    ids=["no-trigger", "missing"],
)
def test_a_workflow_that_cannot_be_dispatched_is_a_clear_exit_2(
    github: FakeGitHub, tmp_path: Path, workflow: str, status: str
) -> None:
    since = deployed_at(github, "aging", tmp_path)
    policy = write_policy(tmp_path, policy_text(workflow, signals=False, max_age=1))
    result = monitor(
        github, tmp_path, policy, free_url(), "--model", "aging", "--at", since + 50 * HOUR
    )
    assert result.exit_code == 2, result
    assert "monitoring.retrain.workflow" in result.stderr
    assert f"GitHub answered {status}" in result.stderr
    assert "Traceback" not in result.stderr
    assert github.dispatches(*TRAINING.split("/")) == []


def test_a_drift_issue_number_of_another_model_closes_nothing(
    github: FakeGitHub, tmp_path: Path
) -> None:
    since = deployed_at(github, "aging", tmp_path)
    deployed_at(github, "other", tmp_path)
    policy = write_policy(tmp_path, policy_text(signals=False, max_age=1))
    old = monitor(
        github, tmp_path, policy, free_url(), "--model", "aging", "--at", since + 50 * HOUR
    )
    assert old.exit_code == 1, old
    [issue] = drift_issues(github)
    # A promotion of another model that names this issue (a typo, or a hand-edited input).
    promoted = run_cli(
        "promote", "--results", results_file(tmp_path, "other", "2", champion="1"),
        "--policy", DEFAULT_POLICY_PATH, "--environment", ENVIRONMENT, "--env-repo", REPO,
        "--github-api-url", github.api_url, "--drift-issue", str(issue["number"]),
        tmp_path=tmp_path,
    )  # fmt: skip
    assert promoted.exit_code == 0, promoted
    pull = int(promoted.outputs["pull-request-number"])
    merge_pull(github, REPO, pull)
    closed = run_cli(
        "event", "--event-path", closed_event(github, tmp_path, pull), "--event-name",
        "pull_request", "--env-repo", REPO, "--github-api-url", github.api_url, tmp_path=tmp_path,
    )  # fmt: skip
    assert closed.exit_code == 0, closed
    assert f"#{issue['number']} is not the drift issue of other in {ENVIRONMENT}" in closed.stdout
    assert github.issue(OWNER, NAME, issue["number"])["state"] == "open"
