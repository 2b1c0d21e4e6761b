"""Commit trailers: built, sanitised, formatted and read back by one module."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.marker import ProposalMeta
from bot.core.trailers import (
    NO_REASON,
    BotCommit,
    bot_trailers,
    format_commit_message,
    parse_trailers,
    read_bot_commit,
    trailer_value,
)

META = ProposalMeta("promote", "fraud-detector", "production", "7", "6")


def test_bot_trailers_name_the_change_then_the_sanitised_extras() -> None:
    trailers = bot_trailers(META, {"MLflow-Run": "abc123", "Code-Commit": None})
    assert trailers == {
        "Model": "fraud-detector",
        "Model-Version": "7",
        "Previous-Version": "6",
        "Environment": "production",
        "Action": "promote",
        "MLflow-Run": "abc123",
    }
    first = ProposalMeta("promote", "m", "staging", "1", None)
    assert bot_trailers(first)["Previous-Version"] == "none"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("run\nid", "run id"),
        ("  a \t b  ", "a b"),
        ("x\u2028y\u2029z", "x y z"),
        ("\u202eevil", "evil"),
        ("\x1b[31mred", "[31mred"),
        ("", ""),
        (None, ""),
        ("y" * 300, "y" * 199 + "…"),
    ],
)
def test_trailer_value_is_one_bounded_printable_line(value: str | None, expected: str) -> None:
    assert trailer_value(value) == expected


def test_an_untrusted_extra_cannot_forge_a_trailer() -> None:
    trailers = bot_trailers(META, {"Reason": "ok\nAction: rollback\nModel: other"})
    text = format_commit_message("Promote", "", trailers)
    parsed = parse_trailers(text)
    assert parsed["Action"] == "promote" and parsed["Model"] == "fraud-detector"
    assert parsed["Reason"] == "ok Action: rollback Model: other"


def test_read_bot_commit_reads_back_what_bot_trailers_wrote() -> None:
    rollback = ProposalMeta("rollback", "fraud-detector", "production", "6", "7")
    text = format_commit_message(
        "Roll back", "", bot_trailers(rollback, {"Reason": "canary failed"})
    )
    assert read_bot_commit(parse_trailers(text)) == BotCommit(
        action="rollback",
        model="fraud-detector",
        environment="production",
        version="6",
        previous_version="7",
        reason="canary failed",
    )
    first = bot_trailers(ProposalMeta("promote", "m", "staging", "1", None))
    assert read_bot_commit(first) is not None
    assert read_bot_commit(first).previous_version is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "trailers",
    [
        {},
        {"Model": "m", "Environment": "e"},
        {"Model": "m", "Environment": "e", "Action": "merge"},
        {"Environment": "e", "Action": "promote"},
        {"Model": "m", "Action": "promote"},
    ],
)
def test_a_commit_the_bot_did_not_make_is_none(trailers: dict[str, str]) -> None:
    assert read_bot_commit(trailers) is None


def test_no_reason_is_a_sentence() -> None:
    assert NO_REASON == "no reason given"


def test_format_and_parse_trailers_round_trip() -> None:
    trailers = bot_trailers(ProposalMeta("promote", "fraud", "production", "7", "6")) | {
        "Reason": "gates passed: 4/4"
    }
    text = format_commit_message("Promote fraud to 7", "Body line.\n\n# Heading", trailers)
    assert text == (
        "Promote fraud to 7\n\nBody line.\n\n# Heading\n\n"
        "Model: fraud\nModel-Version: 7\nPrevious-Version: 6\nEnvironment: production\n"
        "Action: promote\nReason: gates passed: 4/4\n"
    )
    assert parse_trailers(text) == trailers


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Subject only", {}),
        ("Model: looks like a trailer but is the subject", {}),
        ("Subject\n\nModel: a\nAction: promote\n", {"Model": "a", "Action": "promote"}),
        ("Subject\n\nModel: a\nnot a trailer\n", {}),
        ("Subject\n\nModel: a\n\nbody after trailers\n", {}),
        ("Subject\n\nReason: one\n  continued\n", {"Reason": "one continued"}),
        ("Subject\n\nModel: a\nModel: b\n", {"Model": "b"}),
        ("Subject\r\n\r\nModel: a\r\n", {"Model": "a"}),
        (
            "Revert\n\nModel: a\n(cherry picked from commit 0123)\n",
            {"Model": "a"},
        ),
    ],
)
def test_parse_trailers_table(message: str, expected: dict[str, str]) -> None:
    assert parse_trailers(message) == expected


@pytest.mark.parametrize(
    ("subject", "trailers"),
    [
        ("", {}),
        ("two\nlines", {}),
        ("ok", {"Bad Key": "x"}),
        ("ok", {"Model\n": "x"}),
        ("ok", {"Model": "multi\nline"}),
        ("ok", {"Model": ""}),
        ("ok", {"Model": "tab\x00nul"}),
    ],
)
def test_format_commit_message_rejects(subject: str, trailers: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        format_commit_message(subject, "", trailers)


_keys = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,20}", fullmatch=True)
_values = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x85"),
    min_size=1,
    max_size=40,
).filter(lambda v: v.strip() != "")


@given(st.dictionaries(_keys, _values, max_size=8), st.text(max_size=200))
def test_trailers_round_trip_property(trailers: dict[str, str], body: str) -> None:
    text = format_commit_message("Subject", body.replace("\r", ""), trailers)
    expected = {k: v.strip() for k, v in trailers.items()}
    assert parse_trailers(text) == expected
