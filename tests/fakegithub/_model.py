"""In-memory state of the fake GitHub (users, repos, issues, pull requests, ...)."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PERMISSION_ORDER = ["none", "read", "triage", "write", "maintain", "admin"]
# The legacy ``permission`` field of the collaborator-permission endpoint.
LEGACY_PERMISSION = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
    "none": "none",
}
REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
#: A repository's ``squash_merge_commit_title`` / ``squash_merge_commit_message`` values
#: (https://docs.github.com/en/rest/repos/repos#update-a-repository).
SQUASH_TITLES = ("PR_TITLE", "COMMIT_OR_PR_TITLE")
SQUASH_MESSAGES = ("PR_BODY", "COMMIT_MESSAGES", "BLANK")
#: Review states as ``GET /pulls/{n}/reviews`` reports them
#: (https://docs.github.com/en/rest/pulls/reviews#list-reviews-for-a-pull-request).
REVIEW_STATES = ("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING")
DOCS = "https://docs.github.com/rest"


def now_iso(ts: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if ts is None else ts))


def node_id(kind: str, ident: int) -> str:
    return base64.b64encode(f"0:{kind}{ident}".encode()).decode().rstrip("=")


def perm_at_least(have: str, need: str) -> bool:
    return PERMISSION_ORDER.index(have) >= PERMISSION_ORDER.index(need)


class ApiError(Exception):
    """Raised by route handlers; becomes a GitHub-style JSON error response."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[Any] | None = None,
        documentation_url: str = DOCS,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.documentation_url = documentation_url
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            data["errors"] = self.errors
        data["documentation_url"] = self.documentation_url
        data["status"] = str(self.status)
        return data


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def validation_failed(errors: list[dict[str, Any]], doc: str = DOCS) -> ApiError:
    return ApiError(422, "Validation Failed", errors=errors, documentation_url=doc)


@dataclass
class User:
    login: str
    id: int
    type: str = "User"
    name: str | None = None
    email: str | None = None
    created_at: str = field(default_factory=now_iso)

    @property
    def node_id(self) -> str:
        return node_id("User" if self.type == "User" else "Organization", self.id)


@dataclass
class Team:
    id: int
    org: str
    slug: str
    name: str
    #: ``owner/name`` (lower-case) of the repositories the team is a collaborator of; None for a
    #: team the fake made up on the fly because a test requested it without ``add_team``.
    repos: set[str] | None = None


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None
    default: bool = False


@dataclass
class Reaction:
    id: int
    user: str
    content: str
    created_at: str = field(default_factory=now_iso)


@dataclass
class Comment:
    id: int
    issue_number: int
    user: str
    body: str
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    reactions: list[Reaction] = field(default_factory=list)


@dataclass
class Review:
    id: int
    user: str
    body: str
    state: str
    commit_id: str
    submitted_at: str = field(default_factory=now_iso)


@dataclass
class AutoMerge:
    """An armed auto-merge (GraphQL ``enablePullRequestAutoMerge``), as the REST pull request
    JSON reports it in ``auto_merge`` (GitHub REST docs, "Get a pull request": ``enabled_by``,
    ``merge_method`` merge | squash | rebase, ``commit_title``, ``commit_message``)."""

    enabled_by: str  # login
    merge_method: str  # merge | squash | rebase (the REST spelling)
    commit_title: str = ""
    commit_message: str = ""


@dataclass
class PullData:
    id: int
    head_ref: str
    base_ref: str
    head_sha: str
    base_sha: str
    draft: bool = False
    maintainer_can_modify: bool = False
    merged: bool = False
    merged_at: str | None = None
    merge_commit_sha: str | None = None
    merged_by: str | None = None
    #: The commits a merge wrote on the base: the merge commit, the squash commit, or every
    #: commit a rebase merge replayed (oldest first; the last is ``merge_commit_sha``).
    landed_shas: list[str] = field(default_factory=list)
    #: The PR's own commits (``GET /pulls/{n}/commits``) as they were when it was merged.
    merged_commits: list[str] = field(default_factory=list)
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    #: GitHub's native auto-merge, when armed (``enablePullRequestAutoMerge``).
    auto_merge: AutoMerge | None = None
    # (head_sha, base_sha) for which merged-by-push detection last ran
    checked: tuple[str, str] | None = None
    #: time.time() at creation (``lag_pull_listing`` hides young pull requests)
    created_ts: float = field(default_factory=time.time)
    #: (head_sha, base_sha) for which a read started GitHub's background mergeability job:
    #: the first read after creation or a push answers ``mergeable: null``, later reads compute.
    mergeability_key: tuple[str, str] | None = None
    #: test-merge commit of head into base per (head_sha, base_sha); None when it conflicts
    test_merge_cache: dict[tuple[str, str], str | None] = field(default_factory=dict)
    # caches keyed by (head_sha, base_sha)
    stats_cache: dict[tuple[str, str], tuple[int, int, int, int]] = field(default_factory=dict)


@dataclass
class Issue:
    number: int
    id: int
    title: str
    body: str | None
    user: str
    state: str = "open"
    state_reason: str | None = None
    labels: list[str] = field(default_factory=list)  # label names (case as stored in repo)
    assignees: list[str] = field(default_factory=list)
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    closed_at: str | None = None
    closed_by: str | None = None
    comment_ids: list[int] = field(default_factory=list)
    reactions: list[Reaction] = field(default_factory=list)
    locked: bool = False
    pull: PullData | None = None


@dataclass
class BranchProtection:
    required_reviews: int = 0
    required_checks: tuple[str, ...] = ()


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    path: Path
    default_branch: str
    private: bool = True
    description: str | None = None
    created_at: str = field(default_factory=now_iso)
    permissions: dict[str, str] = field(default_factory=dict)  # login -> role
    issues: dict[int, Issue] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)  # lower-case name -> label
    comments: dict[int, Comment] = field(default_factory=dict)
    next_number: int = 1
    allow_merge_commit: bool = True
    allow_squash_merge: bool = True
    allow_rebase_merge: bool = True
    #: "Allow auto-merge" (``allow_auto_merge``; off by default on GitHub).
    allow_auto_merge: bool = False
    #: Defaults of a squash merge's commit title and message (``set_squash_message``).
    squash_merge_commit_title: str = "COMMIT_OR_PR_TITLE"
    squash_merge_commit_message: str = "COMMIT_MESSAGES"
    protections: dict[str, BranchProtection] = field(default_factory=dict)  # branch -> rules
    #: commit sha -> {context: state} of commit statuses (latest per context wins)
    statuses: dict[str, dict[str, str]] = field(default_factory=dict)
    # Switches of the unfriendly behaviours (see FakeGitHub): remaining counts and flags.
    base_modified_left: int = 0
    head_invisible_left: int = 0
    listing_lag_left: int = 0
    push_denied: set[str] = field(default_factory=set)  # lower-case logins
    contents_hidden: set[str] = field(default_factory=set)  # lower-case logins
    labels_refused: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"
