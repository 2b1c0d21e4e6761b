"""GraphQL reads of files and folders by path, on the real bare repositories.

GitHub's GraphQL API reads a folder and its files' text in one request:
``repository(owner: $owner, name: $name) { ALIAS: object(expression: $e) { ...F } }`` where
the expression is ``REV:PATH`` (``REV:`` the root tree) and ``F`` a fragment ``on GitObject``
selecting ``oid``, ``__typename``, ``... on Blob { byteSize isBinary isTruncated text }``
and ``... on Tree { entries { name type mode object { ... } } }`` nested some levels.

Shapes, from GitHub's GraphQL reference (https://docs.github.com/en/graphql/reference/objects,
"Blob", "Tree", "TreeEntry"; the schema as mirrored at
https://2fd.github.io/graphdoc/github/blob.doc.html):

* ``Repository.id``: the repository's global node id (REST's ``node_id``);
* ``Repository.object(expression: String)``: "A Git object in the repository", null when the
  expression names nothing (a missing path is ``null``, not an error);
* ``Blob``: ``byteSize: Int!``, ``isBinary: Boolean!`` ("whether the Blob is binary or
  text"), ``isTruncated: Boolean!``, ``oid``, ``text: String`` ("UTF8 text data or null if
  the Blob is binary");
* ``Tree``: ``oid``, ``entries: [TreeEntry!]``; ``TreeEntry``: ``name``, ``type`` (``blob``,
  ``tree``, ``commit``), ``mode: Int!`` (the git mode's octal digits read as a decimal
  number: 100644, 100755, 120000, 40000), ``object``.

Not verified against GitHub: where ``isTruncated`` starts. The fake truncates text above
1 MB (``TEXT_LIMIT``), the size above which the contents API also leaves a file's content
out ("Between 1-100 MB: ... the content field will be an empty string", REST docs
https://docs.github.com/rest/repos/contents#get-repository-content); a reader then takes the
blob from ``GET /git/blobs/{oid}``. Binary: git's own rule (a NUL byte in the first 8000).

The fake has no GraphQL parser: it recognises this query's shape only (aliases of
``object(expression: $VAR) { ...FRAGMENT }``, the nesting depth of each fragment's
``entries``), and answers every field above whatever the selection names.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from . import _git as git
from ._model import ApiError, node_id

if TYPE_CHECKING:
    from ._api import Backend, Reply, Request

TEXT_LIMIT = 1024 * 1024
_REPOSITORY = re.compile(r"\brepository\s*\(\s*owner\s*:\s*\$(\w+)\s*,\s*name\s*:\s*\$(\w+)\s*\)")
_ALIAS = re.compile(r"(\w+)\s*:\s*object\s*\(\s*expression\s*:\s*\$(\w+)\s*\)\s*\{\s*\.\.\.(\w+)")
_FRAGMENT = re.compile(r"fragment\s+(\w+)\s+on\s+GitObject\s*\{")


def _fragments(query: str) -> dict[str, int]:
    """fragment name -> how many levels of `entries` it nests."""
    found: dict[str, int] = {}
    for match in _FRAGMENT.finditer(query):
        depth, at, nesting, deepest = 1, match.end(), 0, 0
        while at < len(query) and depth:
            char = query[at]
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
            elif query.startswith("entries", at):
                nesting += 1
                deepest = max(deepest, nesting)
            at += 1
        found[match.group(1)] = deepest
    return found


def _blob(bare: Any, oid: str) -> dict[str, Any]:
    data = git.run(bare, "cat-file", "blob", oid).stdout
    binary = b"\0" in data[:8000]
    truncated = not binary and len(data) > TEXT_LIMIT
    text = None if binary or truncated else data.decode("utf-8", errors="replace")
    return {
        "__typename": "Blob",
        "oid": oid,
        "byteSize": len(data),
        "isBinary": binary,
        "isTruncated": truncated,
        "text": text,
    }


def _tree(bare: Any, spec: str, oid: str, depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"__typename": "Tree", "oid": oid}
    if depth <= 0:
        return node
    entries = []
    for entry in git.list_tree(bare, spec, "") or []:
        obj: dict[str, Any] | None
        if entry.type == "blob":
            obj = _blob(bare, entry.sha)
        elif entry.type == "tree":
            obj = _tree(bare, entry.sha, entry.sha, depth - 1)
        else:
            obj = {"__typename": "Commit", "oid": entry.sha}
        name = entry.path.rsplit("/", 1)[-1]
        entries.append({"name": name, "type": entry.type, "mode": int(entry.mode), "object": obj})
    node["entries"] = entries
    return node


def _object(bare: Any, expression: str, depth: int) -> dict[str, Any] | None:
    rev, sep, path = expression.partition(":")
    if not sep:
        return None
    spec = f"{rev}:{path}" if path else f"{rev}^{{tree}}"
    kind = git.run(bare, "cat-file", "-t", spec, check=False)
    if kind.returncode != 0:
        return None
    oid = git.out(bare, "rev-parse", spec)
    found = kind.stdout.strip()
    if found == b"blob":
        return _blob(bare, oid)
    if found == b"tree":
        return _tree(bare, oid, oid, depth)
    return None


def graphql_query(backend: Backend, req: Request, query: str, body: Any) -> Reply | None:
    """The read query, or None when the query is not this module's."""
    from ._api import Reply

    repository = _REPOSITORY.search(query)
    aliases = _ALIAS.findall(query)
    if repository is None or not aliases or query.lstrip().startswith("mutation"):
        return None
    variables = body.get("variables") if isinstance(body.get("variables"), dict) else {}
    owner, name = variables.get(repository.group(1)), variables.get(repository.group(2))
    try:
        repo = backend._repo(req, str(owner), str(name))
    except ApiError:
        # GitHub's answer for a repository the token cannot see (GraphQL reference,
        # "Errors": type NOT_FOUND, data null).
        return Reply(
            200,
            {
                "data": {"repository": None},
                "errors": [
                    {
                        "type": "NOT_FOUND",
                        "path": ["repository"],
                        "message": f"Could not resolve to a Repository with the name "
                        f"'{owner}/{name}'.",
                    }
                ],
            },
        )
    fragments = _fragments(query)
    answer: dict[str, Any] = {"id": node_id("Repository", repo.id)}
    for alias, variable, fragment in aliases:
        expression = variables.get(variable)
        if not isinstance(expression, str):
            answer[alias] = None
            continue
        answer[alias] = _object(repo.path, expression, fragments.get(fragment, 0))
    return Reply(200, {"data": {"repository": answer}})


__all__ = ["TEXT_LIMIT", "graphql_query"]
