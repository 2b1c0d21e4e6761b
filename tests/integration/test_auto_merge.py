"""`auto_merge: true` for an environment, on the fake GitHub: GitHub's native auto-merge
(GraphQL `enablePullRequestAutoMerge`, "Automatically merging a pull request",
https://docs.github.com/en/pull-requests/collaborating-with-pull-requests/incorporating-changes-from-a-pull-request/automatically-merging-a-pull-request)
is armed only when the base branch requires status checks or reviews, so the promotion waits
for them (here the `model-bot/gate` status the bot sets on every pushed head); on an
unprotected base it would merge at once, so it is left to a person and said. A rerun is
`unchanged` with no new API writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.envfixtures import (
    CONFIG,
    ENVIRONMENT,
    NAMESPACE,
    REPO,
    fast_github,
    github_env_repo,
    results_file,
    run_cli,
)
from tests.fakegithub import FakeGitHub

OWNER, NAME = REPO.split("/")
AUTO = CONFIG.replace(
    f"    namespace: {NAMESPACE}\n", f"    namespace: {NAMESPACE}\n    auto_merge: true\n"
)


@pytest.fixture
def github(fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    fast_github(monkeypatch)
    github_env_repo(fake_github, files={".model-bot.yaml": AUTO})
    fake_github.set_auto_merge_allowed(OWNER, NAME, True)
    return fake_github


def promote(github: FakeGitHub, tmp_path: Path, version: str) -> object:
    results = results_file(tmp_path, "fraud-detector", version, champion="1")
    return run_cli(
        "promote", "--results", results, "--policy", "policies/default.yaml",
        "--environment", ENVIRONMENT, "--env-repo", REPO, "--github-api-url", github.api_url,
        tmp_path=tmp_path,
    )  # fmt: skip


def test_armed_under_required_checks_and_merged_by_the_gate_status(
    github: FakeGitHub, tmp_path: Path
) -> None:
    github.protect_branch(OWNER, NAME, "main", required_checks=["model-bot/gate", "ci/test"])
    result = promote(github, tmp_path, "2")
    assert result.exit_code == 0, result  # type: ignore[attr-defined]
    assert "auto-merge not armed" not in result.stderr  # type: ignore[attr-defined]
    (pull,) = [p for p in github.pulls(OWNER, NAME) if p["head"]["ref"].startswith("model-bot/")]
    assert pull["state"] == "open" and pull["auto_merge"]["merge_method"] == "merge"
    head = pull["head"]["sha"]
    assert github.repo_statuses(OWNER, NAME, head) == {"model-bot/gate": "success"}
    # The environment repo's CI passes: GitHub merges it (the fake at once).
    github.set_commit_status(OWNER, NAME, head, "ci/test", "success")
    (pull,) = [p for p in github.pulls(OWNER, NAME) if p["head"]["ref"].startswith("model-bot/")]
    assert pull["state"] == "closed" and pull["merged"] is True


def test_not_armed_on_an_unprotected_base(github: FakeGitHub, tmp_path: Path) -> None:
    result = promote(github, tmp_path, "2")
    assert result.exit_code == 0, result  # type: ignore[attr-defined]
    assert "auto-merge not armed: main requires no status checks or reviews" in result.stderr  # type: ignore[attr-defined]
    (pull,) = [p for p in github.pulls(OWNER, NAME) if p["head"]["ref"].startswith("model-bot/")]
    assert pull["state"] == "open" and pull["auto_merge"] is None
    writes = github.request_count("POST") + github.request_count("PATCH")
    again = promote(github, tmp_path, "2")
    assert again.exit_code == 0 and "outcome: unchanged" in again.stdout  # type: ignore[attr-defined]
    assert github.request_count("POST") + github.request_count("PATCH") == writes
