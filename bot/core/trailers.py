"""Commit trailers: the audit log the bot writes into every commit and reads back. Pure.

One module builds them (`bot_trailers`), sanitises untrusted values (`trailer_value`),
formats the message (`format_commit_message`) and parses them back (`parse_trailers`,
`read_bot_commit`), so what the bot claims is read back exactly as it was written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.core.marker import ProposalMeta
from bot.core.untrusted import one_line, truncate

MODEL = "Model"
MODEL_VERSION = "Model-Version"
PREVIOUS_VERSION = "Previous-Version"
ENVIRONMENT = "Environment"
ACTION = "Action"
REASON = "Reason"
REQUESTED_BY = "Requested-By"
MLFLOW_RUN = "MLflow-Run"
CODE_COMMIT = "Code-Commit"
# Where the folder names only an image tag (kustomize, a values file without a model
# version key, plain manifests), the bot records which image and tag stand for the version.
IMAGE = "Image"
IMAGE_TAG = "Image-Tag"
PREVIOUS_IMAGE_TAG = "Previous-Image-Tag"
GATE = "Gate"  # a promotion's gate decision, one line: `PASS 5/5 gates (policy default.yaml)`
HOLD_LIFTED = "Hold-Lifted"  # why a rolled-back (held) version is promoted again
LADDER_SKIPPED = "Ladder-Skipped"  # why a version entered without soaking where required
DRIFT_ISSUE = "Drift-Issue"  # the drift issue a retrained version answers (`monitor`)

NO_VERSION = "none"  # Previous-Version of a first promotion
NO_REASON = "no reason given"
VALUE_LIMIT = 200  # characters of an untrusted trailer value
BOT_ACTIONS = ("promote", "rollback")

_TRAILER_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*\Z")
_TRAILER_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*?)[ \t]*$")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def trailer_value(text: str | None, limit: int = VALUE_LIMIT) -> str:
    """Untrusted text as one trailer value: one printable line, bounded; '' when empty."""
    return truncate(one_line(text or ""), limit)


def bot_trailers(meta: ProposalMeta, extra: Mapping[str, str | None] = {}) -> dict[str, str]:
    """The trailers of a bot commit: what it is about, then `extra` (lineage, reason, who
    asked: untrusted) sanitised, empty values left out."""
    trailers = {
        MODEL: meta.model,
        MODEL_VERSION: meta.version,
        PREVIOUS_VERSION: meta.previous_version or NO_VERSION,
        ENVIRONMENT: meta.environment,
        ACTION: meta.action,
    }
    for key, value in extra.items():
        text = trailer_value(value)
        if text:
            trailers[key] = text
    return trailers


@dataclass(frozen=True)
class BotCommit:
    """A bot commit's trailers, read back."""

    action: str
    model: str
    environment: str
    version: str | None
    previous_version: str | None
    reason: str | None

    def concerns(self, model: str, environment: str) -> bool:
        return (self.model, self.environment) == (model, environment)


def read_bot_commit(trailers: Mapping[str, str]) -> BotCommit | None:
    """The bot's claim in a commit's trailers; None for a commit the bot did not make."""
    action = trailers.get(ACTION)
    if action not in BOT_ACTIONS or MODEL not in trailers or ENVIRONMENT not in trailers:
        return None
    previous = trailers.get(PREVIOUS_VERSION, "").strip()
    return BotCommit(
        action=action,
        model=trailers[MODEL],
        environment=trailers[ENVIRONMENT],
        version=trailers.get(MODEL_VERSION) or None,
        previous_version=None if previous in ("", NO_VERSION) else previous,
        reason=trailers.get(REASON),
    )


def parse_trailers(message: str) -> dict[str, str]:
    """The trailers of a commit message, as `git interpret-trailers --parse` finds them.

    Trailers are the last paragraph of the message, when it is not the subject and every
    line in it is a `Key: value` line (or a continuation line starting with whitespace, or
    git's own `(cherry picked from commit ...)`). A repeated key keeps its last value.
    """
    lines = message.replace("\r\n", "\n").rstrip("\n").split("\n")
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    while start and lines[start - 1].strip():
        start -= 1
    if start == 0:  # the only paragraph is the subject
        return {}
    trailers: dict[str, str] = {}
    last: str | None = None
    for line in lines[start:end]:
        if line[:1] in (" ", "\t") and last is not None:
            trailers[last] = f"{trailers[last]} {line.strip()}".strip()
            continue
        if line.startswith("(cherry picked from commit "):
            continue
        match = _TRAILER_LINE.match(line)
        if not match:
            return {}
        last = match.group(1)
        trailers.pop(last, None)  # keep insertion order of the last occurrence
        trailers[last] = match.group(2)
    return trailers


def format_commit_message(subject: str, body: str, trailers: Mapping[str, str]) -> str:
    """`subject`, a blank line, `body`, a blank line and one `Key: value` line per trailer.

    Raises ValueError for a multi-line subject, a bad trailer key or a value that is not
    one line: those would change what `parse_trailers` reads back.
    """
    subject = subject.strip()
    if not subject or "\n" in subject or "\r" in subject:
        raise ValueError(f"bad commit subject {subject!r}: use one non-empty line")
    rest = format_commit_body(body, trailers)
    return f"{subject}\n\n{rest}" if rest else f"{subject}\n"


def format_commit_body(body: str, trailers: Mapping[str, str]) -> str:
    """The message after the subject: `body`, a blank line, the trailers ('' when both are
    empty). What a squash merge needs as its commit message to keep the trailers."""
    parts = []
    body = body.strip("\n").rstrip()
    if body:
        parts.append(body)
    lines = []
    for key, value in trailers.items():
        if not _TRAILER_KEY.match(key):
            raise ValueError(f"bad trailer key {key!r}: use letters, digits and '-'")
        value = value.strip()
        if not value or _CONTROL.search(value):
            raise ValueError(f"bad value for trailer {key}: {value!r}: use one non-empty line")
        lines.append(f"{key}: {value}")
    if lines:
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n" if parts else ""


__all__ = [
    "BotCommit",
    "bot_trailers",
    "format_commit_body",
    "format_commit_message",
    "parse_trailers",
    "read_bot_commit",
    "trailer_value",
]
