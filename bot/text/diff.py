"""`git diff`-like text of a change: the one diff function (dry runs, local mode, revert PRs). Pure."""

from __future__ import annotations

import difflib
from collections.abc import Mapping


def unified_diff(before: Mapping[str, bytes | None], after: Mapping[str, bytes | None]) -> str:
    """`git diff`-like text of the files that change.

    A path missing from a side, or mapped to `None`, is a file that does not exist there:
    missing before, it is created; missing after, it is deleted. Lines split at '\\n' only,
    as git splits them; a last line without a newline is marked as git marks it.
    """
    out: list[str] = []
    for path in sorted(set(before) | set(after)):
        old = before.get(path)
        new = after.get(path)
        if old == new:
            continue
        fromfile = "/dev/null" if old is None else f"a/{path}"
        tofile = "/dev/null" if new is None else f"b/{path}"
        lines = list(difflib.unified_diff(_diff_lines(old), _diff_lines(new), fromfile, tofile))
        # An empty file created or deleted has no hunk: show that it comes or goes.
        out.extend(lines or [f"--- {fromfile}\n", f"+++ {tofile}\n"])
    return "".join(line if line.endswith("\n") else _no_newline(line) for line in out)


def _diff_lines(data: bytes | None) -> list[str]:
    """Lines as git sees them: split at '\\n' only (a '\\r' or form feed is content)."""
    if not data:
        return []
    lines = data.decode("utf-8", "replace").split("\n")
    return [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def _no_newline(line: str) -> str:
    return line + "\n\\ No newline at end of file\n"


__all__ = ["unified_diff"]
