"""`model-bot rollback` against real git: env repos on the fake GitHub (merged through its API,
a real git merge) or local bare repos, with promotions made by the real promote flow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.adapters.github_commits import CO_AUTHOR
from bot.cli.session import session_opener
from bot.core.rollback import RollbackOptions
from bot.core.trailers import parse_trailers
from bot.flows.rollback import rollback
from tests.envfixtures import (
    ENVIRONMENT,
    NEIGHBOUR,
    REPO,
    TOKEN,
    CliResult,
    bare_git,
    bare_path,
    commit_message,
    deploy,
    fast_github,
    folder,
    folder_blobs,
    github_env_repo,
    github_target,
    local_env_repo,
    promote_and_merge,
    promote_locally_and_merge,
    run_cli,
    show,
)
from tests.fakegithub import FakeGitHub

pytestmark = pytest.mark.usefixtures("commit_mode")

OWNER, NAME = REPO.split("/")
MODEL = "fraud-detector"
BRANCH = f"model-bot/rollback/{ENVIRONMENT}/{MODEL}"


@pytest.fixture
def github(fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    fast_github(monkeypatch)
    github_env_repo(fake_github)
    return fake_github


def cli(fake: FakeGitHub | None, env_repo: str | Path, tmp_path: Path, *extra: str) -> CliResult:
    args: list[str | Path] = ["rollback", "--model", MODEL, "--environment", ENVIRONMENT]
    args += ["--env-repo", env_repo]
    if fake is not None:
        args += ["--github-api-url", fake.api_url]
    return run_cli(*args, *extra, token=TOKEN if fake else None, tmp_path=tmp_path)


def rollback_pulls(fake: FakeGitHub) -> list[dict[str, Any]]:
    return [p for p in fake.pulls(OWNER, NAME) if p["head"]["ref"] == BRANCH]


def writes(fake: FakeGitHub) -> int:
    return len(fake.write_requests())


def assert_ok(result: CliResult, outcome: str) -> None:
    assert result.exit_code == 0, result
    assert result.outputs.get("outcome", outcome) == outcome, result
    assert f"outcome: {outcome}" in result.stdout, result


# --------------------------------------------------------------------------- GitHub


def test_reverts_the_merge_commit_with_trailers_label_and_backlink(
    github: FakeGitHub, tmp_path: Path, commit_mode: str
) -> None:
    promotion = deploy(github, REPO, MODEL, ("1", "2"), workdir=tmp_path)[-1]
    result = cli(github, REPO, tmp_path, "--reason", "p99 doubled after the rollout")
    assert_ok(result, "created")
    assert "rollback: 2 -> 1 (revert)" in result.stdout
    (pull,) = rollback_pulls(github)
    assert result.outputs["pull-request-number"] == str(pull["number"])
    assert pull["title"] == f"Roll back {MODEL} in {ENVIRONMENT}: 2 → 1"
    assert github.issue_labels(OWNER, NAME, pull["number"]) == ["rollback", "env:production"]
    assert "**Reason:** p99 doubled after the rollout" in pull["body"]
    assert f"**Promotion:** #{promotion.number} promoted `2`" in pull["body"]
    backlinks = github.comments(OWNER, NAME, promotion.number)
    assert [c["body"] for c in backlinks] == [
        f"model-bot: a rollback of `2` to `1` is proposed in #{pull['number']}."
    ]

    bare = bare_path(github)
    head = github.branch_sha(OWNER, NAME, BRANCH)
    assert head is not None
    assert bare_git(bare, "rev-parse", f"{head}^") == promotion.merge  # one commit on main
    message = commit_message(bare, head)
    assert f"Reverts {promotion.merge}." in message  # the merge commit, not the bot's commit
    written = parse_trailers(message)
    # API mode: GitHub authors (and signs) the commit; the bot's identity is a co-author.
    assert written.pop(CO_AUTHOR, None) == (
        "model-bot <model-bot@users.noreply.github.com>" if commit_mode == "api" else None
    )
    assert written == {
        "Model": MODEL,
        "Model-Version": "1",
        "Previous-Version": "2",
        "Environment": ENVIRONMENT,
        "Action": "rollback",
        "Reason": "p99 doubled after the rollout",
    }
    assert folder_blobs(bare, head, folder(MODEL)) == folder_blobs(
        bare, promotion.base_before, folder(MODEL)
    )
    changed = bare_git(bare, "diff", "--name-only", promotion.merge, head).splitlines()
    assert changed and all(p.startswith(folder(MODEL) + "/") for p in changed)
    assert f"reports/production/{MODEL}/2.md" in folder_blobs(bare, head, "reports")


def test_to_an_older_version_restores_its_folder(github: FakeGitHub, tmp_path: Path) -> None:
    promotions = deploy(github, REPO, MODEL, ("1", "2", "3"), workdir=tmp_path)
    result = cli(github, REPO, tmp_path, "--to", "1")
    assert_ok(result, "created")
    assert "rollback: 3 -> 1 (restore)" in result.stdout
    (pull,) = rollback_pulls(github)
    assert pull["title"] == f"Roll back {MODEL} in {ENVIRONMENT}: 3 → 1"
    assert "version `1` is 2 revisions back, within that window" in pull["body"]
    bare = bare_path(github)
    head = github.branch_sha(OWNER, NAME, BRANCH)
    assert head is not None
    assert folder_blobs(bare, head, folder(MODEL)) == folder_blobs(
        bare, promotions[0].merge, folder(MODEL)
    )
    trailers = parse_trailers(commit_message(bare, head))
    assert (trailers["Model-Version"], trailers["Previous-Version"]) == ("1", "3")
    assert trailers["Reason"] == "no reason given"


def test_to_the_previous_version_is_the_same_as_without(github: FakeGitHub, tmp_path: Path) -> None:
    deploy(github, REPO, MODEL, ("1", "2"), workdir=tmp_path)
    result = cli(github, REPO, tmp_path, "--to", "1")
    assert_ok(result, "created")
    assert "rollback: 2 -> 1 (revert)" in result.stdout


def test_dry_run_changes_nothing_anywhere(github: FakeGitHub, tmp_path: Path) -> None:
    deploy(github, REPO, MODEL, ("1", "2"), workdir=tmp_path)
    bare = bare_path(github)
    refs, before = bare_git(bare, "for-each-ref"), writes(github)
    result = cli(github, REPO, tmp_path, "--dry-run", "--reason", "just looking")
    assert_ok(result, "created")
    assert "outcome: created (dry run)" in result.stdout
    assert '-  version: "2"\n' in result.stdout and '+  version: "1"\n' in result.stdout
    assert "--- pull request (dry run: not opened)" in result.stdout
    assert f"title: Roll back {MODEL} in {ENVIRONMENT}: 2 → 1" in result.stdout
    assert bare_git(bare, "for-each-ref") == refs
    assert writes(github) == before
    assert rollback_pulls(github) == []


def test_nothing_to_revert_is_unchanged(github: FakeGitHub, tmp_path: Path) -> None:
    never = cli(github, REPO, tmp_path)
    assert_ok(never, "unchanged")
    assert "declares no version of fraud-detector: nothing to roll back" in never.stdout

    promote_and_merge(github, REPO, MODEL, "1", workdir=tmp_path)
    first = cli(github, REPO, tmp_path)
    assert_ok(first, "unchanged")
    assert "was the first version promoted to production" in first.stdout

    promote_and_merge(github, REPO, MODEL, "2", champion="1", workdir=tmp_path)
    created = cli(github, REPO, tmp_path, "--auto-merge")
    assert_ok(created, "created")
    before = writes(github)
    again = cli(github, REPO, tmp_path)
    assert_ok(again, "unchanged")
    assert "was already rolled back to 1" in again.stdout
    assert writes(github) == before
    assert cli(github, REPO, tmp_path, "--to", "1").stdout.count("already runs") == 1
    assert len(rollback_pulls(github)) == 1


def test_unknown_to_version_is_a_usage_error(github: FakeGitHub, tmp_path: Path) -> None:
    deploy(github, REPO, MODEL, ("1", "2"), workdir=tmp_path)
    result = cli(github, REPO, tmp_path, "--to", "7")
    assert result.exit_code == 2, result
    assert result.stderr.startswith("model-bot: error: --to: no version '7' of fraud-detector")
    assert "(known: 1, 2)" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    bad = cli(github, REPO, tmp_path, "--to", "../1")
    assert bad.exit_code == 2 and bad.stderr.startswith("model-bot: error: --to: bad version")
    assert rollback_pulls(github) == []


def test_revert_conflict_falls_back_to_restoring_the_folder(
    github: FakeGitHub, tmp_path: Path
) -> None:
    promotion = deploy(github, REPO, MODEL, ("1", "2"), workdir=tmp_path)[-1]
    bare = bare_path(github)
    values = f"{folder(MODEL)}/values.yaml"
    edited = show(bare, "main", values).replace('"2-abc1234"', '"2-abc1234"  # pinned by ops')
    github.commit_files(OWNER, NAME, "main", {values: edited + "\n"}, "Pin the tag")
    result = cli(github, REPO, tmp_path)
    assert_ok(result, "created")
    assert "rollback: 2 -> 1 (restore)" in result.stdout
    (pull,) = rollback_pulls(github)
    assert "The model's folder restored exactly as it was at" in pull["body"]
    head = github.branch_sha(OWNER, NAME, BRANCH)
    assert head is not None
    assert folder_blobs(bare, head, folder(MODEL)) == folder_blobs(
        bare, promotion.base_before, folder(MODEL)
    )
    assert folder_blobs(bare, head, folder(NEIGHBOUR)) == folder_blobs(
        bare, promotion.base_before, folder(NEIGHBOUR)
    )


def test_clean_revert_keeps_a_later_unrelated_edit(github: FakeGitHub, tmp_path: Path) -> None:
    deploy(github, REPO, MODEL, ("1", "2"), workdir=tmp_path)
    bare = bare_path(github)
    values = f"{folder(MODEL)}/values.yaml"
    text = show(bare, "main", values)
    assert 'cpu: "500m"' in text
    github.commit_files(
        OWNER, NAME, "main", {values: text.replace('cpu: "500m"', 'cpu: "750m"') + "\n"}, "CPU"
    )
    result = cli(github, REPO, tmp_path)
    assert_ok(result, "created")
    assert "rollback: 2 -> 1 (revert)" in result.stdout
    head = github.branch_sha(OWNER, NAME, BRANCH)
    assert head is not None
    after = show(bare, head, values)
    assert 'cpu: "750m"' in after and 'version: "1"' in after and '"2-abc1234"' not in after


def test_auto_merge_merges_the_revert(github: FakeGitHub, tmp_path: Path) -> None:
    promotion = deploy(github, REPO, MODEL, ("1", "2"), workdir=tmp_path)[-1]
    result = cli(github, REPO, tmp_path, "--auto-merge")
    assert_ok(result, "created")
    assert "(merged)" in result.stdout
    (pull,) = rollback_pulls(github)
    assert pull["merged"] is True
    bare = bare_path(github)
    main = github.branch_sha(OWNER, NAME, "main")
    assert main is not None
    assert folder_blobs(bare, main, folder(MODEL)) == folder_blobs(
        bare, promotion.base_before, folder(MODEL)
    )
    assert folder_blobs(bare, main, folder(NEIGHBOUR)) == folder_blobs(
        bare, promotion.base_before, folder(NEIGHBOUR)
    )


def test_policy_rollback_and_merge_implies_auto_merge(github: FakeGitHub, tmp_path: Path) -> None:
    from tests.envfixtures import DEFAULT_POLICY_PATH

    deploy(github, REPO, MODEL, ("1", "2"), workdir=tmp_path)
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        DEFAULT_POLICY_PATH.read_text().replace(
            "on_regression: rollback", "on_regression: rollback_and_merge"
        )
    )
    result = cli(github, REPO, tmp_path, "--policy", str(policy))
    assert_ok(result, "created")
    (pull,) = rollback_pulls(github)
    assert pull["merged"] is True


def test_a_repeated_request_comments_on_the_open_revert_pr(
    github: FakeGitHub, tmp_path: Path
) -> None:
    deploy(github, REPO, MODEL, ("1", "2"), workdir=tmp_path)
    assert_ok(cli(github, REPO, tmp_path, "--reason", "errors"), "created")
    (pull,) = rollback_pulls(github)
    second = cli(github, REPO, tmp_path, "--reason", "still @oncall <b>bad</b>")
    assert_ok(second, "updated")
    assert f"the open pull request #{pull['number']} already holds exactly" in second.stdout
    comments = github.comments(OWNER, NAME, pull["number"])
    assert len(comments) == 1
    assert "**Reason:** still @\u200doncall &lt;b&gt;bad&lt;/b&gt;" in comments[0]["body"]
    assert_ok(cli(github, REPO, tmp_path, "--reason", "still @oncall <b>bad</b>"), "unchanged")
    assert_ok(cli(github, REPO, tmp_path), "unchanged")
    assert len(github.comments(OWNER, NAME, pull["number"])) == 1
    assert len(rollback_pulls(github)) == 1


def test_a_newer_bad_version_retargets_the_open_revert_pr(
    github: FakeGitHub, tmp_path: Path
) -> None:
    deploy(github, REPO, MODEL, ("1", "2"), workdir=tmp_path)
    assert_ok(cli(github, REPO, tmp_path), "created")
    promote_and_merge(github, REPO, MODEL, "3", champion="2", workdir=tmp_path)
    result = cli(github, REPO, tmp_path, "--to", "1")
    assert_ok(result, "updated")
    (pull,) = rollback_pulls(github)
    assert pull["title"] == f"Roll back {MODEL} in {ENVIRONMENT}: 3 → 1"
    (comment,) = github.comments(OWNER, NAME, pull["number"])
    assert "now rolls fraud-detector back from `3` to `1`" in comment["body"]


def test_squash_merged_promotion_is_reverted_directly(github: FakeGitHub, tmp_path: Path) -> None:
    deploy(github, REPO, MODEL, ("1",), workdir=tmp_path)
    promotion = promote_and_merge(
        github, REPO, MODEL, "2", champion="1", method="squash", workdir=tmp_path
    )
    result = cli(github, REPO, tmp_path)
    assert_ok(result, "created")
    assert "rollback: 2 -> 1 (revert)" in result.stdout
    bare = bare_path(github)
    head = github.branch_sha(OWNER, NAME, BRANCH)
    assert head is not None
    assert f"Reverts {promotion.merge}." in commit_message(bare, head)  # the squash commit
    assert folder_blobs(bare, head, folder(MODEL)) == folder_blobs(
        bare, promotion.base_before, folder(MODEL)
    )


def test_missing_rollback_window_is_a_warning(
    fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fast_github(monkeypatch)
    base = folder(MODEL)
    github_env_repo(
        fake_github,
        files={
            f"{base}/values.yaml": (
                "# hand-written\nimage:\n  repository: ghcr.io/acme/fraud-detector\n"
                '  tag: "1-abc1234"\nmodel:\n  version: "1"\n'
            ),
            f"{base}/rollout.yaml": (
                "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n"
                "  name: fraud-detector\nspec:\n  replicas: 2\n  template:\n    spec:\n"
                "      containers:\n        - name: fraud-detector\n"
                "          image: ghcr.io/acme/fraud-detector:1-abc1234\n"
            ),
        },
    )
    promote_and_merge(fake_github, REPO, MODEL, "2", champion="1", workdir=tmp_path)
    result = cli(fake_github, REPO, tmp_path)
    assert_ok(result, "created")
    assert "has no spec.rollbackWindow" in result.stderr
    (pull,) = rollback_pulls(fake_github)
    assert "⚠️ **Warning:** the target Rollout in" in pull["body"]
    assert "will run the canary steps and analysis again" in pull["body"]


def test_python_api_carries_requester_and_evidence(github: FakeGitHub, tmp_path: Path) -> None:
    deploy(github, REPO, MODEL, ("1", "2"), workdir=tmp_path)
    options = RollbackOptions(
        model=MODEL,
        environment=ENVIRONMENT,
        reason="/rollback says so",
        evidence_markdown="### Evidence\n\nerror rate 5 %\n",
        requested_by="alice",
    )
    opener = session_opener(github_target(github), base=None, token=TOKEN, workdir=tmp_path)
    result = rollback(options, opener)
    assert (result.outcome, result.method, result.merged) == ("created", "revert", False)
    assert (result.from_version, result.to_version) == ("2", "1")
    assert result.pull_request is not None and result.promotion_pull_request is not None
    assert result.body is not None and "**Requested by:** alice" in result.body
    assert "### Evidence\n\nerror rate 5 %" in result.body
    assert result.diff.count("+++ b/") == 3
    trailers = parse_trailers(commit_message(bare_path(github), result.commit or ""))
    assert trailers["Requested-By"] == "alice"


# --------------------------------------------------------------------------- local mode


def test_local_mode_pushes_the_branch_and_prints_the_pr(tmp_path: Path) -> None:
    bare = local_env_repo(tmp_path / "env.git")
    work = tmp_path / "work"
    promote_locally_and_merge(bare, MODEL, "1", workdir=work)
    before = bare_git(bare, "rev-parse", "main")
    merged = promote_locally_and_merge(bare, MODEL, "2", champion="1", workdir=work)
    result = cli(None, bare, tmp_path)
    assert_ok(result, "created")
    assert "--- pull request (local mode: not opened)" in result.stdout
    assert f"title: Roll back {MODEL} in {ENVIRONMENT}: 2 → 1" in result.stdout
    assert f"branch: {BRANCH}" in result.stdout
    head = bare_git(bare, "rev-parse", f"refs/heads/{BRANCH}")
    assert f"Reverts {merged}." in commit_message(bare, head)
    assert folder_blobs(bare, head, folder(MODEL)) == folder_blobs(bare, before, folder(MODEL))
    assert bare_git(bare, "rev-parse", "main") == merged  # main is the reviewers' business
    again = cli(None, bare, tmp_path)
    assert_ok(again, "unchanged")
    assert "already holds exactly this rollback" in again.stdout


def test_local_fast_forwarded_promotion_reverts_the_promotion_commit(tmp_path: Path) -> None:
    bare = local_env_repo(tmp_path / "env.git")
    work = tmp_path / "work"
    promote_locally_and_merge(bare, MODEL, "1", workdir=work, fast_forward=True)
    before = bare_git(bare, "rev-parse", "main")
    promoted = promote_locally_and_merge(
        bare, MODEL, "2", champion="1", workdir=work, fast_forward=True
    )
    assert bare_git(bare, "rev-parse", f"{promoted}^") == before  # on main, no merge commit
    result = cli(None, bare, tmp_path, "--reason", "local test")
    assert_ok(result, "created")
    head = bare_git(bare, "rev-parse", f"refs/heads/{BRANCH}")
    assert f"Reverts {promoted}." in commit_message(bare, head)
    assert folder_blobs(bare, head, folder(MODEL)) == folder_blobs(bare, before, folder(MODEL))
    assert parse_trailers(commit_message(bare, head))["Reason"] == "local test"


def test_a_folder_changed_by_hand_is_not_guessed_at(github: FakeGitHub, tmp_path: Path) -> None:
    deploy(github, REPO, MODEL, ("1", "2", "3"), workdir=tmp_path)
    bare = bare_path(github)
    values = f"{folder(MODEL)}/values.yaml"
    text = show(bare, "main", values).replace('"3-abc1234"', '"2-abc1234"')
    github.commit_files(
        OWNER, NAME, "main", {values: text.replace('version: "3"', 'version: "2"') + "\n"}, "Undo"
    )
    result = cli(github, REPO, tmp_path)
    assert_ok(result, "unchanged")
    assert "declares 2, but the bot's last commit there" in result.stdout
    assert "set 3: the folder was changed by hand" in result.stdout
    assert rollback_pulls(github) == []
    assert_ok(cli(github, REPO, tmp_path, "--to", "1"), "created")
