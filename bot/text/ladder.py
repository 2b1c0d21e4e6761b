"""What the ladder says to people: why a promotion may not land now, and the PR note of a
skipped ladder (its reason is untrusted text)."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.core.ladder import Gate
from bot.core.untrusted import one_line, truncate
from bot.text.markdown import escape


def moment(when: datetime) -> str:
    """`2026-11-30 12:00Z`."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%MZ")


def closed_reason(gate: Gate) -> str:
    """The rule's reason, with when it opens where that is known."""
    if gate.opens_at is None:
        return gate.reason
    return f"{gate.reason} (opens {moment(gate.opens_at)})"


def ladder_skipped_note(reason: str) -> str:
    """The PR body's note that the version skipped the ladder, and why."""
    return (
        "> [!WARNING]\n"
        "> **The ladder was skipped** (`--skip-ladder`): this version did not soak where this "
        f"environment requires. Reason: {escape(truncate(one_line(reason), 300))}"
    )


__all__ = ["closed_reason", "ladder_skipped_note", "moment"]
