"""The hidden PR marker round-trips, and a broken one reads as none."""

from __future__ import annotations

import pytest

from bot.core.marker import MARKER_PREFIX, ProposalMeta, read_marker


@pytest.mark.parametrize("previous", ["6", None])
def test_marker_round_trip(previous: str | None) -> None:
    meta = ProposalMeta("promote", "fraud", "production", "7", previous)
    assert read_marker(f"# body\n\n{meta.marker()}\n") == meta


def test_the_last_marker_wins() -> None:
    old = ProposalMeta("promote", "fraud", "production", "6", None)
    new = ProposalMeta("rollback", "fraud", "production", "5", "6")
    assert read_marker(old.marker() + "\n" + new.marker()) == new


@pytest.mark.parametrize(
    "body",
    [
        "",
        "no marker",
        f"{MARKER_PREFIX} not json -->",
        f"{MARKER_PREFIX} {{}} -->",
        f'{MARKER_PREFIX} {{"action": "promote"}}',
        f'{MARKER_PREFIX} ["a"] -->',
    ],
)
def test_broken_markers_read_as_none(body: str) -> None:
    assert read_marker(body) is None
