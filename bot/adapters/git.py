"""The environment repo: a partial, sparse working clone in a temp dir we own.

The only module that imports `git` (GitPython). Every git command runs through
`EnvRepo._run`, with an environment that:

- carries the token only as an `http.<origin>.extraHeader` config entry in `GIT_CONFIG_*`
  variables: never in argv (GitPython puts argv in its error text), a URL or `.git/config`;
- pins the settings a user's global config could use to break us (hooks, signing, line
  endings, fsmonitor, auto-gc, log signatures, credential prompts);
- names our `.git` explicitly, so an inherited `GIT_DIR`/`GIT_WORK_TREE` cannot redirect it.

Clone strategy: `git clone --filter=blob:none --depth=1 --single-branch --branch <base>
--no-checkout --sparse`, then `git sparse-checkout set --cone --sparse-index <dirs>`, then
`git checkout`. Only root files and the given folders are materialised and only their blobs
are downloaded; the cost does not grow with history. It does grow with the number of model
folders: git must send the `environments/<env>` tree (about 24 bytes packed per model) and,
with `blob:none`, every model's tree (about 125 bytes each); 10,000 models mean 1.5 MB where
10 mean 2.4 kB. `tree:0` saves nothing: checkout fetches the missing root tree with
`blob:none`, which brings all trees, one round trip later.

History is fetched on demand (`log`, `revert`, `restore_paths`, `tree_of` of an old commit)
with `git fetch --deepen` (100 commits, then 4 times more each round), commits and trees only.
A path-limited log that must reach far back in a big repo is slow (10,000 models x 5,000
commits: about 20 s for the full history); pass a small `max_count`.
"""

from __future__ import annotations

import base64
import os
import posixpath
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, cast
from urllib.parse import urlsplit, urlunsplit

from git import Git
from git.exc import GitCommandNotFound

from bot.core.commits import CommitInfo, CommitRequest, PushResult
from bot.core.errors import ExternalError, InvalidInput
from bot.core.names import check_relative_path
from bot.core.pulls import MergeResult
from bot.core.trailers import format_commit_message, parse_trailers
from bot.ports import BranchSnapshot
from bot.text.redact import REDACTED, redact, redact_url, redact_urls_in

BOT_BRANCH_PREFIX = "model-bot/"

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_HTTP_STATUS = re.compile(r"returned error: (\d{3})")
_DEEPEN_FIRST = 100  # commits; each further deepening fetches 4 times as many
_DEEPEN_GROWTH = 4
_LOG_FORMAT = "--format=%H%x1f%P%x1f%aI%x1f%cI%x1f%B"
# Commits, or exactly the objects asked for: the remote is a promisor for this fetch only.
_HISTORY_FETCH = (
    "-c", "remote.origin.promisor=true", "-c", "remote.origin.partialclonefilter=tree:0",
    "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--filter=tree:0",
)  # fmt: skip

# Settings a user's or the system's git config must not change for us. Non-secret; they go
# in GIT_CONFIG_* next to the auth header (or alone).
_SAFE_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", os.devnull),
    ("core.autocrlf", "false"),
    ("core.safecrlf", "false"),
    ("core.fsmonitor", "false"),
    ("core.quotePath", "false"),
    ("commit.gpgSign", "false"),
    ("tag.gpgSign", "false"),
    ("push.gpgSign", "false"),
    ("log.showSignature", "false"),
    ("i18n.commitEncoding", "UTF-8"),
    ("i18n.logOutputEncoding", "UTF-8"),
    ("color.ui", "never"),
    ("rerere.enabled", "false"),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
    ("fetch.recurseSubmodules", "false"),
    ("submodule.recurse", "false"),
    ("advice.detachedHead", "false"),
    ("protocol.version", "2"),
    ("http.lowSpeedLimit", "1000"),
    ("http.lowSpeedTime", "60"),
)


# --------------------------------------------------------------------------- values


# --------------------------------------------------------------------------- pure helpers


def _under(path: str, roots: Sequence[str]) -> bool:
    return any(path == root or path.startswith(root + "/") for root in roots)


# --------------------------------------------------------------------------- auth


class GitAuth:
    """Token auth for HTTP(S) remotes, as GitHub takes it (`x-access-token:<token>`).

    The token reaches git only through environment variables, as an `extraHeader` scoped to
    the remote's scheme, host and port. `scrub` removes it (raw and base64) from any text.
    """

    __slots__ = ("_header", "_secrets")

    def __init__(self, token: str, username: str = "x-access-token") -> None:
        if not token or token != token.strip() or _CONTROL.search(token):
            raise ValueError("the token is empty or not one line")
        basic = base64.b64encode(f"{username}:{token}".encode()).decode()
        self._header = f"Authorization: Basic {basic}"
        self._secrets = (token, basic, base64.b64encode(token.encode()).decode())

    def __repr__(self) -> str:
        return f"GitAuth(token={REDACTED})"

    def config(self, url: str) -> list[tuple[str, str]]:
        """Config entries for `url`: the header (http and https only) and no credential helper."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return []
        origin = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], "/", "", ""))
        return [("credential.helper", ""), (f"http.{origin}.extraHeader", self._header)]

    def scrub(self, text: str) -> str:
        return redact(text, self._secrets)


def _config_env(entries: Sequence[tuple[str, str]]) -> dict[str, str]:
    """`GIT_CONFIG_COUNT`/`KEY_n`/`VALUE_n` for `entries`, after any the caller already set."""
    try:
        first = int(os.environ.get("GIT_CONFIG_COUNT", "0"))
    except ValueError:
        first = 0
    env = {"GIT_CONFIG_COUNT": str(first + len(entries))}
    for i, (key, value) in enumerate(entries, start=first):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


def _base_env(url: str, auth: GitAuth | None) -> dict[str, str]:
    entries = list(_SAFE_CONFIG)
    if auth is not None:
        entries += auth.config(url)
    env = _config_env(entries)
    env.update(
        {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "true",
            "SSH_ASKPASS": "true",
            "GCM_INTERACTIVE": "never",
            "GIT_EDITOR": "true",
            "GIT_PAGER": "cat",
            "GIT_NAMESPACE": "",
            "GIT_ALTERNATE_OBJECT_DIRECTORIES": "",
        }
    )
    return env


def _repo_env(path: Path) -> dict[str, str]:
    dot_git = path / ".git"
    return {
        "GIT_DIR": str(dot_git),
        "GIT_WORK_TREE": str(path),
        "GIT_COMMON_DIR": str(dot_git),
        "GIT_INDEX_FILE": str(dot_git / "index"),
        "GIT_OBJECT_DIRECTORY": str(dot_git / "objects"),
    }


def _normalise_url(url: str, field_name: str) -> str:
    """A URL git can partial-clone from: local paths become `file://` URLs.

    (`git clone /path` copies or hard-links the object store and ignores --filter/--depth.)
    """
    if not url:
        raise InvalidInput.one(field_name, "", "no repository given")
    parts = urlsplit(url)
    if parts.scheme in ("http", "https", "ssh", "git", "file"):
        if parts.password is not None:
            raise InvalidInput.one(
                field_name,
                "",
                f"{redact_url(url)}: do not put a token in the URL; pass it as the token",
            )
        return url
    if re.match(r"^[A-Za-z0-9._-]+@[^/:]+:", url):  # scp-like ssh: git@host:org/repo
        return url
    local = Path(url).expanduser()
    if not local.exists():
        raise InvalidInput.one(
            field_name, "", f"{redact_url(url)}: no such repository (not a URL or path)"
        )
    return local.resolve().as_uri()


# --------------------------------------------------------------------------- the repo


@dataclass
class _Result:
    status: int
    stdout: bytes
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace").strip()


@dataclass
class _State:
    fetched: set[str] = field(default_factory=set)  # remote branches we track
    sparse: list[str] = field(default_factory=list)  # cone directories
    history: bool = False  # the commits-only clone of the base exists (`base_history`)
    reader: bool = False  # no working clone: everything is read from the history clone
    # (commit, folder) -> every regular file below it: a reader lists the environments, then
    # each one's models, then single folders, all below folders it has read already.
    folders: dict[tuple[str, str], dict[str, bytes]] = field(default_factory=dict)


class EnvRepo:
    """A working clone of the environment repo in a temp dir we own; `close` removes it."""

    def __init__(
        self, path: Path, url: str, base: str, auth: GitAuth | None, *, owned: Path
    ) -> None:
        self.path = path
        self.url = url
        self._base = base
        self._auth = auth
        self._owned = owned
        self._git = Git(str(path))
        self._git.update_environment(**_base_env(url, auth), **_repo_env(path))
        self._state = _State(fetched={base})

    # ---------------------------------------------------------------- lifecycle

    @classmethod
    def clone(
        cls,
        url: str,
        *,
        base: str,
        sparse_paths: Sequence[str] = (),
        workdir: Path,
        auth: GitAuth | None = None,
        depth: int | None = 1,
        repo_field: str = "--repo",
    ) -> EnvRepo:
        """Clone `base` of `url` into a new temp dir under `workdir`, sparse and blob-less.

        `sparse_paths` are the folders to materialise besides the root files (add more later
        with `add_sparse_paths`). Errors name `repo_field` or `--base`, never the token.
        """
        source = _normalise_url(url, repo_field)
        _check_branch_name(base, "--base")
        if depth is not None and depth < 1:
            raise ValueError("depth must be at least 1 (or None for the full history)")
        sparse = _sparse_dirs(sparse_paths)
        workdir.mkdir(parents=True, exist_ok=True)
        owned = Path(tempfile.mkdtemp(prefix="model-bot-env-", dir=workdir)).resolve()
        path = owned / "repo"
        try:
            repo = cls(path, source, base, auth, owned=owned)
            args = ["clone", "--quiet", "--template=", "--no-tags", "--single-branch"]
            args += ["--branch", base, "--filter=blob:none", "--no-checkout", "--sparse"]
            if depth is not None:
                args.append(f"--depth={depth}")
            # With GIT_WORK_TREE set, clone's <directory> is the git dir.
            result = repo._run(*args, "--", source, str(path / ".git"), cwd=owned)
            if result.status != 0:
                raise repo._clone_error(result, repo_field)
            repo._run_ok("sparse-checkout", "set", "--cone", "--sparse-index", "--", *sparse)
            repo._run_ok("checkout", "--quiet", base)
            repo._state.sparse = sparse
            return repo
        except BaseException:
            shutil.rmtree(owned, ignore_errors=True)
            raise

    @classmethod
    def reader(
        cls,
        url: str,
        *,
        base: str | None,
        workdir: Path,
        auth: GitAuth | None = None,
        repo_field: str = "--repo",
    ) -> EnvRepo:
        """The env repo for commands that only read (`history`, `status`): no working
        clone at all. Files at the base's head, its history and old folders are all read
        from the commits-only clone, object by object, so the cost is the commits and the
        trees on the way to what is read, never every model's tree. `base` None: the
        remote's default branch (`git ls-remote --symref`, no forge request)."""
        source = _normalise_url(url, repo_field)
        if base is not None:
            _check_branch_name(base, "--base")
        workdir.mkdir(parents=True, exist_ok=True)
        owned = Path(tempfile.mkdtemp(prefix="model-bot-env-", dir=workdir)).resolve()
        (owned / "repo").mkdir()  # the commands' working directory; no clone in it
        repo = cls(owned / "repo", source, base or "HEAD", auth, owned=owned)
        repo._state.reader = True
        try:
            if base is None:  # the remote's default branch (its HEAD), asked of git
                repo._base = repo._default_branch(source, repo_field, owned)
                repo._state.fetched = {repo._base}
            else:
                ref = f"refs/heads/{base}"
                check = repo._run("ls-remote", "--exit-code", source, ref, cwd=owned)
                if check.status != 0:
                    raise repo._clone_error(check, repo_field)
            repo._history_dir()
            return repo
        except BaseException:
            shutil.rmtree(owned, ignore_errors=True)
            raise

    def _default_branch(self, source: str, repo_field: str, cwd: Path) -> str:
        found = self._run("ls-remote", "--symref", source, "HEAD", cwd=cwd)
        if found.status != 0:
            raise self._clone_error(found, repo_field)
        for line in found.text.splitlines():
            target, _, name = line.partition("\t")
            if target.startswith("ref: refs/heads/") and name == "HEAD":
                return _check_branch_name(target.removeprefix("ref: refs/heads/"), "--base")
        raise InvalidInput.one(repo_field, "", f"{redact_url(source)} has no default branch")

    @property
    def base(self) -> str:
        return self._base

    def close(self) -> None:
        self._git.clear_cache()
        shutil.rmtree(self._owned, ignore_errors=True)

    def __enter__(self) -> EnvRepo:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EnvRepo({redact_url(self.url)!r}, base={self.base!r}, path={str(self.path)!r})"

    # ---------------------------------------------------------------- files

    @property
    def sparse_paths(self) -> tuple[str, ...]:
        return tuple(self._state.sparse)

    def add_sparse_paths(self, paths: Sequence[str]) -> None:
        """Materialise more folders (e.g. once `.model-bot.yaml` has been read)."""
        if self._state.reader:
            return
        new = [p for p in _sparse_dirs(paths) if p not in self._state.sparse]
        if new:
            self._run_ok("sparse-checkout", "add", "--", *new)
            self._state.sparse += new

    def read(self, rel: str) -> bytes | None:
        """A file's bytes in the working tree, or None when it does not exist."""
        if self._state.reader:
            check_relative_path(rel)
            return self.files_at(self.head_sha(), posixpath.dirname(rel)).get(rel)
        target = self._file(rel)
        if not os.path.lexists(target):
            return None
        if not stat.S_ISREG(os.lstat(target).st_mode):
            raise InvalidInput.one(rel, "", "not a regular file (symbolic links are not read)")
        return target.read_bytes()

    def exists(self, rel: str) -> bool:
        """Whether a file or folder exists (outside the sparse folders: at HEAD, no fetch)."""
        check_relative_path(rel.rstrip("/"))
        rel = rel.rstrip("/")
        if self._state.reader:
            return self._tree_at(self.head_sha(), rel) is not None
        if os.path.lexists(self.path / rel):
            return True
        if any(_under(rel, [d]) for d in self._state.sparse):
            return False
        return bool(self._run_ok("ls-tree", "HEAD", "--", *_pathspecs([rel])).stdout.strip())

    def write(self, rel: str, data: bytes) -> None:
        """Write a file in the working tree, creating folders; stage it with `commit`."""
        target = self._file(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(target) and not stat.S_ISREG(os.lstat(target).st_mode):
            raise InvalidInput.one(rel, "", "not a regular file (symbolic links are not written)")
        target.write_bytes(data)

    def delete(self, rel: str) -> None:
        """Remove a file or folder from the working tree; stage it with `commit`."""
        target = self._file(rel)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif os.path.lexists(target):
            target.unlink()

    def _file(self, rel: str) -> Path:
        check_relative_path(rel)
        if not self._in_sparse(rel):
            raise ValueError(
                f"{rel} is outside the sparse checkout {self._state.sparse}: "
                "add its folder with add_sparse_paths"
            )
        current = self.path
        for part in rel.split("/")[:-1]:
            current = current / part
            if current.is_symlink():
                raise InvalidInput.one(rel, "", f"{part}/ is a symbolic link in the repo")
        return self.path / rel

    def _in_sparse(self, rel: str) -> bool:
        parent = rel.rpartition("/")[0]
        if not parent:
            return True
        return any(_under(rel, [d]) or d.startswith(parent + "/") for d in self._state.sparse)

    # ---------------------------------------------------------------- refs

    def head_sha(self) -> str:
        if self._state.reader:
            ref = f"refs/heads/{self.base}"
            return self._run_ok("rev-parse", "--verify", ref, env=self._history_dir()).text
        return self._run_ok("rev-parse", "--verify", "HEAD").text

    def head_of(self, ref: str) -> str:
        """The commit `ref` names in the clone (e.g. `origin/main`)."""
        return self._commit(ref)

    def remote_branch_sha(self, branch: str) -> str | None:
        """The remote branch's sha (one `ls-remote`, nothing fetched), or None if absent."""
        _check_branch_name(branch, "branch")
        # The URL, not `origin`: a reader (`EnvRepo.reader`) has no clone to name it.
        result = self._run("ls-remote", "--exit-code", self.url, f"refs/heads/{branch}")
        if result.status == 2:
            return None
        if result.status != 0:
            raise self._remote_error(result, "read branches of")
        for line in result.text.splitlines():
            sha, _, ref = line.partition("\t")
            if ref == f"refs/heads/{branch}":
                return sha
        return None

    def fetch_branch(self, branch: str) -> str | None:
        """Fetch a remote branch's tip (commit and trees, depth 1) into `origin/<branch>`."""
        _check_branch_name(branch, "branch")
        args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head"]
        if self._is_shallow():
            args.append("--depth=1")  # else git would fetch the branch's whole history
        refspec = f"+refs/heads/{branch}:refs/remotes/origin/{branch}"
        result = self._run(*args, "origin", refspec)
        if result.status != 0:
            if self.remote_branch_sha(branch) is None:
                return None
            raise self._remote_error(result, f"fetch {branch} from")
        self._state.fetched.add(branch)
        return self._run_ok("rev-parse", "--verify", f"refs/remotes/origin/{branch}").text

    def tree_of(self, ref: str, paths: Sequence[str]) -> dict[str, bytes]:
        """Regular files under `paths` at `ref`: path -> bytes (missing blobs fetched at once)."""
        if self._state.reader:
            commit = self.head_sha() if ref == "HEAD" else ref
            found: dict[str, bytes] = {}
            for path in paths:
                found.update(self._read_folder(commit, path.strip("/")))
            return found
        commit = self._commit(ref)
        specs = _pathspecs(paths)
        listing = self._run_ok("ls-tree", "-r", "-z", "--full-tree", commit, "--", *specs)
        blobs: dict[str, str] = {}
        for record in listing.stdout.split(b"\0"):
            if not record:
                continue
            meta, _, name = record.partition(b"\t")
            mode, kind, oid = meta.decode().split(" ")
            if kind == "blob" and mode in ("100644", "100755"):
                blobs[name.decode("utf-8", errors="surrogateescape")] = oid
        if not blobs:
            return {}
        self._prefetch(commit, specs)
        batch = self._run_ok(
            "cat-file", "--batch", input="".join(f"{oid}\n" for oid in blobs.values()).encode()
        )
        return _read_batch(batch.stdout, blobs)

    def tree_sha(self, ref: str) -> str:
        """The root tree of `ref`'s commit (what GitHub's `base_tree` names)."""
        return self._run_ok("rev-parse", "--verify", f"{self._commit(ref)}^{{tree}}").text

    def modes(self, ref: str, paths: Sequence[str]) -> dict[str, str]:
        """path -> git mode (100644, 100755, 120000, 160000...) of the entries `paths` name
        at `ref`; a path absent there is left out. Reads trees only, never blobs."""
        if not paths:
            return {}
        listing = self._run_ok(
            "ls-tree", "-z", "--full-tree", self._commit(ref), "--", *_pathspecs(paths)
        )
        found: dict[str, str] = {}
        for record in listing.stdout.split(b"\0"):
            if record:
                meta, _, name = record.partition(b"\t")
                found[name.decode("utf-8", errors="surrogateescape")] = meta.decode().split(" ")[0]
        return found

    def _prefetch(self, commit: str, specs: Sequence[str]) -> None:
        """Fetch the blobs under `specs` that the partial clone lacks, in one round trip."""
        listing = self._run_ok(
            "rev-list", "--objects", "--missing=print", "--no-walk", commit, "--", *specs
        )
        missing = [line[1:] for line in listing.text.splitlines() if line.startswith("?")]
        if missing:
            self._run_ok(
                "-c",
                "fetch.negotiationAlgorithm=noop",
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--recurse-submodules=no",
                "--filter=blob:none",
                "origin",
                *missing,
                network=True,
            )

    # ---------------------------------------------------------------- branch, commit, push

    def start_branch(self, branch: str, from_ref: str) -> None:
        """Check out local `branch` reset to `from_ref` (e.g. the base or `origin/<branch>`)."""
        _check_branch_name(branch, "branch")
        commit = self._commit(from_ref)
        self._run_ok("checkout", "--quiet", "--no-track", "-B", branch, commit)

    def commit(
        self,
        message: str,
        trailers: Mapping[str, str],
        author: tuple[str, str],
        paths: Sequence[str],
    ) -> str | None:
        """Stage exactly `paths` (adds, changes, deletions) and commit; None if nothing changed.

        `message` is the subject, optionally followed by a blank line and a body; the
        trailers follow in git's trailer format.
        """
        subject, _, body = message.strip().partition("\n")
        text = format_commit_message(subject, body, trailers)
        identity = _identity(author)
        roots = [check_relative_path(p.rstrip("/")) for p in paths]
        known = self._existing(roots)
        if known:
            self._run_ok("add", "--all", "--sparse", "--", *_pathspecs(known))
        staged = self._staged()
        if not staged:
            self._end_sequencer()
            return None
        stray = [p for p in staged if not _under(p, roots)]
        if stray:
            raise ValueError(f"changes staged outside {roots}: {stray}")
        message_file = self.path / ".git" / "MODEL_BOT_COMMIT_MSG"
        message_file.write_text(text, encoding="utf-8")
        self._run_ok(
            "commit",
            "--quiet",
            "--no-verify",
            "--no-gpg-sign",
            "--cleanup=verbatim",
            f"--file={message_file}",
            env=identity,
        )
        message_file.unlink()
        self._end_sequencer()
        return self.head_sha()

    def push(self, branch: str, *, expected_remote_sha: str | None) -> PushResult:
        """Force-push local `branch` if the remote one is still `expected_remote_sha`.

        `None` means the branch must not exist yet. Only the bot's own `model-bot/` branches
        may be pushed this way.
        """
        _check_bot_branch(branch)
        if expected_remote_sha is not None and not _SHA.match(expected_remote_sha):
            raise ValueError(f"bad expected sha {expected_remote_sha!r}")
        ref = f"refs/heads/{branch}"
        local = self._run("rev-parse", "--verify", "--quiet", ref)
        if local.status != 0:
            raise ValueError(f"no local branch {branch!r} to push: start_branch first")
        lease = f"--force-with-lease={ref}:{expected_remote_sha or ''}"
        result = self._run("push", "--porcelain", "--no-verify", lease, "origin", f"{ref}:{ref}")
        pushed = self._push_result(result, branch, local.text)
        # git checks the lease against the refs it read before sending. A concurrent push can
        # still get there first: the server then refuses our ref update, or (when it pushed
        # this very commit) git finds nothing to update. Either way the branch moved since
        # it was read: say so, so that callers read it again instead of failing, or taking
        # another run's push for their own.
        moved = pushed.status == "rejected-other" or (
            pushed.ok and _push_flag(result, ref) == "=" and expected_remote_sha != local.text
        )
        if moved and self.remote_branch_sha(branch) != expected_remote_sha:
            message = f"{branch} changed on the remote since it was read; read it again"
            return PushResult("rejected-stale", branch, None, message)
        return pushed

    def merge_into_base(
        self, branch: str, message: str, author: tuple[str, str], attempts: int = 3
    ) -> MergeResult:
        """Merge the bot's pushed `branch` into the base with a merge commit (first parent the
        base, second the branch), as a forge's merge button would; local mode's `auto_merge`.

        The base is only ever moved forward: a plain push, never forced, so a base that
        moved meanwhile refuses it and the merge is made again on the new base (`attempts`
        times at most). A conflict with the base is refused, never resolved."""
        _check_bot_branch(branch)
        identity = _identity(author)
        head = self.fetch_branch(branch)
        if head is None:
            return MergeResult(False, "merge", None, f"{branch} is not on the remote")
        ref = f"refs/heads/{self.base}"
        for _ in range(attempts):
            base = self.fetch_branch(self.base)
            if base is None:
                raise ExternalError(f"the base branch {self.base} is gone from {self._where()}")
            tree = self._merged_tree(base, head)
            if tree is None:
                return MergeResult(
                    False, "merge", None, f"{branch} does not merge cleanly into {self.base}"
                )
            commit = self._run_ok(
                "commit-tree", tree, "-p", base, "-p", head, "-m", message, env=identity
            ).text
            result = self._run("push", "--porcelain", "--no-verify", "origin", f"{commit}:{ref}")
            pushed = self._push_result(result, self.base, commit)
            if pushed.ok:
                return MergeResult(True, "merge", commit, None)
            if pushed.status != "rejected-stale" and "non-fast-forward" not in pushed.message:
                return MergeResult(False, "merge", None, pushed.message)
        return MergeResult(
            False, "merge", None, f"{self.base} kept moving: merged {attempts} times, refused"
        )

    def _merged_tree(self, base: str, head: str) -> str | None:
        """The tree of merging `head` into `base`, None on a conflict. A shallow clone is
        deepened until their merge base is in it (git calls them unrelated until then)."""
        step = _DEEPEN_FIRST
        while True:
            merged = self._run("merge-tree", "--write-tree", base, head)
            if merged.status == 0:
                return merged.text.splitlines()[0]
            if merged.status == 1:
                return None
            if "unrelated histories" not in merged.stderr or not self._deepen([base, head], step):
                raise ExternalError(
                    f"git merge-tree failed in {self.path}: {self._scrub(merged.stderr.strip())}"
                )
            step *= _DEEPEN_GROWTH

    def delete_remote_branch(self, branch: str) -> bool:
        """Delete one of the bot's remote branches; False when it did not exist."""
        _check_bot_branch(branch)
        if self.remote_branch_sha(branch) is None:
            return False
        ref = f"refs/heads/{branch}"
        result = self._run("push", "--porcelain", "--no-verify", "origin", f":{ref}")
        outcome = self._push_result(result, branch, None)
        if not outcome.ok:
            raise ExternalError(f"could not delete {branch} on {self._where()}: {outcome.message}")
        return True

    def _push_result(self, result: _Result, branch: str, sha: str | None) -> PushResult:
        ref = f"refs/heads/{branch}"
        for line in result.text.splitlines():
            fields = line.split("\t")
            if len(fields) < 3 or not fields[1].endswith(f":{ref}"):
                continue
            flag, summary = fields[0], "\t".join(fields[2:])
            if flag in (" ", "+", "*", "-", "="):
                return PushResult("ok", branch, sha, summary)
            if "stale info" in summary or "fetch first" in summary:
                message = f"{branch} changed on the remote since it was read; read it again"
                return PushResult("rejected-stale", branch, None, message)
            detail = self._scrub(result.stderr.strip() or summary)
            return PushResult("rejected-other", branch, None, f"{summary}: {detail}")
        raise self._remote_error(result, f"push {branch} to")

    # ---------------------------------------------------------------- history

    def log(
        self, paths: Sequence[str], ref: str = "HEAD", max_count: int = 200
    ) -> list[CommitInfo]:
        """Commits touching `paths` reachable from `ref`, newest first, with their trailers.

        A shallow clone is deepened on demand (commits and trees only) until `max_count`
        commits are found or the history is complete.
        """
        specs = _pathspecs(paths)
        step = _DEEPEN_FIRST
        while True:
            commit = self._commit(ref)
            shallow = self._shallow()
            found = self._log(commit, specs, max_count + len(shallow))
            found = [c for c in found if c.sha not in shallow][:max_count]
            if len(found) >= max_count or not self._deepen([commit], step):
                return found
            step *= _DEEPEN_GROWTH

    def _log(self, commit: str, specs: Sequence[str], max_count: int) -> list[CommitInfo]:
        result = self._run_ok(
            "log",
            "-z",
            "--no-color",
            "--no-show-signature",
            f"--max-count={max_count}",
            "--format=%H%x1f%P%x1f%aI%x1f%cI%x1f%B",
            commit,
            "--",
            *specs,
        )
        return _parse_log(result.stdout)

    def revert(self, commit_sha: str, paths: Sequence[str]) -> bool:
        """Stage the revert of `commit_sha` (of a merge: against its first parent).

        Returns False, changing nothing, when the commit touches files outside `paths` or
        the revert conflicts. Commit the staged revert with `commit`.
        """
        roots = [check_relative_path(p.rstrip("/")) for p in paths]
        sha = self._commit(commit_sha, history=True)
        parents = self._run_ok("rev-list", "--parents", "--max-count=1", sha).text.split()[1:]
        if not parents:
            return False  # reverting a root commit would empty the repo
        changed = self._run_ok(
            "diff", "--name-only", "--no-renames", "--no-ext-diff", "-z", parents[0], sha
        )
        names = [n.decode("utf-8", "surrogateescape") for n in changed.stdout.split(b"\0") if n]
        if any(not _under(name, roots) for name in names):
            return False
        args = ["revert", "--no-commit", "--no-rerere-autoupdate"]
        if len(parents) > 1:
            args += ["-m", "1"]
        result = self._run(*args, sha)
        if result.status == 0:
            return True
        if self._sequencer_active():
            self._run_ok("revert", "--abort")
            return False
        raise ExternalError(f"git revert failed: {self._scrub(result.stderr.strip())}")

    def restore_paths(self, ref: str, paths: Sequence[str]) -> None:
        """Make `paths` in the working tree and the index equal to `ref`'s (absent if absent)."""
        commit = self._commit(ref, history=True)
        roots = [check_relative_path(p.rstrip("/")) for p in paths]
        present = [r for r in roots if self._run_ok("ls-tree", commit, "--", *_pathspecs([r])).text]
        absent = [r for r in roots if r not in present]
        if absent:
            self._run_ok(
                "rm", "-r", "-q", "--cached", "--sparse", "--ignore-unmatch", "--",
                *_pathspecs(absent),
            )  # fmt: skip
            for rel in absent:
                self.delete(rel)
        if present:
            self._prefetch(commit, _pathspecs(present))
            self._run_ok(
                "restore", f"--source={commit}", "--staged", "--worktree", "--",
                *_pathspecs(present),
            )  # fmt: skip

    def first_parent(self, ref: str) -> str | None:
        """The first parent of `ref`'s commit (None for a root commit), read from the commit
        object: a shallow boundary commit names its parents too."""
        header = self._run_ok("cat-file", "commit", self._commit(ref)).text.split("\n\n", 1)[0]
        parents = [line.split()[1] for line in header.splitlines() if line.startswith("parent ")]
        return parents[0] if parents else None

    def parent_tree(self, ref: str, paths: Sequence[str]) -> dict[str, bytes]:
        """`tree_of` the first parent of `ref`, deepening a shallow clone to hold it."""
        self._commit(ref, history=True)
        parent = self.first_parent(ref)
        return self.tree_of(parent, paths) if parent is not None else {}

    # ---------------------------------------------------------------- the base's history

    def base_history(self, mentioning: str | None = None) -> list[CommitInfo]:
        """Every first-parent commit of the base branch, newest first: the ledger's input.

        Read from a second, bare clone holding commits only (`--filter=tree:0`), so the cost
        is the commits' messages, never the trees of other models; its promisor setting is
        given per fetch and never stored, so no later command can fetch a tree lazily (a lazy
        fetch brings every tree below the one asked for). Trees and files are fetched one
        object at a time by `files_at`."""
        history = self._history_dir()
        log = ("log", "-z", "--no-color", "--no-show-signature")
        if not mentioning:
            out = self._run_ok(*log, "--first-parent", _LOG_FORMAT, self.base, env=history)
            return _parse_log(out.stdout)
        # Only the first-parent commits whose message, or whose merged tip's, names
        # `mentioning` (git filters in C: a claim names its model, in trailers, a marker or a
        # PR title); the first-parent walk itself reads no message.
        found = self._run_ok(
            *log, "--fixed-strings", f"--grep={mentioning}", _LOG_FORMAT, self.base, env=history
        )
        named = {commit.sha: commit for commit in _parse_log(found.stdout)}
        walk = self._run_ok("rev-list", "--first-parent", "--parents", self.base, env=history)
        wanted: list[str] = []
        for line in walk.text.splitlines():
            sha, *parents = line.split()
            if sha in named or (len(parents) > 1 and parents[1] in named):
                wanted.append(sha)
        merges = self.commits([sha for sha in wanted if sha not in named])
        return [named.get(sha) or merges[sha] for sha in wanted]

    def commits(self, shas: Sequence[str]) -> dict[str, CommitInfo]:
        """The commits `shas` (e.g. merged branch tips) of the base's history, by sha."""
        wanted = [sha for sha in shas if _SHA.match(sha)]
        if not wanted:
            return {}
        out = self._run_ok(
            "log", "-z", "--no-walk=unsorted", "--stdin", "--no-color", "--no-show-signature",
            "--format=%H%x1f%P%x1f%aI%x1f%cI%x1f%B",
            input="".join(f"{sha}\n" for sha in wanted).encode(),
            env=self._history_dir(),
        )  # fmt: skip
        return {commit.sha: commit for commit in _parse_log(out.stdout)}

    def in_base_history(self, sha: str) -> bool:
        """Whether commit `sha` is reachable from the base branch (was merged into it, by a
        merge commit or a fast-forward): the commits-only clone holds exactly those."""
        if not _SHA.match(sha):
            return False
        check = self._run("cat-file", "-e", f"{sha}^{{commit}}", env=self._history_dir())
        return check.status == 0

    def files_at(self, commit: str, folder: str) -> dict[str, bytes]:
        """The regular files directly under `folder` at `commit` of the base's history,
        fetching only the trees on the way to it and its blobs (each once)."""
        folder = folder.strip("/")
        oid = self._tree_at(commit, folder)
        if oid is None:
            return {}
        env = self._history_dir()
        blobs = {
            f"{folder}/{name}" if folder else name: entry_oid
            for mode, kind, name, entry_oid in self._tree_entries(oid, env)
            if kind == "blob" and mode in ("100644", "100755")
        }
        return self._blobs(blobs, env)

    def _tree_at(self, commit: str, path: str) -> str | None:
        """The tree object of `path` ('' the root) at `commit`, or None when it is not a
        folder there; only the trees on the way are fetched."""
        if not _SHA.match(commit):
            raise ValueError(f"not a commit sha: {commit!r}")
        env = self._history_dir()
        header = self._run_ok("cat-file", "commit", commit, env=env).text
        oid = header.split("\n", 1)[0].split()[1]
        for name in check_relative_path(path).split("/") if path else []:
            entries = self._tree_entries(oid, env)
            found = next((e for e in entries if e[2] == name and e[1] == "tree"), None)
            if found is None:
                return None
            oid = found[3]
        return oid

    def _read_folder(self, commit: str, folder: str) -> dict[str, bytes]:
        """`_files_under`, answered from a folder read before when one contains it."""
        cache = self._state.folders
        for (cached_commit, cached), files in cache.items():
            if cached_commit != commit:
                continue
            if cached == folder:
                return dict(files)
            if not cached or folder.startswith(f"{cached}/"):
                prefix = f"{folder}/"
                return {path: data for path, data in files.items() if path.startswith(prefix)}
        files = self._files_under(commit, folder)
        cache[(commit, folder)] = files
        return dict(files)

    def _files_under(self, commit: str, folder: str) -> dict[str, bytes]:
        """Every regular file below `folder` at `commit`: a level of trees per fetch, and
        each level read in one `cat-file --batch`."""
        root = self._tree_at(commit, folder)
        if root is None:
            return {}
        env = self._history_dir()
        blobs: dict[str, str] = {}
        level = {folder: root}
        while level:
            self._fetch_objects(list(level.values()), env)
            trees = self._trees(list(level.values()), env)
            deeper: dict[str, str] = {}
            for prefix, oid in level.items():
                for mode, kind, name, entry_oid in trees[oid]:
                    rel = f"{prefix}/{name}" if prefix else name
                    if kind == "tree":
                        deeper[rel] = entry_oid
                    elif kind == "blob" and mode in ("100644", "100755"):
                        blobs[rel] = entry_oid
            level = deeper
        return self._blobs(blobs, env)

    def _trees(
        self, oids: Sequence[str], env: Mapping[str, str]
    ) -> dict[str, list[tuple[str, str, str, str]]]:
        """The entries of trees the history clone has, read in one `cat-file --batch`."""
        unique = list(dict.fromkeys(oids))
        batch = self._run_ok(
            "cat-file", "--batch", env=env, input="".join(f"{oid}\n" for oid in unique).encode()
        )
        out = batch.stdout
        trees: dict[str, list[tuple[str, str, str, str]]] = {}
        at = 0
        for oid in unique:
            end = out.index(b"\n", at)
            header = out[at:end].split()
            if len(header) != 3 or header[1] != b"tree":
                raise ExternalError(f"git cat-file: {oid} is not a tree in {self.path}")
            size = int(header[2])
            trees[oid] = _parse_tree(out[end + 1 : end + 1 + size])
            at = end + 1 + size + 1  # the object, then a newline
        return trees

    def _blobs(self, blobs: Mapping[str, str], env: Mapping[str, str]) -> dict[str, bytes]:
        """path -> bytes of `blobs` (path -> oid), fetched in one round trip, read in one."""
        if not blobs:
            return {}
        self._fetch_objects(list(blobs.values()), env)
        batch = self._run_ok(
            "cat-file", "--batch", env=env,
            input="".join(f"{oid}\n" for oid in blobs.values()).encode(),
        )  # fmt: skip
        return _read_batch(batch.stdout, blobs)

    def _tree_entries(self, oid: str, env: Mapping[str, str]) -> list[tuple[str, str, str, str]]:
        """(mode, kind, name, oid) of a tree of the history clone, fetched when missing."""
        self._fetch_objects([oid], env)
        listing = self._run_ok("ls-tree", "-z", oid, env=env)
        entries = []
        for record in listing.stdout.split(b"\0"):
            if record:
                meta, _, name = record.partition(b"\t")
                mode, kind, entry_oid = meta.decode().split(" ")
                entries.append((mode, kind, name.decode("utf-8", "surrogateescape"), entry_oid))
        return entries

    def _fetch_objects(self, oids: Sequence[str], env: Mapping[str, str]) -> None:
        """Fetch exactly `oids` (no tree below them) unless the history clone has them."""
        check = self._run(
            "cat-file", "--batch-check=%(objectname)", env=env,
            input="".join(f"{oid}\n" for oid in oids).encode(),
        )  # fmt: skip
        missing = [line.split()[0] for line in check.text.splitlines() if line.endswith("missing")]
        if missing:
            wanted = "".join(f"{oid}\n" for oid in missing).encode()
            self._run_ok(*_HISTORY_FETCH, "--stdin", "origin", input=wanted, env=env, network=True)

    def _history_dir(self) -> dict[str, str]:
        """The environment that points git at the commits-only clone (made on first use)."""
        path = self._owned / "history.git"
        env = {
            "GIT_DIR": str(path),
            "GIT_COMMON_DIR": str(path),
            "GIT_OBJECT_DIRECTORY": str(path / "objects"),
            "GIT_INDEX_FILE": str(path / "index"),
            "GIT_WORK_TREE": str(path),
        }
        if not self._state.history:
            path.mkdir()
            self._run_ok("init", "--quiet", "--template=", env=env)
            self._run_ok("config", "remote.origin.url", self.url, env=env)
            refspec = f"+refs/heads/{self.base}:refs/heads/{self.base}"
            self._run_ok(*_HISTORY_FETCH, "origin", refspec, env=env, network=True)
            self._state.history = True
        return env

    # ---------------------------------------------------------------- internals

    def _commit(self, ref: str, *, history: bool = False) -> str:
        """`ref` resolved to a commit sha, deepening a shallow clone until it is found.

        With `history`, the commit's parents must be present too (not a shallow boundary).
        """
        step = _DEEPEN_FIRST
        while True:
            sha = self._resolve(ref)
            if sha is not None and not (history and sha in self._shallow()):
                return sha
            if not self._deepen(["--all"], step):
                if sha is not None:
                    return sha
                raise InvalidInput.one(
                    "commit", "", f"{ref} is not in the history of {self.base} on {self._where()}"
                )
            step *= _DEEPEN_GROWTH

    def _resolve(self, ref: str) -> str | None:
        if _SHA.match(ref):
            # Never ask git about a sha it may lack: a partial clone would fetch the commit
            # and all its history. Look for it among the commits we have.
            return ref if ref in self._rev_list("--all") else None
        result = self._run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"
        )
        return result.text if result.status == 0 else None

    def _rev_list(self, *tips: str) -> set[str]:
        return set(self._run_ok("rev-list", *tips).text.split())

    def _deepen(self, tips: Sequence[str], step: int) -> bool:
        """Fetch `step` more commits (and their trees) behind the shallow boundary of `tips`.

        False when the history behind `tips` is complete or the remote has no more.
        """
        before = self._shallow()
        if not before or not (before & self._rev_list(*tips)):
            return False
        for how in (f"--deepen={step}", "--unshallow"):
            self._fetch_history(how)
            if self._shallow() != before:
                return True
        return False

    def _fetch_history(self, how: str) -> None:
        args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--filter=blob:none"]
        branches = [self.base, *sorted(self._state.fetched - {self.base})]
        result = _Result(0, b"", "")
        for tracked in (branches, [self.base]):
            refspecs = [f"+refs/heads/{b}:refs/remotes/origin/{b}" for b in tracked]
            result = self._run(*args, how, "origin", *refspecs)
            if result.status == 0:
                return
        raise self._remote_error(result, "fetch history from")

    def _shallow(self) -> set[str]:
        try:
            return set((self.path / ".git" / "shallow").read_text().split())
        except FileNotFoundError:
            return set()

    def _is_shallow(self) -> bool:
        return bool(self._shallow())

    def _existing(self, roots: Sequence[str]) -> list[str]:
        """The roots that exist in the working tree or the index (git add refuses others)."""
        absent = [r for r in roots if not os.path.lexists(self.path / r)]
        files: list[str] = []
        if absent:
            tracked = self._run_ok("ls-files", "-z", "--sparse", "--", *_pathspecs(absent))
            files = [n.decode("utf-8", "surrogateescape") for n in tracked.stdout.split(b"\0") if n]
        return [r for r in roots if r not in absent or any(_under(f, [r]) for f in files)]

    def _staged(self) -> list[str]:
        result = self._run_ok(
            "diff", "--cached", "--name-only", "--no-renames", "--no-ext-diff", "-z", "HEAD"
        )
        return [n.decode("utf-8", "surrogateescape") for n in result.stdout.split(b"\0") if n]

    def _sequencer_active(self) -> bool:
        dot_git = self.path / ".git"
        return any((dot_git / name).exists() for name in ("REVERT_HEAD", "sequencer"))

    def _end_sequencer(self) -> None:
        if self._sequencer_active():
            self._run_ok("revert", "--quit")

    def _where(self) -> str:
        return redact_url(self.url)

    def _scrub(self, text: str) -> str:
        """No token, and no credential inside a URL git quotes (it hides userinfo, not
        query tokens)."""
        return redact_urls_in(self._auth.scrub(text) if self._auth is not None else text)

    def _clone_error(self, result: _Result, repo_field: str) -> Exception:
        """Why a clone failed: ask `ls-remote` (exit code 2: no such branch)."""
        check = self._run(
            "ls-remote", "--exit-code", self.url, f"refs/heads/{self.base}", cwd=self._owned
        )
        if check.status == 2:
            return InvalidInput.one("--base", "", f"no branch {self.base!r} in {self._where()}")
        if check.status == 0:
            return ExternalError(
                f"could not clone {self._where()}: {self._scrub(result.stderr.strip())}"
            )
        return self._remote_error(check, "read", repo_field=repo_field)

    def _remote_error(
        self, result: _Result, doing: str, *, repo_field: str = "--repo"
    ) -> Exception:
        where = self._where()
        text = self._scrub(result.stderr.strip())
        status = _HTTP_STATUS.search(text)
        code = int(status.group(1)) if status else None
        if code is None and ("could not read Username" in text or "Authentication failed" in text):
            code = 401
        if code in (401, 403) and self._auth is not None:
            return ExternalError(
                f"could not {doing} {where}: the token lacks access to it (HTTP {code}"
                f"{': refused or expired' if code == 401 else ''}); give it contents: write "
                "and pull-requests: write on this repository"
            )
        if code in (401, 403):
            return ExternalError(f"could not {doing} {where}: it needs a token (HTTP {code})")
        if code == 404 or "not found" in text.lower() or "does not appear to be a git repo" in text:
            return InvalidInput.one(
                repo_field, "", f"{where}: repository not found (or the token cannot see it)"
            )
        last = text.splitlines()[-1] if text else f"git exited with {result.status}"
        return ExternalError(f"could not {doing} {where}: {last}")

    def _run_ok(self, *args: str, network: bool = False, **kwargs: object) -> _Result:
        result = self._run(*args, **kwargs)  # type: ignore[arg-type]
        if result.status != 0:
            if network:
                verb = next(a for i, a in enumerate(args) if a[:1] != "-" and args[i - 1] != "-c")
                raise self._remote_error(result, f"git {verb}")
            raise ExternalError(
                f"git {' '.join(a for a in args[:2] if not a.startswith('-'))} failed "
                f"in {self.path}: {self._scrub(result.stderr.strip())}"
            )
        return result

    def _run(
        self,
        *args: str,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> _Result:
        git = self._git
        if cwd is not None:
            git = Git(str(cwd))
            git.update_environment(**self._git.environment())
        command = ["git", *args]
        try:
            with _stdin(input) as stdin:
                status, stdout, stderr = git.execute(
                    command,
                    istream=stdin,
                    with_extended_output=True,
                    with_exceptions=False,
                    stdout_as_string=False,
                    strip_newline_in_stdout=False,
                    env=dict(env) if env else None,
                )
        except GitCommandNotFound:
            raise ExternalError("git is not installed (or not on PATH)") from None
        assert isinstance(stdout, bytes)
        return _Result(int(status), stdout, str(stderr))


def _parse_tree(data: bytes) -> list[tuple[str, str, str, str]]:
    """(mode, kind, name, oid) of a raw tree object: `<mode> <name>\\0<20-byte id>` each."""
    entries = []
    at = 0
    while at < len(data):
        space = data.index(b" ", at)
        nul = data.index(b"\0", space)
        mode = data[at:space].decode()
        name = data[space + 1 : nul].decode("utf-8", "surrogateescape")
        oid = data[nul + 1 : nul + 21].hex()
        kind = _TREE_KINDS.get(mode.lstrip("0") or "0", "blob")
        entries.append((mode.rjust(6, "0"), kind, name, oid))
        at = nul + 21
    return entries


_TREE_KINDS = {"40000": "tree", "160000": "commit"}


def _read_batch(out: bytes, blobs: Mapping[str, str]) -> dict[str, bytes]:
    """path -> bytes from `git cat-file --batch` output for `blobs` (path -> oid, in order)."""
    contents: dict[str, bytes] = {}
    pos = 0
    for rel, oid in blobs.items():
        header_end = out.index(b"\n", pos)
        got_oid, _, size = out[pos:header_end].decode().split(" ")
        if got_oid != oid:
            raise ExternalError(f"git cat-file returned {got_oid} for {oid}")
        start = header_end + 1
        contents[rel] = out[start : start + int(size)]
        pos = start + int(size) + 1
    return contents


def _parse_log(out: bytes) -> list[CommitInfo]:
    """Commits of `git log -z --format=%H%x1f%P%x1f%aI%x1f%cI%x1f%B`."""
    commits = []
    for record in out.split(b"\0"):
        if not record.strip():
            continue
        sha, parents, authored, committed, message = record.decode("utf-8", "replace").split(
            "\x1f", 4
        )
        commits.append(
            CommitInfo(
                sha=sha.strip(),
                message=message,
                trailers=parse_trailers(message),
                parents=tuple(parents.split()),
                authored_at=datetime.fromisoformat(authored),
                committed_at=datetime.fromisoformat(committed),
            )
        )
    return commits


@contextmanager
def _stdin(data: bytes | None) -> Iterator[BinaryIO | None]:
    """A file handle holding `data` for a git command's stdin (GitPython wants a handle)."""
    if data is None:
        yield None
        return
    with tempfile.TemporaryFile() as handle:
        handle.write(data)
        handle.seek(0)
        yield cast(BinaryIO, handle)


def _push_flag(result: _Result, ref: str) -> str | None:
    """The flag `git push --porcelain` printed for `ref` (` `, `+`, `-`, `*`, `=`, `!`)."""
    for line in result.text.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and fields[1].endswith(f":{ref}"):
            return fields[0]
    return None


def _identity(author: tuple[str, str]) -> dict[str, str]:
    """The environment that makes `author` (name, email) author and committer of a commit."""
    name, email = author
    if not name.strip() or not email.strip() or _CONTROL.search(name + email):
        raise ValueError(f"bad commit author {author!r}")
    if any(c in name + email for c in "<>"):
        raise ValueError(f"bad commit author {author!r}: no '<' or '>'")
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


def _check_branch_name(branch: str, field_name: str) -> str:
    if (
        not branch
        or branch.startswith(("-", "/"))
        or branch.endswith((".", "/", ".lock"))
        or ".." in branch
        or "//" in branch
        or "@{" in branch
        or re.search(r"[\x00-\x20\x7f~^:?*\[\\]", branch)
        or any(part.startswith(".") for part in branch.split("/"))
        or branch == "@"
    ):
        raise InvalidInput.one(field_name, "", f"bad branch name {branch!r}")
    return branch


def _check_bot_branch(branch: str) -> None:
    _check_branch_name(branch, "branch")
    if not branch.startswith(BOT_BRANCH_PREFIX):
        raise ValueError(
            f"refusing to force-push or delete {branch!r}: only {BOT_BRANCH_PREFIX}* branches"
        )


def _sparse_dirs(paths: Sequence[str]) -> list[str]:
    """Cone folders for `paths`: validated, without trailing '/', root files dropped."""
    out: list[str] = []
    for raw in paths:
        rel = check_relative_path(raw.rstrip("/"))
        if "/" not in rel and "." in rel:
            continue  # a root file: cone mode always has those
        if rel not in out:
            out.append(rel)
    return out


def _pathspecs(paths: Sequence[str]) -> list[str]:
    return [f":(literal){check_relative_path(p.rstrip('/'))}" for p in paths]


# --------------------------------------------------------------------------- seeding


def init_repo_from_folder(
    source: Path, dest: Path, *, branch: str, author: tuple[str, str], message: str
) -> bool:
    """Make `dest` a new git repository holding a copy of `source`, committed on `branch`.

    Returns False (and changes nothing) when `dest` already is a git repository, so seeding
    twice is harmless. Used by `model-bot demo` for its local environment repo.
    """
    if (dest / ".git").exists():
        return False
    if dest.exists() and any(dest.iterdir()):
        raise InvalidInput.one(
            str(dest), "", "exists and is not empty (choose another --dir or remove it)"
        )
    shutil.copytree(source, dest, dirs_exist_ok=True)
    env = {**_config_env(list(_SAFE_CONFIG)), **_identity(author)}
    git = Git(str(dest))
    git.update_environment(**env)
    git.execute(["git", "init", "--quiet", f"--initial-branch={branch}"])
    git.execute(["git", "add", "--all"])
    git.execute(["git", "commit", "--quiet", "--no-verify", "-m", message])
    return True


class GitPublisher:
    """The `Publisher` port over a working clone: the change is committed locally on the
    branch (reset to the base) and pushed with `--force-with-lease`, which makes the push a
    compare-and-swap on the remote branch head."""

    def __init__(self, repo: EnvRepo) -> None:
        self._repo = repo

    def remote_head(self, branch: str) -> str | None:
        return self._repo.remote_branch_sha(branch)

    def snapshot(self, branch: str, paths: Sequence[str]) -> BranchSnapshot | None:
        sha = self._repo.fetch_branch(branch)
        if sha is None:
            return None
        ref = f"origin/{branch}"
        tip = self._repo.log([], ref=ref, max_count=1)
        return BranchSnapshot(
            sha=sha,
            files=self._repo.tree_of(ref, paths),
            trailers=tip[0].trailers if tip else {},
        )

    def conflicts(self, branch: str, base: str, paths: Sequence[str]) -> bool:
        """Whether the branch (the bot's one commit on an older base; `snapshot` fetched it)
        no longer merges cleanly into `base`: a file under `paths` (the only ones the bot's
        commit touches) that the base changed since the branch's parent, to other content
        than the branch's. A branch on the current base never conflicts (nothing fetched)."""
        repo = self._repo
        tip, onto = f"origin/{branch}", f"origin/{base}"
        if repo.first_parent(tip) in (None, repo.head_of(onto)):
            return False
        ours, theirs = repo.tree_of(tip, paths), repo.tree_of(onto, paths)
        old = repo.parent_tree(tip, paths)
        return any(
            theirs.get(path) not in (old.get(path), ours.get(path))
            for path in {*ours, *theirs, *old}
        )

    def merge_into_base(self, branch: str, message: str, author: tuple[str, str]) -> MergeResult:
        return self._repo.merge_into_base(branch, message, author)

    def publish(self, request: CommitRequest, expected_head: str | None) -> PushResult | None:
        repo = self._repo
        repo.start_branch(request.branch, f"origin/{request.base}")
        for path, data in request.files.items():
            if data is None:
                repo.delete(path)
            else:
                repo.write(path, data)
        message = f"{request.subject}\n\n{request.body}" if request.body else request.subject
        sha = repo.commit(message, request.trailers, request.author, list(request.files))
        if sha is None:
            return None
        return repo.push(request.branch, expected_remote_sha=expected_head)
