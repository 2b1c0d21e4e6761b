"""How the GitHub adapter reads GitHub's answers: rate limits from status, headers and the
documented `documentation_url`, never from message text.

Source: GitHub REST docs, "Rate limits for the REST API" (primary: 403 or 429 with
`x-ratelimit-remaining: 0`, wait until `x-ratelimit-reset`; secondary: 403 or 429, with
`retry-after` or, without it, wait at least one minute; the body's `documentation_url`
points at "#about-secondary-rate-limits"). The bodies are GitHub's as the docs show them.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.adapters.github import SECONDARY_WAIT, RateLimit, _detail, rate_limit, validation_errors

NOW = 1_700_000_000.0
SECONDARY_DOC = {
    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you "
    "try again.",
    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
    "#about-secondary-rate-limits",
}
PRIMARY_DOC = {
    "message": "API rate limit exceeded for user ID 1.",
    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
    "#about-rate-limits",
}
FORBIDDEN = {
    "message": "Resource not accessible by integration",
    "documentation_url": "https://docs.github.com/rest/issues/labels#add-labels-to-an-issue",
}


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [
        (
            403,
            {"Retry-After": "7", "X-RateLimit-Remaining": "4999"},
            SECONDARY_DOC,
            RateLimit("secondary", 7.0),
        ),
        (429, {"retry-after": "3"}, SECONDARY_DOC, RateLimit("secondary", 3.0)),
        (
            403,
            {"X-RateLimit-Remaining": "4999"},
            SECONDARY_DOC,
            RateLimit("secondary", SECONDARY_WAIT),
        ),
        (
            429,
            {"X-RateLimit-Remaining": "4999"},
            SECONDARY_DOC,
            RateLimit("secondary", SECONDARY_WAIT),
        ),
        (429, {}, {}, RateLimit("secondary", SECONDARY_WAIT)),
        (403, {"Retry-After": "0"}, SECONDARY_DOC, RateLimit("secondary", 1.0)),
        (403, {"Retry-After": "soon"}, SECONDARY_DOC, RateLimit("secondary", SECONDARY_WAIT)),
        (
            403,
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 42)},
            PRIMARY_DOC,
            RateLimit("primary", 42.0),
        ),
        (
            403,
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "x"},
            PRIMARY_DOC,
            RateLimit("primary", 1.0),
        ),
        (403, {"X-RateLimit-Remaining": "4999"}, FORBIDDEN, None),
        (403, {}, {"message": "Must have push access to view collaborator permission."}, None),
        (404, {"Retry-After": "5"}, SECONDARY_DOC, None),
        (502, {}, {}, None),
    ],
)
def test_rate_limits_are_read_from_status_headers_and_documentation_url(
    status: int, headers: dict[str, str], body: Any, expected: RateLimit | None
) -> None:
    assert rate_limit(status, headers, body, NOW) == expected


def test_a_permission_403_whose_message_mentions_rate_limits_is_still_a_permission_403() -> None:
    """The message text is never read: only the documented signals count."""
    body = {"message": "secondary rate limit", "documentation_url": "https://docs.github.com/x"}
    assert rate_limit(403, {}, body, NOW) is None


def test_validation_errors_and_detail() -> None:
    body = {
        "message": "Validation Failed",
        "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}, "junk"],
    }
    assert validation_errors(body) == [
        {"resource": "PullRequest", "field": "head", "code": "invalid"}
    ]
    assert validation_errors({"errors": "x"}) == [] and validation_errors(None) == []
    assert _detail(body) == "Validation Failed: invalid"
    assert (
        _detail({"message": "a\n b" + "c" * 300}).startswith("a bccc")
        and len(_detail({"message": "c" * 300})) == 200
    )
