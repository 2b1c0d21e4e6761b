"""`auto_merge: true` in local mode (no forge, so no pull request to merge): the bot merges
its own pushed branch into the base, with a merge commit (first parent the base, second the
branch) pushed without force. Real git: bare remotes on disk, real clones and pushes."""

from __future__ import annotations

from pathlib import Path

from bot.adapters.git import EnvRepo
from tests.envfixtures import (
    CONFIG,
    DEFAULT_POLICY_PATH,
    CliResult,
    bare_git,
    local_env_repo,
    results_file,
    run_cli,
    show,
)
from tests.gitrepos import seed_env_repo

AUTO = CONFIG.replace("    namespace: models\n", "    namespace: models\n    auto_merge: true\n")
VALUES = "environments/production/fraud-detector/values.yaml"
BRANCH = "model-bot/promote/production/fraud-detector"
AUTHOR = ("model-bot", "model-bot@example.invalid")


def promote(bare: Path, tmp_path: Path, version: str) -> CliResult:
    return run_cli(
        "promote", "--results", results_file(tmp_path, "fraud-detector", version),
        "--policy", DEFAULT_POLICY_PATH, "--environment", "production", "--env-repo", bare,
        token=None, tmp_path=tmp_path,
    )  # fmt: skip


def test_promote_merges_its_branch_when_the_environment_auto_merges(tmp_path: Path) -> None:
    bare = local_env_repo(tmp_path / "env.git", {".model-bot.yaml": AUTO.encode()})
    before = bare_git(bare, "rev-parse", "main")
    result = promote(bare, tmp_path, "7")
    assert result.exit_code == 0, result
    main = bare_git(bare, "rev-parse", "main")
    assert f"merged: {main} (auto_merge, local mode)" in result.stdout
    parents = bare_git(bare, "rev-list", "--parents", "-n1", "main").split()[1:]
    assert parents == [before, bare_git(bare, "rev-parse", BRANCH)]
    assert show(bare, "main", VALUES) == show(bare, BRANCH, VALUES)
    assert '"models:/fraud-detector/7"' in show(bare, "main", VALUES)

    # The ledger reads the merge like a forge's: production runs 7, by a promotion.
    history = run_cli(
        "history", "--env-repo", bare, "--model", "fraud-detector", "--environment",
        "production", "--format", "json", token=None,
    )  # fmt: skip
    assert history.exit_code == 0, history
    assert '"version": "7"' in history.stdout and '"action": "promote"' in history.stdout

    again = promote(bare, tmp_path, "7")
    assert again.exit_code == 0, again
    assert "outcome: unchanged" in again.stdout and "merged:" not in again.stdout
    assert bare_git(bare, "rev-parse", "main") == main


def test_without_auto_merge_the_branch_waits_for_a_person(tmp_path: Path) -> None:
    bare = local_env_repo(tmp_path / "env.git")
    before = bare_git(bare, "rev-parse", "main")
    result = promote(bare, tmp_path, "7")
    assert result.exit_code == 0, result
    assert "merged:" not in result.stdout
    assert bare_git(bare, "rev-parse", "main") == before


def pushed_branch(bare: Path, tmp_path: Path, content: bytes) -> EnvRepo:
    repo = EnvRepo.clone(str(bare), base="main", sparse_paths=["models"], workdir=tmp_path)
    repo.start_branch("model-bot/promote/production/m", "origin/main")
    repo.write("models/m.yaml", content)
    repo.commit("Promote m", {"Model": "m"}, AUTHOR, ["models/m.yaml"])
    assert repo.push("model-bot/promote/production/m", expected_remote_sha=None).ok
    return repo


def test_a_base_that_moved_is_merged_again_on_its_new_tip(tmp_path: Path) -> None:
    bare = local_env_repo(tmp_path / "env.git")
    repo = pushed_branch(bare, tmp_path / "w", b"version: 2\n")
    seed_env_repo(bare, {"README.md": b"someone else's change\n"}, "A person's commit")
    moved = bare_git(bare, "rev-parse", "main")

    merged = repo.merge_into_base("model-bot/promote/production/m", "Merge m", AUTHOR)
    assert merged.merged and merged.sha == bare_git(bare, "rev-parse", "main")
    assert bare_git(bare, "rev-parse", "main^1") == moved  # nothing of theirs lost
    assert show(bare, "main", "README.md") == "someone else's change"
    assert show(bare, "main", "models/m.yaml") == "version: 2"
    repo.close()


def test_a_conflict_with_the_base_is_refused_and_the_base_untouched(tmp_path: Path) -> None:
    bare = local_env_repo(tmp_path / "env.git")
    repo = pushed_branch(bare, tmp_path / "w", b"version: 2\n")
    seed_env_repo(bare, {"models/m.yaml": b"version: 3\n"}, "A person's commit")
    moved = bare_git(bare, "rev-parse", "main")

    merged = repo.merge_into_base("model-bot/promote/production/m", "Merge m", AUTHOR)
    assert not merged.merged
    assert merged.refused == "model-bot/promote/production/m does not merge cleanly into main"
    assert bare_git(bare, "rev-parse", "main") == moved
    repo.close()


def test_a_local_rollback_with_auto_merge_merges_itself(tmp_path: Path) -> None:
    bare = local_env_repo(tmp_path / "env.git", {".model-bot.yaml": AUTO.encode()})
    assert promote(bare, tmp_path, "6").exit_code == 0
    assert promote(bare, tmp_path, "7").exit_code == 0
    assert '"models:/fraud-detector/7"' in show(bare, "main", VALUES)
    back = run_cli(
        "rollback", "--model", "fraud-detector", "--environment", "production",
        "--env-repo", bare, "--reason", "bad canary", "--auto-merge", token=None,
    )  # fmt: skip
    assert back.exit_code == 0, back
    assert "auto-merge refused" not in back.stderr
    assert '"models:/fraud-detector/6"' in show(bare, "main", VALUES)
    assert "Action: rollback" in bare_git(bare, "log", "-1", "--format=%B", "main^2")
