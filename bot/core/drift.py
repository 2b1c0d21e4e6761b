"""One drift episode per model and environment: its tracking issue's hidden marker, whether a
breach dispatches retraining or only adds evidence, and what the training workflow receives.
Pure.

The tracking issue is found by its label and this marker, never by its title (people edit
titles). The marker records when retraining was last dispatched: while the issue is open and
that was less than the cooldown ago, a later breach only comments; an issue whose dispatch
failed (no `dispatched_at`) dispatches again on the next breach.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from bot.core.marker import hidden_json, read_hidden_json
from bot.core.monitor import MonitorVerdict
from bot.core.monitoring import Retrain

DRIFT_MARKER_PREFIX = "<!-- model-bot-drift:"

Step = Literal["none", "open-and-dispatch", "dispatch-and-comment", "comment"]


@dataclass(frozen=True)
class DriftMarker:
    """What a tracking issue is about, and when retraining was dispatched for it."""

    model: str
    environment: str
    version: str  # the deployed version that drifted when the issue was opened
    dispatched_at: datetime | None = None

    def text(self) -> str:
        data = {
            "model": self.model,
            "environment": self.environment,
            "version": self.version,
            "dispatched_at": None
            if self.dispatched_at is None
            else self.dispatched_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        return hidden_json(DRIFT_MARKER_PREFIX, data)


def read_drift_marker(body: str) -> DriftMarker | None:
    """The last drift marker in `body`; None when there is none or it does not parse."""
    data = read_hidden_json(body, DRIFT_MARKER_PREFIX)
    if data is None:
        return None
    try:
        fields = [data["model"], data["environment"], data["version"]]
        named = [f for f in fields if isinstance(f, str) and f]
        if len(named) != len(fields):
            return None
        when = data.get("dispatched_at")
        dispatched = None
        if when is not None:
            if not isinstance(when, str):
                return None
            dispatched = datetime.strptime(when, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        return DriftMarker(named[0], named[1], named[2], dispatched)
    except (ValueError, KeyError, TypeError):
        return None


def replace_marker(body: str, marker: DriftMarker) -> str:
    """`body` with its (last) drift marker replaced by `marker`'s, or `marker` appended."""
    start = body.rfind(DRIFT_MARKER_PREFIX)
    end = body.find("-->", start) if start >= 0 else -1
    if end < 0:
        return f"{body.rstrip()}\n\n{marker.text()}\n"
    return body[:start] + marker.text() + body[end + 3 :]


def next_step(
    verdict: MonitorVerdict, tracking: DriftMarker | None, now: datetime, cooldown_seconds: int
) -> Step:
    """What a verdict does, given the open tracking issue's marker (None: no open issue).

    Only `drifted` acts. With no open issue: open one and dispatch. With one: dispatch again
    (and comment) when nothing was dispatched yet or the cooldown has passed since; else the
    breach only adds its evidence as a comment."""
    if verdict.health != "drifted":
        return "none"
    if tracking is None:
        return "open-and-dispatch"
    if tracking.dispatched_at is None:
        return "dispatch-and-comment"
    if (now - tracking.dispatched_at).total_seconds() >= cooldown_seconds:
        return "dispatch-and-comment"
    return "comment"


def tracking_issue(
    bodies: Sequence[tuple[int, str]], model: str, environment: str
) -> tuple[int, DriftMarker] | None:
    """The open issue (number, body) among those with the label whose marker names this
    model and environment; the oldest when several do."""
    found = [
        (number, marker)
        for number, body in bodies
        if (marker := read_drift_marker(body)) is not None
        and (marker.model, marker.environment) == (model, environment)
    ]
    return min(found, key=lambda item: item[0]) if found else None


def dispatch_inputs(
    verdict: MonitorVerdict, retrain: Retrain, issue_number: int | None
) -> dict[str, str]:
    """What the training workflow receives: the policy's extra inputs, then the bot's own
    (all strings: workflow_dispatch inputs are strings)."""
    reason = "; ".join(verdict.reasons)
    bot: Mapping[str, str] = {
        "model": verdict.model,
        "environment": verdict.environment,
        "deployed_version": verdict.version or "",
        "reason": reason[:1000],
        "drift_issue": str(issue_number) if issue_number is not None else "",
    }
    return {**retrain.inputs, **bot}


def issue_title(model: str, environment: str) -> str:
    return f"Drift: {model} in {environment}"


__all__ = [
    "DRIFT_MARKER_PREFIX",
    "DriftMarker",
    "Step",
    "dispatch_inputs",
    "issue_title",
    "next_step",
    "read_drift_marker",
    "replace_marker",
    "tracking_issue",
]
