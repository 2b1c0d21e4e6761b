"""The `Workspace` port over GitHub's API (`commit_mode: api`): files read by path, no
working clone, so a promotion's cost does not grow with the number of other models.

Why GraphQL and not the REST contents API: `GET /contents/{path}` answers one file, or one
folder's listing without its files' bytes, so a promotion's reads (the config, the model's
folder and each of its files, the templates, the report and its evidence) would take a
dozen requests. One GraphQL request reads several folders and their files' text:
``repository { f0: object(expression: "SHA:environments/prod/model") { ... on Tree {
entries { name type mode object { ... on Blob { text isBinary isTruncated } } } } } }``.
A blob GraphQL gives no text for (binary, or truncated because large) is read from
`GET /git/blobs/{oid}`. Expressions name the base commit the commits-only history clone
holds, so every read of a run sees one commit.

Reads: the root (the config, which folders exist) and the folders the run names up front
(`sparse`: the model's folder, the report's, the templates) in the first request; a folder
named later (`add_sparse_paths`) in one more; never a listing of `environments/<env>`
(its existence is asked with the object's id only).

History (`base_history`, `commits`, `in_base_history`) is the commits-only clone's
(`EnvRepo.reader`); `files_at` reads the folder at that commit through the API (a git tree
walk would fetch the `environments/<env>` tree on the way). What needs a working tree
(`log` of a folder, `start_branch`, `revert`, `restore_paths`, `commit`, other refs' trees:
rollback, ChatOps) opens the sparse clone on first use, as git mode does.
"""

from __future__ import annotations

import base64
import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.adapters.git import EnvRepo, GitPublisher
from bot.adapters.github import Forge
from bot.core.commits import CommitInfo, CommitRequest, PushResult
from bot.core.errors import ExternalError, InvalidInput
from bot.core.names import check_relative_path
from bot.ports import BranchSnapshot

#: Levels of folders one request reads below each folder asked for (deeper ones: one more).
DEPTH = 3
_BLOB = "... on Blob { byteSize isBinary isTruncated text }"
_REGULAR = ("100644", "100755")


def _fragment(name: str, depth: int) -> str:
    body = f"__typename oid {_BLOB}"
    for _ in range(depth):
        body = f"__typename oid {_BLOB} ... on Tree {{ entries {{ name type mode object {{ {body} }} }} }}"
    return f"fragment {name} on GitObject {{ {body} }}"


_FRAGMENTS = {"Probe": 0, "Flat": 1, "Deep": DEPTH}


def read_query(kinds: Sequence[str]) -> str:
    """The query reading one object per kind (Probe: its id; Flat: a folder and its files;
    Deep: `DEPTH` levels), as aliases f0, f1, ... of `$e0`, `$e1`, ..."""
    variables = "".join(f", $e{i}: String!" for i in range(len(kinds)))
    aliases = " ".join(f"f{i}: object(expression: $e{i}) {{ ...{k} }}" for i, k in enumerate(kinds))
    fragments = " ".join(_fragment(k, _FRAGMENTS[k]) for k in sorted(set(kinds)))
    return (
        f"query ($owner: String!, $name: String!{variables}) "
        f"{{ repository(owner: $owner, name: $name) {{ id {aliases} }} }} {fragments}"
    )


@dataclass(frozen=True)
class Entry:
    """A path of the base commit as read: a folder (`data` None) or a file."""

    kind: str  # blob | tree | commit
    mode: str  # git's: 100644, 100755, 120000, 040000, 160000
    oid: str
    data: bytes | None = None


class TreeReader:
    """Paths of one commit read through the API, cached: which exist, their modes, bytes."""

    def __init__(self, forge: Forge, commit: str) -> None:
        self._forge = forge
        self.commit = commit
        owner, _, name = forge.settings.repo.partition("/")
        self._names = {"owner": owner, "name": name}
        self._known: dict[str, Entry | None] = {}
        self._listed: set[str] = set()  # folders whose entries are all in `_known`
        self._complete: set[str] = set()  # folders whose whole subtree is in `_known`
        self._deep: set[str] = set()  # folders read `DEPTH` levels down
        self.repository_id: str | None = None  # GraphQL's id (what `updateRefs` names)

    # -- reading ------------------------------------------------------------------------
    def fetch(self, wanted: Mapping[str, str]) -> None:
        """Read `wanted` (path -> Probe | Flat | Deep) in one request; paths already known
        as wanted are left out."""
        todo = {p: k for p, k in wanted.items() if not self._has(p, k)}
        if not todo:
            return
        paths, kinds = list(todo), list(todo.values())
        variables: dict[str, object] = dict(self._names)
        for i, path in enumerate(paths):
            variables[f"e{i}"] = f"{self.commit}:{path}"
        data = self._forge.graphql_read("read the repository", read_query(kinds), variables)
        repository = data.get("repository")
        if not isinstance(repository, dict):
            raise ExternalError(f"GitHub did not answer the repository's files ({paths[0]})")
        if isinstance(repository.get("id"), str):
            self.repository_id = str(repository["id"])
        for i, (path, kind) in enumerate(todo.items()):
            self._take(path, repository.get(f"f{i}"), _FRAGMENTS[kind])
            if kind == "Deep":
                self._deep.add(path)
        self._fill_blobs()

    def _has(self, path: str, kind: str) -> bool:
        if kind == "Probe":
            return path in self._known or self._parent_listed(path)
        if kind == "Flat":
            return path in self._listed or self._is_missing(path)
        return path in self._deep or path in self._complete or self._is_missing(path)

    def _is_missing(self, path: str) -> bool:
        return self.entry(path) is None and (path in self._known or self._parent_listed(path))

    def _parent_listed(self, path: str) -> bool:
        return posixpath.dirname(path) in self._listed

    def _take(self, path: str, node: object, depth: int) -> None:
        if not isinstance(node, dict):
            self._known[path] = None
            self._listed.add(path)  # nothing under a missing path
            self._complete.add(path)
            return
        kind = {"Blob": "blob", "Tree": "tree"}.get(str(node.get("__typename")), "commit")
        if path not in self._known or self._known[path] is None:
            mode = "040000" if kind == "tree" else "100644"
            self._known[path] = Entry(kind, mode, str(node.get("oid")), _text(node))
        if kind != "tree" or depth <= 0:
            return
        entries = node.get("entries")
        complete = True
        for item in entries if isinstance(entries, list) else []:
            child = f"{path}/{item['name']}" if path else str(item["name"])
            obj = item.get("object") if isinstance(item.get("object"), dict) else {}
            mode = f"{int(item.get('mode') or 0):06d}" if item.get("type") != "tree" else "040000"
            self._known[child] = Entry(str(item["type"]), mode, str(obj.get("oid")), _text(obj))
            if item["type"] == "tree":
                self._take(child, obj, depth - 1)
                complete = complete and child in self._complete
        self._listed.add(path)
        if complete:
            self._complete.add(path)

    def _fill_blobs(self) -> None:
        """The files GraphQL gave no text for (binary, or large): `GET /git/blobs/{oid}`."""
        for path, entry in list(self._known.items()):
            if entry is not None and entry.kind == "blob" and entry.data is None:
                if entry.mode not in _REGULAR:
                    continue
                blob = self._forge.get_json(f"read {path}", f"/git/blobs/{entry.oid}")
                content = str(blob.get("content") or "")
                data = base64.b64decode(content) if blob.get("encoding") == "base64" else b""
                self._known[path] = Entry(entry.kind, entry.mode, entry.oid, data)

    # -- answers ------------------------------------------------------------------------
    def entry(self, path: str) -> Entry | None:
        return self._known.get(path)

    def file(self, path: str) -> bytes | None:
        path = check_relative_path(path)
        if path not in self._known and not self._parent_listed(path):
            self.fetch({path: "Probe"})
        found = self._known.get(path)
        if found is None or found.kind != "blob":
            return None
        if found.mode not in _REGULAR:
            raise InvalidInput.one(path, "", "not a regular file (symbolic links are not read)")
        return found.data

    def exists(self, path: str) -> bool:
        path = path.strip("/")
        if path:
            check_relative_path(path)
        self.fetch({path: "Probe"})
        return self._known.get(path) is not None

    def files_under(self, folder: str) -> dict[str, bytes]:
        """Every regular file below `folder` (read to its bottom, a request a `DEPTH`)."""
        folder = folder.strip("/")
        self.fetch({folder: "Deep"})
        while shallow := [p for p in self._listed_trees(folder) if p not in self._listed]:
            self.fetch(dict.fromkeys(shallow, "Deep"))
        self._complete.add(folder)
        prefix = f"{folder}/" if folder else ""
        return {
            path: entry.data
            for path, entry in sorted(self._known.items())
            if path.startswith(prefix)
            and entry is not None
            and entry.kind == "blob"
            and entry.mode in _REGULAR
            and entry.data is not None
        }

    def _listed_trees(self, folder: str) -> list[str]:
        prefix = f"{folder}/" if folder else ""
        return [
            p
            for p, e in self._known.items()
            if e is not None and e.kind == "tree" and p.startswith(prefix)
        ]

    def modes(self, paths: Sequence[str]) -> dict[str, str]:
        """path -> git mode of the entries `paths` name (absent ones left out)."""
        parents = {posixpath.dirname(p): "Flat" for p in paths}
        self.fetch(parents)
        return {p: e.mode for p in paths if (e := self._known.get(p)) is not None}

    def root_tree(self) -> str:
        self.fetch({"": "Flat"})
        root = self._known.get("")
        if root is None:
            raise ExternalError(f"GitHub has no tree for {self.commit}")
        return root.oid


def _text(node: Mapping[str, object]) -> bytes | None:
    if node.get("__typename") != "Blob" or node.get("isBinary") or node.get("isTruncated"):
        return None
    text = node.get("text")
    return text.encode("utf-8") if isinstance(text, str) else None


class ApiWorkspace:
    """`Workspace` whose files of the base are read through GitHub's API (see the module
    docstring); `sparse`: the folders the run will read, read in the first request."""

    def __init__(
        self,
        forge: Forge,
        history: EnvRepo,
        open_clone: Callable[[Sequence[str]], EnvRepo],
        sparse: Sequence[str] = (),
    ) -> None:
        self._forge = forge
        self._history = history
        self._open_clone = open_clone
        self._clone: EnvRepo | None = None
        self._scratch: EnvRepo | None = None  # the clone, once scratch work began
        self._sparse = [p.strip("/") for p in sparse if p.strip("/")]
        self.head = history.head_sha()
        self.tree = TreeReader(forge, self.head)
        first = {"": "Flat"}
        for folder in self._sparse:
            first.setdefault(posixpath.dirname(folder), "Probe")
        first.update(dict.fromkeys(self._sparse, "Deep"))
        self.tree.fetch(first)

    @property
    def base(self) -> str:
        return self._history.base

    @property
    def history(self) -> EnvRepo:
        return self._history

    # -- what a commit through the API is built on (`BaseReads`) ------------------------------
    def base_commit(self) -> str:
        return self.head

    def root_tree(self) -> str:
        return self.tree.root_tree()

    def modes(self, paths: Sequence[str]) -> dict[str, str]:
        return self.tree.modes(paths)

    def clone(self) -> EnvRepo:
        """The sparse working clone, opened on first use (rollback, ChatOps, a rerun's read
        of the bot's branch)."""
        if self._clone is None:
            self._clone = self._open_clone(self._sparse)
        return self._clone

    # -- files of the base ----------------------------------------------------------------
    def add_sparse_paths(self, paths: Sequence[str]) -> None:
        new = [p.strip("/") for p in paths if p.strip("/") and p.strip("/") not in self._sparse]
        self._sparse += new
        if self._clone is not None:
            self._clone.add_sparse_paths(new)
        self.tree.fetch(dict.fromkeys(new, "Deep"))

    def read(self, rel: str) -> bytes | None:
        if self._scratch is not None:
            return self._scratch.read(rel)
        return self.tree.file(rel)

    def exists(self, rel: str) -> bool:
        if self._scratch is not None:
            return self._scratch.exists(rel)
        return self.tree.exists(rel)

    def head_sha(self) -> str:
        return self.head

    def tree_of(self, ref: str, paths: Sequence[str]) -> dict[str, bytes]:
        base_refs = (self.base, f"origin/{self.base}", self.head)
        if ref in base_refs or (ref == "HEAD" and self._scratch is None):
            found: dict[str, bytes] = {}
            for path in paths:
                found.update(self.tree.files_under(path))
            return found
        return self.clone().tree_of(ref, paths)

    # -- history ---------------------------------------------------------------------------
    def log(
        self, paths: Sequence[str], ref: str = "HEAD", max_count: int = 200
    ) -> list[CommitInfo]:
        return self.clone().log(paths, ref, max_count)

    def base_history(self, mentioning: str | None = None) -> list[CommitInfo]:
        return self._history.base_history(mentioning)

    def commits(self, shas: Sequence[str]) -> dict[str, CommitInfo]:
        return self._history.commits(shas)

    def in_base_history(self, sha: str) -> bool:
        return self._history.in_base_history(sha)

    def files_at(self, commit: str, folder: str) -> dict[str, bytes]:
        """The regular files directly under `folder` at `commit`, read through the API."""
        reader = self.tree if commit == self.head else TreeReader(self._forge, commit)
        folder = folder.strip("/")
        reader.fetch({folder: "Flat"})
        prefix = f"{folder}/" if folder else ""
        return {
            path: entry.data
            for path in list(reader._known)
            if path.startswith(prefix)
            and "/" not in path[len(prefix) :]
            and (entry := reader.entry(path)) is not None
            and entry.kind == "blob"
            and entry.mode in _REGULAR
            and entry.data is not None
        }

    # -- scratch work on the working clone (rollback) ---------------------------------------
    def start_branch(self, branch: str, from_ref: str) -> None:
        """Scratch work begins: from now on the working tree (`read`, `exists`, "HEAD") is
        the clone's, as the port says."""
        self._scratch = self.clone()
        self._scratch.start_branch(branch, from_ref)

    def revert(self, commit_sha: str, paths: Sequence[str]) -> bool:
        return self.clone().revert(commit_sha, paths)

    def restore_paths(self, ref: str, paths: Sequence[str]) -> None:
        self.clone().restore_paths(ref, paths)

    def commit(
        self,
        message: str,
        trailers: Mapping[str, str],
        author: tuple[str, str],
        paths: Sequence[str],
    ) -> str | None:
        return self.clone().commit(message, trailers, author, paths)

    def close(self) -> None:
        if self._clone is not None:
            self._clone.close()
        self._history.close()


class BranchReads:
    """The bot's branch as API mode reads it: its head by `ls-remote` (no clone), its files
    (a rerun) and whether it conflicts through the working clone, opened then."""

    def __init__(self, workspace: ApiWorkspace) -> None:
        self._workspace = workspace

    def _git(self) -> GitPublisher:
        return GitPublisher(self._workspace.clone())

    def remote_head(self, branch: str) -> str | None:
        head = self._workspace.history.remote_branch_sha(branch)
        if head is not None:
            # Open the clone now, not at `snapshot`: the run reads the branch's open pull
            # request in between, and what it reads of the branch must follow that closely
            # (as in git mode), or a concurrent run's update slips in between the two.
            self._workspace.clone()
        return head

    def snapshot(self, branch: str, paths: Sequence[str]) -> BranchSnapshot | None:
        return self._git().snapshot(branch, paths)

    def conflicts(self, branch: str, base: str, paths: Sequence[str]) -> bool:
        return self._git().conflicts(branch, base, paths)

    def publish(self, request: CommitRequest, expected_head: str | None) -> PushResult | None:
        return self._git().publish(request, expected_head)


__all__ = ["DEPTH", "ApiWorkspace", "BranchReads", "Entry", "TreeReader", "read_query"]
