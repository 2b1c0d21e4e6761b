"""The deployment ledger: what ran where, since when, and why. Pure.

The base branch's first-parent history is the log of what each environment ran: every commit
on it is a moment the environment repo changed. The flow (`bot.flows.ledger`) reads those
commits (messages, the merged branch tip of a merge commit, the pull request the forge says
brought a commit in) and, only where the claims leave a gap, the version a folder declared at
a commit; this module turns them into per-(model, environment) entries, newest first.

Where a claim comes from, in order (the first that concerns the model and environment wins):
1. the trailers of the first-parent commit itself (local mode, rebase merges, squash merges
   whose message the bot wrote or that kept the commit's body);
2. the trailers of the merged branch tip (a merge commit's second parent);
3. the PR marker in the first-parent commit's message (a squash merge that kept the pull
   request's description);
4. the PR marker in the body of the pull request the forge says introduced the commit (a
   squash merge whose description was dropped).

A version change no claim explains is a manual edit: the flow finds the commit by reading
the folder (`suspect_gaps` names where to look) and passes it in; nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import pairwise
from typing import Literal

from bot.core.marker import ProposalMeta, read_marker
from bot.core.trailers import (
    ACTION,
    ENVIRONMENT,
    GATE,
    HOLD_LIFTED,
    IMAGE_TAG,
    MODEL,
    MODEL_VERSION,
    NO_VERSION,
    PREVIOUS_VERSION,
    REQUESTED_BY,
    BotCommit,
    read_bot_commit,
)

EntryAction = Literal["promote", "rollback", "manual"]


@dataclass(frozen=True)
class PullFacts:
    """What the forge says about the pull request that brought a commit to the base."""

    number: int
    url: str
    body: str  # its description: carries the bot's marker
    merged_by: str | None
    approved_by: tuple[str, ...]  # logins whose latest review approved it


@dataclass(frozen=True)
class LandedCommit:
    """One first-parent commit of the base branch, as the ledger reads it."""

    sha: str
    landed_at: datetime  # its committer time: when the change reached the base branch
    message: str
    trailers: Mapping[str, str]
    merged_tip_trailers: Mapping[str, str] | None = None  # a merge commit's second parent's
    pull: PullFacts | None = None  # the pull request the forge says introduced it


@dataclass(frozen=True)
class ManualEdit:
    """A first-parent commit after which the folder declared another version, with no claim
    of the bot about it (found by the flow reading the folder)."""

    commit: LandedCommit
    version: str | None  # what the folder declared after it (None: no version, or no folder)
    previous_version: str | None  # what it declared before


@dataclass(frozen=True)
class Entry:
    """One change of what runs: a version reached the environment (newest entries first)."""

    model: str
    environment: str
    version: str | None
    previous_version: str | None
    action: EntryAction
    commit: str  # the first-parent commit of the base that brought it
    at: datetime  # when that commit reached the base
    image_tag: str | None = None  # where the folder names a tag that stands for the version
    pull_number: int | None = None
    pull_url: str | None = None
    merged_by: str | None = None
    approved_by: tuple[str, ...] = ()
    gate: str | None = None  # the gate decision's summary (a promotion's `Gate` trailer)
    reason: str | None = None  # a rollback's reason
    requested_by: str | None = None
    hold_lifted: str | None = None  # the reason a held version was promoted again


@dataclass(frozen=True)
class Hold:
    """A version rolled back in an environment: promoting it again is blocked until someone
    lifts the hold (`promote --lift-hold REASON`)."""

    version: str
    rollback: Entry  # the rollback that put the hold


@dataclass(frozen=True)
class Gap:
    """Where claims disagree: between the first-parent commits `newer` (exclusive, None: the
    base's head) and `older` (exclusive, None: the start of history) the folder's version
    changed from `expected_before` to `found_after` by a commit no claim explains."""

    newer: str | None
    older: str | None
    expected_before: str | None
    found_after: str | None


@dataclass(frozen=True)
class Ledger:
    model: str
    environment: str
    entries: tuple[Entry, ...]  # newest first

    @property
    def current(self) -> Entry | None:
        return self.entries[0] if self.entries else None

    def at(self, when: datetime) -> Entry | None:
        """The entry in force at `when` (the newest that reached the base at or before it)."""
        return next((entry for entry in self.entries if entry.at <= when), None)

    def holds(self) -> dict[str, Hold]:
        """Every version held in this environment: rolled back, and not promoted since with
        the hold lifted."""
        holds: dict[str, Hold] = {}
        # Oldest first, so a later rollback replaces an earlier hold and a lift only undoes
        # the holds put before it.
        for entry in reversed(self.entries):
            if entry.action == "rollback" and entry.previous_version is not None:
                holds[entry.previous_version] = Hold(entry.previous_version, entry)
            elif entry.action == "promote" and entry.hold_lifted and entry.version is not None:
                holds.pop(entry.version, None)
        return holds


def claim_trailers(commit: LandedCommit, model: str, environment: str) -> Mapping[str, str] | None:
    """The bot's trailers about `model` in `environment` that `commit` carries (see the
    module's order), or None."""
    sources = (
        commit.trailers,
        commit.merged_tip_trailers,
        _marker_trailers(commit.message, model, environment),
        _marker_trailers(commit.pull.body, model, environment) if commit.pull else None,
    )
    return next(
        (
            trailers
            for trailers in sources
            if trailers is not None and _claim_of(trailers, model, environment) is not None
        ),
        None,
    )


def _claim_of(trailers: Mapping[str, str], model: str, environment: str) -> BotCommit | None:
    found = read_bot_commit(trailers)
    return found if found is not None and found.concerns(model, environment) else None


def _marker_trailers(text: str, model: str, environment: str) -> Mapping[str, str] | None:
    """The trailers a marker in `text` stands for, when it is about `model` in `environment`.

    A marker written before markers carried trailers still names what the PR was about; its
    fields are enough for the ledger's entry (without gate, reason or who asked). Trailers
    that name another model or environment than the marker's own fields make the claim fail
    in `claim_trailers`: nothing says which of the two to believe.
    """
    meta = read_marker(text)
    if meta is None or (meta.model, meta.environment) != (model, environment):
        return None
    return meta.trailers if meta.trailers is not None else _trailers_of_meta(meta)


def _trailers_of_meta(meta: ProposalMeta) -> dict[str, str]:
    return {
        MODEL: meta.model,
        MODEL_VERSION: meta.version,
        PREVIOUS_VERSION: meta.previous_version or NO_VERSION,
        ENVIRONMENT: meta.environment,
        ACTION: meta.action,
    }


@dataclass(frozen=True)
class _Claim:
    """A landed commit with the bot's readable claim about one model in one environment."""

    commit: LandedCommit
    trailers: Mapping[str, str]
    bot: BotCommit
    version: str  # the claim's Model-Version: a claim without one says nothing usable


def _claims(model: str, environment: str, landed: Sequence[LandedCommit]) -> list[_Claim]:
    """The usable claims among `landed`, in its order (newest first)."""
    claims = []
    for commit in landed:
        trailers = claim_trailers(commit, model, environment)
        bot = _claim_of(trailers, model, environment) if trailers is not None else None
        if trailers is not None and bot is not None and bot.version is not None:
            claims.append(_Claim(commit, trailers, bot, bot.version))
    return claims


def _value(trailers: Mapping[str, str], key: str) -> str | None:
    return trailers.get(key) or None


def _with_pull(entry: Entry, pull: PullFacts | None) -> Entry:
    if pull is None:
        return entry
    return replace(
        entry,
        pull_number=pull.number,
        pull_url=pull.url,
        merged_by=pull.merged_by,
        approved_by=pull.approved_by,
    )


def _claim_entry(model: str, environment: str, claim: _Claim) -> Entry:
    action: EntryAction = "rollback" if claim.bot.action == "rollback" else "promote"
    entry = Entry(
        model=model,
        environment=environment,
        version=claim.version,
        previous_version=claim.bot.previous_version,
        action=action,
        commit=claim.commit.sha,
        at=claim.commit.landed_at,
        image_tag=_value(claim.trailers, IMAGE_TAG),
        gate=_value(claim.trailers, GATE),
        reason=claim.bot.reason or None,
        requested_by=_value(claim.trailers, REQUESTED_BY),
        hold_lifted=_value(claim.trailers, HOLD_LIFTED),
    )
    return _with_pull(entry, claim.commit.pull)


def _manual_entry(model: str, environment: str, edit: ManualEdit) -> Entry:
    entry = Entry(
        model=model,
        environment=environment,
        version=edit.version,
        previous_version=edit.previous_version,
        action="manual",
        commit=edit.commit.sha,
        at=edit.commit.landed_at,
    )
    return _with_pull(entry, edit.commit.pull)


def build_ledger(
    model: str,
    environment: str,
    landed: Sequence[LandedCommit],
    manual: Sequence[ManualEdit] = (),
) -> Ledger:
    """The ledger of `model` in `environment` from the base's first-parent commits
    (`landed`, newest first, any model) and the manual edits the flow found."""
    by_commit = {
        claim.commit.sha: _claim_entry(model, environment, claim)
        for claim in _claims(model, environment, landed)
    }
    landed_shas = {commit.sha for commit in landed}
    unplaced: list[Entry] = []
    for edit in manual:
        # The bot's own word about a commit beats what reading the folder suggests.
        if edit.commit.sha in by_commit:
            continue
        entry = _manual_entry(model, environment, edit)
        if edit.commit.sha in landed_shas:
            by_commit[edit.commit.sha] = entry
        else:
            unplaced.append(entry)
    # The first-parent order is the truth about what came first; committer times only
    # place what the flow found outside the commits it read.
    entries = [by_commit[commit.sha] for commit in landed if commit.sha in by_commit]
    for entry in unplaced:
        _insert_by_time(entries, entry)
    return Ledger(model, environment, tuple(entries))


def _insert_by_time(entries: list[Entry], entry: Entry) -> None:
    """Put `entry` before the first older entry: after those of the same time (stable)."""
    index = next((i for i, other in enumerate(entries) if other.at < entry.at), len(entries))
    entries.insert(index, entry)


def suspect_gaps(
    model: str,
    environment: str,
    landed: Sequence[LandedCommit],
    head_version: str | None,
) -> list[Gap]:
    """Where a manual edit must have happened: the folder at the head declares another
    version than the newest claim made it, or a claim's previous version is not the version
    the older claim made it (or, before the oldest claim, the version is not accounted for)."""
    claims = _claims(model, environment, landed)
    if not claims:
        return [Gap(None, None, None, head_version)] if head_version is not None else []
    gaps = []
    newest = claims[0]
    if head_version != newest.version:
        gaps.append(Gap(None, newest.commit.sha, newest.version, head_version))
    for newer, older in pairwise(claims):
        if newer.bot.previous_version != older.version:
            gaps.append(
                Gap(newer.commit.sha, older.commit.sha, older.version, newer.bot.previous_version)
            )
    oldest = claims[-1]
    if oldest.bot.previous_version is not None:
        gaps.append(Gap(oldest.commit.sha, None, None, oldest.bot.previous_version))
    return gaps


def find_changes(
    commits: Sequence[str],
    version_at: Callable[[str], str | None],
    before: str | None,
    after: str | None,
) -> list[tuple[str, str | None, str | None]]:
    """The commits of `commits` (first-parent, oldest first, a gap's inside) after which the
    declared version changed, as (sha, previous, version): found by bisection, reading the
    version (`version_at`) at as few commits as possible. `before` is the version before the
    first commit, `after` the version after the last one.

    An interval whose two ends declare the same version is taken to hold no change: an edit
    undone within it (A → B → A) is not seen. That is the price of reading log2(n) commits
    instead of n; the edit and its undoing changed nothing that runs afterwards.
    """
    if not commits:
        return []
    return _Bisection(commits, version_at, before, after).changes()


class _Bisection:
    """`find_changes`' search. Index -1 stands for "before the first commit"; each version
    is read at most once, and the last commit's never (it is `after`)."""

    def __init__(
        self,
        commits: Sequence[str],
        version_at: Callable[[str], str | None],
        before: str | None,
        after: str | None,
    ) -> None:
        self._commits = commits
        self._version_at = version_at
        self._known: dict[int, str | None] = {-1: before, len(commits) - 1: after}

    def changes(self) -> list[tuple[str, str | None, str | None]]:
        found: list[tuple[str, str | None, str | None]] = []
        self._search(-1, len(self._commits) - 1, found)
        return found

    def _version(self, index: int) -> str | None:
        if index not in self._known:
            self._known[index] = self._version_at(self._commits[index])
        return self._known[index]

    def _search(self, low: int, high: int, found: list[tuple[str, str | None, str | None]]) -> None:
        """Append the changes after `low` up to `high` (inclusive), oldest first."""
        previous, version = self._version(low), self._version(high)
        if previous == version:
            return
        if high - low == 1:
            found.append((self._commits[high], previous, version))
            return
        middle = (low + high) // 2
        self._search(low, middle, found)
        self._search(middle, high, found)


__all__ = [
    "Entry",
    "EntryAction",
    "Gap",
    "Hold",
    "LandedCommit",
    "Ledger",
    "ManualEdit",
    "PullFacts",
    "build_ledger",
    "claim_trailers",
    "find_changes",
    "suspect_gaps",
]
