"""`commit_mode: api` reads the base's files through GitHub's API (`ApiWorkspace`), on the
fake GitHub: a missing file, a folder (nested deeper than one request reads), a binary file
and a large one (their bytes from `GET /git/blobs`), an older commit, and the run's one
commit; the first request reads the config and the model's folder, and no request lists
`environments/<env>`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bot.adapters.github_reads import DEPTH, ApiWorkspace
from bot.cli.session import session_opener
from bot.core.errors import InvalidInput
from bot.ports import EnvSession
from tests.envfixtures import TOKEN, bare_path, fast_github, github_env_repo, github_target
from tests.fakegithub import FakeGitHub
from tests.fakegithub._treereads import TEXT_LIMIT

MODEL = "fraud-detector"
FOLDER = "environments/production/fraud-detector"
VALUES = b'image:\n  repository: ghcr.io/acme/fraud-detector\n  tag: "1"\n'
BINARY = bytes(range(256)) * 4
LARGE = b"x: " + b"y" * (TEXT_LIMIT + 10) + b"\n"
NESTED = f"{FOLDER}/" + "/".join(f"level{i}" for i in range(DEPTH + 1)) + "/deep.yaml"


@pytest.fixture
def github(fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    fast_github(monkeypatch)
    monkeypatch.delenv("MODEL_BOT_COMMIT_MODE", raising=False)
    github_env_repo(
        fake_github,
        files={
            f"{FOLDER}/values.yaml": VALUES,
            f"{FOLDER}/model.bin": BINARY,
            f"{FOLDER}/large.yaml": LARGE,
            NESTED: b"deep: true\n",
        },
    )
    return fake_github


def _session(fake: FakeGitHub, tmp_path: Path) -> EnvSession:
    return session_opener(
        github_target(fake), base=None, token=TOKEN, workdir=tmp_path, commit_mode="api"
    )([FOLDER])


def _graphql_bodies(fake: FakeGitHub) -> int:
    return fake.request_count("POST", "/graphql")


def test_api_mode_reads_without_a_working_clone(github: FakeGitHub, tmp_path: Path) -> None:
    session = _session(github, tmp_path)
    try:
        assert isinstance(session.workspace, ApiWorkspace)
        assert not list(tmp_path.glob("*/repo/.git"))  # no working clone was made
        assert session.workspace.read(f"{FOLDER}/values.yaml") == VALUES
        assert session.workspace.read(".model-bot.yaml") is not None
        assert session.workspace.exists("environments/production")
        # The config, the model's folder and its parent's existence: one request.
        assert _graphql_bodies(github) == 1
    finally:
        session.close()


def test_a_missing_file_or_folder_reads_as_absent(github: FakeGitHub, tmp_path: Path) -> None:
    session = _session(github, tmp_path)
    try:
        workspace = session.workspace
        assert workspace.read(f"{FOLDER}/absent.yaml") is None
        assert workspace.read("environments/production/other-model/values.yaml") is None
        assert workspace.exists("environments/staging")  # seeded with a .keep
        assert not workspace.exists("environments/qa")
        assert workspace.tree_of("HEAD", ["environments/production/other-model"]) == {}
        assert workspace.read(FOLDER) is None  # a folder is not a file
    finally:
        session.close()


def test_a_folder_reads_to_its_bottom(github: FakeGitHub, tmp_path: Path) -> None:
    """A file nested deeper than one request reads (`DEPTH`) is read by one more."""
    session = _session(github, tmp_path)
    try:
        before = _graphql_bodies(github)
        files = session.workspace.tree_of("HEAD", [FOLDER])
        assert files[NESTED] == b"deep: true\n"
        assert files[f"{FOLDER}/values.yaml"] == VALUES
        assert _graphql_bodies(github) == before + 1
        assert session.workspace.exists(FOLDER)
    finally:
        session.close()


def test_binary_and_large_files_come_from_the_blobs_endpoint(
    github: FakeGitHub, tmp_path: Path
) -> None:
    session = _session(github, tmp_path)
    try:
        assert session.workspace.read(f"{FOLDER}/model.bin") == BINARY
        assert session.workspace.read(f"{FOLDER}/large.yaml") == LARGE
        assert github.request_count("GET", "/git/blobs/") == 2
    finally:
        session.close()


def test_reads_see_the_runs_commit_and_files_at_an_older_one(
    github: FakeGitHub, tmp_path: Path
) -> None:
    old = github.branch_sha("acme", "env", "main")
    session = _session(github, tmp_path)
    try:
        # A commit after the run began is not seen: every read is of one commit.
        github.commit_files("acme", "env", "main", {f"{FOLDER}/values.yaml": "tag: 2\n"})
        assert session.workspace.read(f"{FOLDER}/values.yaml") == VALUES
        assert old is not None
        files = session.workspace.files_at(old, FOLDER)
        assert files[f"{FOLDER}/values.yaml"] == VALUES
        assert NESTED not in files  # directly under the folder only
    finally:
        session.close()
    later = _session(github, tmp_path)
    try:
        assert later.workspace.read(f"{FOLDER}/values.yaml") == b"tag: 2\n"
    finally:
        later.close()


def test_a_symbolic_link_is_not_read(github: FakeGitHub, tmp_path: Path) -> None:
    bare = bare_path(github)
    env = {"GIT_INDEX_FILE": str(bare / "scratch-index"), "PATH": "/usr/bin:/bin"}
    person = {
        "GIT_AUTHOR_NAME": "P",
        "GIT_AUTHOR_EMAIL": "p@example.com",
        "GIT_COMMITTER_NAME": "P",
        "GIT_COMMITTER_EMAIL": "p@example.com",
    }

    def git(*args: str, data: bytes | None = None) -> str:
        return (
            subprocess.run(
                ["git", f"--git-dir={bare}", *args],
                input=data,
                check=True,
                capture_output=True,
                env={**env, **person},
            )
            .stdout.decode()
            .strip()
        )

    git("read-tree", "main")
    blob = git("hash-object", "-w", "--stdin", data=b"../shared.yaml")
    git("update-index", "--index-info", data=f"120000 {blob}\t{FOLDER}/link.yaml\n".encode())
    commit = git("commit-tree", git("write-tree"), "-p", "main", "-m", "link")
    git("update-ref", "refs/heads/main", commit)
    session = _session(github, tmp_path)
    try:
        with pytest.raises(InvalidInput, match="symbolic links are not read"):
            session.workspace.read(f"{FOLDER}/link.yaml")
        assert f"{FOLDER}/link.yaml" not in session.workspace.tree_of("HEAD", [FOLDER])
    finally:
        session.close()


def test_the_fake_answers_the_read_query_in_githubs_shapes(github: FakeGitHub) -> None:
    """`object(expression:)` of a folder: a Tree whose entries carry name, type, mode (an Int)
    and the object; a Blob's text, or null when binary; null for a missing path."""
    import urllib.request

    from bot.adapters.github_reads import read_query

    sha = github.branch_sha("acme", "env", "main")
    variables = {
        "owner": "acme",
        "name": "env",
        "e0": f"{sha}:{FOLDER}",
        "e1": f"{sha}:nowhere",
        "e2": f"{sha}:{FOLDER}/model.bin",
    }
    body = json.dumps({"query": read_query(["Flat", "Probe", "Probe"]), "variables": variables})
    request = urllib.request.Request(
        f"{github.api_url}/graphql",
        data=body.encode(),
        headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        data = json.load(answer)["data"]["repository"]
    entries = {e["name"]: e for e in data["f0"]["entries"]}
    assert data["f0"]["__typename"] == "Tree"
    assert entries["values.yaml"]["type"] == "blob" and entries["values.yaml"]["mode"] == 100644
    assert entries["values.yaml"]["object"]["text"] == VALUES.decode()
    assert entries["level0"]["type"] == "tree" and entries["level0"]["mode"] == 40000
    assert "entries" not in entries["level0"]["object"]  # Flat: one level
    assert data["f1"] is None
    blob = data["f2"]
    assert blob["__typename"] == "Blob" and blob["isBinary"] is True and blob["text"] is None
    assert blob["byteSize"] == len(BINARY)
