"""What runs where now: one row per (model, environment), and the canaries still under
analysis as a GitHub Actions matrix. Pure: the ledger, the open proposals and the holds in,
values out (`bot.text.ledger` renders them).

A deployment is a *canary* while its entry in force is a promotion that reached the base
less than the analysis window ago: the rollout may still be shifting traffic, so a scheduled
workflow runs `analyze` for it. A rollback or a manual edit is never a canary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from bot.core.ladder import SoakState
from bot.core.ledger import Entry, EntryAction, Hold, Ledger

ProposalAction = Literal["promote", "rollback"]

_NUMBER_OR_TEXT = re.compile(r"[0-9]+|[^0-9]+")


@dataclass(frozen=True)
class OpenProposal:
    """A pull request (or, in local mode, a branch) the bot opened and nobody merged yet."""

    number: int | None  # None in local mode: a branch, no pull request
    url: str | None
    action: ProposalAction
    version: str  # the version it would deploy
    branch: str


@dataclass(frozen=True)
class StatusRow:
    """What runs in one environment for one model, and what is pending or blocked there."""

    model: str
    environment: str
    version: str | None  # None: nothing deployed in the history read (or the folder has none)
    since: datetime | None  # when the entry in force reached the base
    commit: str | None  # the first-parent commit that brought it
    pull_number: int | None  # the pull request of the entry in force
    pull_url: str | None
    action: EntryAction | None  # how the version in force got there
    open_proposals: tuple[OpenProposal, ...]
    held: tuple[str, ...]  # versions rolled back here and not promoted since (version order)
    canary: bool  # a promotion still inside the analysis window
    # The soak before `advance` moves the version on (environments with `next` only).
    soak: SoakState | None = None


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive datetime is taken to be UTC already (git and the forge give
    aware times; this only keeps a naive one from raising or being read as local time)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key for versions: runs of digits compare as numbers (`9` < `10` < `10a`)."""
    return tuple(
        (0, int(part), "") if part[0] in "0123456789" else (1, 0, part)
        for part in _NUMBER_OR_TEXT.findall(version)
    )


def held_versions(holds: Mapping[str, Hold] | Iterable[Hold]) -> tuple[str, ...]:
    """The held versions (from `Ledger.holds()` or any holds), once each, in version order."""
    values = holds.values() if isinstance(holds, Mapping) else holds
    return tuple(sorted({hold.version for hold in values}, key=version_key))


def is_canary(entry: Entry | None, analysis_window: timedelta, now: datetime) -> bool:
    """True while `entry` is a promotion that reached the base less than `analysis_window`
    before `now` (exactly at the window's edge it no longer is)."""
    if entry is None or entry.action != "promote" or entry.version is None:
        return False
    return as_utc(now) - as_utc(entry.at) < analysis_window


def _proposal_key(proposal: OpenProposal) -> tuple[bool, int, str]:
    return (proposal.number is None, proposal.number or 0, proposal.branch)


def status_row(
    ledger: Ledger,
    proposals: Iterable[OpenProposal],
    holds: Mapping[str, Hold] | Iterable[Hold],
    analysis_window: timedelta,
    now: datetime,
    soak: SoakState | None = None,
) -> StatusRow:
    """The status of `ledger`'s model in its environment: the entry in force (the newest, as
    `Ledger.current`), the open proposals (pull requests by number, then local branches) and
    the held versions (`holds`: `ledger.holds()` or the holds the caller read)."""
    current = ledger.entries[0] if ledger.entries else None  # entries are newest first
    return StatusRow(
        model=ledger.model,
        environment=ledger.environment,
        version=current.version if current else None,
        since=current.at if current else None,
        commit=current.commit if current else None,
        pull_number=current.pull_number if current else None,
        pull_url=current.pull_url if current else None,
        action=current.action if current else None,
        open_proposals=tuple(sorted(proposals, key=_proposal_key)),
        held=held_versions(holds),
        canary=is_canary(current, analysis_window, now),
        soak=soak,
    )


def canary_matrix(rows: Sequence[StatusRow]) -> dict[str, list[dict[str, str]]]:
    """The canaries as a GitHub Actions matrix, sorted by (environment, model):
    `{"include": [{"model": m, "environment": e, "version": v}, ...]}`.

    It is usable whole: `strategy: {matrix: ${{ fromJSON(needs.status.outputs.canaries) }}}`.
    It carries nothing but `include` because every other key of a matrix must be a list (a
    scalar `count` there would fail the workflow). GitHub also rejects a matrix whose
    `include` is empty at run time ("Matrix must define at least one vector"): callers must
    skip the job when there is no canary, e.g. with the count `status --format json` prints
    beside it (`canary_count`, see `canary_count`) as a job output:
    `if: needs.status.outputs.count != '0'`.
    """
    canaries = sorted(
        (row for row in rows if row.canary and row.version is not None),
        key=lambda row: (row.environment, row.model),
    )
    return {
        "include": [
            {"model": row.model, "environment": row.environment, "version": row.version or ""}
            for row in canaries
        ]
    }


def deployed_matrix(rows: Sequence[StatusRow]) -> dict[str, list[dict[str, str]]]:
    """Every deployment that is no longer a canary (what `monitor` watches), as a matrix
    shaped like `canary_matrix`'s."""
    deployed = sorted(
        (row for row in rows if not row.canary and row.version is not None),
        key=lambda row: (row.environment, row.model),
    )
    return {
        "include": [
            {"model": row.model, "environment": row.environment, "version": row.version or ""}
            for row in deployed
        ]
    }


def canary_count(rows: Sequence[StatusRow]) -> int:
    """How many jobs `canary_matrix(rows)` makes (0: skip the job)."""
    return len(canary_matrix(rows)["include"])


__all__ = [
    "OpenProposal",
    "ProposalAction",
    "StatusRow",
    "as_utc",
    "canary_count",
    "canary_matrix",
    "held_versions",
    "is_canary",
    "status_row",
    "version_key",
]
