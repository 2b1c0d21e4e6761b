"""The one set of cleaning helpers for untrusted text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.untrusted import ELLIPSIS, one_line, printable, truncate


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("a\nb\rc\td", "a b c d"),
        ("\x1b[31mred\x07", " [31mred "),
        ("line\u2028para\u2029end", "line para end"),
        ("\ud800lone", "\ufffdlone"),
        ("keeps  double  spaces", "keeps  double  spaces"),
        ("\u202eright-to-left stays for printable", "\u202eright-to-left stays for printable"),
    ],
)
def test_printable(text: str, expected: str) -> None:
    assert printable(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  a \n\n b\t c  ", "a b c"),
        ("\u202eevil\u2066x\u2069", "evil x"),
        ("\u200eltr mark", "ltr mark"),
        ("", ""),
        ("\x00\x01", ""),
    ],
)
def test_one_line(text: str, expected: str) -> None:
    assert one_line(text) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("eleven char", 10, "eleven ch" + ELLIPSIS),
        ("trailing space cut", 10, "trailing" + ELLIPSIS),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected


@given(st.text(), st.integers(min_value=1, max_value=50))
def test_one_line_truncated_is_one_bounded_line(text: str, limit: int) -> None:
    line = truncate(one_line(text), limit)
    assert len(line) <= limit
    assert "\n" not in line and "\r" not in line and line == line.strip()
    assert all(ord(c) >= 32 and c not in "\x7f\u2028\u2029" for c in line)
