"""One redaction helper and one placeholder."""

from __future__ import annotations

import pytest

from bot.text.redact import REDACTED, redact, redact_url


def test_every_secret_is_replaced_longest_first() -> None:
    assert redact("token abc and abcdef", ["abc", "abcdef"]) == f"token {REDACTED} and {REDACTED}"
    assert redact("nothing here", ["", "zzz"]) == "nothing here"
    assert REDACTED == "***"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://host/repo.git", "https://host/repo.git"),
        ("https://user:secret@host:8443/p", "https://***@host:8443/p"),
        ("https://token@host/p", "https://***@host/p"),
        ("file:///srv/env.git", "file:///srv/env.git"),
    ],
)
def test_redact_url_hides_userinfo(url: str, expected: str) -> None:
    assert redact_url(url) == expected
