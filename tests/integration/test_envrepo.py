"""bot.adapters.git against real git: bare repos, a local non-bare repo and smart HTTP."""

from __future__ import annotations

import base64
import logging
import socket
import subprocess
import time
from pathlib import Path

import pytest

from bot.adapters.git import EnvRepo, GitAuth
from bot.core.errors import ExternalError, InvalidInput
from bot.core.trailers import parse_trailers
from tests.gitrepos import (
    BOT_EMAIL,
    BOT_NAME,
    GitHttpServer,
    git,
    make_bare_repo,
    make_synthetic_env_repo,
    model_files,
    model_name,
    seed_env_repo,
)

ENV = "production"
AUTHOR = (BOT_NAME, BOT_EMAIL)
TOKEN = "ghs_s3cretT0kenValue1234567890"


def model_dir(i: int) -> str:
    return f"environments/{ENV}/{model_name(i)}"


def sparse_for(i: int) -> list[str]:
    return [model_dir(i), f"reports/{model_name(i)}"]


def promote_trailers(model: str, version: str, previous: str) -> dict[str, str]:
    return {
        "Model": model,
        "Model-Version": version,
        "Previous-Version": previous,
        "Environment": ENV,
        "Action": "promote",
    }


def objects(repo: EnvRepo) -> dict[str, str]:
    """Every object in the clone's store: sha -> type (never fetches)."""
    out = git(repo.path, "cat-file", "--batch-all-objects", "--batch-check")
    return {line.split()[0]: line.split()[1] for line in out.splitlines()}


def worktree_files(repo: EnvRepo) -> list[str]:
    return sorted(
        str(p.relative_to(repo.path))
        for p in repo.path.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(repo.path).parts
    )


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    """5 models x 20 commits: model i is promoted in commits i+1, i+6, i+11, i+16."""
    return make_synthetic_env_repo(tmp_path / "env.git", models=5, commits=20, environment=ENV)


@pytest.fixture
def clone(bare: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    repo = EnvRepo.clone(str(bare), base="main", sparse_paths=sparse_for(1), workdir=tmp_path)
    yield repo
    repo.close()


# ------------------------------------------------------------------- pure


def test_git_auth_hides_the_token() -> None:
    auth = GitAuth(TOKEN)
    assert TOKEN not in repr(auth)
    basic = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert auth.scrub(f"a {TOKEN} b {basic} c") == "a *** b *** c"
    assert auth.config("file:///x") == []
    key, value = auth.config("https://user@github.com:8443/org/repo.git")[-1]
    assert key == "http.https://github.com:8443/.extraHeader"
    assert value == f"Authorization: Basic {basic}"
    with pytest.raises(ValueError):
        GitAuth("two\nlines")


# ------------------------------------------------------------------- clone


def test_clone_is_partial_and_sparse(bare: Path, clone: EnvRepo) -> None:
    assert worktree_files(clone) == [
        ".model-bot.yaml",
        f"{model_dir(1)}/analysis-template.yaml",
        f"{model_dir(1)}/rollout.yaml",
        f"{model_dir(1)}/values.yaml",
    ]
    present = objects(clone)
    blobs = {sha for sha, kind in present.items() if kind == "blob"}
    wanted = git(clone.path, "ls-tree", "-r", "--object-only", "HEAD", "--", model_dir(1))
    root = git(clone.path, "rev-parse", "HEAD:.model-bot.yaml")
    assert blobs == {*wanted.split(), root}
    missing = git(clone.path, "rev-list", "--objects", "--missing=print", "HEAD")
    assert sum(line.startswith("?") for line in missing.splitlines()) == 4 * 3
    commits = [sha for sha, kind in present.items() if kind == "commit"]
    assert commits == [git(bare, "rev-parse", "main")]  # depth 1
    assert (
        clone.read(f"{model_dir(1)}/values.yaml")
        == model_files(ENV, model_name(1), 5)[f"{model_dir(1)}/values.yaml"]
    )
    assert clone.read(f"{model_dir(1)}/missing.yaml") is None
    with pytest.raises(ValueError, match="outside the sparse checkout"):
        clone.read(f"{model_dir(2)}/values.yaml")


def test_exists_sees_folders_outside_the_sparse_checkout(clone: EnvRepo) -> None:
    assert clone.exists(f"environments/{ENV}")
    assert clone.exists(f"environments/{ENV}/")
    assert clone.exists(model_dir(4))  # not checked out, but at HEAD
    assert clone.exists(f"{model_dir(4)}/values.yaml")
    assert not clone.exists("environments/staging")
    assert clone.exists(f"{model_dir(1)}/values.yaml")
    clone.delete(f"{model_dir(1)}/values.yaml")
    assert not clone.exists(f"{model_dir(1)}/values.yaml")  # the working tree decides here
    assert not clone.exists(f"reports/{model_name(1)}")


def test_add_sparse_paths_materialises_more(clone: EnvRepo) -> None:
    clone.add_sparse_paths([model_dir(3), ".model-bot/templates/"])
    assert clone.read(f"{model_dir(3)}/rollout.yaml") is not None
    assert clone.sparse_paths == (*sparse_for(1), model_dir(3), ".model-bot/templates")


def test_missing_base_branch_names_base(bare: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"^--base: no branch 'release' in ") as error:
        EnvRepo.clone(str(bare), base="release", sparse_paths=[], workdir=tmp_path / "w")
    assert error.value.problems[0].source == "--base"
    assert list((tmp_path / "w").iterdir()) == []  # nothing left behind


def test_missing_repo_names_repo(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"^--repo: .*no such repository"):
        EnvRepo.clone(str(tmp_path / "nope"), base="main", workdir=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput, match=r"^--repo: .*not found"):
        EnvRepo.clone(str(tmp_path / "empty"), base="main", workdir=tmp_path)


def test_bad_names_are_refused(bare: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="--base"):
        EnvRepo.clone(str(bare), base="-x", workdir=tmp_path)
    with pytest.raises(ValueError):
        EnvRepo.clone(str(bare), base="main", sparse_paths=["../etc"], workdir=tmp_path)
    with pytest.raises(InvalidInput, match="do not put a token in the URL"):
        EnvRepo.clone(f"https://x:{TOKEN}@github.com/o/r", base="main", workdir=tmp_path)


def test_server_without_filter_support_falls_back_to_full_clone(tmp_path: Path) -> None:
    bare = make_bare_repo(tmp_path / "plain.git", allow_filter=False)
    seed_env_repo(bare, model_files(ENV, "m", 1) | model_files(ENV, "other", 1))
    with EnvRepo.clone(
        bare.as_uri(), base="main", sparse_paths=[f"environments/{ENV}/m"], workdir=tmp_path
    ) as repo:
        assert worktree_files(repo) == sorted(model_files(ENV, "m", 1))
        blobs = [k for k in objects(repo).values() if k == "blob"]
        assert len(blobs) == 6  # the server ignored the filter: a full (depth 1) clone


def test_local_non_bare_repo_as_remote(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "--quiet", "--initial-branch=main")
    for rel, data in model_files(ENV, "m", 1).items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_bytes(data)
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", "seed")
    with EnvRepo.clone(
        str(work), base="main", sparse_paths=[f"environments/{ENV}/m"], workdir=tmp_path / "w"
    ) as repo:
        repo.start_branch("model-bot/promote/production/m", "HEAD")
        repo.write(f"environments/{ENV}/m/values.yaml", b"v: 2\n")
        sha = repo.commit("Promote m to 2", {"Model": "m"}, AUTHOR, [f"environments/{ENV}/m"])
        result = repo.push("model-bot/promote/production/m", expected_remote_sha=None)
        assert result.ok and result.sha == sha
    assert git(work, "rev-parse", "model-bot/promote/production/m") == sha
    assert git(work, "status", "--porcelain") == ""  # the checked-out branch is untouched


# ------------------------------------------------------------------- commit and push


def test_write_commit_with_trailers_and_read_back(clone: EnvRepo) -> None:
    base = clone.head_sha()
    branch = "model-bot/promote/production/model-00001"
    clone.start_branch(branch, "HEAD")
    clone.write(f"{model_dir(1)}/values.yaml", b"image:\n  tag: '6'\n")
    clone.write(f"reports/{model_name(1)}/6.md", b"# Report\n")
    clone.delete(f"{model_dir(1)}/analysis-template.yaml")
    trailers = promote_trailers(model_name(1), "6", "5") | {"MLflow-Run": "abc123"}
    sha = clone.commit(
        "Promote model-00001 to 6\n\nGates passed.",
        trailers,
        AUTHOR,
        [model_dir(1), f"reports/{model_name(1)}"],
    )
    assert sha is not None and sha == clone.head_sha()
    [info] = clone.log([model_dir(1)], max_count=1)
    assert info.sha == sha
    assert info.parents == (base,)
    assert info.trailers == trailers
    assert info.subject == "Promote model-00001 to 6"
    assert info.message.startswith("Promote model-00001 to 6\n\nGates passed.\n\nModel: ")
    assert git(clone.path, "log", "-1", "--format=%an <%ae>|%cn <%ce>") == (
        f"{BOT_NAME} <{BOT_EMAIL}>|{BOT_NAME} <{BOT_EMAIL}>"
    )
    changed = git(clone.path, "show", "--name-status", "--format=", sha).splitlines()
    assert sorted(changed) == [
        f"A\treports/{model_name(1)}/6.md",
        f"D\t{model_dir(1)}/analysis-template.yaml",
        f"M\t{model_dir(1)}/values.yaml",
    ]
    # Nothing changed: no commit.
    assert clone.commit("Again", trailers, AUTHOR, [model_dir(1)]) is None
    assert git(clone.path, "status", "--porcelain") == ""


def test_commit_stages_only_the_given_paths(clone: EnvRepo) -> None:
    clone.add_sparse_paths([model_dir(2)])
    clone.write(f"{model_dir(1)}/values.yaml", b"one\n")
    clone.write(f"{model_dir(2)}/values.yaml", b"two\n")
    sha = clone.commit("Only one", {"Model": "x"}, AUTHOR, [model_dir(1)])
    assert sha is not None
    assert git(clone.path, "show", "--name-only", "--format=", sha) == f"{model_dir(1)}/values.yaml"
    assert git(clone.path, "diff", "--cached", "--name-only") == ""
    assert git(clone.path, "diff", "--name-only") == f"{model_dir(2)}/values.yaml"


def test_push_new_branch_then_stale_lease_is_rejected(bare: Path, clone: EnvRepo) -> None:
    branch = "model-bot/promote/production/model-00001"
    assert clone.remote_branch_sha(branch) is None
    clone.start_branch(branch, "HEAD")
    clone.write(f"{model_dir(1)}/values.yaml", b"first\n")
    first = clone.commit("First", {"Model": "m"}, AUTHOR, [model_dir(1)])
    assert first is not None
    pushed = clone.push(branch, expected_remote_sha=None)
    assert (pushed.status, pushed.sha) == ("ok", first)
    assert clone.remote_branch_sha(branch) == first == git(bare, "rev-parse", branch)

    clone.write(f"{model_dir(1)}/values.yaml", b"second\n")
    second = clone.commit("Second", {"Model": "m"}, AUTHOR, [model_dir(1)])
    stale = clone.push(branch, expected_remote_sha=None)  # we think it does not exist
    assert stale.status == "rejected-stale"
    assert "changed on the remote" in stale.message
    wrong = clone.push(branch, expected_remote_sha="1" * 40)
    assert wrong.status == "rejected-stale"
    assert git(bare, "rev-parse", branch) == first

    # Rewrite history (force) with the right lease: allowed.
    clone.start_branch(branch, f"{second}~1~1")
    clone.write(f"{model_dir(1)}/values.yaml", b"rewritten\n")
    rewritten = clone.commit("Rewritten", {"Model": "m"}, AUTHOR, [model_dir(1)])
    forced = clone.push(branch, expected_remote_sha=first)
    assert (forced.status, forced.sha) == ("ok", rewritten)

    assert clone.delete_remote_branch(branch) is True
    assert clone.remote_branch_sha(branch) is None
    assert clone.delete_remote_branch(branch) is False


def test_push_rejected_by_the_remote_is_rejected_other(bare: Path, clone: EnvRepo) -> None:
    hooks = bare / "hooks"
    hooks.mkdir(exist_ok=True)
    hook = hooks / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'branch protected' >&2\nexit 1\n")
    hook.chmod(0o755)
    branch = "model-bot/promote/production/model-00001"
    clone.start_branch(branch, "HEAD")
    clone.write(f"{model_dir(1)}/values.yaml", b"x\n")
    clone.commit("X", {"Model": "m"}, AUTHOR, [model_dir(1)])
    result = clone.push(branch, expected_remote_sha=None)
    assert result.status == "rejected-other"
    assert "branch protected" in result.message


def test_refuses_to_force_push_or_delete_other_branches(clone: EnvRepo) -> None:
    for branch in ("main", "release/model-bot/x", "modelbot/x"):
        with pytest.raises(ValueError, match="only model-bot/"):
            clone.push(branch, expected_remote_sha=None)
        with pytest.raises(ValueError, match="only model-bot/"):
            clone.delete_remote_branch(branch)


def test_fetch_branch_and_compare_trees(bare: Path, clone: EnvRepo, tmp_path: Path) -> None:
    branch = "model-bot/promote/production/model-00001"
    assert clone.fetch_branch(branch) is None
    # Someone (an earlier run) pushed the promotion branch, based on an older main.
    old_main = git(bare, "rev-parse", "main~5")
    git(bare, "branch", branch, old_main)
    files = {f"{model_dir(1)}/values.yaml": b"proposed\n", f"reports/{model_name(1)}/9.md": b"r\n"}
    tip = seed_env_repo(bare, files, "Promote", branch=branch)
    assert clone.fetch_branch(branch) == tip
    tree = clone.tree_of(f"origin/{branch}", [model_dir(1), f"reports/{model_name(1)}"])
    assert tree[f"{model_dir(1)}/values.yaml"] == b"proposed\n"
    assert tree[f"reports/{model_name(1)}/9.md"] == b"r\n"
    assert set(tree) == {
        f"{model_dir(1)}/values.yaml",
        f"{model_dir(1)}/rollout.yaml",
        f"{model_dir(1)}/analysis-template.yaml",
        f"reports/{model_name(1)}/9.md",
    }
    # Other models' blobs can be read too (fetched in one go), without checking them out.
    other = clone.tree_of("HEAD", [model_dir(3)])
    assert other[f"{model_dir(3)}/values.yaml"].startswith(b"# Helm values for model-00003")
    assert not (clone.path / model_dir(3)).exists()


# ------------------------------------------------------------------- history


def test_log_deepens_a_shallow_clone_on_demand(tmp_path: Path) -> None:
    bare = make_synthetic_env_repo(tmp_path / "env.git", models=5, commits=400, environment=ENV)
    with EnvRepo.clone(
        str(bare), base="main", sparse_paths=sparse_for(2), workdir=tmp_path
    ) as repo:
        assert (repo.path / ".git" / "shallow").exists()
        recent = repo.log([model_dir(2)], max_count=3)
        assert [c.trailers["Model-Version"] for c in recent] == ["81", "80", "79"]
        assert all(c.trailers["Model"] == model_name(2) for c in recent)
        assert recent[0].authored_at.tzinfo is not None
        assert recent[0].authored_at > recent[1].authored_at
        commits = git(repo.path, "rev-list", "--count", "HEAD")
        assert 3 * 5 < int(commits) < 400  # deepened, not unshallowed
        assert (repo.path / ".git" / "shallow").exists()

        everything = repo.log([model_dir(2)], max_count=1000)
        assert len(everything) == 80 + 1  # 80 promotions and the first commit
        assert everything[-1].trailers == {}
        assert not (repo.path / ".git" / "shallow").exists()
        blobs = [k for k in objects(repo).values() if k == "blob"]
        assert len(blobs) == 4  # history came without blobs


def test_log_never_reports_the_shallow_boundary(clone: EnvRepo) -> None:
    # At depth 1 the tip (which promotes model 3) looks as if it added every file.
    assert clone.log([model_dir(3)], max_count=1)[0].trailers["Model"] == model_name(3)
    result = clone.log([model_dir(2)], max_count=1)
    assert result[0].trailers["Model"] == model_name(2)
    assert result[0].trailers["Model-Version"] == "5"


def test_revert_of_a_merge_commit_restores_exactly_the_folder(tmp_path: Path) -> None:
    bare = make_synthetic_env_repo(tmp_path / "env.git", models=3, commits=1, environment=ENV)
    before = seed_env_repo(bare, {"README.md": b"hello\n"}, "Unrelated change")
    git(bare, "branch", "feature", "main~1")
    seed_env_repo(
        bare,
        {f"{model_dir(1)}/values.yaml": b"v2\n", f"reports/{model_name(1)}/2.md": b"#\n"},
        "Promote model-00001 to 2",
        branch="feature",
        delete=(f"{model_dir(1)}/analysis-template.yaml",),
    )
    merged_tree = git(bare, "merge-tree", "--write-tree", "main", "feature")
    merge = git(
        bare,
        "commit-tree",
        merged_tree,
        "-p",
        "main",
        "-p",
        "feature",
        "-m",
        "Merge pull request #1",
    )
    git(bare, "update-ref", "refs/heads/main", merge)
    git(bare, "update-ref", "-d", "refs/heads/feature")
    seed_env_repo(bare, {f"{model_dir(2)}/values.yaml": b"other model\n"}, "Promote model 2")

    paths = [model_dir(1), f"reports/{model_name(1)}"]
    with EnvRepo.clone(str(bare), base="main", sparse_paths=paths, workdir=tmp_path) as repo:
        assert repo.revert(merge, [model_dir(1)]) is False  # it also touched reports/
        assert repo.revert(merge, paths) is True
        sha = repo.commit(
            "Roll back model-00001 to 1",
            {"Model": model_name(1), "Action": "rollback", "Model-Version": "1"},
            AUTHOR,
            paths,
        )
        assert sha is not None
        assert not (repo.path / ".git" / "REVERT_HEAD").exists()
        assert git(repo.path, "status", "--porcelain") == ""
        diff = git(repo.path, "diff", "--name-only", before, sha)
        assert diff.splitlines() == [f"{model_dir(2)}/values.yaml"]  # only the later change
        assert parse_trailers(git(repo.path, "log", "-1", "--format=%B"))["Action"] == "rollback"


def test_revert_conflict_returns_false_and_leaves_the_tree_clean(
    bare: Path, tmp_path: Path
) -> None:
    first = seed_env_repo(bare, {f"{model_dir(1)}/values.yaml": b"tag: 2\n"}, "To 2")
    seed_env_repo(bare, {f"{model_dir(1)}/values.yaml": b"tag: 3\n"}, "To 3")
    with EnvRepo.clone(
        str(bare), base="main", sparse_paths=sparse_for(1), workdir=tmp_path
    ) as repo:
        head = repo.head_sha()
        repo.write(f"{model_dir(1)}/rollout.yaml", b"uncommitted\n")
        repo.restore_paths("HEAD", [model_dir(1)])  # discard it again
        assert repo.revert(first, [model_dir(1)]) is False
        assert repo.head_sha() == head
        assert git(repo.path, "status", "--porcelain") == ""
        assert not (repo.path / ".git" / "REVERT_HEAD").exists()
        assert not (repo.path / ".git" / "sequencer").exists()
        assert repo.read(f"{model_dir(1)}/values.yaml") == b"tag: 3\n"


def test_restore_paths_to_an_older_commit(bare: Path, tmp_path: Path) -> None:
    old = git(bare, "rev-parse", "main~10")
    seed_env_repo(bare, {f"{model_dir(1)}/extra.yaml": b"new file\n"}, "Add extra")
    with EnvRepo.clone(
        str(bare), base="main", sparse_paths=sparse_for(1), workdir=tmp_path
    ) as repo:
        repo.restore_paths(old, [model_dir(1), f"reports/{model_name(1)}"])
        assert repo.read(f"{model_dir(1)}/extra.yaml") is None
        assert repo.read(f"{model_dir(1)}/values.yaml") == git_show(bare, old, model_dir(1))
        sha = repo.commit("Restore", {"Action": "rollback"}, AUTHOR, [model_dir(1)])
        assert sha is not None
        assert git(repo.path, "diff", "--stat", old, sha, "--", model_dir(1)) == ""
        with pytest.raises(InvalidInput, match="not in the history"):
            repo.restore_paths("f" * 40, [model_dir(1)])


def git_show(bare: Path, commit: str, folder: str) -> bytes:
    return subprocess.run(
        ["git", f"--git-dir={bare}", "show", f"{commit}:{folder}/values.yaml"],
        capture_output=True,
        check=True,
    ).stdout


def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "--quiet", "--initial-branch=main")
    (work / "environments" / ENV / "m").mkdir(parents=True)
    (work / "environments" / ENV / "m" / "values.yaml").symlink_to("/etc/hostname")
    (work / "environments" / ENV / "n").symlink_to("/tmp")
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", "links")
    paths = [f"environments/{ENV}/m", f"environments/{ENV}/n"]
    with EnvRepo.clone(str(work), base="main", sparse_paths=paths, workdir=tmp_path) as repo:
        with pytest.raises(InvalidInput, match="symbolic link"):
            repo.read(f"environments/{ENV}/m/values.yaml")
        with pytest.raises(InvalidInput, match="symbolic link"):
            repo.write(f"environments/{ENV}/n/values.yaml", b"x")
        with pytest.raises(ValueError):
            repo.write("../escape", b"x")


# ------------------------------------------------------------------- auth


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_http_remote_fails_fast_without_the_token(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/org/env.git"
    started = time.monotonic()
    with pytest.raises(ExternalError) as error:
        EnvRepo.clone(url, base="main", workdir=tmp_path, auth=GitAuth(TOKEN))
    assert time.monotonic() - started < 10
    text = str(error.value)
    assert url in text
    basic = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert TOKEN not in text and basic not in text
    assert list(tmp_path.iterdir()) == []


def test_token_travels_only_in_the_environment(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "srv"
    bare = make_synthetic_env_repo(root / "env.git", models=3, commits=3, environment=ENV)
    git(bare, "config", "http.receivepack", "true")
    caplog.set_level(logging.DEBUG, logger="git")
    with GitHttpServer(root, token=TOKEN) as server:
        url = server.url("env.git")
        with EnvRepo.clone(
            url, base="main", sparse_paths=sparse_for(1), workdir=tmp_path, auth=GitAuth(TOKEN)
        ) as repo:
            branch = "model-bot/promote/production/model-00001"
            repo.start_branch(branch, "HEAD")
            repo.write(f"{model_dir(1)}/values.yaml", b"over http\n")
            sha = repo.commit("Over HTTP", {"Model": "m"}, AUTHOR, [model_dir(1)])
            assert repo.push(branch, expected_remote_sha=None).sha == sha
            assert repo.remote_branch_sha(branch) == sha
            # A lazy blob fetch (another model) and a deepen also authenticate.
            assert repo.tree_of("HEAD", [model_dir(2)])
            assert len(repo.log([model_dir(1)], max_count=10)) == 3
            config = (repo.path / ".git" / "config").read_text()
            assert config.count("url = ") == 1 and f"url = {url}\n" in config
            dot_git = b"".join(
                p.read_bytes()
                for p in (repo.path / ".git").rglob("*")
                if p.is_file() and "objects" not in p.parts
            )
            assert TOKEN.encode() not in dot_git
            assert server.expected_header().split()[1].encode() not in dot_git
    assert git(bare, "rev-parse", branch) == sha
    assert server.requests and all(auth == server.expected_header() for *_, auth in server.requests)
    assert all(TOKEN not in path for _, path, _ in server.requests)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Popen" in logged and TOKEN not in logged  # argv, as GitPython logs it


@pytest.mark.parametrize(
    ("deny_status", "token", "expected"),
    [
        (403, "wrong-token", r"the token lacks access to it \(HTTP 403"),
        (401, "wrong-token", r"the token lacks access to it \(HTTP 401"),
        (401, None, "it needs a token"),
    ],
)
def test_refused_token_says_so(
    tmp_path: Path, deny_status: int, token: str | None, expected: str
) -> None:
    root = tmp_path / "srv"
    make_synthetic_env_repo(root / "env.git", models=1, commits=1, environment=ENV)
    with GitHttpServer(root, token=TOKEN, deny_status=deny_status) as server:
        auth = GitAuth(token) if token else None
        started = time.monotonic()
        with pytest.raises(ExternalError, match=expected) as error:
            EnvRepo.clone(server.url("env.git"), base="main", workdir=tmp_path, auth=auth)
        assert time.monotonic() - started < 10  # no prompt
    assert "wrong-token" not in str(error.value)


def test_http_repo_not_found_names_repo(tmp_path: Path) -> None:
    (tmp_path / "srv").mkdir()
    with (
        GitHttpServer(tmp_path / "srv") as server,
        pytest.raises(InvalidInput, match=r"^--repo: .*repository not found"),
    ):
        EnvRepo.clone(server.url("nope.git"), base="main", workdir=tmp_path)


# ------------------------------------------------------------------- synthetic repos


def test_synthetic_repo_is_valid_git(tmp_path: Path) -> None:
    bare = make_synthetic_env_repo(tmp_path / "s.git", models=120, commits=300, environment=ENV)
    git(bare, "fsck", "--strict", "--full", "--no-dangling")
    assert git(bare, "rev-list", "--count", "main") == "300"
    assert git(bare, "ls-tree", "--name-only", f"main:environments/{ENV}").count("\n") == 119
    last = parse_trailers(git(bare, "log", "-1", "--format=%B", "main"))
    # Commit n promotes model (n - 1) % 120: the last (299) is model 58's third promotion.
    assert (last["Model"], last["Model-Version"]) == (model_name(58), "4")
    assert git(bare, "show", f"main:{model_dir(58)}/values.yaml").endswith('version: "4"')


def test_synthetic_repo_has_10000_models_and_5000_commits(tmp_path: Path) -> None:
    """Its build time is a benchmark figure (python -m benchmarks promote prints it), not a
    timed test: a loaded machine made this flaky."""
    bare = make_synthetic_env_repo(tmp_path / "big.git", models=10_000, commits=5_000)
    assert git(bare, "rev-list", "--count", "main") == "5000"
    names = git(bare, "ls-tree", "--name-only", f"main:environments/{ENV}").splitlines()
    assert len(names) == 10_000


@pytest.mark.slow
def test_clone_cost_does_not_grow_with_history(tmp_path: Path) -> None:
    """Same models, 1 vs 5,000 commits: the clone receives the same objects."""
    sizes = []
    for commits in (1, 5_000):
        bare = make_synthetic_env_repo(tmp_path / f"{commits}.git", models=10_000, commits=commits)
        with EnvRepo.clone(
            str(bare), base="main", sparse_paths=sparse_for(3), workdir=tmp_path
        ) as repo:
            kinds = list(objects(repo).values())
            sizes.append((kinds.count("commit"), kinds.count("tree"), kinds.count("blob")))
    assert sizes[0] == sizes[1] == (1, 10_000 + 3, 3 + 1)


def test_a_hostile_global_git_config_does_not_break_it(
    bare: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    # The local bare remote's receive-pack reads this config too (as GitHub's would read its
    # own), so the hooks log where they ran instead of failing.
    for name in (
        "pre-commit",
        "prepare-commit-msg",
        "commit-msg",
        "post-commit",
        "pre-push",
        "post-checkout",
        "post-index-change",
        "reference-transaction",
    ):
        (hooks / name).write_text(f'#!/bin/sh\necho "{name} $PWD" >> "$HOOK_LOG"\n')
        (hooks / name).chmod(0o755)
    config = tmp_path / "gitconfig"
    config.write_text(
        f"[core]\n\thooksPath = {hooks}\n\tautocrlf = true\n"
        "[commit]\n\tgpgSign = true\n[tag]\n\tgpgSign = true\n[push]\n\tgpgSign = true\n"
        "[user]\n\tsigningKey = nobody@nowhere\n[log]\n\tshowSignature = true\n"
        "[color]\n\tui = always\n[diff]\n\texternal = /bin/false\n"
        f"[init]\n\ttemplateDir = {tmp_path}\n"
        "[i18n]\n\tcommitEncoding = ISO-8859-1\n\tlogOutputEncoding = ISO-8859-1\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("HOOK_LOG", str(tmp_path / "hook.log"))
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))  # as inside a git hook
    monkeypatch.setenv("GIT_WORK_TREE", str(tmp_path))
    with EnvRepo.clone(
        str(bare), base="main", sparse_paths=sparse_for(1), workdir=tmp_path
    ) as repo:
        branch = "model-bot/promote/production/model-00001"
        repo.start_branch(branch, "HEAD")
        repo.write(f"{model_dir(1)}/values.yaml", "tag: 'ü'\r\n".encode())
        sha = repo.commit("Promote ü", {"Reason": "naïve"}, AUTHOR, [model_dir(1)])
        assert sha is not None
        assert repo.push(branch, expected_remote_sha=None).ok
        [info] = repo.log([model_dir(1)], max_count=1)
        assert (info.sha, info.subject, info.trailers) == (sha, "Promote ü", {"Reason": "naïve"})
        assert repo.tree_of(sha, [model_dir(1)])[f"{model_dir(1)}/values.yaml"].endswith(b"\r\n")
    ran = (tmp_path / "hook.log").read_text().splitlines()
    assert ran and all(line.endswith("env.git") for line in ran)  # the remote's, not ours
    assert git(bare, "cat-file", "-p", sha).count("gpgsig") == 0
