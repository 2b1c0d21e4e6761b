"""What the environment repo says is deployed: one model in one environment. Pure.

The flows read the folder and its history (`bot.flows.session.read_deployment`); this module
holds the value and the rules that read it: which commits are the bot's, which promotion
brought the current version in, and which first-parent commit of the base introduced it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.commits import CommitInfo
from bot.core.config import BotConfig
from bot.core.trailers import BotCommit, read_bot_commit


def bot_commit_of(commit: CommitInfo, model: str, environment: str) -> BotCommit | None:
    """The bot's claim in `commit` when it is about `model` in `environment`."""
    found = read_bot_commit(commit.trailers)
    return found if found is not None and found.concerns(model, environment) else None


@dataclass(frozen=True)
class Deployment:
    """What the env repo says about one model in one environment."""

    model: str
    environment: str
    config: BotConfig
    folder: str
    paths: tuple[str, ...]  # the folder's files a version is read from (`candidate_paths`)
    current: str | None  # the version the folder declares now
    history: tuple[CommitInfo, ...]  # commits touching the folder, newest first

    def bot_commits(self) -> list[tuple[CommitInfo, BotCommit]]:
        """The bot's promote and rollback commits of this model here, newest first."""
        return [
            (commit, claim)
            for commit in self.history
            if (claim := bot_commit_of(commit, self.model, self.environment)) is not None
        ]

    @property
    def promotion(self) -> CommitInfo | None:
        """The newest promote commit of the current version."""
        return next(
            (
                commit
                for commit, claim in self.bot_commits()
                if claim.action == "promote" and claim.version == self.current
            ),
            None,
        )

    @property
    def last_action(self) -> tuple[CommitInfo, BotCommit] | None:
        """The newest bot commit (promote or rollback) of the model here."""
        ours = self.bot_commits()
        return ours[0] if ours else None

    @property
    def previous(self) -> str | None:
        """The version the promotion replaced (its `Previous-Version` trailer)."""
        promotion = self.promotion
        if promotion is None:
            return None
        claim = read_bot_commit(promotion.trailers)
        return claim.previous_version if claim is not None else None


def introducing_commit(commits: Sequence[CommitInfo], head: str, promotion: str) -> str | None:
    """The first-parent commit of `head`'s history that brought `promotion` in.

    Walking the first parents from `head`, it is the last commit that still has `promotion`
    among its ancestors: `promotion` itself when it sits on the base (squash, rebase, local
    mode), else the merge commit whose second parent carried it. None when `commits` (newest
    first, as `git log` lists them) do not reach that far.
    """
    by_sha = {c.sha: c for c in commits}
    if promotion not in by_sha:
        return None
    memo: dict[str, bool] = {}

    def contains(sha: str) -> bool:
        """`promotion` is `sha` or one of its ancestors (within `commits`)."""
        stack, seen = [sha], set()
        found = False
        while stack:
            item = stack.pop()
            if item in seen or item not in by_sha:
                continue
            if item in memo:
                found = found or memo[item]
                continue
            seen.add(item)
            if item == promotion:
                found = True
                break
            stack.extend(by_sha[item].parents)
        memo[sha] = found
        return found

    current = head
    if not contains(current):
        return None
    while True:
        commit = by_sha.get(current)
        if commit is None:
            return None
        if current == promotion:
            return current
        first = commit.parents[0] if commit.parents else None
        if first is None or not contains(first):
            return current
        current = first


__all__ = ["Deployment", "bot_commit_of", "introducing_commit"]
