"""The Git database endpoints of the fake GitHub (blobs, trees, commits) and GraphQL
``updateRefs``, on the real bare repositories: a commit made through them is a real git
commit, readable by git and by every other endpoint of the fake.

Sources (what each behaviour follows):

* REST "Git database" docs, https://docs.github.com/en/rest/git (blobs, trees, commits):
  ``POST /repos/{o}/{r}/git/blobs`` ``{content, encoding: utf-8 | base64}`` -> 201
  ``{url, sha}``; ``POST /repos/{o}/{r}/git/trees`` ``{base_tree?, tree: [{path, mode, type,
  sha | content}]}`` -> 201, "If not provided [base_tree], GitHub will create a new Git tree
  object from only the entries defined in the tree parameter", an entry's ``sha: null``
  deletes the file, "Use either tree.sha or content ... Using both ... will return an error";
  modes 100644, 100755, 040000, 160000, 120000. Request and answer shapes as recorded in
  PyGithub's tests/ReplayData/Repository.testCreateGitTreeWithBaseTree.txt (answer: the
  new tree's top-level entries, ``path, mode, type, sha, size, url``) and
  Repository.testCreateGitCommit.txt (``POST /git/commits`` ``{message, tree, parents}`` ->
  201 with ``author``, ``committer``, ``tree``, ``parents``, ``verification``; made with a
  personal token: ``{"verified": false, "reason": "unsigned", "signature": null,
  "payload": null}``).
* Signing: GitHub signs the commits it creates through the API for a GitHub App (an
  installation token, the Actions ``GITHUB_TOKEN``) when no author or committer is given,
  and they show Verified (swinton's gist "Automatically sign your commits from GitHub
  Actions, using the REST API", with ``GITHUB_TOKEN``; betahuhn/repo-file-sync-action PR
  #153, "Verified commits when using GH_INSTALLATION_TOKEN"); the committer is then
  ``GitHub <noreply@github.com>``. The ``verification`` object and its ``reason`` values
  (``valid``, ``unsigned``, ``unknown_key``...) are the REST docs' ("Create a commit",
  "Signature verification object": ``verified``, ``reason``, ``signature``, ``payload``,
  ``verified_at``). The fake signs with its own key (an HMAC in an armored block, in the
  commit object's ``gpgsig`` header, where a real signed commit carries it) and reports
  ``verified: true, reason: "valid"`` for exactly those commits; any other ``gpgsig`` is
  ``unknown_key``; none ``unsigned``. A token acts for an app when its user's type is
  ``Bot`` (installation tokens and ``GITHUB_TOKEN`` act as the app's ``NAME[bot]`` user).
* GraphQL ``updateRefs`` (docs https://docs.github.com/en/graphql/reference/mutations#updaterefs):
  "Creates, updates and/or deletes multiple refs in a repository ... performed atomically
  ... RefUpdate.beforeOid specifies that the given reference needs to point to the given
  value before performing any updates. A value of 0000000000000000000000000000000000000000
  can be used to verify that the references should not exist. RefUpdate.afterOid ...
  0000... can be used to delete a reference. If RefUpdate.force is set to true, a
  non-fast-forward updates for the given reference will be allowed." Input ``repositoryId``
  and ``refUpdates: [{name, beforeOid, afterOid, force}]``; answer ``{"data": {"updateRefs":
  {"clientMutationId": ...}}}``. A refused update is a GraphQL error (HTTP 200) whose
  wording is not verified.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _git as git
from ._model import ApiError, Repo, node_id, validation_failed

if TYPE_CHECKING:
    from ._api import JSON, Backend, Reply, Request

GIT_DOC = "https://docs.github.com/rest/git"
TREES_DOC = f"{GIT_DOC}/trees#create-a-tree"
COMMITS_DOC = f"{GIT_DOC}/commits#create-a-commit"
BLOBS_DOC = f"{GIT_DOC}/blobs#create-a-blob"
MODES = {"100644": "blob", "100755": "blob", "040000": "tree", "160000": "commit", "120000": "blob"}
ZERO = "0" * 40
#: The fake's signing key (an HMAC stands in for GitHub's GPG key).
_SIGNING_KEY = b"fake-github-web-flow"
_SIGNATURE = re.compile(
    r"-----BEGIN PGP SIGNATURE-----\n\nfake-github-web-flow ([0-9a-f]{64})\n-----END PGP SIGNATURE-----"
)
_verification_cache: dict[str, dict[str, Any]] = {}
#: (bare repo, sha) of every commit made through ``POST /git/commits``, for tests to check
#: what a run committed through the API (cleared by them).
CREATED_COMMITS: list[tuple[Path, str]] = []


# --------------------------------------------------------------------------- registration


def routes(backend: Backend, repo: str) -> list[tuple[str, str, Callable[..., Reply]]]:
    """The route table entries of this module (registered by ``Backend._build_routes``)."""
    return [
        ("POST", repo + r"/git/blobs", lambda req, **kw: create_blob(backend, req, **kw)),
        (
            "GET",
            repo + r"/git/blobs/(?P<sha>[0-9a-fA-F]{40})",
            lambda req, **kw: get_blob(backend, req, **kw),
        ),
        ("POST", repo + r"/git/trees", lambda req, **kw: create_tree(backend, req, **kw)),
        (
            "GET",
            repo + r"/git/trees/(?P<sha>[0-9a-fA-F]{40})",
            lambda req, **kw: get_tree(backend, req, **kw),
        ),
        ("POST", repo + r"/git/commits", lambda req, **kw: create_commit(backend, req, **kw)),
    ]


def endpoint_counts(backend: Backend, requests: list[Any]) -> Counter[str]:
    """Requests per endpoint: ``"METHOD route-pattern"`` -> how many (a GraphQL request by its
    first mutation or query field), for tests and benchmarks to budget each endpoint."""
    counts: Counter[str] = Counter()
    for request in requests:
        path = request.path.rstrip("/") or "/"
        name = f"{request.method} {path}"
        for method, pattern, _handler in backend.routes:
            if method == request.method and pattern.fullmatch(path):
                name = f"{method} {pattern.pattern}"
                break
        counts[name] += 1
    return counts


# --------------------------------------------------------------------------- verification


def _signature_for(payload: bytes) -> str:
    mac = hmac.new(_SIGNING_KEY, payload, hashlib.sha256).hexdigest()
    return (
        f"-----BEGIN PGP SIGNATURE-----\n\nfake-github-web-flow {mac}\n-----END PGP SIGNATURE-----"
    )


def _split_signature(raw: bytes) -> tuple[str | None, bytes]:
    """A commit object's ``gpgsig`` header (unfolded) and the payload signed (the object
    without that header), as git's signature verification splits them."""
    header, sep, message = raw.partition(b"\n\n")
    lines = header.split(b"\n")
    kept: list[bytes] = []
    signature: list[bytes] = []
    inside = False
    for line in lines:
        if line.startswith(b"gpgsig "):
            inside = True
            signature.append(line[len(b"gpgsig ") :])
        elif inside and line.startswith(b" "):
            signature.append(line[1:])
        else:
            inside = False
            kept.append(line)
    payload = b"\n".join(kept) + sep + message
    return (b"\n".join(signature).decode() if signature else None), payload


def verification(bare: Path, sha: str) -> dict[str, Any]:
    """A commit's ``verification`` object, as GitHub reports it (objects never change, so
    the answer is cached by sha)."""
    cached = _verification_cache.get(sha)
    if cached is not None:
        return dict(cached)
    proc = git.run(bare, "cat-file", "commit", sha, check=False)
    signature, payload = _split_signature(proc.stdout) if proc.returncode == 0 else (None, b"")
    if signature is None:
        found: dict[str, Any] = {
            "verified": False,
            "reason": "unsigned",
            "signature": None,
            "payload": None,
        }
    else:
        ours = _SIGNATURE.fullmatch(signature.strip())
        valid = ours is not None and hmac.compare_digest(signature.strip(), _signature_for(payload))
        found = {
            "verified": valid,
            "reason": "valid" if valid else "unknown_key",
            "signature": signature,
            "payload": payload.decode("utf-8", errors="replace"),
        }
    found["verified_at"] = None
    _verification_cache[sha] = found
    return dict(found)


# --------------------------------------------------------------------------- blobs


def create_blob(backend: Backend, req: Request, owner: str, name: str) -> Reply:
    from ._api import Reply

    repo = backend._repo(req, owner, name, need="write")
    body = backend._dict_body(req)
    content, encoding = body.get("content"), body.get("encoding", "utf-8")
    if not isinstance(content, str):
        raise ApiError(422, 'Invalid request.\n\n"content" wasn\'t supplied.', None, BLOBS_DOC)
    if encoding == "base64":
        data = base64.b64decode(content)
    elif encoding == "utf-8":
        data = content.encode("utf-8")
    else:  # the docs: "Supported encodings are "utf-8" and "base64"" (wording not verified)
        raise ApiError(422, f"encoding {encoding!r} is not supported", None, BLOBS_DOC)
    sha = git.out(repo.path, "hash-object", "-w", "--stdin", input=data)
    url = f"{backend.repo_api(repo)}/git/blobs/{sha}"
    return Reply(201, {"url": url, "sha": sha}, {"Location": url})


def get_blob(backend: Backend, req: Request, owner: str, name: str, sha: str) -> Reply:
    from ._api import Reply

    repo = backend._repo(req, owner, name)
    if git.object_type(repo.path, sha) != "blob":
        raise ApiError(404, "Not Found", None, f"{GIT_DOC}/blobs#get-a-blob")
    data = git.run(repo.path, "cat-file", "blob", sha).stdout
    return Reply(
        200,
        {
            "sha": sha,
            "node_id": node_id("Blob", int(sha[:12], 16)),
            "size": len(data),
            "url": f"{backend.repo_api(repo)}/git/blobs/{sha}",
            "content": base64.encodebytes(data).decode("ascii"),
            "encoding": "base64",
        },
    )


# --------------------------------------------------------------------------- trees


def _tree_json(backend: Backend, repo: Repo, sha: str, recursive: bool = False) -> JSON:
    api = backend.repo_api(repo)
    args = ["ls-tree", "-l", "-z", *(["-r", "-t"] if recursive else []), sha]
    entries = []
    for record in git.run(repo.path, *args).stdout.decode("utf-8", "replace").split("\0"):
        if not record:
            continue
        meta, _, path = record.partition("\t")
        mode, kind, oid, size = meta.split()
        entry: JSON = {"path": path, "mode": mode, "type": kind, "sha": oid}
        if kind == "blob":
            entry["size"] = int(size)
        entry["url"] = f"{api}/git/{kind}s/{oid}"
        entries.append(entry)
    return {"sha": sha, "url": f"{api}/git/trees/{sha}", "tree": entries, "truncated": False}


def get_tree(backend: Backend, req: Request, owner: str, name: str, sha: str) -> Reply:
    from ._api import Reply

    repo = backend._repo(req, owner, name)
    kind = git.object_type(repo.path, sha)
    if kind == "commit":
        sha = git.out(repo.path, "rev-parse", f"{sha}^{{tree}}")
    elif kind != "tree":
        raise ApiError(404, "Not Found", None, f"{GIT_DOC}/trees#get-a-tree")
    recursive = req.query.get("recursive") not in (None, "", "0", "false")
    return Reply(200, _tree_json(backend, repo, sha, recursive))


def _entry_error(index: int, why: str) -> ApiError:
    # GitHub's wording for a bad tree entry is not verified; the status (422) is the docs'.
    return ApiError(422, f"tree.{index}: {why}", None, TREES_DOC)


def _edit_tree(
    bare: Path, tree: str | None, changes: dict[str, tuple[str, str] | None]
) -> str | None:
    """`tree` with `changes` applied (path -> (mode, oid), None removes the path): only the
    trees on the changed paths are rewritten (`git mktree`), as a server does, so the cost
    does not grow with the size of unchanged folders' subtrees. None: the tree is empty
    (git keeps no empty folder)."""
    entries: dict[str, tuple[str, str, str]] = {}  # name -> (mode, type, oid)
    if tree is not None:
        for record in git.run(bare, "ls-tree", "-z", tree).stdout.split(b"\0"):
            if record:
                meta, _, name = record.partition(b"\t")
                mode, kind, oid = meta.decode().split(" ")
                entries[name.decode("utf-8", "surrogateescape")] = (mode, kind, oid)
    below: dict[str, dict[str, tuple[str, str] | None]] = {}
    for path, change in changes.items():
        head, sep, rest = path.partition("/")
        if sep:
            below.setdefault(head, {})[rest] = change
        elif change is None:
            if head in entries and entries[head][1] != "tree":
                del entries[head]
        else:
            entries[head] = (change[0], "blob", change[1])
    for name, inner in below.items():
        current = entries.get(name)
        subtree = current[2] if current is not None and current[1] == "tree" else None
        if subtree is None and all(change is None for change in inner.values()):
            continue
        made = _edit_tree(bare, subtree, inner)
        if made is None:
            entries.pop(name, None)
        else:
            entries[name] = ("040000", "tree", made)
    if not entries:
        return None
    listing = b"".join(
        f"{mode} {kind} {oid}\t".encode() + name.encode("utf-8", "surrogateescape") + b"\0"
        for name, (mode, kind, oid) in sorted(entries.items())
    )
    # --missing: the entries come from trees the repository holds (no lookup of each one).
    return git.out(bare, "mktree", "-z", "--missing", input=listing)


def create_tree(backend: Backend, req: Request, owner: str, name: str) -> Reply:
    from ._api import Reply

    repo = backend._repo(req, owner, name, need="write")
    body = backend._dict_body(req)
    entries, base_tree = body.get("tree"), body.get("base_tree")
    if not isinstance(entries, list):
        raise ApiError(422, 'Invalid request.\n\n"tree" wasn\'t supplied.', None, TREES_DOC)
    if base_tree is not None and (
        not isinstance(base_tree, str) or git.object_type(repo.path, base_tree) != "tree"
    ):
        raise validation_failed(
            [{"resource": "Tree", "field": "base_tree", "code": "invalid"}], TREES_DOC
        )
    changes: dict[str, tuple[str, str] | None] = {}  # path -> (mode, oid); None removes it
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise _entry_error(index, "not an object")
        path, mode, kind = entry.get("path"), entry.get("mode"), entry.get("type")
        if not isinstance(path, str) or not path or path.startswith("/") or ".." in path:
            raise _entry_error(index, "path is invalid")
        if mode not in MODES or kind != MODES[mode]:
            raise _entry_error(index, f"mode {mode!r} and type {kind!r} do not match")
        has_sha, has_content = "sha" in entry, "content" in entry
        if has_sha and has_content:
            raise _entry_error(index, "use either sha or content, not both")
        if has_sha and entry["sha"] is None:
            changes[path] = None  # a missing path is no error
            continue
        if has_content:
            content = entry["content"]
            if not isinstance(content, str):
                raise _entry_error(index, "content must be a string")
            oid = git.out(repo.path, "hash-object", "-w", "--stdin", input=content.encode())
        elif has_sha and isinstance(entry["sha"], str):
            oid = entry["sha"]
            if git.object_type(repo.path, oid) != kind:
                raise _entry_error(index, f"{oid} is not a {kind}")
        else:
            raise _entry_error(index, "sha or content is required")
        if kind == "tree":
            raise _entry_error(index, "subtrees by sha are not served by the fake")
        changes[path] = (str(mode), oid)
    sha = _edit_tree(repo.path, base_tree, changes) or git.out(repo.path, "mktree", "-z", input=b"")
    url = f"{backend.repo_api(repo)}/git/trees/{sha}"
    return Reply(201, _tree_json(backend, repo, sha), {"Location": url})


# --------------------------------------------------------------------------- commits


def _person(value: Any, field: str) -> git.Signature | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not value.get("name") or not value.get("email"):
        raise validation_failed(
            [{"resource": "Commit", "field": field, "code": "invalid"}], COMMITS_DOC
        )
    return git.Signature(str(value["name"]), str(value["email"]), int(time.time()))


def create_commit(backend: Backend, req: Request, owner: str, name: str) -> Reply:
    from ._api import GITHUB_SIGNATURE, Reply

    repo = backend._repo(req, owner, name, need="write")
    body = backend._dict_body(req)
    message, tree, parents = body.get("message"), body.get("tree"), body.get("parents", [])
    if not isinstance(message, str):
        raise ApiError(422, 'Invalid request.\n\n"message" wasn\'t supplied.', None, COMMITS_DOC)
    if not isinstance(tree, str) or git.object_type(repo.path, tree) != "tree":
        raise ApiError(422, "Tree SHA does not exist", None, COMMITS_DOC)
    if not isinstance(parents, list) or any(
        not isinstance(p, str) or git.object_type(repo.path, p) != "commit" for p in parents
    ):
        raise ApiError(
            422, "Parent SHA does not exist or is not a commit object", None, COMMITS_DOC
        )
    author = _person(body.get("author"), "author")
    committer = _person(body.get("committer"), "committer")
    user = req.user
    now = int(time.time())
    noreply = f"{user.id}+{user.login}@users.noreply.github.com"
    default = git.Signature(user.name or user.login, user.email or noreply, now)
    # GitHub signs only what it authors itself: an app's token, no author, no committer.
    signs = user.type == "Bot" and author is None and committer is None
    author = author or default
    committer = committer or (
        git.Signature(GITHUB_SIGNATURE[0], GITHUB_SIGNATURE[1], now) if signs else author
    )
    lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
    lines.append(f"author {author.name} <{author.email}> {author.timestamp} +0000")
    lines.append(f"committer {committer.name} <{committer.email}> {committer.timestamp} +0000")
    payload = ("\n".join(lines) + "\n\n" + message).encode("utf-8")
    raw = payload
    if signs:
        folded = _signature_for(payload).replace("\n", "\n ")
        lines.append(f"gpgsig {folded}")
        raw = ("\n".join(lines) + "\n\n" + message).encode("utf-8")
    sha = git.out(repo.path, "hash-object", "-t", "commit", "-w", "--stdin", input=raw)
    CREATED_COMMITS.append((repo.path, sha))
    info = git.commit_info(repo.path, sha)
    assert info is not None
    api, html = backend.repo_api(repo), backend.repo_html(repo)
    data = {
        "sha": sha,
        "node_id": node_id("Commit", int(sha[:12], 16)),
        "url": f"{api}/git/commits/{sha}",
        "html_url": f"{html}/commit/{sha}",
        "author": {"name": author.name, "email": author.email, "date": info.author_date},
        "committer": {
            "name": committer.name,
            "email": committer.email,
            "date": info.committer_date,
        },
        "tree": {"sha": tree, "url": f"{api}/git/trees/{tree}"},
        "message": message,
        "parents": [
            {"sha": p, "url": f"{api}/git/commits/{p}", "html_url": f"{html}/commit/{p}"}
            for p in parents
        ],
        "verification": verification(repo.path, sha),
    }
    return Reply(201, data, {"Location": f"{api}/git/commits/{sha}"})


# --------------------------------------------------------------------------- GraphQL


_UPDATE_REFS = re.compile(r"\bupdateRefs\s*\(\s*input\s*:\s*\$(\w+)\s*\)")


def graphql_mutation(backend: Backend, req: Request, query: str, body: JSON) -> Reply | None:
    """``updateRefs``, or None when the query is not one of this module's."""
    from ._api import Reply

    found = _UPDATE_REFS.search(query)
    if found is None or not query.lstrip().startswith("mutation"):
        return None
    variables = body.get("variables") if isinstance(body.get("variables"), dict) else {}
    inputs = variables.get(found.group(1)) if isinstance(variables, dict) else None
    inputs = inputs if isinstance(inputs, dict) else {}

    def error(message: str, kind: str = "UNPROCESSABLE") -> Reply:
        return Reply(
            200,
            {
                "data": {"updateRefs": None},
                "errors": [{"type": kind, "path": ["updateRefs"], "message": message}],
            },
        )

    repo_id = str(inputs.get("repositoryId") or "")
    repo = next((r for r in backend.repos.values() if node_id("Repository", r.id) == repo_id), None)
    if repo is None:
        return error(f"Could not resolve to a node with the global id of '{repo_id}'.", "NOT_FOUND")
    try:
        backend._repo(req, repo.owner, repo.name, need="write")
    except ApiError as refused:
        return error(refused.message, "FORBIDDEN")
    updates = inputs.get("refUpdates")
    if not isinstance(updates, list) or not updates:
        return error("refUpdates must name at least one ref")
    planned: list[tuple[str, str | None, str, str | None]] = []
    for update in updates:
        if not isinstance(update, dict):
            return error("a RefUpdate must be an object")
        ref, before, after = update.get("name"), update.get("beforeOid"), update.get("afterOid")
        if not isinstance(ref, str) or not ref.startswith("refs/") or not isinstance(after, str):
            return error(f"invalid RefUpdate for {ref!r}")
        current = git.read_ref(repo.path, ref)
        if before is not None and (current or ZERO) != before:
            return error(f"{ref} is at {current or ZERO}, not at the expected {before}")
        if after != ZERO and git.object_type(repo.path, after) != "commit":
            return error(f"{after} is not a commit")
        if (
            after != ZERO
            and current is not None
            and not update.get("force")
            and not git.is_ancestor(repo.path, current, after)
        ):
            return error(f"{ref}: not a fast-forward (set force to move it anyway)")
        planned.append((ref, current, after, before))
    # One `git update-ref --stdin` transaction: all or nothing, each checked against the old
    # value just read (the lock `Backend.handle` holds serialises the fake's requests too).
    lines = []
    for ref, current, after, _before in planned:
        old = current or ZERO
        lines.append(f"delete {ref} {old}" if after == ZERO else f"update {ref} {after} {old}")
    done = git.run(
        repo.path, "update-ref", "--stdin", input=("\n".join(lines) + "\n").encode(), check=False
    )
    if done.returncode != 0:
        return error("the refs moved while being updated")
    return Reply(
        200, {"data": {"updateRefs": {"clientMutationId": inputs.get("clientMutationId")}}}
    )


__all__ = ["CREATED_COMMITS", "endpoint_counts", "graphql_mutation", "routes", "verification"]
