"""`model-bot promote` in local mode: a local path or file:// env repo, real git, no GitHub.

The env repo is a non-bare repository seeded from `examples/env-repo`; the bot commits to
its own branch there and prints what the pull request would be.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.marker import read_marker
from bot.core.trailers import parse_trailers
from tests.cli.test_gate import Result, run
from tests.gitrepos import example_env_repo, git

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_REPO = REPO / "examples" / "env-repo"
PASSING = REPO / "examples" / "gate-results.json"
FAILING = REPO / "examples" / "gate-results-failing.json"
DEFAULT = REPO / "policies" / "default.yaml"
BRANCH = "model-bot/promote/production/fraud-detector"
MODEL_DIR = "environments/production/fraud-detector"
VALUES = f"{MODEL_DIR}/values.yaml"


@pytest.fixture
def env_repo(tmp_path: Path) -> Path:
    """A non-bare git repo (branch main) holding a copy of examples/env-repo."""
    return example_env_repo(tmp_path / "env-repo")


def refs(repo: Path) -> dict[str, str]:
    out = git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split(" ", 1) for line in out.splitlines())


def promote(
    target: str, *extra: str | Path, results: Path = PASSING, policy: Path = DEFAULT
) -> Result:
    return run(
        "promote",
        "--results",
        results,
        "--policy",
        policy,
        "--environment",
        "production",
        "--env-repo",
        target,
        *extra,
    )


def candidate(tmp_path: Path, version: str, tag: str) -> Path:
    data = json.loads(PASSING.read_text())
    data["model"]["version"] = version
    data["model"]["tag"] = tag
    path = tmp_path / f"gate-results-{version}.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("form", ["path", "file-url"])
def test_local_promotion_commits_to_the_bot_branch_and_converges(env_repo: Path, form: str) -> None:
    target = str(env_repo) if form == "path" else env_repo.as_uri()
    main_before = git(env_repo, "rev-parse", "main")

    first = promote(target)

    assert first.exit_code == 0, first
    assert first.stderr == ""
    out = first.stdout
    assert "decision: PASS (4/4 gates passed)" in out
    assert "--- diff " in out and f"--- a/{VALUES}\n+++ b/{VALUES}\n" in out
    assert "--- pull request (local mode: not opened) " in out
    assert "title: Promote fraud-detector 7 to production\n" in out
    assert "## ✅ Gates passed: `fraud-detector` version `7`" in out
    assert "outcome: created\n" in out and f"branch: {BRANCH}\n" in out
    assert "report: reports/production/fraud-detector/7.md" in out
    assert "pull request: #" not in out
    printed_body = out.split("title: Promote fraud-detector 7 to production\n\n", 1)[1]
    meta = read_marker(printed_body)
    assert meta is not None and (meta.version, meta.previous_version) == ("7", "6")

    # main and the person's working tree are untouched; the bot's branch holds one commit.
    assert git(env_repo, "rev-parse", "main") == main_before
    assert git(env_repo, "status", "--porcelain") == ""
    assert git(env_repo, "rev-parse", f"{BRANCH}~1") == main_before
    tip = git(env_repo, "rev-parse", BRANCH)
    trailers = parse_trailers(git(env_repo, "log", "-1", "--format=%B", BRANCH))
    assert trailers == {
        "Model": "fraud-detector",
        "Model-Version": "7",
        "Previous-Version": "6",
        "Environment": "production",
        "Action": "promote",
        "Gate": "PASS 4/4 gates (policy policies/default.yaml)",
        "MLflow-Run": "8f14e45fceea167a5a36dedd4bea2543",
        "Code-Commit": "3f2a1c9d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
    }

    # Only this model's folder in this environment, its report and its evidence.
    changed = git(env_repo, "diff", "--name-status", "main", BRANCH).splitlines()
    assert sorted(changed) == sorted(
        [
            f"A\t{MODEL_DIR}/analysis-template.yaml",
            f"A\t{MODEL_DIR}/rollout.yaml",
            f"M\t{VALUES}",
            "A\treports/production/fraud-detector/7.md",
            "A\treports/production/fraud-detector/7.evidence.json",
        ]
    )
    # The hand-written values file: exactly the two values, comments and layout kept.
    diff = git(env_repo, "diff", "--unified=0", "main", BRANCH, "--", VALUES)
    body = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"]
    assert body == [
        '-  tag: "6-9b1e0d2"   # bumped by model-bot on promotion',
        '+  tag: "7-3f2a1c9"   # bumped by model-bot on promotion',
        '-  version: "6"',
        '+  version: "7"',
    ]
    report = git(env_repo, "show", f"{BRANCH}:reports/production/fraud-detector/7.md")
    assert report in printed_body

    second = promote(target)
    assert second.exit_code == 0, second
    assert f"outcome: unchanged ({BRANCH} already holds exactly this change)" in second.stdout
    assert "--- diff " not in second.stdout
    assert git(env_repo, "rev-parse", BRANCH) == tip


def test_newer_candidate_replaces_the_branch_commit(env_repo: Path, tmp_path: Path) -> None:
    assert promote(str(env_repo)).exit_code == 0
    newer = promote(str(env_repo), results=candidate(tmp_path, "8", "8-abcdef0"))
    assert newer.exit_code == 0, newer
    assert "outcome: updated\n" in newer.stdout
    # One commit on top of main (rebuilt from main, not stacked), promoting 8 over 6.
    assert git(env_repo, "rev-parse", f"{BRANCH}~1") == git(env_repo, "rev-parse", "main")
    trailers = parse_trailers(git(env_repo, "log", "-1", "--format=%B", BRANCH))
    assert (trailers["Model-Version"], trailers["Previous-Version"]) == ("8", "6")
    names = git(env_repo, "diff", "--name-only", "main", BRANCH).splitlines()
    assert (
        "reports/production/fraud-detector/8.md" in names
        and "reports/production/fraud-detector/7.md" not in names
    )


def test_dry_run_changes_nothing(env_repo: Path) -> None:
    before = refs(env_repo)
    result = promote(str(env_repo), "--dry-run")
    assert result.exit_code == 0, result
    assert "outcome: created (dry run) (dry run: nothing was pushed or opened)" in result.stdout
    assert f"+++ b/{VALUES}" in result.stdout
    assert "--- pull request (dry run: not opened) " in result.stdout
    assert refs(env_repo) == before
    assert git(env_repo, "status", "--porcelain") == ""


def test_merged_version_is_already_deployed(env_repo: Path) -> None:
    assert promote(str(env_repo)).exit_code == 0
    git(env_repo, "merge", "--quiet", "--ff-only", BRANCH)
    before = refs(env_repo)
    result = promote(str(env_repo))
    assert result.exit_code == 0, result
    assert "outcome: unchanged (production already runs fraud-detector 7)" in result.stdout
    assert refs(env_repo) == before


def test_failed_gate_exits_1_and_writes_nothing(env_repo: Path, tmp_path: Path) -> None:
    before = refs(env_repo)
    summary = tmp_path / "summary.md"
    result = promote(str(env_repo), "--summary-file", summary, results=FAILING)
    assert result.exit_code == 1, result
    assert "outcome: blocked (the gates failed: nothing was opened)" in result.stdout
    assert refs(env_repo) == before
    assert summary.read_text().startswith("## ❌ Gates failed: `fraud-detector`")


def test_stale_bot_analysis_template_is_deleted(env_repo: Path, tmp_path: Path) -> None:
    """A policy without analysis metrics: the bot's own AnalysisTemplate from an earlier
    promotion goes (the Rollout no longer refers to it); the change lists the deletion."""
    assert promote(str(env_repo)).exit_code == 0
    git(env_repo, "merge", "--quiet", "--ff-only", BRANCH)
    git(env_repo, "branch", "--quiet", "-D", BRANCH)
    policy = tmp_path / "no-analysis.yaml"
    text = DEFAULT.read_text().split("analysis:\n", 1)[0] + "on_regression: rollback\n"
    policy.write_text(text)
    result = promote(str(env_repo), results=candidate(tmp_path, "8", "8-abcdef0"), policy=policy)
    assert result.exit_code == 0, result
    assert "+++ /dev/null\n" in result.stdout
    assert f"- `{MODEL_DIR}/analysis-template.yaml` (deleted)" in result.stdout
    changed = git(env_repo, "diff", "--name-status", "main", BRANCH).splitlines()
    assert f"D\t{MODEL_DIR}/analysis-template.yaml" in changed
    # Converges: the deletion is part of what "the branch already holds" means.
    again = promote(str(env_repo), results=candidate(tmp_path, "8", "8-abcdef0"), policy=policy)
    assert "outcome: unchanged" in again.stdout, again


def _old_report_path_and_staging_merged(env_repo: Path) -> str:
    """An explicit report path without the environment; 7 promoted to staging and to
    production, then the staging branch merged: the production branch, still holding its
    change, now conflicts with main (both add reports/fraud-detector/7.md). Its tip."""
    config = env_repo / ".model-bot.yaml"
    config.write_text(config.read_text() + "paths:\n  report: reports/{model}/{version}.md\n")
    git(env_repo, "commit", "-q", "-am", "Keep the old report path")
    staging = run(
        "promote", "--results", PASSING, "--policy", DEFAULT, "--environment", "staging",
        "--env-repo", str(env_repo),
    )  # fmt: skip
    assert staging.exit_code == 0, staging
    assert promote(str(env_repo)).exit_code == 0
    git(env_repo, "merge", "-q", "--no-ff", "-m", "Merge staging",
        "model-bot/promote/staging/fraud-detector")  # fmt: skip
    return refs(env_repo)[f"refs/heads/{BRANCH}"]


def merges_cleanly(repo: Path, branch: str) -> bool:
    import subprocess

    result = subprocess.run(
        ["git", "-C", str(repo), "merge-tree", "--write-tree", "main", branch],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def test_stale_conflicting_branch_is_rebuilt_on_the_current_base(env_repo: Path) -> None:
    stale = _old_report_path_and_staging_merged(env_repo)
    assert not merges_cleanly(env_repo, BRANCH)

    result = promote(str(env_repo))

    assert result.exit_code == 0, result
    assert (
        f"outcome: updated ({BRANCH} no longer merged cleanly into main: rebuilt on the "
        "current main)\n"
    ) in result.stdout
    tip = refs(env_repo)[f"refs/heads/{BRANCH}"]
    assert tip != stale and git(env_repo, "rev-parse", f"{tip}^") == git(
        env_repo, "rev-parse", "main"
    )
    assert merges_cleanly(env_repo, BRANCH)
    again = promote(str(env_repo))
    assert f"outcome: unchanged ({BRANCH} already holds exactly this change)" in again.stdout
    assert refs(env_repo)[f"refs/heads/{BRANCH}"] == tip


def test_stale_branch_that_still_merges_is_left_alone(env_repo: Path) -> None:
    """The base moved on elsewhere (another model): the branch still merges, nothing is
    pushed."""
    assert promote(str(env_repo)).exit_code == 0
    tip = refs(env_repo)[f"refs/heads/{BRANCH}"]
    other = env_repo / "environments/production/churn-model/values.yaml"
    other.write_text(other.read_text() + "# tuned by hand\n")
    git(env_repo, "commit", "-q", "-am", "Tune churn-model")

    result = promote(str(env_repo))

    assert result.exit_code == 0, result
    assert f"outcome: unchanged ({BRANCH} already holds exactly this change)" in result.stdout
    assert refs(env_repo)[f"refs/heads/{BRANCH}"] == tip
