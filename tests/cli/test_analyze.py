"""`model-bot analyze` argument parsing."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

NOW = datetime(2025, 1, 31, 12, 0, tzinfo=timezone.utc)


def test_analyze_at_accepts_unix_seconds_and_zoned_times() -> None:
    from bot.cli.common import parse_moment
    from bot.core.errors import InvalidInput

    assert parse_moment("1738324800") == NOW
    assert parse_moment("2025-01-31T12:00:00Z") == NOW
    assert parse_moment("2025-01-31T13:00:00+01:00") == NOW
    for bad in ("yesterday", "2025-01-31T12:00:00", "nan", ""):
        with pytest.raises(InvalidInput, match="--at"):
            parse_moment(bad)
