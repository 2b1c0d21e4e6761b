"""The hidden marker of a promotion or rollback pull request: what the PR is about, in a form
later runs (and `/rollback`) read back without trusting the visible text. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

MARKER_PREFIX = "<!-- model-bot:"
_ESCAPED = {"<": "\\u003c", ">": "\\u003e", "`": "\\u0060"}  # JSON escapes: read back as is

Action = Literal["promote", "rollback"]


@dataclass(frozen=True)
class ProposalMeta:
    """What a promotion or rollback PR (and its commit) is about."""

    action: str  # promote | rollback
    model: str
    environment: str
    version: str
    previous_version: str | None
    # The commit's trailers, so a squash merge that keeps the description (and so the
    # marker) but not the commit's message still tells the ledger everything.
    trailers: Mapping[str, str] | None = None

    def marker(self) -> str:
        data: dict[str, object] = {
            "action": self.action,
            "model": self.model,
            "environment": self.environment,
            "version": self.version,
            "previous_version": self.previous_version,
        }
        if self.trailers:
            data["trailers"] = dict(self.trailers)
        return hidden_json(MARKER_PREFIX, data)


def hidden_json(prefix: str, data: Mapping[str, object]) -> str:
    """`data` as an HTML comment `<prefix> {json} -->` that a body carries unseen. Names were
    validated (DNS labels, tag grammar); other values are untrusted text: with `<` and `>`
    escaped nothing inside can close the comment, and with backticks escaped no raw code span
    of someone's text sits in the body, even unrendered."""
    text = json.dumps(data, sort_keys=True)
    for char, escaped in _ESCAPED.items():
        text = text.replace(char, escaped)
    return f"{prefix} {text} -->"


def read_hidden_json(body: str, prefix: str) -> dict[str, object] | None:
    """The object of the last `hidden_json(prefix, ...)` comment in `body`; None when there is
    none or it is not a JSON object."""
    start = body.rfind(prefix)
    if start < 0:
        return None
    end = body.find("-->", start)
    if end < 0:
        return None
    try:
        data = json.loads(body[start + len(prefix) : end])
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def read_marker(body: str) -> ProposalMeta | None:
    """The last marker in `body`, or None when there is none or it does not parse."""
    data = read_hidden_json(body, MARKER_PREFIX)
    if data is None:
        return None
    try:
        trailers = data.get("trailers")
        if trailers is not None and not (
            isinstance(trailers, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in trailers.items())
        ):
            return None
        return ProposalMeta(
            action=str(data["action"]),
            model=str(data["model"]),
            environment=str(data["environment"]),
            version=str(data["version"]),
            previous_version=None
            if data.get("previous_version") is None
            else str(data["previous_version"]),
            trailers=trailers,
        )
    except (ValueError, KeyError, TypeError):
        return None


__all__ = ["MARKER_PREFIX", "ProposalMeta", "hidden_json", "read_hidden_json", "read_marker"]
