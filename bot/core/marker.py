"""The hidden marker of a promotion or rollback pull request: what the PR is about, in a form
later runs (and `/rollback`) read back without trusting the visible text. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

MARKER_PREFIX = "<!-- model-bot:"

Action = Literal["promote", "rollback"]


@dataclass(frozen=True)
class ProposalMeta:
    """What a promotion or rollback PR (and its commit) is about."""

    action: str  # promote | rollback
    model: str
    environment: str
    version: str
    previous_version: str | None

    def marker(self) -> str:
        data = {
            "action": self.action,
            "model": self.model,
            "environment": self.environment,
            "version": self.version,
            "previous_version": self.previous_version,
        }
        # Names were validated (DNS labels, tag grammar): they cannot close the comment.
        return f"{MARKER_PREFIX} {json.dumps(data, sort_keys=True)} -->"


def read_marker(body: str) -> ProposalMeta | None:
    """The last marker in `body`, or None when there is none or it does not parse."""
    start = body.rfind(MARKER_PREFIX)
    if start < 0:
        return None
    end = body.find("-->", start)
    if end < 0:
        return None
    try:
        data = json.loads(body[start + len(MARKER_PREFIX) : end])
        return ProposalMeta(
            action=str(data["action"]),
            model=str(data["model"]),
            environment=str(data["environment"]),
            version=str(data["version"]),
            previous_version=None
            if data.get("previous_version") is None
            else str(data["previous_version"]),
        )
    except (ValueError, KeyError, TypeError):
        return None


__all__ = ["MARKER_PREFIX", "ProposalMeta", "read_marker"]
