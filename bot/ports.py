"""The seams the flows depend on: small Protocols, one per kind of external system.

Each adapter in `bot.adapters` implements one (the git clone a `Workspace` and, through
`GitPublisher`, a `Publisher`; GitHub a `Forge`; Prometheus a `MetricSource`; MLflow an
`EvidenceSource`). A second forge or a second way to publish commits (GitHub's API instead of
`git push`) is a new adapter behind the same port; no flow changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.core.analysis import QueryResult, RangeQuery
from bot.core.commits import CommitInfo, CommitRequest, PushResult
from bot.core.evidence import Champion, Evidence
from bot.core.pulls import CommentInfo, IssueInfo, MergeResult, PullRequestInfo


class Forge(Protocol):
    """One repository on a forge: pull requests, comments, reactions, permissions, files."""

    @property
    def web_root(self) -> str:
        """The repository's web address (links in PR bodies)."""
        ...

    def clone_url(self) -> str: ...
    def default_branch(self) -> str: ...
    def read_file(self, path: str, ref: str | None = None) -> bytes | None: ...
    def find_pulls(
        self, head_branch: str, state: str = "open", base: str | None = None
    ) -> list[PullRequestInfo]: ...
    def find_open_pull(
        self, head_branch: str, base: str | None = None
    ) -> PullRequestInfo | None: ...
    def get_pull(self, number: int) -> PullRequestInfo: ...
    def create_pull(self, *, title: str, body: str, head: str, base: str) -> PullRequestInfo: ...
    def update_pull(self, number: int, *, title: str, body: str) -> None: ...
    def add_labels(self, number: int, labels: Sequence[str]) -> None: ...
    def request_reviewers(
        self, number: int, users: Sequence[str], teams: Sequence[str]
    ) -> list[str]:
        """The refused reviewers, one line each (the others stay requested)."""
        ...

    def merge_pull(self, number: int, title: str, squash_message: str) -> MergeResult: ...
    def comment(self, number: int, body: str) -> CommentInfo: ...
    def set_status(
        self, sha: str, *, context: str, state: str, description: str, target_url: str | None
    ) -> None: ...
    def commit_statuses(self, sha: str) -> dict[str, str]:
        """context -> the newest state of a commit's statuses."""
        ...

    def comments(self, number: int) -> list[CommentInfo]: ...
    def delete_comment(self, comment_id: int) -> None: ...
    def react(self, comment_id: int, content: str) -> None: ...
    def permission(self, login: str) -> str: ...
    def open_pulls(self) -> list[PullRequestInfo]:
        """Every open pull request from one of the bot's branches."""
        ...

    def pulls_for_commit(self, sha: str) -> list[PullRequestInfo]:
        """The pull requests the forge associates with a commit: for a commit on the default
        branch, the merged ones that introduced it (merge, squash or rebase); otherwise the
        open ones whose head contains it. Merged ones first; empty for a direct push."""
        ...

    def approvers(self, number: int) -> tuple[str, ...]:
        """Logins whose latest review (comments aside) approves the PR, sorted."""
        ...

    def closed_by(self, number: int) -> str | None:
        """Who closed the PR (or issue), None when open or not known."""
        ...

    def base_requires_checks(self, branch: str) -> bool | None:
        """True when a merge into `branch` waits for required status checks or approving
        reviews (what the forge's auto-merge waits for); False when the branch is not
        protected; None when its rules cannot be read (e.g. the token lacks admin rights)."""
        ...

    def enable_auto_merge(self, number: int, method: str | None = None) -> str | None:
        """Arm the forge's native auto-merge with `method` (merge | squash | rebase): None
        when armed, else the forge's refusal as one line (refusals are not raised)."""
        ...

    # Issues and dispatches (`monitor`): tracking issues, and starting a training workflow.
    def find_issues(self, label: str) -> list[IssueInfo]:
        """The open issues (not pull requests) carrying `label`."""
        ...

    def create_issue(self, *, title: str, body: str, labels: Sequence[str]) -> IssueInfo: ...
    def edit_issue(
        self, number: int, *, body: str | None = None, state: str | None = None
    ) -> None: ...
    def get_issue(self, number: int) -> IssueInfo | None: ...
    def dispatch_workflow(self, workflow: str, ref: str, inputs: Mapping[str, str]) -> None:
        """Start `workflow` (a file name) on `ref`; a missing workflow, or one that does not
        take a dispatch with these inputs, raises `InvalidInput` (the policy's to fix)."""
        ...

    def dispatch_event(self, event_type: str, payload: Mapping[str, object]) -> None:
        """A `repository_dispatch` of `event_type` with `payload`."""
        ...


class Workspace(Protocol):
    """The environment repo as the flows read it: files of the base branch (a sparse working
    tree), its history, and the local scratch work a rollback needs (revert, restore)."""

    @property
    def base(self) -> str: ...

    def add_sparse_paths(self, paths: Sequence[str]) -> None: ...
    def read(self, rel: str) -> bytes | None: ...
    def exists(self, rel: str) -> bool: ...
    def head_sha(self) -> str: ...
    def tree_of(self, ref: str, paths: Sequence[str]) -> dict[str, bytes]: ...
    def log(
        self, paths: Sequence[str], ref: str = "HEAD", max_count: int = 200
    ) -> list[CommitInfo]: ...
    def base_history(self, mentioning: str | None = None) -> list[CommitInfo]:
        """Every first-parent commit of the base branch, newest first (messages only);
        `mentioning`: only those whose message contains that text."""
        ...

    def commits(self, shas: Sequence[str]) -> dict[str, CommitInfo]:
        """Commits of the base's history by sha (e.g. the branch tips merge commits merged)."""
        ...

    def in_base_history(self, sha: str) -> bool:
        """Whether a commit was merged into the base branch (is reachable from it)."""
        ...

    def files_at(self, commit: str, folder: str) -> dict[str, bytes]:
        """The files directly under `folder` at a commit of the base's history."""
        ...

    def start_branch(self, branch: str, from_ref: str) -> None: ...
    def revert(self, commit_sha: str, paths: Sequence[str]) -> bool: ...
    def restore_paths(self, ref: str, paths: Sequence[str]) -> None: ...
    def commit(
        self,
        message: str,
        trailers: Mapping[str, str],
        author: tuple[str, str],
        paths: Sequence[str],
    ) -> str | None:
        """Commit the staged work under `paths` locally (never pushed); None: no change."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class BranchSnapshot:
    """What one of the bot's remote branches holds under some paths."""

    sha: str
    files: Mapping[str, bytes]
    trailers: Mapping[str, str]  # of the newest commit touching those paths


class Publisher(Protocol):
    """A change set becomes a commit on one of the bot's branches. `publish` is a
    compare-and-swap: it lands only while the remote branch is still `expected_head`, so two
    runs racing on one branch never lose each other's update (the loser reads again)."""

    def remote_head(self, branch: str) -> str | None: ...
    def snapshot(self, branch: str, paths: Sequence[str]) -> BranchSnapshot | None: ...
    def publish(self, request: CommitRequest, expected_head: str | None) -> PushResult | None:
        """None when the base already holds the change (nothing to commit)."""
        ...

    def conflicts(self, branch: str, base: str, paths: Sequence[str]) -> bool:
        """Whether the branch (read by `snapshot`) no longer merges cleanly into `base`,
        judged on `paths`, the only ones the bot's commit on it touches."""
        ...


class MetricSource(Protocol):
    """Answers range queries (Prometheus). Never raises for the source's own trouble: an
    unreachable source gives results with errors, which judge as inconclusive."""

    def fetch_ranges(self, queries: Mapping[str, RangeQuery]) -> dict[str, QueryResult]: ...


class EvidenceSource(Protocol):
    """Where a candidate's evidence comes from (a gate-results file, the MLflow registry)."""

    def evidence(self) -> Evidence: ...


class ChampionSource(Protocol):
    """On request, one version's metrics as the champion (the MLflow registry, when it names
    no champion: promote then gates against the version the environment runs)."""

    def champion(self, version: str) -> Champion: ...


SessionOpener = Callable[[Sequence[str]], "EnvSession"]


class BaseMerger(Protocol):
    """Local mode's `auto_merge`: with no forge to merge a pull request, the bot merges its
    own pushed branch into the base (a merge commit, the base only moved forward)."""

    def merge_into_base(
        self, branch: str, message: str, author: tuple[str, str]
    ) -> MergeResult: ...


@dataclass
class EnvSession:
    """The connections of one run: the env repo (read and publish) and, on a forge, the
    forge. Opened by the CLI (which builds the adapters); the flows only use it."""

    workspace: Workspace
    publisher: Publisher
    base: str
    forge: Forge | None
    merger: BaseMerger | None = None  # local mode only

    @property
    def web_root(self) -> str | None:
        return self.forge.web_root if self.forge is not None else None

    def close(self) -> None:
        self.workspace.close()


class Registry(Protocol):
    """A model registry (MLflow) as the bot moves it: aliases that follow what is deployed,
    tags on versions. Reads answer None for what the registry does not hold; failures to
    reach it raise `ExternalError`, a version it lacks on a write `InvalidInput`."""

    def alias_version(self, model: str, alias: str) -> str | None:
        """The version `alias` points at; None when the model has no such alias (or the
        registry has no such model)."""
        ...

    def set_alias(self, model: str, alias: str, version: str) -> None: ...

    def set_version_tags(self, model: str, version: str, tags: Mapping[str, str]) -> None: ...

    def version_tags(self, model: str, version: str) -> Mapping[str, str] | None:
        """The tags of a version; None when the registry has no such model or version."""
        ...


__all__ = [
    "BranchSnapshot",
    "ChampionSource",
    "EnvSession",
    "EvidenceSource",
    "Forge",
    "MetricSource",
    "Publisher",
    "Registry",
    "SessionOpener",
    "Workspace",
]
