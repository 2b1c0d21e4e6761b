"""The deployment ledger in local mode, end to end with real git: `history`, `--at`, holds
that make rollbacks stick, lifting a hold, stale bot branches, manual edits and merges that
keep or lose the bot's commit; `analyze --at` judges the version the ledger says served then."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.envfixtures import (
    DEFAULT_POLICY_PATH,
    ENVIRONMENT,
    bare_git,
    folder,
    local_env_repo,
    merge_branch,
    promote_locally_and_merge,
    results_file,
    run_cli,
)
from tests.gitrepos import git_env
from tests.realparts.openmetrics import Scenario, Traffic, aligned_now
from tests.realparts.prometheus import PrometheusServer

MODEL = "fraud-detector"


def history(bare: Path, tmp_path: Path, *extra: str) -> dict[str, Any]:
    result = run_cli(
        "history", "--model", MODEL, "--environment", ENVIRONMENT, "--env-repo", bare,
        "--format", "json", *extra, token=None, tmp_path=tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result
    return json.loads(result.stdout)


def promote(bare: Path, tmp_path: Path, version: str, *extra: str):  # type: ignore[no-untyped-def]
    results = results_file(tmp_path, MODEL, version, champion=str(int(version) - 1))
    return run_cli(
        "promote", "--results", results, "--policy", DEFAULT_POLICY_PATH,
        "--environment", ENVIRONMENT, "--env-repo", bare, *extra, token=None, tmp_path=tmp_path,
    )  # fmt: skip


def rollback(bare: Path, tmp_path: Path, reason: str):  # type: ignore[no-untyped-def]
    return run_cli(
        "rollback", "--model", MODEL, "--environment", ENVIRONMENT, "--env-repo", bare,
        "--reason", reason, token=None, tmp_path=tmp_path,
    )  # fmt: skip


def test_a_rolled_back_version_is_held_until_the_hold_is_lifted(tmp_path: Path) -> None:
    bare = local_env_repo(tmp_path / "env.git")
    work = tmp_path / "work"
    promote_locally_and_merge(bare, MODEL, "6", workdir=work)
    promote_locally_and_merge(bare, MODEL, "7", champion="6", workdir=work)
    back = rollback(bare, tmp_path, "error rate 5% in the canary")
    assert back.exit_code == 0, back
    merge_branch(bare, f"model-bot/rollback/{ENVIRONMENT}/{MODEL}")
    before = bare_git(bare, "for-each-ref")

    # The training workflow reruns promote for 7: blocked, naming the rollback and why.
    again = promote(bare, tmp_path, "7")
    assert again.exit_code == 1, again
    assert "outcome: blocked" in again.stdout
    assert "was rolled back in production" in again.stdout
    assert "error rate 5% in the canary" in again.stdout and "--lift-hold" in again.stdout
    assert again.outputs["outcome"] == "blocked" and again.outputs["decision"] == "pass"
    assert bare_git(bare, "for-each-ref") == before  # nothing written

    # A newer version is not held.
    newer = promote(bare, tmp_path, "8", "--dry-run")
    assert newer.exit_code == 0, newer

    # Lifted with a reason: proposed again; the stale branch of 7 (merged, then reverted)
    # is rebuilt on the current main instead of being reported `unchanged`.
    lifted = promote(bare, tmp_path, "7", "--lift-hold", "fixed the feature pipeline")
    assert lifted.exit_code == 0, lifted
    assert lifted.outputs["outcome"] == "updated", lifted.stdout  # the old branch, pushed anew
    branch = f"model-bot/promote/{ENVIRONMENT}/{MODEL}"
    message = bare_git(bare, "log", "-1", "--format=%B", branch)
    assert "Hold-Lifted: fixed the feature pipeline" in message
    assert bare_git(bare, "merge-base", "--is-ancestor", "main", branch) == ""
    merge_branch(bare, branch)

    data = history(bare, tmp_path)
    assert [(e["action"], e["previous_version"], e["version"]) for e in data["entries"]] == [
        ("promote", "6", "7"),
        ("rollback", "7", "6"),
        ("promote", "6", "7"),
        ("promote", None, "6"),  # the first promotion: the folder did not exist
    ]
    assert data["entries"][0]["hold_lifted"] == "fixed the feature pipeline"
    assert data["entries"][1]["reason"] == "error rate 5% in the canary"
    assert data["entries"][0]["gate"].startswith("PASS ")
    assert data["holds"] == []


def test_history_at_names_the_version_that_served_then(tmp_path: Path) -> None:
    """Merged an hour apart (two merges in one second would tie: `--at` has seconds)."""
    bare = local_env_repo(tmp_path / "env.git")
    branch = f"model-bot/promote/{ENVIRONMENT}/{MODEL}"
    landed = int(time.time()) - 7200
    for version in ("6", "7"):
        assert promote(bare, tmp_path, version).exit_code == 0
        merge_at(bare, branch, landed)
        landed += 3600
    data = history(bare, tmp_path)
    six, seven = data["entries"][1], data["entries"][0]
    at_six = history(bare, tmp_path, "--at", six["at"])
    assert at_six["version"] == "6" and at_six["commit"] == six["commit"]
    at_seven = history(bare, tmp_path, "--at", "2099-01-01T00:00:00Z")
    assert at_seven["version"] == "7" and at_seven["commit"] == seven["commit"]


def test_a_manual_edit_of_the_folder_is_reported_as_such(tmp_path: Path) -> None:
    bare = local_env_repo(tmp_path / "env.git")
    work = tmp_path / "work"
    promote_locally_and_merge(bare, MODEL, "6", workdir=work)
    path = f"{folder(MODEL)}/values.yaml"
    text = bare_git(bare, "show", f"main:{path}")
    edited = text.replace('version: "6"', 'version: "6-hotfix"')
    assert edited != text
    blob = git(bare, "hash-object", "-w", "--stdin", input=edited + "\n")
    _commit_file(bare, path, blob, "hotfix by hand")
    data = history(bare, tmp_path)
    first = data["entries"][0]
    assert (first["action"], first["previous_version"], first["version"]) == (
        "manual",
        "6",
        "6-hotfix",
    )
    assert data["entries"][1]["action"] == "promote"


def git(bare: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", f"--git-dir={bare}", *args],
        input=input,
        capture_output=True,
        text=True,
        env={**git_env(), **(env or {})},
        check=True,
    )
    return done.stdout.strip()


def _commit_file(bare: Path, path: str, blob: str, subject: str) -> str:
    """A person's commit on main changing one file (no trailers, no pull request)."""
    env = {"GIT_INDEX_FILE": str(bare.parent / "manual-index")}
    git(bare, "read-tree", "main", env=env)
    git(bare, "update-index", "--cacheinfo", f"100644,{blob},{path}", env=env)
    tree = git(bare, "write-tree", env=env)
    main = bare_git(bare, "rev-parse", "main")
    commit = bare_git(bare, "commit-tree", tree, "-p", main, "-m", subject)
    bare_git(bare, "update-ref", "refs/heads/main", commit, main)
    return commit


def merge_at(bare: Path, branch: str, when: int) -> str:
    """Merge `branch` into main with a merge commit dated `when` (unix seconds)."""
    head = git(bare, "rev-parse", f"refs/heads/{branch}")
    main = git(bare, "rev-parse", "refs/heads/main")
    tree = git(bare, "merge-tree", "--write-tree", main, head)
    stamp = {"GIT_COMMITTER_DATE": f"{when} +0000", "GIT_AUTHOR_DATE": f"{when} +0000"}
    merge = git(bare, "commit-tree", tree, "-p", main, "-p", head, "-m", "Merge", env=stamp)
    git(bare, "update-ref", "refs/heads/main", merge, main)
    return merge


def test_analyze_at_judges_the_version_that_served_then(
    prometheus_factory: Callable[..., PrometheusServer], tmp_path: Path
) -> None:
    """The defect: `--at` moved the Prometheus window but judged the version deployed now.
    6 served at TIME (7 came an hour later): 6 is judged, and nothing is reverted, since
    reverting 7 for 6's failure would be wrong."""
    when = aligned_now(time.time())
    server = prometheus_factory(
        scenarios=[Scenario(MODEL, canary=Traffic(error_ratio=0.25))], now=when
    )
    bare = local_env_repo(tmp_path / "env.git")
    branch = f"model-bot/promote/{ENVIRONMENT}/{MODEL}"
    for version, landed in (("5", when - 7200), ("6", when - 3600), ("7", when + 3600)):
        result = promote(bare, tmp_path, version)
        assert result.exit_code == 0, result
        merge_at(bare, branch, landed)
    before = git(bare, "for-each-ref")
    judged = run_cli(
        "analyze", "--model", MODEL, "--environment", ENVIRONMENT,
        "--policy", DEFAULT_POLICY_PATH, "--env-repo", bare,
        "--prometheus-url", server.url, "--at", str(when), token=None, tmp_path=tmp_path,
    )  # fmt: skip
    assert judged.exit_code == 1, judged
    assert f"canary: {MODEL} 6 in {ENVIRONMENT} (stable 5)" in judged.stdout
    assert "verdict: FAIL" in judged.stdout
    assert "7 runs now: nothing was reverted" in judged.stdout
    assert git(bare, "for-each-ref") == before

    too_early = run_cli(
        "analyze", "--model", MODEL, "--environment", ENVIRONMENT,
        "--policy", DEFAULT_POLICY_PATH, "--env-repo", bare,
        "--prometheus-url", server.url, "--at", str(when - 3 * 86400), token=None,
    )  # fmt: skip
    assert too_early.exit_code == 2
    assert "--at: no version of fraud-detector had reached production by" in too_early.stderr


def test_status_lists_every_model_with_holds_and_canaries(tmp_path: Path) -> None:
    bare = local_env_repo(tmp_path / "env.git")
    work = tmp_path / "work"
    promote_locally_and_merge(bare, MODEL, "6", workdir=work)
    promote_locally_and_merge(bare, MODEL, "7", champion="6", workdir=work)
    assert rollback(bare, tmp_path, "bad canary").exit_code == 0
    merge_branch(bare, f"model-bot/rollback/{ENVIRONMENT}/{MODEL}")
    promote_locally_and_merge(bare, "churn", "3", workdir=work)

    result = run_cli(
        "status", "--env-repo", bare, "--format", "json", token=None, tmp_path=tmp_path
    )
    assert result.exit_code == 0, result
    data = json.loads(result.stdout)
    rows = {(d["environment"], d["model"]): d for d in data["deployments"]}
    fraud = rows[(ENVIRONMENT, MODEL)]
    assert (fraud["version"], fraud["action"], fraud["held"], fraud["canary"]) == (
        "6",
        "rollback",
        ["7"],
        False,
    )
    churn = rows[(ENVIRONMENT, "churn")]
    assert (churn["version"], churn["action"], churn["canary"]) == ("3", "promote", True)
    assert data["canaries"] == {
        "include": [{"model": "churn", "environment": ENVIRONMENT, "version": "3"}]
    }
    assert result.outputs["canary-count"] == "1"
    assert json.loads(result.outputs["canaries"]) == data["canaries"]

    text = run_cli("status", "--env-repo", bare, token=None)
    assert text.exit_code == 0 and "churn" in text.stdout and MODEL in text.stdout
