"""Untrusted text as inert GitHub markdown: the one set of escaping helpers. Pure.

`escape`, `code` and `link` make outside text (metric names, versions, reasons, URLs) literal:
no raw HTML, no @-mentions or #-references, no broken tables, no backtick breakout.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from bot.core.untrusted import printable

ZWJ = "\u200d"  # zero-width joiner: breaks @mentions and #refs without changing the look
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MARKDOWN = set("\\`*_[]|~")
_SAFE_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#@!$&'*+,;=%]+")


# --- making untrusted text inert -------------------------------------------------------------


def escape(text: str) -> str:
    """Untrusted text as literal markdown, safe inline and inside a table cell."""
    out = []
    cleaned = printable(text)
    for i, ch in enumerate(cleaned):
        if ch in _HTML:
            out.append(_HTML[ch])
        elif ch in _MARKDOWN:
            out.append("\\" + ch)
        elif ch == "@":
            out.append("@" + ZWJ)
        elif ch == "#" and cleaned[i + 1 : i + 2].isalnum():
            out.append("#" + ZWJ)
        else:
            out.append(ch)
    return "".join(out)


def code(text: str, *, in_table: bool = True) -> str:
    """Untrusted text as a code span: literal, no mentions, no HTML. The fence is longer than
    any run of backticks inside; in a table `|` is escaped (GitHub unescapes it there)."""
    cleaned = printable(text)
    if not cleaned.strip():
        return escape(cleaned) or "—"
    longest = max((len(run) for run in re.findall(r"`+", cleaned)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if cleaned[0] in "` " or cleaned[-1] in "` " else ""
    if in_table:
        cleaned = cleaned.replace("|", "\\|")
    return f"{fence}{pad}{cleaned}{pad}{fence}"


def link(label: str, url: str | None) -> str:
    """`[label](url)` for a plain http(s) URL; anything else is shown as code, not linked."""
    if url and _SAFE_URL.fullmatch(url):
        return f"[{escape(label)}]({url})"
    if url:
        return f"{escape(label)} ({code(url)})"
    return escape(label)


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


__all__ = ["ZWJ", "code", "escape", "link", "table"]
