"""Secrets out of everything printed: the one redaction helper and its placeholder. Pure.

A URL carries secrets in two places: its userinfo (`https://user:password@host`,
`https://TOKEN@host`) and the values of some query (or fragment) parameters (`?token=...`,
`&X-Amz-Signature=...`). `redact_url` blanks both in one URL; `redact_urls_in` does it to
every URL inside free text (an error message from a library may embed the URL it called).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import unquote

REDACTED = "***"

# Query parameters whose value is a secret (compared case-insensitively, after %-decoding).
SECRET_PARAMETERS = frozenset(
    {
        "access_token",
        "api-key",
        "api_key",
        "apikey",
        "auth",
        "authorization",
        "key",
        "passwd",
        "password",
        "pwd",
        "secret",
        "sig",
        "signature",
        "token",
        "x-amz-credential",
        "x-amz-security-token",
        "x-amz-signature",
    }
)
# ... and any whose name says so (client_secret, refresh_token, X-Goog-Signature, ...).
_SECRET_NAME = re.compile(r"token|secret|passw|signature|credential", re.IGNORECASE)

# `name=value` after `?`, `&`, `;` or `#`; the value ends at the next separator, space or quote.
_PARAMETER = re.compile(r"(?P<lead>[?&;#])(?P<name>[^=&;#?\s]+)=(?P<value>[^&;#\s'\"<>]*)")
# The userinfo of a URL (`scheme://userinfo@host`, `//userinfo@host`): everything up to the
# last `@` before the path, the query or a space (a password may hold an unescaped @ or #).
_USERINFO = r"(?P<start>(?:[A-Za-z][A-Za-z0-9+.-]*:)?//)[^/?\s]*@"
_USERINFO_IN_TEXT = re.compile(_USERINFO)
_USERINFO_AT_START = re.compile("^" + _USERINFO)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every non-empty secret replaced by `REDACTED`, longest first (so a secret
    that contains another is not left half shown)."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def is_secret_parameter(name: str) -> bool:
    """Whether the value of query parameter `name` is a credential."""
    plain = unquote(name).strip().lower()
    return plain in SECRET_PARAMETERS or bool(_SECRET_NAME.search(plain))


def _parameter(match: re.Match[str]) -> str:
    if not is_secret_parameter(match.group("name")) or not match.group("value"):
        return match.group()
    return f"{match.group('lead')}{match.group('name')}={REDACTED}"


def _userinfo(match: re.Match[str]) -> str:
    return f"{match.group('start')}{REDACTED}@"


def redact_url(url: str) -> str:
    """`url` with its user name and password (the whole userinfo) replaced by `REDACTED`, and
    the value of every secret parameter (`SECRET_PARAMETERS`, or a name with token, secret,
    password, signature or credential in it) in its query or fragment too. Parameter names,
    the host, the path and harmless parameters stay; text that is no URL comes back as is."""
    return _PARAMETER.sub(_parameter, _USERINFO_AT_START.sub(_userinfo, url, count=1))


def redact_urls_in(text: str) -> str:
    """`text` with every URL in it redacted as by `redact_url`; secret parameters are blanked
    wherever they appear after a `?`, `&`, `;` or `#` (so a relative URL such as
    `/api?token=...` in a library's message is covered too)."""
    text = _USERINFO_IN_TEXT.sub(_userinfo, text)
    return _PARAMETER.sub(_parameter, text)


def url_secrets(url: str) -> tuple[str, ...]:
    """The secrets inside `url`, as written and %-decoded, to `redact` from text that may show
    them outside the URL: the password (or the user name when there is no password, as in
    `https://TOKEN@host`), the `Authorization: Basic` value an HTTP client sends for the
    userinfo (a server or proxy may echo it), and the values of secret parameters."""
    found: list[str] = []
    match = _USERINFO_AT_START.match(url)
    if match:
        userinfo = match.group()[len(match.group("start")) : -1]
        user, colon, password = userinfo.partition(":")
        found.append(password if colon else user)
        pair = f"{unquote(user)}:{unquote(password)}".encode()
        found.append(base64.b64encode(pair).decode())
    for parameter in _PARAMETER.finditer(url):
        if is_secret_parameter(parameter.group("name")):
            found.append(parameter.group("value"))
    secrets = {form for value in found if value for form in (value, unquote(value))}
    return tuple(sorted(secrets, key=len, reverse=True))


__all__ = [
    "REDACTED",
    "SECRET_PARAMETERS",
    "is_secret_parameter",
    "redact",
    "redact_url",
    "redact_urls_in",
    "url_secrets",
]
