"""`rollback` after squash merges that dropped the bot's trailers: the repository squashes
with the pull request's title and no description (GitHub's `squash_merge_commit_title:
PR_TITLE`, `squash_merge_commit_message: BLANK`,
https://docs.github.com/en/rest/repos/repos#update-a-repository), so the base's commits carry
neither trailers nor the marker. The defect: `rollback` said "nothing to revert". The ledger
asks the forge which pull request brought the commit in (its marker is the claim)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.envfixtures import (
    ENVIRONMENT,
    REPO,
    bare_git,
    bare_path,
    deploy,
    fast_github,
    folder,
    folder_blobs,
    github_env_repo,
    merge_pull,
    run_cli,
)
from tests.fakegithub import FakeGitHub

pytestmark = pytest.mark.usefixtures("commit_mode")

OWNER, NAME = REPO.split("/")
MODEL = "fraud-detector"


@pytest.fixture
def github(fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    fast_github(monkeypatch)
    github_env_repo(fake_github)
    fake_github.set_squash_message(OWNER, NAME, title="PR_TITLE", message="BLANK")
    return fake_github


def test_rollback_of_a_squash_merge_without_trailers(github: FakeGitHub, tmp_path: Path) -> None:
    first, second = deploy(github, REPO, MODEL, ("1", "2"), method="squash", workdir=tmp_path)
    bare = bare_path(github)
    message = bare_git(bare, "log", "-1", "--format=%B", "main")
    assert message.strip() == f"Promote {MODEL} 2 to {ENVIRONMENT} (#{second.number})"

    result = run_cli(
        "rollback", "--model", MODEL, "--environment", ENVIRONMENT, "--env-repo", REPO,
        "--github-api-url", github.api_url, "--reason", "bad canary", tmp_path=tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result
    assert result.outputs["outcome"] == "created", result.stdout
    number = int(result.outputs["pull-request-number"])
    pull = next(p for p in github.pulls(OWNER, NAME) if p["number"] == number)
    assert pull["title"] == f"Roll back {MODEL} in {ENVIRONMENT}: 2 → 1"
    merged = merge_pull(github, REPO, number, method="squash")
    assert folder_blobs(bare, merged, folder(MODEL)) == folder_blobs(
        bare, second.base_before, folder(MODEL)
    )

    # The rollback (squashed too, no trailers) is known: a second run changes nothing.
    again = run_cli(
        "rollback", "--model", MODEL, "--environment", ENVIRONMENT, "--env-repo", REPO,
        "--github-api-url", github.api_url, tmp_path=tmp_path,
    )  # fmt: skip
    assert again.exit_code == 0, again
    assert "was already rolled back to 1" in again.stdout
    assert first.number < second.number
