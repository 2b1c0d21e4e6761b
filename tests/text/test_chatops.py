"""ChatOps replies and permissions (bot.text.chatops, bot.core.permissions)."""

from __future__ import annotations

import pytest

from bot.core.permissions import permission_allows
from bot.text.chatops import error_line, error_reply, help_reply, refusal_reply
from bot.text.markdown import escape
from bot.text.redact import REDACTED

# --- permissions and replies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("have", "need", "allowed"),
    [
        ("admin", "write", True),
        ("write", "write", True),
        ("read", "write", False),
        ("none", "write", False),
        ("", "write", False),
        ("weird", "read", False),
        ("read", "read", True),
        ("read", "triage", False),  # the REST endpoint reports triage as read: a lower bound
        ("write", "maintain", False),  # ... and maintain as write
        ("admin", "admin", True),
        ("WRITE", "write", True),
    ],
)
def test_permission_allows(have: str, need: str, allowed: bool) -> None:
    assert permission_allows(have, need) is allowed


def test_refusal_names_both_levels() -> None:
    text = refusal_reply("rita", "write", "read")
    assert "@rita" in text and "**write**" in text and "**read**" in text


def test_a_login_that_is_not_a_login_is_not_a_mention() -> None:
    assert "@" not in refusal_reply("evil <b>@everyone</b>", "write", "read").split("`")[0]


def test_error_reply_is_one_escaped_line_without_secrets() -> None:
    token = "ghs_secret123"
    text = error_reply("alice", f"boom {token}\nsecond `line` <b>@team</b>", (token,))
    first = text.split("\n\n")[0]
    assert token not in text and escape(REDACTED) in first
    assert "\\`line\\`" in first and "&lt;b&gt;" in first and "@\u200dteam" in first
    assert len(error_line("x" * 10_000)) <= 300


def test_help_lists_the_commands() -> None:
    text = help_reply()
    for usage in ("`/rollback [reason]`", "`/rollback <model> <environment> [reason]`", "`/help`"):
        assert usage in text
