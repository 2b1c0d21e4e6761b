"""`commit_mode`: run a module's end-to-end tests twice, with the bot's commits pushed by git
and made through GitHub's API (`MODEL_BOT_COMMIT_MODE`, what `--commit-mode` and the Action's
`commit-mode` input set). In API mode, every commit the run made through the fake's Git
database must be reported verified, and no bot commit may reach a `model-bot/` branch any
other way (a git push would be unsigned)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.fakegithub import FakeGitHub
from tests.fakegithub._gitdata import CREATED_COMMITS, verification


def api_writes(mode: str, repo: str = "acme/env") -> list[str]:
    """The requests one commit costs in `mode`, as `METHOD path` (none in git mode)."""
    if mode != "api":
        return []
    return [f"POST /repos/{repo}/git/trees", f"POST /repos/{repo}/git/commits", "POST /graphql"]


def repo_reads(mode: str, repo: str = "acme/env") -> list[str]:
    """The requests a run's first reads cost in `mode`: git mode reads the repository (its
    clone URL and default branch) and clones; API mode asks git for the default branch and
    reads the config and the model's folder in one GraphQL query
    (`bot.adapters.github_reads`)."""
    return ["POST /graphql"] if mode == "api" else [f"GET /repos/{repo}"]


def _bot_branch_tips(fake: FakeGitHub) -> list[tuple[object, str, str]]:
    tips = []
    for bare in sorted((fake.root / "repos").glob("*/*.git")):
        refs = subprocess.run(
            ["git", f"--git-dir={bare}", "for-each-ref", "--format=%(objectname) %(refname)",
             "refs/heads/model-bot/"],
            check=True, capture_output=True, text=True,
        ).stdout.split("\n")  # fmt: skip
        for line in filter(None, refs):
            sha, ref = line.split(" ", 1)
            message = subprocess.run(
                ["git", f"--git-dir={bare}", "log", "-1", "--format=%B", sha],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            if "\nAction: " in message:  # a bot commit (people's commits carry no trailers)
                tips.append((bare, sha, ref))
    return tips


@pytest.fixture(params=["git", "api"])
def commit_mode(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, fake_github: FakeGitHub
) -> Iterator[str]:
    mode: str = request.param
    monkeypatch.setenv("MODEL_BOT_COMMIT_MODE", mode)
    CREATED_COMMITS.clear()
    yield mode
    created = list(CREATED_COMMITS)
    CREATED_COMMITS.clear()
    if mode != "api":
        assert created == [], "git mode made commits through the API"
        return
    unverified = [sha for bare, sha in created if not verification(bare, sha)["verified"]]
    assert unverified == [], f"API commits not verified: {unverified}"
    made = {sha for _bare, sha in created}
    pushed = [(ref, sha) for _bare, sha, ref in _bot_branch_tips(fake_github) if sha not in made]
    assert pushed == [], f"bot commits that did not come through the API: {pushed}"
