"""`commit_mode: api` on the fake GitHub: how it is chosen, the compare-and-swap that keeps
every concurrent update, the branches it may move, and its limits (symbolic links, big
files, secondary rate limits), each refused with one line before anything is written."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.adapters.github_commits import API_BLOB_LIMIT, CO_AUTHOR
from bot.cli.session import session_opener
from bot.core.commits import CommitRequest
from bot.core.errors import ExternalError, InvalidInput
from bot.core.trailers import parse_trailers
from bot.ports import EnvSession
from tests.envfixtures import (
    DEFAULT_POLICY_PATH,
    ENVIRONMENT,
    TOKEN,
    CliResult,
    bare_git,
    bare_path,
    commit_message,
    fast_github,
    github_env_repo,
    github_target,
    results_file,
    run_cli,
    run_promote,
)
from tests.fakegithub import FakeGitHub
from tests.fakegithub._gitdata import verification

MODEL = "fraud-detector"
BRANCH = f"model-bot/promote/{ENVIRONMENT}/{MODEL}"
FOLDER = f"environments/{ENVIRONMENT}/{MODEL}"
API_CONFIG = "commit_mode: api\n"


@pytest.fixture
def github(fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    fast_github(monkeypatch)
    monkeypatch.setenv("MODEL_BOT_GITHUB_BACKOFF", "0.01")
    monkeypatch.delenv("MODEL_BOT_COMMIT_MODE", raising=False)
    return fake_github


def _session(fake: FakeGitHub, tmp_path: Path, mode: str | None = "api") -> EnvSession:
    return session_opener(
        github_target(fake), base=None, token=TOKEN, workdir=tmp_path, commit_mode=mode
    )([FOLDER])


def _request(files: dict[str, bytes | None], branch: str = BRANCH) -> CommitRequest:
    return CommitRequest(
        branch=branch,
        base="main",
        files=files,
        subject=f"Promote {MODEL} 2 to {ENVIRONMENT}",
        body="",
        trailers={"Model": MODEL, "Action": "promote"},
        author=("model-bot", "model-bot@users.noreply.github.com"),
    )


def _writes(fake: FakeGitHub) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.write_requests()]


def _special_entry(bare: Path, path: str, mode: str, content: bytes) -> str:
    """Commit on main a `mode` entry (120000 a symbolic link, 100755 executable) at `path`."""
    index = bare / "scratch-index"
    env = {"GIT_INDEX_FILE": str(index)}

    def git(*args: str, data: bytes | None = None) -> str:
        return subprocess.run(
            ["git", f"--git-dir={bare}", *args],
            input=data, check=True, capture_output=True,
            env={**env, "PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1",
                 "GIT_AUTHOR_NAME": "Person", "GIT_AUTHOR_EMAIL": "p@example.com",
                 "GIT_COMMITTER_NAME": "Person", "GIT_COMMITTER_EMAIL": "p@example.com"},
        ).stdout.decode().strip()  # fmt: skip

    git("read-tree", "main")
    blob = git("hash-object", "-w", "--stdin", data=content)
    git("update-index", "--index-info", data=f"{mode} {blob}\t{path}\n".encode())
    tree = git("write-tree")
    commit = git("commit-tree", tree, "-p", "main", "-m", f"Add {path}")
    git("update-ref", "refs/heads/main", commit)
    index.unlink()
    return commit


# --------------------------------------------------------------------------- selection


def test_config_selects_api_mode_and_the_commit_is_signed_by_github(
    github: FakeGitHub, tmp_path: Path
) -> None:
    repo = github_env_repo(github, files={".model-bot.yaml": _api_config()})
    result = run_promote(github_target(github, repo), MODEL, "1", workdir=tmp_path)
    assert result.outcome == "created"
    bare = bare_path(github)
    head = github.branch_sha("acme", "env", BRANCH)
    assert head is not None
    assert verification(bare, head)["verified"] is True
    assert bare_git(bare, "log", "-1", "--format=%cn <%ce>", head) == "GitHub <noreply@github.com>"
    trailers = parse_trailers(commit_message(bare, head))
    assert trailers[CO_AUTHOR] == "model-bot <model-bot@users.noreply.github.com>"
    assert trailers["Model-Version"] == "1"
    assert bare_git(bare, "rev-parse", f"{head}^") == github.branch_sha("acme", "env", "main")


def _api_config() -> str:
    from tests.envfixtures import CONFIG

    return CONFIG + API_CONFIG


def test_the_flag_wins_over_the_config(github: FakeGitHub, tmp_path: Path) -> None:
    repo = github_env_repo(github, files={".model-bot.yaml": _api_config()})
    github.reset_requests()
    opener = session_opener(
        github_target(github, repo), base=None, token=TOKEN, workdir=tmp_path, commit_mode="git"
    )
    session = opener([FOLDER])
    try:
        pushed = session.publisher.publish(_request({f"{FOLDER}/values.yaml": b"a: 1\n"}), None)
    finally:
        session.close()
    assert pushed is not None and pushed.ok
    assert _writes(github) == []  # a git push: no API write
    head = github.branch_sha("acme", "env", BRANCH)
    assert head is not None and verification(bare_path(github), head)["verified"] is False


# --------------------------------------------------------------------------- compare-and-swap


def test_a_stale_read_is_refused_and_the_other_update_kept(
    github: FakeGitHub, tmp_path: Path
) -> None:
    """Two runs read the branch absent; the second to write must not overwrite the first."""
    github_env_repo(github)
    first, second = _session(github, tmp_path / "a"), _session(github, tmp_path / "b")
    try:
        assert first.publisher.remote_head(BRANCH) is None
        assert second.publisher.remote_head(BRANCH) is None
        won = first.publisher.publish(_request({f"{FOLDER}/values.yaml": b"v: 1\n"}), None)
        assert won is not None and won.ok
        lost = second.publisher.publish(_request({f"{FOLDER}/values.yaml": b"v: 2\n"}), None)
        assert lost is not None and lost.status == "rejected-stale"
        assert github.branch_sha("acme", "env", BRANCH) == won.sha
        # Read again: now the expected head is the winner's, and the update lands on main.
        head = second.publisher.remote_head(BRANCH)
        assert head == won.sha
        again = second.publisher.publish(_request({f"{FOLDER}/values.yaml": b"v: 2\n"}), head)
        assert again is not None and again.ok
        bare = bare_path(github)
        assert bare_git(bare, "show", f"{again.sha}:{FOLDER}/values.yaml") == "v: 2"
        assert bare_git(bare, "rev-parse", f"{again.sha}^") == github.branch_sha(
            "acme", "env", "main"
        )
    finally:
        first.close()
        second.close()


def test_a_change_the_base_holds_commits_nothing(github: FakeGitHub, tmp_path: Path) -> None:
    github_env_repo(github, files={f"{FOLDER}/values.yaml": "v: 1\n"})
    session = _session(github, tmp_path)
    github.reset_requests()
    try:
        assert (
            session.publisher.publish(_request({f"{FOLDER}/values.yaml": b"v: 1\n"}), None) is None
        )
    finally:
        session.close()
    assert _writes(github) == ["POST /repos/acme/env/git/trees"]  # the same tree: no commit
    assert github.branch_sha("acme", "env", BRANCH) is None


@pytest.mark.parametrize("branch", ["main", "release", "model-bot-evil"])
def test_only_the_bots_own_branches_are_moved(
    github: FakeGitHub, tmp_path: Path, branch: str
) -> None:
    github_env_repo(github)
    main = github.branch_sha("acme", "env", "main")
    session = _session(github, tmp_path)
    github.reset_requests()
    try:
        with pytest.raises(ValueError, match="only model-bot/"):
            session.publisher.publish(_request({"x": b"x"}, branch=branch), None)
    finally:
        session.close()
    assert _writes(github) == []
    assert github.branch_sha("acme", "env", "main") == main


def test_binary_content_goes_through_a_blob(github: FakeGitHub, tmp_path: Path) -> None:
    github_env_repo(github)
    data = bytes(range(256))
    session = _session(github, tmp_path)
    github.reset_requests()
    try:
        pushed = session.publisher.publish(_request({f"{FOLDER}/model.bin": data}), None)
    finally:
        session.close()
    assert pushed is not None and pushed.ok
    assert _writes(github)[0] == "POST /repos/acme/env/git/blobs"
    shown = subprocess.run(
        ["git", f"--git-dir={bare_path(github)}", "cat-file", "blob", f"{pushed.sha}:{FOLDER}/model.bin"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    assert shown == data


# --------------------------------------------------------------------------- limits


def test_a_symbolic_link_the_change_writes_is_refused_before_any_write(
    github: FakeGitHub, tmp_path: Path
) -> None:
    github_env_repo(github)
    _special_entry(bare_path(github), f"{FOLDER}/values.yaml", "120000", b"../shared/values.yaml")
    session = _session(github, tmp_path)
    github.reset_requests()
    try:
        with pytest.raises(InvalidInput) as refused:
            session.publisher.publish(_request({f"{FOLDER}/values.yaml": b"v: 2\n"}), None)
    finally:
        session.close()
    assert str(refused.value) == (
        f"{FOLDER}/values.yaml: is a symbolic link: commit_mode api writes files through "
        "GitHub's API, which would replace it; set commit_mode: git in .model-bot.yaml (or "
        "--commit-mode git)"
    )
    assert refused.value.exit_code == 2
    assert _writes(github) == []
    assert github.branch_sha("acme", "env", BRANCH) is None


def test_an_executable_file_keeps_its_mode(github: FakeGitHub, tmp_path: Path) -> None:
    github_env_repo(github)
    _special_entry(bare_path(github), f"{FOLDER}/check.sh", "100755", b"#!/bin/sh\n")
    session = _session(github, tmp_path)
    try:
        pushed = session.publisher.publish(
            _request({f"{FOLDER}/check.sh": b"#!/bin/sh\nexit 0\n"}), None
        )
    finally:
        session.close()
    assert pushed is not None and pushed.ok
    listing = bare_git(bare_path(github), "ls-tree", str(pushed.sha), f"{FOLDER}/check.sh")
    assert listing.startswith("100755 blob ")


def test_a_file_over_the_api_limit_is_refused_before_any_write(
    github: FakeGitHub, tmp_path: Path
) -> None:
    github_env_repo(github)
    session = _session(github, tmp_path)
    github.reset_requests()
    try:
        with pytest.raises(InvalidInput) as refused:
            session.publisher.publish(
                _request({f"{FOLDER}/big.json": b"0" * (API_BLOB_LIMIT + 1)}), None
            )
    finally:
        session.close()
    assert "over the 40 MiB GitHub's API takes per file; set commit_mode: git" in str(refused.value)
    assert _writes(github) == []


def test_a_secondary_rate_limit_is_waited_out(github: FakeGitHub, tmp_path: Path) -> None:
    github_env_repo(github)
    github.secondary_rate_limit(times=1, retry_after=1, method="POST", path_regex=r"/git/commits$")
    session = _session(github, tmp_path)
    try:
        pushed = session.publisher.publish(_request({f"{FOLDER}/values.yaml": b"v: 1\n"}), None)
    finally:
        session.close()
    assert pushed is not None and pushed.ok
    assert github.request_count("POST", "/git/commits") == 2


def test_a_secondary_rate_limit_over_the_wait_budget_is_one_line_and_writes_no_branch(
    github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_BOT_MAX_RATE_LIMIT_WAIT", "0")
    github_env_repo(github)
    session = _session(github, tmp_path)  # its reads (GraphQL too) are done here
    github.secondary_rate_limit(times=5, retry_after=30, method="POST", path_regex=r"/graphql$")
    try:
        with pytest.raises(ExternalError) as failed:
            session.publisher.publish(_request({f"{FOLDER}/values.yaml": b"v: 1\n"}), None)
    finally:
        session.close()
    message = str(failed.value)
    assert "\n" not in message
    assert "GitHub rate limit while trying to move" in message and "(secondary)" in message
    assert github.branch_sha("acme", "env", BRANCH) is None


# --------------------------------------------------------------------------- the CLI


def _promote_cli(fake: FakeGitHub, tmp_path: Path, *flags: str) -> CliResult:
    return run_cli(
        "promote",
        "--results",
        results_file(tmp_path, MODEL, "1"),
        "--policy",
        DEFAULT_POLICY_PATH,
        "--environment",
        ENVIRONMENT,
        "--env-repo",
        "acme/env",
        "--github-api-url",
        fake.api_url,
        *flags,
        env={"MODEL_BOT_GITHUB_WRITE_INTERVAL": "0"},
    )


def test_the_cli_flag_selects_api_mode(github: FakeGitHub, tmp_path: Path) -> None:
    github_env_repo(github)
    result = _promote_cli(github, tmp_path, "--commit-mode", "api")
    assert result.exit_code == 0, result
    assert "outcome: created" in result.stdout
    head = github.branch_sha("acme", "env", BRANCH)
    assert head is not None and verification(bare_path(github), head)["verified"] is True
    assert github.request_count("POST", "/git/commits") == 1


def test_a_bad_commit_mode_is_one_line_exit_2(github: FakeGitHub, tmp_path: Path) -> None:
    github_env_repo(github)
    result = _promote_cli(github, tmp_path, "--commit-mode", "svn")
    assert result.exit_code == 2
    assert "'svn' is not one of 'git', 'api'" in result.stderr
    assert github.branch_sha("acme", "env", BRANCH) is None


def test_a_lost_answer_to_the_ref_move_is_still_the_runs_own_update(
    github: FakeGitHub, tmp_path: Path
) -> None:
    """GitHub moved the branch but the answer was lost: the retry's compare-and-swap fails
    (the branch is no longer at the expected head), yet the branch is at this run's commit."""
    github_env_repo(github)
    session = _session(github, tmp_path)  # its reads (one GraphQL query) are done here
    reads = github.request_count("POST", "/graphql")
    github.drop_response(times=1, method="POST", path_regex=r"/graphql$")
    try:
        pushed = session.publisher.publish(_request({f"{FOLDER}/values.yaml": b"v: 1\n"}), None)
    finally:
        session.close()
    assert pushed is not None and pushed.status == "ok"
    assert github.branch_sha("acme", "env", BRANCH) == pushed.sha
    assert github.request_count("POST", "/graphql") == reads + 2  # updateRefs, sent twice
