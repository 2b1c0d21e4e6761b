"""The promotion ladder end to end on the fake GitHub, with real git and a real Prometheus
loaded with soak data: staging's promotion PR is merged through the REST API, then
`model-bot advance` proposes production the very artifact that soaked (image tag and model
URI byte for byte), its evidence gated again, the soak's measurements with graph links and a
link to staging's PR in the body, and the `model-bot/gate` status on the PR head; a rerun
writes nothing. `soak.rollout_completed` waits for the `model-bot/rollout` status `model-bot
event` sets when Argo Rollouts says the rollout completed. Time is passed in (`--at`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.envfixtures import (
    DEFAULT_POLICY_PATH,
    LADDER,
    REPO,
    CliResult,
    bare_path,
    commit_message,
    fast_github,
    github_env_repo,
    merge_pull,
    results_file,
    run_cli,
    show,
)
from tests.fakegithub import FakeGitHub
from tests.realparts.openmetrics import Scenario, Traffic, aligned_now
from tests.realparts.prometheus import PrometheusServer

OWNER, NAME = REPO.split("/")
PRODUCTION_BRANCH = "model-bot/promote/production/fraud-detector"
VALUES = "environments/{env}/fraud-detector/values.yaml"
WRITES = ("POST", "PATCH", "PUT", "DELETE")


@pytest.fixture(scope="module")
def soak_data(prometheus_factory: Callable[..., PrometheusServer]) -> PrometheusServer:
    return prometheus_factory(
        scenarios=[
            Scenario("fraud-detector"),
            Scenario("churn", canary=Traffic(error_ratio=0.25)),
        ],
        now=aligned_now(1_900_000_000),
    )


def github(fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch, config: str = LADDER) -> None:
    fast_github(monkeypatch)
    github_env_repo(fake, files={".model-bot.yaml": config})


def writes(fake: FakeGitHub) -> int:
    return sum(fake.request_count(method) for method in WRITES)


def promote(fake: FakeGitHub, tmp_path: Path, model: str, version: str, env: str) -> CliResult:
    return run_cli(
        "promote", "--results", results_file(tmp_path, model, version), "--policy",
        DEFAULT_POLICY_PATH, "--environment", env, "--env-repo", REPO,
        "--github-api-url", fake.api_url, tmp_path=tmp_path,
    )  # fmt: skip


def staged(fake: FakeGitHub, tmp_path: Path, model: str, version: str) -> int:
    """Promote into staging and merge its PR through the API; returns the PR number."""
    result = promote(fake, tmp_path, model, version, "staging")
    assert result.exit_code == 0, result
    (pull,) = [p for p in fake.pulls(OWNER, NAME, "open") if p["head"]["ref"].endswith(model)]
    merge_pull(fake, REPO, pull["number"])
    return int(pull["number"])


def advance(fake: FakeGitHub, tmp_path: Path, server: PrometheusServer, at: float) -> CliResult:
    return run_cli(
        "advance", "--env-repo", REPO, "--github-api-url", fake.api_url, "--from", "staging",
        "--policy", DEFAULT_POLICY_PATH, "--prometheus-url", server.url, "--at", str(int(at)),
        tmp_path=tmp_path,
    )  # fmt: skip


def artifact_lines(text: str) -> list[str]:
    keys = ("repository:", "tag:", "digest:", "uri:")
    return [line for line in text.splitlines() if line.strip().startswith(keys)]


def test_production_gets_the_artifact_that_soaked_with_the_evidence_and_the_gate_status(
    fake_github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    soak_data: PrometheusServer,
    tmp_path: Path,
) -> None:
    github(fake_github, monkeypatch)
    staging_pr = staged(fake_github, tmp_path, "fraud-detector", "7")

    # Merged a moment ago: the hour's soak is not over, and the answer says until when.
    early = advance(fake_github, tmp_path, soak_data, time.time() + 60)
    assert early.exit_code == 1, early
    assert "fraud-detector 7 staging -> production: blocked" in early.stdout
    assert "until" in early.stdout
    assert fake_github.branch_sha(OWNER, NAME, PRODUCTION_BRANCH) is None

    # `status` shows the soak's progress where `advance` moves versions on.
    shown = run_cli(
        "status", "--env-repo", REPO, "--github-api-url", fake_github.api_url,
        "--format", "json", tmp_path=tmp_path,
    )  # fmt: skip
    assert shown.exit_code == 0, shown
    rows = {(r["environment"], r["model"]): r for r in json.loads(shown.stdout)["deployments"]}
    soak = rows[("staging", "fraud-detector")]["soak"]
    assert soak["version"] == "7" and soak["over"] is False and soak["ends_at"]
    assert "soaking since" in soak["reason"]

    result = advance(fake_github, tmp_path, soak_data, soak_data.now)
    assert result.exit_code == 0, result
    assert "fraud-detector 7 staging -> production: created" in result.stdout
    (pull,) = [p for p in fake_github.pulls(OWNER, NAME, "open")]
    assert pull["head"]["ref"] == PRODUCTION_BRANCH

    bare = bare_path(fake_github)
    staging = show(bare, "main", VALUES.format(env="staging"))
    production = show(bare, PRODUCTION_BRANCH, VALUES.format(env="production"))
    soaked = artifact_lines(staging)
    assert soaked and soaked == artifact_lines(production)

    body = pull["body"]
    assert "Soaked in staging" in body
    assert f"/pull/{staging_pr}" in body  # the earlier PR
    assert "error-rate" in body and "Prometheus graph" in body  # every soak measurement
    # The gate table, the evidence gated again against production's policy.
    assert "Gates passed" in body and "| metric | threshold | candidate |" in body
    assert "environment `production`" in body
    head = pull["head"]["sha"]
    assert fake_github.repo_statuses(OWNER, NAME, head) == {"model-bot/gate": "success"}

    before = writes(fake_github)
    again = advance(fake_github, tmp_path, soak_data, soak_data.now)
    assert again.exit_code == 0, again
    assert "fraud-detector 7 staging -> production: unchanged" in again.stdout
    assert writes(fake_github) == before


def test_a_failed_soak_names_the_metric_and_opens_nothing(
    fake_github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    soak_data: PrometheusServer,
    tmp_path: Path,
) -> None:
    github(fake_github, monkeypatch)
    staged(fake_github, tmp_path, "churn", "3")
    before = writes(fake_github)
    result = advance(fake_github, tmp_path, soak_data, soak_data.now)
    assert result.exit_code == 1, result
    assert "churn 3 staging -> production: blocked (the soak analysis in staging" in result.stdout
    assert "error-rate" in result.stdout
    assert writes(fake_github) == before


def test_the_soak_waits_for_the_completed_rollout_status(
    fake_github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    soak_data: PrometheusServer,
    tmp_path: Path,
) -> None:
    config = LADDER.replace("soak: {duration: 1h}", "soak: {duration: 1h, rollout_completed: true}")
    github(fake_github, monkeypatch, config)
    staged(fake_github, tmp_path, "fraud-detector", "7")
    merge = fake_github.branch_sha(OWNER, NAME, "main")
    assert merge is not None

    waiting = advance(fake_github, tmp_path, soak_data, soak_data.now)
    assert waiting.exit_code == 1, waiting
    assert "model-bot/rollout is not set" in waiting.stdout

    # What `model-bot event` sets when Argo Rollouts reports on-rollout-completed.
    fake_github.set_commit_status(OWNER, NAME, merge, "model-bot/rollout", "success")
    done = advance(fake_github, tmp_path, soak_data, soak_data.now)
    assert done.exit_code == 0, done
    assert "fraud-detector 7 staging -> production: created" in done.stdout


def test_straight_to_production_is_blocked_and_a_skipped_ladder_says_why_in_the_pr(
    fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    github(fake_github, monkeypatch)
    blocked = promote(fake_github, tmp_path, "fraud-detector", "9", "production")
    assert blocked.exit_code == 1, blocked
    assert "9 never ran in staging" in blocked.stdout
    assert fake_github.pulls(OWNER, NAME) == []

    skipped = run_cli(
        "promote", "--results", results_file(tmp_path, "fraud-detector", "9"), "--policy",
        DEFAULT_POLICY_PATH, "--environment", "production", "--env-repo", REPO,
        "--github-api-url", fake_github.api_url, "--skip-ladder", "hotfix for CVE-2026-1234",
        tmp_path=tmp_path,
    )  # fmt: skip
    assert skipped.exit_code == 0, skipped
    (pull,) = fake_github.pulls(OWNER, NAME)
    assert "The ladder was skipped" in pull["body"] and "CVE-2026-1234" in pull["body"]
    message = commit_message(bare_path(fake_github), pull["head"]["sha"])
    assert "Ladder-Skipped: hotfix for CVE-2026-1234" in message
