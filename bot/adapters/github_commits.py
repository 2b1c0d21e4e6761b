"""The `Publisher` port over GitHub's API (`commit_mode: api`): GitHub writes the bot's commit
itself, so it signs it (Verified) for a GitHub App installation token or the Actions
`GITHUB_TOKEN`; nothing is pushed.

How a change lands, and why this way:

1. `POST /repos/{o}/{r}/git/trees` with `base_tree` = the base's root tree and one entry per
   file of the change (`content`, or a blob made by `POST /git/blobs` for bytes that are not
   UTF-8; `sha: null` deletes): a tree equal to the base's means the base already holds the
   change (nothing committed, as `git commit` finds nothing staged).
2. `POST /repos/{o}/{r}/git/commits` with that tree, the base commit as the only parent and
   no author or committer: GitHub is the committer and signs it. The bot's identity (what
   git mode writes as the author) goes in a `Co-authored-by` trailer.
3. The branch is moved by a compare-and-swap: GraphQL `updateRefs` with `beforeOid` = the
   head the caller read (`0000...` when the branch must not exist yet), `afterOid` = the new
   commit, `force: true` (a rebuild on a newer base is not a fast-forward).

REST `PATCH /git/refs/heads/{b}` was not chosen: it takes `sha` and `force` but no expected
old value, so a forced move would overwrite another run's update. GraphQL
`createCommitOnBranch` has `expectedHeadOid` (a real compare-and-swap) but always commits on
top of the branch head, so it cannot rebuild the branch on a newer base, and it writes every
file as 100644. Trees + commits + `updateRefs` keep `git push --force-with-lease`'s
guarantees: a run whose read is stale is refused (`rejected-stale`) and converge reads again.
Only `model-bot/` branches are ever moved; the base branch never.

What the commit is built on (the base commit, its root tree, the modes of the paths written)
comes from `BaseReads`: the API reads of `bot.adapters.github_reads` when the run asked for
API mode, else the working clone (`CloneBase`). The bot's branch is read with git
(`ls-remote`; a rerun fetches it). The writes are 3 requests for a change.

Limits (each refused before any write, exit 2, naming the fix `commit_mode: git`):
a symbolic link or a submodule at a path the change writes (a tree entry's content would
replace the link by a file); a file over `API_BLOB_LIMIT` (GitHub's Git database refuses
blobs above about 40 MiB although pushes take up to 100 MiB). An executable file keeps its
mode (the tree entry carries 100755). Secondary rate limits are waited out like any GitHub
call (`MODEL_BOT_MAX_RATE_LIMIT_WAIT`), and PyGithub spaces the writes
(`MODEL_BOT_GITHUB_WRITE_INTERVAL`, 1 s by default), as GitHub's docs advise.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from bot.adapters.git import BOT_BRANCH_PREFIX, EnvRepo, GitPublisher
from bot.adapters.github import Forge
from bot.core.commits import CommitRequest, PushResult
from bot.core.errors import InvalidInput
from bot.core.trailers import format_commit_message
from bot.ports import BranchSnapshot, Publisher

ZERO_OID = "0" * 40
#: Blobs GitHub's Git database accepts, as measured (a 40 MiB blob was refused with a 422,
#: tom_core_storage's `maxBlobBytes`); the documented per-file limit of pushes is 100 MiB.
API_BLOB_LIMIT = 41_820_160
CO_AUTHOR = "Co-authored-by"  # GitHub shows the bot's identity beside the signing author
_REGULAR = ("100644", "100755")
_UPDATE_REFS = (
    "mutation ($input: UpdateRefsInput!) { updateRefs(input: $input) { clientMutationId } }"
)


def api_commit_message(request: CommitRequest) -> str:
    """The commit message of `request` in API mode: the trailers, then who git mode would
    have named as the author (GitHub is the author of a commit it signs)."""
    name, email = request.author
    trailers = {**request.trailers, CO_AUTHOR: f"{name} <{email}>"}
    return format_commit_message(request.subject, request.body, trailers)


def check_api_limits(request: CommitRequest, modes: Mapping[str, str]) -> None:
    """Refuse what the API cannot write faithfully (see the module docstring)."""
    for path, data in request.files.items():
        mode = modes.get(path)
        if mode is not None and mode not in _REGULAR:
            kind = "a symbolic link" if mode == "120000" else f"not a regular file (mode {mode})"
            raise InvalidInput.one(
                path,
                "",
                f"is {kind}: commit_mode api writes files through GitHub's API, which would "
                "replace it; set commit_mode: git in .model-bot.yaml (or --commit-mode git)",
            )
        if data is not None and len(data) > API_BLOB_LIMIT:
            raise InvalidInput.one(
                path,
                "",
                f"is {len(data) / 2**20:.1f} MiB, over the {API_BLOB_LIMIT / 2**20:.0f} MiB "
                "GitHub's API takes per file; set commit_mode: git in .model-bot.yaml (or "
                "--commit-mode git)",
            )


def _check_bot_branch(request: CommitRequest) -> None:
    if not request.branch.startswith(BOT_BRANCH_PREFIX) or request.branch == request.base:
        raise ValueError(
            f"refusing to move {request.branch!r} through the API: only {BOT_BRANCH_PREFIX}* "
            "branches, never the base"
        )


class BaseReads(Protocol):
    """What a commit through the API is built on: the base's commit, its root tree, and the
    modes of the paths the change writes."""

    def base_commit(self) -> str: ...
    def root_tree(self) -> str: ...
    def modes(self, paths: Sequence[str]) -> dict[str, str]: ...


class CloneBase:
    """`BaseReads` from a working clone's `origin/<base>`."""

    def __init__(self, repo: EnvRepo) -> None:
        self._repo = repo
        self._ref = f"origin/{repo.base}"

    def base_commit(self) -> str:
        return self._repo.head_of(self._ref)

    def root_tree(self) -> str:
        return self._repo.tree_sha(self._ref)

    def modes(self, paths: Sequence[str]) -> dict[str, str]:
        return self._repo.modes(self._ref, paths)


class ApiPublisher:
    """`Publisher` whose commits GitHub creates (and signs) on `base`; the bot's branch is
    read through `reads` (git: `ls-remote`, and a fetch of the branch when it exists)."""

    def __init__(
        self, forge: Forge, base: BaseReads, reads: Publisher, repository_id: str | None = None
    ) -> None:
        self._forge = forge
        self._base = base
        self._reads = reads
        self._repository_id = repository_id  # else read from the repository (REST node_id)

    @classmethod
    def on_clone(cls, forge: Forge, repo: EnvRepo) -> ApiPublisher:
        """Reads of the base and of the branch through a working clone."""
        return cls(forge, CloneBase(repo), GitPublisher(repo))

    # -- reading: as git mode -----------------------------------------------------------
    def remote_head(self, branch: str) -> str | None:
        return self._reads.remote_head(branch)

    def snapshot(self, branch: str, paths: Sequence[str]) -> BranchSnapshot | None:
        return self._reads.snapshot(branch, paths)

    def conflicts(self, branch: str, base: str, paths: Sequence[str]) -> bool:
        return self._reads.conflicts(branch, base, paths)

    # -- writing: through the API ---------------------------------------------------------
    def publish(self, request: CommitRequest, expected_head: str | None) -> PushResult | None:
        _check_bot_branch(request)
        modes = self._base.modes(list(request.files))
        check_api_limits(request, modes)
        parent = self._base.base_commit()
        base_tree = self._base.root_tree()
        tree = self._create_tree(base_tree, request.files, modes)
        if tree == base_tree:
            return None
        commit = self._create_commit(api_commit_message(request), tree, parent)
        return self._move(request.branch, expected_head, commit)

    def _post(self, what: str, path: str, payload: Mapping[str, Any]) -> dict[str, object]:
        return self._forge.post_json(what, path, payload)

    def _create_tree(
        self, base_tree: str, files: Mapping[str, bytes | None], modes: Mapping[str, str]
    ) -> str:
        entries: list[dict[str, Any]] = []
        for path, data in sorted(files.items()):
            mode = modes.get(path, "100644")
            entry: dict[str, Any] = {"path": path, "mode": mode, "type": "blob"}
            if data is None:
                entry["sha"] = None
            else:
                try:
                    entry["content"] = data.decode("utf-8")
                except UnicodeDecodeError:
                    blob = self._post(
                        f"create a blob for {path}",
                        "/git/blobs",
                        {"content": base64.b64encode(data).decode("ascii"), "encoding": "base64"},
                    )
                    entry["sha"] = blob["sha"]
            entries.append(entry)
        made = self._post("create a tree", "/git/trees", {"base_tree": base_tree, "tree": entries})
        return str(made["sha"])

    def _create_commit(self, message: str, tree: str, parent: str) -> str:
        made = self._post(
            "create a commit",
            "/git/commits",
            {"message": message, "tree": tree, "parents": [parent]},
        )
        return str(made["sha"])

    def _move(self, branch: str, expected: str | None, commit: str) -> PushResult:
        """Compare-and-swap the branch from `expected` to `commit` (GraphQL updateRefs)."""
        if self._repository_id is None:
            self._repository_id = self._forge.node_id()
        update = {
            "name": f"refs/heads/{branch}",
            "beforeOid": expected or ZERO_OID,
            "afterOid": commit,
            "force": True,
        }
        variables = {"input": {"repositoryId": self._repository_id, "refUpdates": [update]}}
        refused = self._forge.graphql_mutation(f"move {branch}", _UPDATE_REFS, variables)
        if refused is None:
            return PushResult("ok", branch, commit, "updated through the API")
        now = self.remote_head(branch)
        if now == commit:  # a retry after a lost answer: the first request moved it
            return PushResult("ok", branch, commit, "updated through the API")
        if now != expected:
            message = f"{branch} changed on GitHub since it was read; read it again"
            return PushResult("rejected-stale", branch, None, message)
        return PushResult("rejected-other", branch, None, refused)


__all__ = [
    "API_BLOB_LIMIT",
    "CO_AUTHOR",
    "ApiPublisher",
    "BaseReads",
    "CloneBase",
    "api_commit_message",
    "check_api_limits",
]
