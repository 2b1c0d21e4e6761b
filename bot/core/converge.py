"""What to do with one of the bot's branches, from what the remote shows. Pure.

`decide_branch` is the one rule promote and rollback share (as create-pull-request's
create-or-update-branch does): the executor in `bot.flows.session` reads the remote, asks
this function, and carries out the answer, re-reading when a push loses a race.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Outcome = Literal["created", "updated", "unchanged", "blocked"]
BranchAction = Literal["push", "open-pull", "refresh-pull", "held", "none"]


@dataclass(frozen=True)
class BranchView:
    """One read of the remote, for one planned change."""

    exists: bool  # the bot's remote branch exists
    holds: bool  # it carries exactly the planned change
    uses_pulls: bool  # changes go through pull requests (a forge, and PRs wanted)
    open_pull: bool  # a pull request from the branch is open
    pull_describes: bool  # that pull request's marker describes the planned change


@dataclass(frozen=True)
class BranchDecision:
    """`push`: commit and push the change (then open or update the PR); `open-pull`: the
    branch holds it but no PR is open (an earlier run stopped after pushing); `refresh-pull`:
    the open PR still describes an older change its branch no longer holds; `held`: nothing
    to write; `none`: the base itself already holds the change."""

    action: BranchAction
    outcome: Outcome
    reason: str = ""


def decide_branch(view: BranchView, *, branch: str, dry_run: bool, noun: str) -> BranchDecision:
    """`noun` names the change in reasons ("change", "rollback")."""
    if view.holds:
        if view.open_pull and not view.pull_describes:
            reason = "dry run: the pull request would be updated" if dry_run else ""
            return BranchDecision("refresh-pull", "updated", reason)
        if view.open_pull or not view.uses_pulls:
            held = "the open pull request" if view.open_pull else branch
            return BranchDecision("held", "unchanged", f"{held} already holds exactly this {noun}")
        reason = "dry run: the pull request would be opened" if dry_run else ""
        return BranchDecision("open-pull", "created", reason)
    existed = view.open_pull or (not view.uses_pulls and view.exists)
    reason = "dry run: nothing was pushed or opened" if dry_run else ""
    return BranchDecision("push", "updated" if existed else "created", reason)


BASE_HOLDS = BranchDecision("none", "unchanged", "the base already holds this change")


def decide_rebuild(
    held: BranchDecision, *, conflicted: bool, what: str, base: str, dry_run: bool
) -> BranchDecision:
    """After `held` (the branch already holds the change): when it no longer merges cleanly
    into `base` (the open PR `what` is conflicted, or without a PR the branch itself), the
    branch is rebuilt: a new commit of the same change on the current base, pushed with the
    lease. Whether it conflicts is read only then (a forge's extra request); a forge that
    has not computed it yet is not known to conflict, and is not waited for."""
    if held.action != "held" or not conflicted:
        return held
    done = "would be rebuilt (dry run)" if dry_run else "rebuilt"
    return BranchDecision(
        "push",
        "updated",
        f"{what} no longer merged cleanly into {base}: {done} on the current {base}",
    )


def decide_stale(
    decision: BranchDecision, *, stale: bool, branch: str, base: str, dry_run: bool
) -> BranchDecision:
    """After `held` or `open-pull` with no open pull request: a branch whose commit was
    already merged into `base` (and since reverted, or the base moved on) is stale. Held, it
    would say "unchanged" while the base runs something else; opened, GitHub refuses it
    (`No commits between`) or shows an old diff. It is rebuilt: the change committed anew
    on the current base."""
    if decision.action not in ("held", "open-pull") or not stale:
        return decision
    done = "would be rebuilt (dry run)" if dry_run else "rebuilt"
    return BranchDecision(
        "push",
        "created",
        f"{branch} held a change already merged into {base}: {done} on the current {base}",
    )


__all__ = [
    "BASE_HOLDS",
    "BranchAction",
    "BranchDecision",
    "BranchView",
    "Outcome",
    "decide_branch",
    "decide_rebuild",
    "decide_stale",
]
