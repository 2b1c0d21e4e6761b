"""Pull requests and comments as the forge reports them. Pure values."""

from __future__ import annotations

from dataclasses import dataclass


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


@dataclass(frozen=True)
class CommentInfo:
    id: int
    body: str
    user: str


__all__ = ["CommentInfo", "PullRequestInfo"]
