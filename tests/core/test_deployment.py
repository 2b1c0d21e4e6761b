"""Which first-parent commit brought a promotion in (bot.core.deployment)."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.core.commits import CommitInfo
from bot.core.config import BotConfig
from bot.core.deployment import Deployment, bot_commit_of, introducing_commit
from bot.core.marker import ProposalMeta
from bot.core.trailers import bot_trailers

NOW = datetime(2025, 1, 31, 12, 0, tzinfo=timezone.utc)


# --------------------------------------------------------------------------- history


def commit(sha: str, *parents: str) -> CommitInfo:
    return CommitInfo(sha, sha, {}, tuple(parents), NOW)


def test_introducing_commit_finds_the_merge_that_brought_the_promotion_in() -> None:
    # main: S - M1 - X - M2   (M1 merges P; M2 merges a branch made after M1: Q)
    history = [
        commit("M2", "X", "Q"),
        commit("Q", "M1"),
        commit("X", "M1"),
        commit("M1", "S", "P"),
        commit("P", "S"),
        commit("S"),
    ]
    assert introducing_commit(history, "M2", "P") == "M1"  # not M2, although P < Q
    assert introducing_commit(history, "M2", "Q") == "M2"
    assert introducing_commit(history, "M2", "X") == "X"  # on main: itself
    assert introducing_commit(history, "M2", "S") == "S"
    assert introducing_commit(history, "M2", "nope") is None
    assert introducing_commit(history[:2], "M2", "P") is None  # not reached


def test_introducing_commit_through_an_updated_pr_branch() -> None:
    # The PR branch had main merged into it (U) before the PR was merged (M).
    history = [
        commit("M", "Y", "U"),
        commit("U", "P", "Y"),
        commit("Y", "S"),
        commit("P", "S"),
        commit("S"),
    ]
    assert introducing_commit(history, "M", "P") == "M"


def bot(sha: str, action: str, version: str, previous: str, model: str = "fraud") -> CommitInfo:
    trailers = bot_trailers(ProposalMeta(action, model, "production", version, previous or None))
    return CommitInfo(sha, f"{action} {version}", trailers, (), NOW)


def deployment(current: str | None, *history: CommitInfo) -> Deployment:
    return Deployment(
        model="fraud",
        environment="production",
        config=BotConfig(),
        folder="environments/production/fraud",
        paths=(),
        current=current,
        history=history,
    )


def test_the_promotion_of_the_current_version_and_what_it_replaced() -> None:
    found = deployment(
        "7",
        commit("hand"),
        bot("p7", "promote", "7", "6"),
        bot("other", "promote", "9", "8", model="other"),
        bot("p6", "promote", "6", ""),
    )
    assert found.promotion is not None and found.promotion.sha == "p7"
    assert found.previous == "6"
    last = found.last_action
    assert last is not None and (last[0].sha, last[1].action) == ("p7", "promote")
    assert [c.sha for c, _ in found.bot_commits()] == ["p7", "p6"]


def test_a_rolled_back_version_has_no_promotion_of_the_current_version() -> None:
    found = deployment("6", bot("r6", "rollback", "6", "7"), bot("p7", "promote", "7", "6"))
    last = found.last_action
    assert last is not None and last[1].action == "rollback"
    promotion = found.promotion
    assert promotion is None and found.previous is None


def test_a_first_promotion_has_no_previous_version() -> None:
    found = deployment("1", bot("p1", "promote", "1", ""))
    assert found.promotion is not None and found.previous is None


def test_commits_the_bot_did_not_make_are_not_its_claims() -> None:
    assert bot_commit_of(commit("x"), "fraud", "production") is None
    claim = bot_commit_of(bot("p", "promote", "2", "1"), "fraud", "production")
    assert claim is not None and claim.version == "2"
    assert bot_commit_of(bot("p", "promote", "2", "1"), "fraud", "staging") is None
