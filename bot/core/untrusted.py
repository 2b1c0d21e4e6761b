"""Untrusted text made safe to show on one line: the one set of cleaning helpers.

Everything that comes from outside (a comment, a reason, a run id, an error message) passes
through these before it is printed, put in a trailer or escaped into markdown
(`bot.text.markdown`). Pure.
"""

from __future__ import annotations

import re
import unicodedata

ELLIPSIS = "…"
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def printable(text: str) -> str:
    """`text` with control characters and line or paragraph separators as spaces and lone
    surrogates (possible in JSON input) as U+FFFD: nothing a terminal would interpret."""
    out = []
    for char in str(text):
        category = unicodedata.category(char)
        if category == "Cs":
            out.append("\ufffd")
        elif category in ("Cc", "Zl", "Zp"):
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def one_line(text: str) -> str:
    """`printable` text with bidirectional overrides removed and every run of whitespace one
    space, stripped: what a one-line field (a trailer, a reason, a log line) may hold."""
    return " ".join(_BIDI.sub(" ", printable(text)).split())


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


__all__ = ["ELLIPSIS", "one_line", "printable", "truncate"]
