"""What the environment repo's history and the bot's pushes are made of. Pure values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    message: str
    trailers: dict[str, str]
    parents: tuple[str, ...]
    authored_at: datetime
    committed_at: datetime | None = None  # when it was committed (a merge: when it landed)

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]


PushStatus = Literal["ok", "rejected-stale", "rejected-other"]


@dataclass(frozen=True)
class PushResult:
    """What became of a push. `sha` is the branch's new remote sha when `ok`."""

    status: PushStatus
    branch: str
    sha: str | None
    message: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class CommitRequest:
    """A change set as one commit on one of the bot's branches, on top of `base`.

    `files` is the intended content of every file the change owns (None: delete it); the
    commit changes nothing else.
    """

    branch: str
    base: str
    files: Mapping[str, bytes | None]
    subject: str
    body: str
    trailers: Mapping[str, str]
    author: tuple[str, str]


__all__ = ["CommitInfo", "CommitRequest", "PushResult", "PushStatus"]
