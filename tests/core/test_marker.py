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


def test_the_commit_trailers_ride_in_the_marker_and_cannot_close_it() -> None:
    """A squash merge that keeps the description keeps the trailers; a reason is untrusted."""
    trailers = {"Model": "m", "Reason": "5xx --> <script>`touch x`</script>", "Gate": "PASS 1/1"}
    meta = ProposalMeta("rollback", "m", "production", "6", "7", trailers)
    text = meta.marker()
    assert text.count("-->") == 1 and text.endswith("-->") and "<script>" not in text
    assert "`" not in text
    assert read_marker(f"body\n\n{text}\n") == meta


@pytest.mark.parametrize(
    "trailers", ['"x"', '["a"]', '{"Model": 1}', '{"Model": null}', '{"1": {"a": "b"}}']
)
def test_trailers_that_are_not_text_make_the_marker_unreadable(trailers: str) -> None:
    body = (
        f'{MARKER_PREFIX} {{"action": "promote", "model": "m", "environment": "e", '
        f'"version": "2", "previous_version": null, "trailers": {trailers}}} -->'
    )
    assert read_marker(body) is None
