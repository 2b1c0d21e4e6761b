"""A rollback request and what became of it. Pure values shared by the rollback flow and the
flows that ask for one (analyze's failure path, ChatOps' `/rollback`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.core.pulls import PullRequestInfo

RollbackOutcome = Literal["created", "updated", "unchanged", "blocked"]
Method = Literal["revert", "restore", "none"]


@dataclass(frozen=True)
class RollbackOptions:
    model: str
    environment: str
    base: str | None = None  # the env repo's base branch (None: its default)
    to_version: str | None = None
    reason: str = ""
    dry_run: bool = False
    auto_merge: bool = False
    evidence_markdown: str | None = None  # analysis evidence section for the PR body
    requested_by: str | None = None  # e.g. the ChatOps commenter's login


@dataclass(frozen=True)
class RollbackResult:
    outcome: RollbackOutcome
    branch: str
    from_version: str | None
    to_version: str | None
    method: Method
    pull_request: PullRequestInfo | None
    promotion_pull_request: PullRequestInfo | None
    commit: str | None
    diff: str
    title: str | None
    body: str | None
    reason: str
    merged: bool
    local: bool
    dry_run: bool
    warnings: tuple[str, ...] = ()


__all__ = ["Method", "RollbackOptions", "RollbackOutcome", "RollbackResult"]
