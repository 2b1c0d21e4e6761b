"""The promotion ladder end to end in local mode, with real git and a real Prometheus loaded
with soak data: `advance` proposes to production exactly what soaked in staging (same image
tag and model URI, the evidence gated again, the soak's analysis in the body); a soak not
over, a failed soak analysis, a frozen environment each end `blocked` with the reason;
`promote` straight to production of a version staging never ran is blocked unless
`--skip-ladder`; a rollback goes through a freeze. Time is passed in (`--at`), never slept."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.envfixtures import (
    DEFAULT_POLICY_PATH,
    LADDER,
    CliResult,
    bare_git,
    local_env_repo,
    results_file,
    run_cli,
)
from tests.gitrepos import git_env, seed_env_repo
from tests.realparts.openmetrics import Scenario, Traffic, aligned_now
from tests.realparts.prometheus import PrometheusServer

HOUR = 3600
FROZEN = LADDER + "    frozen: {reason: quarter-end change freeze}\n"


def git(bare: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", f"--git-dir={bare}", *args],
        capture_output=True,
        text=True,
        env={**git_env(), **(env or {})},
        check=True,
    )
    return done.stdout.strip()


def merge_at(bare: Path, branch: str, when: int) -> None:
    head = git(bare, "rev-parse", f"refs/heads/{branch}")
    main = git(bare, "rev-parse", "refs/heads/main")
    tree = git(bare, "merge-tree", "--write-tree", main, head)
    stamp = {"GIT_COMMITTER_DATE": f"{when} +0000", "GIT_AUTHOR_DATE": f"{when} +0000"}
    merge = git(bare, "commit-tree", tree, "-p", main, "-p", head, "-m", "Merge", env=stamp)
    git(bare, "update-ref", "refs/heads/main", merge, main)


def promote(
    bare: Path, tmp_path: Path, model: str, version: str, env: str, *extra: str
) -> CliResult:
    results = results_file(tmp_path, model, version)
    return run_cli(
        "promote", "--results", results, "--policy", DEFAULT_POLICY_PATH,
        "--environment", env, "--env-repo", bare, *extra, token=None, tmp_path=tmp_path,
    )  # fmt: skip


def advance(
    bare: Path, tmp_path: Path, server: PrometheusServer, at: int, *extra: str
) -> CliResult:
    return run_cli(
        "advance", "--env-repo", bare, "--from", "staging", "--policy", DEFAULT_POLICY_PATH,
        "--prometheus-url", server.url, "--at", str(at), *extra, token=None, tmp_path=tmp_path,
    )  # fmt: skip


@pytest.fixture(scope="module")
def soak_data(prometheus_factory: Callable[..., PrometheusServer]) -> PrometheusServer:
    now = aligned_now(1_900_000_000)
    return prometheus_factory(
        scenarios=[
            Scenario("fraud-detector"),
            Scenario("churn", canary=Traffic(error_ratio=0.25)),
        ],
        now=now,
    )


def ladder_repo(tmp_path: Path, config: str = LADDER) -> Path:
    return local_env_repo(tmp_path / "env.git", {".model-bot.yaml": config.encode()})


def staged(bare: Path, tmp_path: Path, model: str, version: str, landed: int) -> None:
    result = promote(bare, tmp_path, model, version, "staging")
    assert result.exit_code == 0, result
    merge_at(bare, f"model-bot/promote/staging/{model}", landed)


def test_advance_proposes_what_soaked_in_staging(
    soak_data: PrometheusServer, tmp_path: Path
) -> None:
    now = soak_data.now
    bare = ladder_repo(tmp_path)
    staged(bare, tmp_path, "fraud-detector", "7", now - 2 * HOUR)

    early = advance(bare, tmp_path, soak_data, now - 2 * HOUR + 1800)
    assert early.exit_code == 1, early
    assert "fraud-detector 7 staging -> production: blocked" in early.stdout
    assert "until" in early.stdout  # when the soak ends

    result = advance(bare, tmp_path, soak_data, now)
    assert result.exit_code == 0, result
    assert "fraud-detector 7 staging -> production: created" in result.stdout
    branch = "model-bot/promote/production/fraud-detector"
    staging = git(bare, "show", "main:environments/staging/fraud-detector/values.yaml")
    production = git(bare, "show", f"{branch}:environments/production/fraud-detector/values.yaml")
    for line in staging.splitlines():
        if "tag:" in line or "uri:" in line or "repository:" in line:
            assert line in production.splitlines()
    report = git(bare, "show", f"{branch}:reports/production/fraud-detector/7.md")
    assert "Gate decision" in report or "gates" in report
    evidence = json.loads(
        git(bare, "show", f"{branch}:reports/production/fraud-detector/7.evidence.json")
    )
    assert evidence["model"]["version"] == "7"
    advanced = json.loads(result.outputs["advanced"])
    assert advanced[0]["outcome"] == "created"

    again = advance(bare, tmp_path, soak_data, now)
    assert again.exit_code == 0 and "unchanged" in again.stdout


def test_a_failed_soak_analysis_blocks_and_names_the_metric(
    soak_data: PrometheusServer, tmp_path: Path
) -> None:
    now = soak_data.now
    bare = ladder_repo(tmp_path)
    staged(bare, tmp_path, "churn", "3", now - 2 * HOUR)
    result = advance(bare, tmp_path, soak_data, now, "--model", "churn")
    assert result.exit_code == 1, result
    assert "churn 3 staging -> production: blocked" in result.stdout
    assert "error-rate" in result.stdout
    assert bare_git(bare, "branch", "--list", "model-bot/promote/production/churn") == ""


def test_a_frozen_production_blocks_with_the_reason_and_a_rollback_goes_through(
    soak_data: PrometheusServer, tmp_path: Path
) -> None:
    now = soak_data.now
    bare = ladder_repo(tmp_path)
    for version, landed in (("6", now - 4 * HOUR), ("7", now - 3 * HOUR)):
        result = promote(bare, tmp_path, "fraud-detector", version, "production",
                         "--skip-ladder", "seeding production")  # fmt: skip
        assert result.exit_code == 0, result
        merge_at(bare, "model-bot/promote/production/fraud-detector", landed)
    staged(bare, tmp_path, "fraud-detector", "8", now - 2 * HOUR)
    seed_env_repo(bare, {".model-bot.yaml": FROZEN.encode()}, "Freeze production")

    result = advance(bare, tmp_path, soak_data, now)
    assert result.exit_code == 1, result
    assert "production is frozen: quarter-end change freeze" in result.stdout

    # Rollbacks never ask about windows, freezes or the ladder: production goes back to 6.
    back = run_cli(
        "rollback", "--model", "fraud-detector", "--environment", "production",
        "--env-repo", bare, "--reason", "bad", token=None, tmp_path=tmp_path,
    )  # fmt: skip
    assert back.exit_code == 0, back
    assert "rollback: 7 -> 6" in back.stdout
    branch = "model-bot/rollback/production/fraud-detector"
    assert "Action: rollback" in git(bare, "log", "-1", "--format=%B", branch)


def test_promote_straight_to_production_needs_the_soak_or_a_reason(tmp_path: Path) -> None:
    bare = ladder_repo(tmp_path)
    blocked = promote(bare, tmp_path, "fraud-detector", "9", "production")
    assert blocked.exit_code == 1, blocked
    assert "9 never ran in staging" in blocked.stdout and "--skip-ladder" in blocked.stdout
    skipped = promote(
        bare, tmp_path, "fraud-detector", "9", "production", "--skip-ladder", "hotfix for CVE"
    )
    assert skipped.exit_code == 0, skipped
    branch = "model-bot/promote/production/fraud-detector"
    assert "Ladder-Skipped: hotfix for CVE" in git(bare, "log", "-1", "--format=%B", branch)
    assert "The ladder was skipped" in skipped.stdout


def test_a_soak_that_needs_the_completed_rollout_says_a_local_repo_has_none(
    soak_data: PrometheusServer, tmp_path: Path
) -> None:
    config = LADDER.replace("soak: {duration: 1h}", "soak: {duration: 1h, rollout_completed: true}")
    bare = ladder_repo(tmp_path, config)
    staged(bare, tmp_path, "fraud-detector", "7", soak_data.now - 2 * HOUR)
    result = advance(bare, tmp_path, soak_data, soak_data.now)
    assert result.exit_code == 1, result
    assert "soak.rollout_completed needs GitHub's commit statuses" in result.stdout


def test_outside_the_promotion_windows_advance_is_blocked_until_they_open(
    soak_data: PrometheusServer, tmp_path: Path
) -> None:
    """The soak data ends on a Sunday (2030-03-17 17:46Z); production takes promotions on
    weekdays 09:00-17:00 UTC: blocked, naming the next opening, Monday 09:00Z."""
    config = LADDER + (
        "    windows:\n"
        "      - {days: [mon, tue, wed, thu, fri], start: '09:00', end: '17:00', timezone: UTC}\n"
    )
    bare = ladder_repo(tmp_path, config)
    staged(bare, tmp_path, "fraud-detector", "7", soak_data.now - 2 * HOUR)
    result = advance(bare, tmp_path, soak_data, soak_data.now)
    assert result.exit_code == 1, result
    assert "production is outside its promotion windows (opens 2030-03-18 09:00Z)" in result.stdout
    assert bare_git(bare, "branch", "--list", "model-bot/promote/production/*") == ""
