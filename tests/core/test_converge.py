"""decide_branch: every combination of what the remote shows, for promote and rollback alike."""

from __future__ import annotations

import itertools

import pytest

from bot.core.converge import (
    BASE_HOLDS,
    BranchDecision,
    BranchView,
    decide_branch,
    decide_rebuild,
    decide_stale,
)
from bot.core.pulls import PullRequestInfo

BRANCH = "model-bot/promote/production/fraud"


def expected(view: BranchView, dry_run: bool) -> tuple[str, str]:
    """The rule, written as a table of cases rather than as the implementation's branches."""
    if view.holds and view.open_pull and not view.pull_describes:
        return "refresh-pull", "updated"
    if view.holds and view.open_pull:
        return "held", "unchanged"
    if view.holds and not view.uses_pulls:
        return "held", "unchanged"
    if view.holds:
        return "open-pull", "created"
    if view.open_pull or (view.exists and not view.uses_pulls):
        return "push", "updated"
    return "push", "created"


VIEWS = [
    BranchView(*flags)
    for flags in itertools.product((False, True), repeat=5)
    # a branch that holds the change exists; an open PR needs pulls and a branch
    if not (flags[1] and not flags[0])
    and not (flags[3] and not (flags[2] and flags[0]))
    and not (flags[4] and not flags[3])
]


@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize("view", VIEWS, ids=str)
def test_every_view_has_one_decision(view: BranchView, dry_run: bool) -> None:
    decision = decide_branch(view, branch=BRANCH, dry_run=dry_run, noun="change")
    assert (decision.action, decision.outcome) == expected(view, dry_run)
    if dry_run and decision.action != "held":
        assert decision.reason.startswith("dry run: ")
    if not dry_run and decision.action != "held":
        assert decision.reason == ""


def test_held_reasons_name_the_holder_and_the_noun() -> None:
    by_branch = decide_branch(
        BranchView(True, True, False, False, False), branch=BRANCH, dry_run=False, noun="rollback"
    )
    assert by_branch == BranchDecision(
        "held", "unchanged", f"{BRANCH} already holds exactly this rollback"
    )
    by_pull = decide_branch(
        BranchView(True, True, True, True, True), branch=BRANCH, dry_run=True, noun="change"
    )
    assert by_pull.reason == "the open pull request already holds exactly this change"


def test_dry_run_reasons_say_what_would_happen() -> None:
    def reason(view: BranchView) -> str:
        return decide_branch(view, branch=BRANCH, dry_run=True, noun="change").reason

    assert reason(BranchView(True, True, True, True, False)) == (
        "dry run: the pull request would be updated"
    )
    assert reason(BranchView(True, True, True, False, False)) == (
        "dry run: the pull request would be opened"
    )
    assert reason(BranchView(False, False, True, False, False)) == (
        "dry run: nothing was pushed or opened"
    )


def test_base_holds_is_an_unchanged_outcome() -> None:
    assert (BASE_HOLDS.action, BASE_HOLDS.outcome) == ("none", "unchanged")
    assert BASE_HOLDS.reason == "the base already holds this change"


HELD = BranchDecision(
    "held", "unchanged", "the open pull request already holds exactly this change"
)


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_held_branch_that_conflicts_is_rebuilt(dry_run: bool) -> None:
    decision = decide_rebuild(HELD, conflicted=True, what="#2", base="main", dry_run=dry_run)
    done = "would be rebuilt (dry run)" if dry_run else "rebuilt"
    assert decision == BranchDecision(
        "push", "updated", f"#2 no longer merged cleanly into main: {done} on the current main"
    )


@pytest.mark.parametrize(
    "decision",
    [HELD, BranchDecision("push", "updated"), BranchDecision("open-pull", "created"), BASE_HOLDS],
)
def test_only_a_held_conflicted_branch_is_rebuilt(decision: BranchDecision) -> None:
    assert decide_rebuild(decision, conflicted=False, what="#2", base="main", dry_run=False) is (
        decision
    )
    if decision is not HELD:
        assert decide_rebuild(decision, conflicted=True, what="#2", base="main", dry_run=False) is (
            decision
        )


@pytest.mark.parametrize(
    ("state", "mergeable", "conflicted"),
    [
        ("open", False, True),
        ("open", True, False),
        ("open", None, False),  # GitHub still computing it: not known, not waited for
        ("closed", False, False),
    ],
)
def test_pull_conflicted_only_when_the_forge_said_so(
    state: str, mergeable: bool | None, conflicted: bool
) -> None:
    pull = PullRequestInfo(
        number=2,
        url="u",
        state=state,
        title="t",
        body="",
        head_ref="h",
        head_sha="s",
        base_ref="main",
        merged=False,
        merge_commit_sha=None,
        labels=(),
        mergeable=mergeable,
    )
    assert pull.conflicted is conflicted


@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize("action", ["held", "open-pull"])
def test_a_branch_already_merged_is_rebuilt_never_held_or_opened(
    action: str, dry_run: bool
) -> None:
    """The defect: after promote 7 -> merge -> revert, a rerun said `unchanged` (local) or
    GitHub answered `422 No commits between` (a PR opened from the merged branch)."""
    decision = BranchDecision(action, "unchanged" if action == "held" else "created")  # type: ignore[arg-type]
    rebuilt = decide_stale(decision, stale=True, branch="b", base="main", dry_run=dry_run)
    assert (rebuilt.action, rebuilt.outcome) == ("push", "created")
    assert rebuilt.reason.startswith("b held a change already merged into main: ")
    assert ("would be rebuilt (dry run)" in rebuilt.reason) == dry_run
    assert decide_stale(decision, stale=False, branch="b", base="main", dry_run=dry_run) is decision


@pytest.mark.parametrize(
    "decision",
    [
        BranchDecision("push", "created"),
        BranchDecision("refresh-pull", "updated"),
        BranchDecision("none", "unchanged"),
    ],
)
def test_only_held_or_opening_branches_can_be_stale(decision: BranchDecision) -> None:
    assert decide_stale(decision, stale=True, branch="b", base="main", dry_run=False) is decision
