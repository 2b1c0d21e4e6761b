"""Secrets out of everything printed: the one redaction helper and its placeholder. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

REDACTED = "***"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every non-empty secret replaced by `REDACTED`, longest first (so a secret
    that contains another is not left half shown)."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def redact_url(url: str) -> str:
    """`url` with any user name and password replaced by `REDACTED`."""
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    return urlunsplit(parts._replace(netloc=f"{REDACTED}@" + parts.netloc.rpartition("@")[2]))


__all__ = ["REDACTED", "redact", "redact_url"]
