"""Pull requests and comments as the forge reports them. Pure values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PullRequestInfo:
    number: int
    url: str
    state: str
    title: str
    body: str
    head_ref: str
    head_sha: str
    base_ref: str
    merged: bool
    merge_commit_sha: str | None
    labels: tuple[str, ...]
    # Whether it merges cleanly into its base: only a single-PR read carries it (lists do
    # not), and None while the forge is still computing it (or it was not read): not known.
    mergeable: bool | None = None
    # Who merged it (a single-PR read carries it; a list response does not) and when it was
    # merged and closed (timezone-aware, UTC); None when not merged / not closed or not known.
    merged_by: str | None = None
    merged_at: datetime | None = None
    closed_at: datetime | None = None
    # The forge's native auto-merge is armed (it merges once the base's rules are met).
    auto_merge: bool = False

    @property
    def conflicted(self) -> bool:
        """The forge said the PR does not merge cleanly (unknown is not conflicted)."""
        return self.state == "open" and self.mergeable is False


@dataclass(frozen=True)
class CommentInfo:
    id: int
    body: str
    user: str


@dataclass(frozen=True)
class MergeResult:
    """What became of a merge request: merged (by `method`, into `sha`), or refused by a
    rule of the repository (branch protection), with the forge's `refused` reason."""

    merged: bool
    method: str  # merge | squash | rebase
    sha: str | None
    refused: str | None


@dataclass(frozen=True)
class IssueInfo:
    """An issue (not a pull request) as the forge reports it."""

    number: int
    url: str
    state: str  # open | closed
    title: str
    body: str
    labels: tuple[str, ...]


__all__ = ["CommentInfo", "IssueInfo", "MergeResult", "PullRequestInfo"]
