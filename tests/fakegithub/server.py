"""A stateful fake of the GitHub REST API (v3) and of GitHub's git smart-HTTP endpoint.

PyGithub talks to it unmodified::

    fake = FakeGitHub(tmp_path).start()
    token = fake.add_user("bot").token
    gh = github.Github(base_url=fake.api_url, auth=github.Auth.Token(token))

Bare repositories live under ``root/repos/{owner}/{name}.git`` and are served over smart HTTP
at ``fake.git_base_url`` (``http://127.0.0.1:PORT/git``) through ``git http-backend``.

By default the fake is friendlier than GitHub. Switches make it as unfriendly, per test, with
GitHub's own status, headers and body: ``set_merge_methods``, ``base_branch_modified``,
``protect_branch`` (+ ``set_commit_status``), ``secondary_rate_limit(status=, retry_after=)``,
``rate_limit_primary``, ``head_not_yet_visible``, ``lag_pull_listing``, ``deny_push``,
``hide_contents``, ``add_team``, ``refuse_labels``, plus ``inject`` / ``drop_response`` /
``latency``. Settings and seeding as a repository's admin or another user would do them:
``set_squash_message`` (the squash commit's default title and message), ``add_review``,
``set_auto_merge_allowed`` ("Allow auto-merge", off by default as on GitHub). Always on, as on
GitHub: an open PR's ``merge_commit_sha`` is its test merge commit, the first read after its
creation or a push answers ``mergeable: null``, reading a branch's protection needs admin, and
an armed auto-merge (GraphQL ``enablePullRequestAutoMerge`` at ``/api/graphql``) merges the PR
once its base's protection is met (synchronously, on the status or review that meets it).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import subprocess
import threading
import time
import traceback
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NamedTuple

from . import _git as git
from ._actions import Dispatch
from ._api import Backend, Reply, Request, dumps
from ._model import (
    PERMISSION_ORDER,
    REVIEW_STATES,
    SQUASH_MESSAGES,
    SQUASH_TITLES,
    ApiError,
    BranchProtection,
    Repo,
    Review,
    Team,
    User,
    now_iso,
)

if TYPE_CHECKING:
    import github

__all__ = ["FakeGitHub", "FakeUser", "RecordedRequest"]

SECONDARY_RATE_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
SECONDARY_RATE_LIMIT_DOC = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)


def _is_mutation(body: bytes) -> bool:
    try:
        query = json.loads(body or b"{}").get("query")
    except (ValueError, AttributeError):
        return True
    return not isinstance(query, str) or query.lstrip().startswith("mutation")


class RecordedRequest(NamedTuple):
    """One request as received: method, path (``/api/v3`` prefix removed) and query parameters."""

    method: str
    path: str
    query: dict[str, str]
    # A GraphQL query (not a mutation): a read, though POSTed (`write_requests` leaves it out).
    graphql_read: bool = False


@dataclass(frozen=True)
class FakeUser:
    login: str
    id: int
    token: str
    type: str


@dataclass
class _Fault:
    status: int
    times: int
    method: str | None
    path_regex: re.Pattern[str] | None
    headers: dict[str, str]
    body: Any

    def matches(self, method: str, path: str) -> bool:
        if self.times <= 0:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path_regex is None or self.path_regex.search(path) is not None


@dataclass
class _Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, fake: FakeGitHub) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        body = self._read_body()
        # Header names lower-cased (HTTP header names are case-insensitive).
        headers = {k.lower(): v for k, v in self.headers.items()}
        response = self.server.fake._dispatch(self.command, self.path, headers, body)
        if response is None:
            # Simulated lost response: the request was processed but nothing is sent back.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            self.send_response(response.status)
            for key, value in response.headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(response.body)))
            if self.command != "HEAD" and response.body:
                # One write for headers + body: no small-packet/delayed-ACK stalls on keep-alive.
                self._headers_buffer.append(b"\r\n" + response.body)  # type: ignore[attr-defined]
                self.flush_headers()
            else:
                self.end_headers()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


class FakeGitHub:
    """Fake GitHub REST API + git smart HTTP, backed by bare repositories under ``root``."""

    def __init__(self, root: Path | str, *, enforce_permissions: bool = False) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._backend = Backend(self.root)
        self._backend.enforce_permissions = enforce_permissions
        self._meta_lock = threading.Lock()
        #: Notified (under ``_meta_lock``) whenever a fault or drop is used up or cleared.
        self._faults_changed = threading.Condition(self._meta_lock)
        self._requests: list[RecordedRequest] = []
        self._git_requests: list[RecordedRequest] = []
        self._faults: list[_Fault] = []
        self._drops: list[_Fault] = []
        self._server_errors: list[str] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        #: Seconds to sleep before answering every API request (not git traffic).
        self.latency: float = 0.0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeGitHub:
        if self._server is not None:
            return self
        self._server = _Server(self)
        self._backend.base = self.base_url
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-github",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeGitHub is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (the fake's "github.com")."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:PORT/api/v3``: pass as PyGithub's ``base_url``."""
        return f"{self.base_url}/api/v3"

    @property
    def git_base_url(self) -> str:
        return f"{self.base_url}/git"

    @property
    def enforce_permissions(self) -> bool:
        return self._backend.enforce_permissions

    @enforce_permissions.setter
    def enforce_permissions(self, value: bool) -> None:
        self._backend.enforce_permissions = value

    # ------------------------------------------------------------------ seeding
    def add_user(
        self,
        login: str,
        token: str | None = None,
        type: str = "User",
        *,
        name: str | None = None,
        email: str | None = None,
    ) -> FakeUser:
        """Create (or update) a user and register a token for it (generated when None)."""
        with self._backend.lock:
            user = self._backend.ensure_user(login, type=type)
            user.type = type
            if name is not None:
                user.name = name
            if email is not None:
                user.email = email
            token = token or f"ghp_{uuid.uuid4().hex}{uuid.uuid4().hex[:4]}"
            self._backend.tokens[token] = user.login.lower()
            return FakeUser(login=user.login, id=user.id, token=token, type=user.type)

    def add_token(self, login: str, token: str | None = None) -> str:
        """Register an additional token for an existing user."""
        with self._backend.lock:
            user = self._backend.user(login)
            if user is None:
                raise KeyError(login)
            token = token or f"ghp_{uuid.uuid4().hex}{uuid.uuid4().hex[:4]}"
            self._backend.tokens[token] = user.login.lower()
            return token

    def revoke_token(self, token: str) -> None:
        with self._backend.lock:
            self._backend.tokens.pop(token, None)

    def add_repo(
        self,
        owner: str,
        name: str,
        default_branch: str = "main",
        *,
        private: bool = True,
        description: str | None = None,
    ) -> Path:
        """Create an (empty) bare repository and return its path. The owner user is created if needed."""
        with self._backend.lock:
            if self._backend.find_repo(owner, name) is not None:
                raise ValueError(f"repository {owner}/{name} already exists")
            owner_user = self._backend.user(owner) or self._backend.ensure_user(
                owner, type="Organization"
            )
            path = self._backend.repos_root / owner_user.login / f"{name}.git"
            git.init_bare(path, default_branch)
            repo = Repo(
                id=self._backend.next_id(),
                owner=owner_user.login,
                name=name,
                path=path,
                default_branch=default_branch,
                private=private,
                description=description,
            )
            self._backend.repos[(owner.lower(), name.lower())] = repo
            return path

    def set_permission(self, owner: str, name: str, login: str, permission: str) -> None:
        """Grant ``login`` a role (admin|maintain|write|triage|read|none) on a repository."""
        if permission not in PERMISSION_ORDER:
            raise ValueError(f"unknown permission {permission!r}")
        with self._backend.lock:
            repo = self._repo(owner, name)
            self._backend.ensure_user(login)
            repo.permissions[login.lower()] = permission

    def set_default_branch(self, owner: str, name: str, branch: str) -> None:
        with self._backend.lock:
            repo = self._repo(owner, name)
            repo.default_branch = branch
            git.run(repo.path, "symbolic-ref", "HEAD", f"refs/heads/{branch}")

    # ------------------------------------------------------------------ unfriendly switches
    # Each reproduces a behaviour of real GitHub (status, headers, body) that the default fake
    # spares its callers; test_fake_github.py cites where each comes from.
    def set_merge_methods(
        self, owner: str, name: str, *, merge: bool = True, squash: bool = True, rebase: bool = True
    ) -> None:
        """Which merge buttons the repository allows (``allow_merge_commit``,
        ``allow_squash_merge``, ``allow_rebase_merge`` in its JSON). A merge with a disallowed
        ``merge_method`` answers 405 "Merge commits are not allowed on this repository." (or
        the squash / rebase sentence). GitHub keeps at least one allowed."""
        if not (merge or squash or rebase):
            raise ValueError("GitHub requires at least one merge method")
        with self._backend.lock:
            repo = self._repo(owner, name)
            repo.allow_merge_commit, repo.allow_squash_merge, repo.allow_rebase_merge = (
                merge,
                squash,
                rebase,
            )

    def set_squash_message(
        self,
        owner: str,
        name: str,
        *,
        title: str = "COMMIT_OR_PR_TITLE",
        message: str = "COMMIT_MESSAGES",
    ) -> None:
        """The repository's ``squash_merge_commit_title`` / ``squash_merge_commit_message``
        (GitHub REST docs, "Update a repository":
        https://docs.github.com/en/rest/repos/repos#update-a-repository; also settable by
        ``PATCH /repos/{o}/{r}``): what a squash merge without ``commit_title`` /
        ``commit_message`` writes. Title PR_TITLE (the PR's title) or COMMIT_OR_PR_TITLE (the
        commit's title if the PR has one commit, else the PR's title); message PR_BODY (the
        PR's description), COMMIT_MESSAGES (the commits' messages) or BLANK. The settings'
        combinations as GitHub's "Default commit message" choices
        (https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/configuring-pull-request-merges/configuring-commit-squashing-for-pull-requests):
        COMMIT_OR_PR_TITLE/COMMIT_MESSAGES "Default message" (GitHub's default),
        PR_TITLE/PR_BODY "Pull request title and description", PR_TITLE/BLANK "Pull request
        title", PR_TITLE/COMMIT_MESSAGES "Pull request title and commit details"."""
        if title not in SQUASH_TITLES:
            raise ValueError(f"squash_merge_commit_title must be one of {SQUASH_TITLES}")
        if message not in SQUASH_MESSAGES:
            raise ValueError(f"squash_merge_commit_message must be one of {SQUASH_MESSAGES}")
        with self._backend.lock:
            repo = self._repo(owner, name)
            repo.squash_merge_commit_title = title
            repo.squash_merge_commit_message = message

    def base_branch_modified(self, owner: str, name: str, *, times: int = 1) -> None:
        """The next ``times`` merges (``PUT .../pulls/{n}/merge`` that would otherwise go ahead:
        open PR, allowed method, matching ``sha``) answer 405 "Base branch was modified. Review
        and try the merge again." and merge nothing; merges work after that."""
        with self._backend.lock:
            self._repo(owner, name).base_modified_left += times

    def protect_branch(
        self,
        owner: str,
        name: str,
        branch: str,
        *,
        required_reviews: int = 0,
        required_checks: Sequence[str] = (),
    ) -> None:
        """Branch protection on ``branch`` (replacing any earlier rules).

        Merging a PR into it answers 405 with GitHub's sentence for the first unmet rule:
        "At least N approving review(s) is/are required by reviewers with write access." (the
        latest APPROVED review of each user with write access counts), then
        'Required status check "CTX" is expected.' (a context needs a "success" commit status
        on the head: ``set_commit_status`` or ``POST /statuses/{sha}``). Such a PR's
        ``mergeable_state`` is "blocked" (``mergeable`` stays true). ``GET .../branches/{branch}
        /protection`` reports the rules (to admins only, as on GitHub). An armed auto-merge
        that the new rules no longer hold back merges at once."""
        if required_reviews < 0:
            raise ValueError("required_reviews must be >= 0")
        with self._backend.lock:
            repo = self._repo(owner, name)
            repo.protections[branch] = BranchProtection(
                required_reviews=required_reviews, required_checks=tuple(required_checks)
            )
            self._backend.run_auto_merges(repo)

    def set_commit_status(
        self, owner: str, name: str, sha: str, context: str, state: str = "success"
    ) -> None:
        """Seed a commit status (``state``: error|failure|pending|success) of ``context``.
        Like ``POST /statuses/{sha}``, it merges a PR whose armed auto-merge it unblocks."""
        if state not in ("error", "failure", "pending", "success"):
            raise ValueError(f"unknown state {state!r}")
        with self._backend.lock:
            repo = self._repo(owner, name)
            repo.statuses.setdefault(sha.lower(), {})[context] = state
            self._backend.run_auto_merges(repo)

    def set_auto_merge_allowed(self, owner: str, name: str, allowed: bool) -> None:
        """The repository's "Allow auto-merge" setting (``allow_auto_merge`` in its JSON; also
        settable by ``PATCH /repos/{o}/{r}``; GitHub REST docs, "Update a repository":
        https://docs.github.com/en/rest/repos/repos#update-a-repository). Off by default, as on
        GitHub ("Managing auto-merge for pull requests in your repository"). While it is off,
        ``enablePullRequestAutoMerge`` answers the GraphQL error "Pull request Auto merge is not
        allowed for this repository" (recorded in PyGithub's
        tests/ReplayData/PullRequest.testEnableAutomergeError.txt)."""
        with self._backend.lock:
            self._repo(owner, name).allow_auto_merge = bool(allowed)

    def head_not_yet_visible(self, owner: str, name: str, *, times: int = 1) -> None:
        """The next ``times`` ``POST /repos/{o}/{r}/pulls`` answer 422 "Validation Failed" with
        ``errors: [{"resource": "PullRequest", "field": "head", "code": "invalid"}]`` and create
        nothing (GitHub, for a moment right after a push)."""
        with self._backend.lock:
            self._repo(owner, name).head_invisible_left += times

    def lag_pull_listing(self, owner: str, name: str, *, times: int = 1) -> None:
        """The next ``times`` ``GET /repos/{o}/{r}/pulls`` (list; each page is one request) leave
        out pull requests created in the last 60 seconds (GitHub's listing is eventually
        consistent); ``GET /pulls/{n}`` still finds them."""
        with self._backend.lock:
            self._repo(owner, name).listing_lag_left += times

    def deny_push(self, owner: str, name: str, login: str) -> None:
        """``login``'s tokens have no push access to the repository: it is a read-only
        collaborator there whatever ``set_permission`` granted (its ``permissions.push`` is
        false, others see its role as "read"), and, even without ``enforce_permissions``:
        ``GET /collaborators/{user}/permission`` answers 403 "Must have push access to view
        collaborator permission.", write and triage requests answer 403, git pushes 403."""
        with self._backend.lock:
            self._repo(owner, name).push_denied.add(login.lower())

    def hide_contents(self, owner: str, name: str, login: str) -> None:
        """For ``login``'s tokens, ``GET /repos/{o}/{r}/contents/...`` (the root "" too) answers
        404 "Not Found", even for files that exist: a 404 can mean "not visible to this token"."""
        with self._backend.lock:
            self._repo(owner, name).contents_hidden.add(login.lower())

    def refuse_labels(self, owner: str, name: str) -> None:
        """Label writes on issues and PRs (``POST``/``PUT``/``DELETE .../issues/{n}/labels``)
        answer 403 "Resource not accessible by integration", as for an App installation or
        ``GITHUB_TOKEN`` without the issues / pull requests write permission."""
        with self._backend.lock:
            self._repo(owner, name).labels_refused = True

    def add_team(self, org: str, slug: str, *, repos: Sequence[str] = ()) -> int:
        """Create (or extend) team ``slug`` of ``org``, a collaborator of ``repos`` ("owner/name").

        Returns the team's id. Once an organisation has a team made here, review requests on
        its repositories are strict: ``team_reviewers`` naming a team that does not exist or is
        not a collaborator of the repository answer 422 "Reviews may only be requested from
        collaborators. One or more of the teams you specified is not a collaborator of the
        {owner}/{name} repository." and request nobody. While it has none, any slug is accepted
        (the default fake's leniency, which existing tests rely on).
        """
        with self._backend.lock:
            org_user = self._backend.user(org) or self._backend.ensure_user(
                org, type="Organization"
            )
            key = (org_user.login.lower(), slug.lower())
            team = self._backend.teams.get(key)
            if team is None:
                team = Team(id=self._backend.next_id(), org=org_user.login, slug=slug, name=slug)
                self._backend.teams[key] = team
            if team.repos is None:
                team.repos = set()
            team.repos.update(r.lower() for r in repos)
            return team.id

    def add_review(
        self,
        owner: str,
        name: str,
        number: int,
        login: str,
        state: str = "APPROVED",
        *,
        body: str = "",
        commit_id: str | None = None,
    ) -> int:
        """Seed a review of pull request ``number`` by ``login`` (created if unknown; give it a
        role with ``set_permission`` for it to count for branch protection), without a token.
        ``state``: APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED or PENDING, the states
        ``GET /pulls/{n}/reviews`` reports (GitHub REST docs, "List reviews for a pull
        request": https://docs.github.com/en/rest/pulls/reviews#list-reviews-for-a-pull-request;
        chronological order, so a later review of the same user supersedes an earlier one).
        As ``POST /pulls/{n}/reviews`` (GitHub refuses it), the PR's author may not approve
        or request changes (ValueError). A submitted review takes ``login`` off the requested
        reviewers. ``commit_id`` defaults to the PR's head. Returns the review's id."""
        if state not in REVIEW_STATES:
            raise ValueError(f"review state must be one of {REVIEW_STATES}")
        with self._backend.lock:
            repo = self._repo(owner, name)
            issue = repo.issues.get(number)
            if issue is None or issue.pull is None:
                raise KeyError(number)
            pd = issue.pull
            self._backend.sync_pull(repo, issue)
            user = self._backend.ensure_user(login)
            if state in ("APPROVED", "CHANGES_REQUESTED") and (
                user.login.lower() == issue.user.lower()
            ):
                raise ValueError(f"{login} is the author of #{number}: GitHub refuses this review")
            review = Review(
                id=self._backend.next_id(),
                user=user.login,
                body=body,
                state=state,
                commit_id=commit_id or pd.head_sha,
                submitted_at=now_iso(),
            )
            pd.reviews.append(review)
            if state != "PENDING":
                pd.requested_reviewers = [
                    u for u in pd.requested_reviewers if u.lower() != user.login.lower()
                ]
            self._backend.run_auto_merges(repo)  # an approval may unblock an armed auto-merge
            return review.id

    def repo_path(self, owner: str, name: str) -> Path:
        with self._backend.lock:
            return self._repo(owner, name).path

    def clone_url(self, owner: str, name: str) -> str:
        with self._backend.lock:
            repo = self._repo(owner, name)
            return f"{self.git_base_url}/{repo.owner}/{repo.name}.git"

    def client(self, token: str, **kwargs: Any) -> github.Github:
        """A PyGithub client for this fake with PyGithub's client-side throttling disabled.

        (PyGithub sleeps 0.25 s between requests and 1 s between writes by default.)
        """
        import github

        kwargs.setdefault("seconds_between_requests", 0)
        kwargs.setdefault("seconds_between_writes", 0)
        return github.Github(base_url=self.api_url, auth=github.Auth.Token(token), **kwargs)

    @staticmethod
    def git_auth_header(token: str) -> str:
        """A header line for ``git -c http.extraHeader=...`` authenticating with ``token``."""
        cred = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        return f"Authorization: Basic {cred}"

    def commit_files(
        self,
        owner: str,
        name: str,
        branch: str,
        files: Mapping[str, str | bytes | None],
        message: str = "Update files",
        *,
        author: tuple[str, str] = ("Seeder", "seeder@example.com"),
        parent: str | None = None,
    ) -> str:
        """Commit files straight into the bare repo (no clone): ``None`` deletes a path.

        The commit goes on top of ``parent`` (default: the branch tip; a new branch starts from the
        default branch when it exists). Returns the new commit sha.
        """
        import os
        import tempfile

        with self._backend.lock:
            repo = self._repo(owner, name)
        ref = f"refs/heads/{branch}"
        old = git.read_ref(repo.path, ref)
        base = parent or old or git.read_ref(repo.path, f"refs/heads/{repo.default_branch}")
        fd, index = tempfile.mkstemp(prefix="fakegh-index-")
        os.close(fd)
        os.unlink(index)
        env = {"GIT_INDEX_FILE": index}
        try:
            if base:
                git.run(repo.path, "read-tree", base, env=env)
            else:
                git.run(repo.path, "read-tree", "--empty", env=env)
            for path, content in files.items():
                if content is None:
                    git.run(repo.path, "update-index", "--force-remove", "--", path, env=env)
                    continue
                data = content.encode() if isinstance(content, str) else content
                blob = (
                    git.run(repo.path, "hash-object", "-w", "--stdin", input=data)
                    .stdout.decode()
                    .strip()
                )
                git.run(
                    repo.path,
                    "update-index",
                    "--add",
                    "--cacheinfo",
                    f"100644,{blob},{path}",
                    env=env,
                )
            tree = git.run(repo.path, "write-tree", env=env).stdout.decode().strip()
        finally:
            if os.path.exists(index):
                os.unlink(index)
        sig = git.Signature(author[0], author[1], int(time.time()))
        sha = git.commit_tree(repo.path, tree, [base] if base else [], message + "\n", sig, sig)
        if not git.update_ref(repo.path, ref, sha, old):
            raise RuntimeError(f"{branch} moved while committing")
        return sha

    def create_branch(self, owner: str, name: str, branch: str, from_ref: str | None = None) -> str:
        with self._backend.lock:
            repo = self._repo(owner, name)
            start = from_ref or repo.default_branch
            sha = git.read_ref(repo.path, f"refs/heads/{start}") or git.out(
                repo.path, "rev-parse", start
            )
            if not git.update_ref(repo.path, f"refs/heads/{branch}", sha, None):
                raise ValueError(f"branch {branch} already exists")
            return sha

    def branch_sha(self, owner: str, name: str, branch: str) -> str | None:
        with self._backend.lock:
            return git.read_ref(self._repo(owner, name).path, f"refs/heads/{branch}")

    # ------------------------------------------------------------------ request log
    @property
    def requests(self) -> list[RecordedRequest]:
        """API requests received so far (a copy), including rejected and fault-injected ones."""
        with self._meta_lock:
            return list(self._requests)

    @property
    def git_requests(self) -> list[RecordedRequest]:
        """Git smart-HTTP requests received so far (a copy)."""
        with self._meta_lock:
            return list(self._git_requests)

    @property
    def server_errors(self) -> list[str]:
        """Tracebacks of unexpected exceptions inside the fake (should stay empty)."""
        with self._meta_lock:
            return list(self._server_errors)

    def request_count(self, method: str | None = None, path_contains: str | None = None) -> int:
        with self._meta_lock:
            return sum(
                1
                for r in self._requests
                if (method is None or r.method == method.upper())
                and (path_contains is None or path_contains in r.path)
            )

    def dispatches(self, owner: str, name: str) -> list[Dispatch]:
        """The workflow and repository dispatches `owner/name` accepted, oldest first."""
        with self._backend.lock:
            return [d for d in self._backend.actions.dispatches if d.repo == f"{owner}/{name}"]

    def requests_by_endpoint(self) -> Counter[str]:
        """API requests so far per endpoint (``"METHOD route-pattern"`` -> count)."""
        from ._gitdata import endpoint_counts

        with self._meta_lock:
            requests = list(self._requests)
        return endpoint_counts(self._backend, requests)

    def write_requests(self) -> list[RecordedRequest]:
        """The requests so far that may write: every one but GETs and GraphQL queries."""
        with self._meta_lock:
            return [r for r in self._requests if r.method != "GET" and not r.graphql_read]

    def reset_requests(self) -> None:
        with self._meta_lock:
            self._requests.clear()
            self._git_requests.clear()

    # ------------------------------------------------------------------ fault injection
    def inject(
        self,
        status: int = 502,
        times: int = 1,
        method: str | None = None,
        path_regex: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next ``times`` matching API requests with ``status`` instead of handling them.

        ``path_regex`` is searched in the request path without the ``/api/v3`` prefix.
        ``body`` may be a dict/list (JSON), str or bytes; default ``{"message": <reason>}``.
        """
        fault = _Fault(
            status=status,
            times=times,
            method=method.upper() if method else None,
            path_regex=re.compile(path_regex) if path_regex else None,
            headers=dict(headers or {}),
            body=body,
        )
        with self._meta_lock:
            self._faults.append(fault)

    def secondary_rate_limit(
        self,
        times: int = 1,
        retry_after: int | None = 1,
        method: str | None = None,
        path_regex: str | None = None,
        status: int = 403,
    ) -> None:
        """Answer the next ``times`` matching requests with GitHub's secondary rate limit.

        ``status`` 403 or 429 (GitHub sends either); ``Retry-After: retry_after`` unless it is
        None (then a client should wait at least a minute). The ``X-RateLimit-*`` headers are
        the caller's primary quota, so ``X-RateLimit-Remaining`` stays above zero: only the
        body tells this apart from a permission 403 (docs: "Rate limits for the REST API",
        "Exceeding the rate limit").
        """
        if status not in (403, 429):
            raise ValueError("a secondary rate limit answers 403 or 429")
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self.inject(
            status,
            times=times,
            method=method,
            path_regex=path_regex,
            headers=headers,
            body={
                "message": SECONDARY_RATE_LIMIT_MESSAGE,
                "documentation_url": SECONDARY_RATE_LIMIT_DOC,
            },
        )

    def rate_limit_primary(
        self,
        times: int = 1,
        reset_in: int = 1,
        method: str | None = None,
        path_regex: str | None = None,
    ) -> None:
        """403 with ``X-RateLimit-Remaining: 0`` and a reset ``reset_in`` seconds from now."""
        reset = int(time.time()) + reset_in
        self.inject(
            403,
            times=times,
            method=method,
            path_regex=path_regex,
            headers={
                "X-RateLimit-Limit": "5000",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(reset),
                "X-RateLimit-Used": "5000",
                "X-RateLimit-Resource": "core",
            },
            body={
                "message": "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, "
                "please include the request ID.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
                "#about-rate-limits",
            },
        )

    def drop_response(
        self, times: int = 1, method: str | None = "POST", path_regex: str | None = None
    ) -> None:
        """Process the next matching API requests normally, then close the connection without replying."""
        drop = _Fault(
            status=0,
            times=times,
            method=method.upper() if method else None,
            path_regex=re.compile(path_regex) if path_regex else None,
            headers={},
            body=None,
        )
        with self._meta_lock:
            self._drops.append(drop)

    def clear_faults(self) -> None:
        with self._meta_lock:
            self._faults.clear()
            self._drops.clear()
            self._faults_changed.notify_all()

    def wait_for_faults_used(self, timeout: float) -> bool:
        """Block until every injected fault and dropped response has been used up (or cleared).

        A fault is used when a request takes it, i.e. after that request's ``latency`` sleep, so
        a held request has its answer decided once this returns. Returns ``False`` if some are
        still waiting after ``timeout`` seconds (like :meth:`threading.Event.wait`).
        """
        with self._faults_changed:
            return self._faults_changed.wait_for(
                lambda: not self._faults and not self._drops, timeout
            )

    def _take(self, faults: list[_Fault], method: str, path: str) -> _Fault | None:
        with self._meta_lock:
            for fault in faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        faults.remove(fault)
                        self._faults_changed.notify_all()
                    return fault
        return None

    # ------------------------------------------------------------------ inspection
    def _repo(self, owner: str, name: str) -> Repo:
        repo = self._backend.find_repo(owner, name)
        if repo is None:
            raise KeyError(f"{owner}/{name}")
        return repo

    def pulls(self, owner: str, name: str, state: str = "all") -> list[dict[str, Any]]:
        """Every pull request of a repo as GitHub's single-PR JSON, oldest first."""
        with self._backend.lock:
            repo = self._repo(owner, name)
            out = []
            for number in sorted(repo.issues):
                issue = repo.issues[number]
                if issue.pull is None:
                    continue
                self._backend.sync_pull(repo, issue)
                if state in ("all", issue.state):
                    out.append(self._backend.pull_json(repo, issue))
            return out

    def pull(self, owner: str, name: str, number: int) -> dict[str, Any]:
        with self._backend.lock:
            repo = self._repo(owner, name)
            issue = repo.issues[number]
            if issue.pull is None:
                raise KeyError(number)
            return self._backend.pull_json(repo, issue)

    def issues(self, owner: str, name: str) -> list[dict[str, Any]]:
        """Every issue (pull requests included, like GitHub) as issue JSON, oldest first."""
        with self._backend.lock:
            repo = self._repo(owner, name)
            return [self._backend.issue_json(repo, repo.issues[n]) for n in sorted(repo.issues)]

    def issue(self, owner: str, name: str, number: int) -> dict[str, Any]:
        with self._backend.lock:
            repo = self._repo(owner, name)
            return self._backend.issue_json(repo, repo.issues[number])

    def comments(self, owner: str, name: str, number: int | None = None) -> list[dict[str, Any]]:
        """Issue comments of one issue/PR (or of the whole repo when ``number`` is None)."""
        with self._backend.lock:
            repo = self._repo(owner, name)
            ids = repo.issues[number].comment_ids if number is not None else sorted(repo.comments)
            return [self._backend.comment_json(repo, repo.comments[c]) for c in ids]

    def repo_statuses(self, owner: str, name: str, sha: str) -> dict[str, str]:
        """The commit statuses of ``sha``: context -> the newest state."""
        with self._backend.lock:
            return dict(self._repo(owner, name).statuses.get(sha.lower(), {}))

    def reactions(
        self, owner: str, name: str, *, comment_id: int | None = None, number: int | None = None
    ) -> list[dict[str, Any]]:
        """Reactions on a comment (``comment_id``) or on an issue/PR (``number``)."""
        with self._backend.lock:
            repo = self._repo(owner, name)
            if comment_id is not None:
                items = repo.comments[comment_id].reactions
            elif number is not None:
                items = repo.issues[number].reactions
            else:
                raise ValueError("give comment_id or number")
            return [self._backend.reaction_json(r) for r in items]

    def labels(self, owner: str, name: str) -> list[dict[str, Any]]:
        with self._backend.lock:
            repo = self._repo(owner, name)
            return [
                self._backend.label_json(repo, lb)
                for lb in sorted(repo.labels.values(), key=lambda x: x.id)
            ]

    def issue_labels(self, owner: str, name: str, number: int) -> list[str]:
        with self._backend.lock:
            return list(self._repo(owner, name).issues[number].labels)

    def requested_reviewers(self, owner: str, name: str, number: int) -> dict[str, list[str]]:
        with self._backend.lock:
            pd = self._repo(owner, name).issues[number].pull
            if pd is None:
                raise KeyError(number)
            return {"users": list(pd.requested_reviewers), "teams": list(pd.requested_teams)}

    def reviews(self, owner: str, name: str, number: int) -> list[dict[str, Any]]:
        with self._backend.lock:
            repo = self._repo(owner, name)
            issue = repo.issues[number]
            if issue.pull is None:
                raise KeyError(number)
            return [self._backend.review_json(repo, issue, r) for r in issue.pull.reviews]

    def all_stored_text(self, include_git: bool = True) -> str:
        """Everything the fake stores (state, request log, git history), tokens excluded, as text."""
        parts: list[str] = []
        with self._backend.lock:
            objects: list[Any] = [*self._backend.users.values(), *self._backend.teams.values()]
            repos = list(self._backend.repos.values())
            for obj in [*objects, *repos]:
                parts.append(json.dumps(_jsonable(asdict(obj)), ensure_ascii=False))
        with self._meta_lock:
            for req in self._requests + self._git_requests:
                parts.append(f"{req.method} {req.path} {json.dumps(req.query, ensure_ascii=False)}")
        if include_git:
            for repo in repos:
                parts.append(git.dump_history(repo.path))
        return "\n".join(parts)

    # ------------------------------------------------------------------ HTTP dispatch
    def _token_user(self, headers: Mapping[str, str]) -> User | None:
        """The user owning the token in ``headers`` (lower-cased names), if any."""
        auth = headers.get("authorization") or ""
        scheme, _, value = auth.strip().partition(" ")
        scheme, value = scheme.lower(), value.strip()
        token: str | None = None
        if scheme in ("token", "bearer"):
            token = value
        elif scheme == "basic":
            try:
                user, _, password = base64.b64decode(value).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            token = password or user
        if not token:
            return None
        with self._backend.lock:
            login = self._backend.tokens.get(token)
            return self._backend.users.get(login) if login else None

    def _dispatch(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> _Response | None:
        try:
            split = urllib.parse.urlsplit(raw_path)
            path = split.path
            if path == "/git" or path.startswith("/git/"):
                return self._dispatch_git(method, path, split.query, headers, body)
            # GitHub's own clone URL, https://HOST/OWNER/NAME.git (the web root plus `.git`).
            if re.fullmatch(r"/[^/]+/[^/]+\.git(/.*)?", path) and not path.startswith("/api/"):
                return self._dispatch_git(method, f"/git{path}", split.query, headers, body)
            return self._dispatch_api(method, path, split.query, headers, body)
        except Exception:
            trace = traceback.format_exc()
            with self._meta_lock:
                self._server_errors.append(trace)
            return _Response(
                500,
                [("Content-Type", "application/json; charset=utf-8")],
                dumps({"message": "Server Error", "fake_traceback": trace}),
            )

    def _dispatch_api(
        self, method: str, path: str, raw_query: str, headers: Mapping[str, str], body: bytes
    ) -> _Response | None:
        prefix = "/api/v3" if path == "/api/v3" or path.startswith("/api/v3/") else ""
        if path.rstrip("/") == "/api/graphql":
            # PyGithub's GraphQL URL for base_url ``.../api/v3`` (GHES): ``.../api/graphql``.
            prefix = "/api"
        rel = path[len(prefix) :] or "/"
        query = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
        graphql_read = rel == "/graphql" and not _is_mutation(body)
        with self._meta_lock:
            self._requests.append(RecordedRequest(method, rel, query, graphql_read))
        if self.latency > 0:
            time.sleep(self.latency)

        request_id = uuid.uuid4().hex[:20].upper()
        base_headers = [
            ("Content-Type", "application/json; charset=utf-8"),
            ("X-GitHub-Media-Type", "github.v3; format=json"),
            ("X-GitHub-Api-Version-Selected", "2022-11-28"),
            ("X-GitHub-Request-Id", request_id),
        ]
        fault = self._take(self._faults, method, rel)
        user = self._token_user(headers)
        if fault is not None:
            return self._fault_response(fault, base_headers, user)

        with self._backend.lock:
            rate = self._backend.rate_headers(
                user.login.lower() if user else None, count=user is not None
            )
        if user is None:
            err = ApiError(401, "Bad credentials")
            return _Response(401, base_headers + list(rate.items()), dumps(err.body()))

        parsed: Any = None
        if body.strip():
            try:
                parsed = json.loads(body)
            except ValueError:
                err = ApiError(400, "Problems parsing JSON")
                return _Response(400, base_headers + list(rate.items()), dumps(err.body()))
        link_base = f"{self.base_url}{prefix}"
        reply: Reply = self._backend.handle(Request(method, rel, query, parsed, user, link_base))
        out_headers = list(base_headers) + list(rate.items()) + list(reply.headers.items())
        payload = b"" if reply.body is None else dumps(reply.body)
        if reply.body is None:
            out_headers = [h for h in out_headers if h[0] != "Content-Type"]
        if self._take(self._drops, method, rel) is not None:
            return None
        return _Response(reply.status, out_headers, payload)

    def _fault_response(
        self, fault: _Fault, base_headers: list[tuple[str, str]], user: User | None = None
    ) -> _Response:
        headers = [
            h for h in base_headers if h[0].lower() not in {k.lower() for k in fault.headers}
        ]
        if not any(k.lower() == "x-ratelimit-remaining" for k in fault.headers):
            # The caller's primary quota, as GitHub sends with any answer (not used up here).
            with self._backend.lock:
                login = user.login.lower() if user is not None else None
                headers += list(self._backend.rate_headers(login, count=False).items())
        headers += list(fault.headers.items())
        body = fault.body
        if body is None:
            try:
                phrase = HTTPStatus(fault.status).phrase
            except ValueError:
                phrase = "Error"
            body = {"message": phrase, "documentation_url": "https://docs.github.com/rest"}
        if isinstance(body, bytes):
            payload = body
        elif isinstance(body, str):
            payload = body.encode()
            headers = [h for h in headers if h[0] != "Content-Type"] + [
                ("Content-Type", "text/plain; charset=utf-8")
            ]
        else:
            payload = dumps(body)
        return _Response(fault.status, headers, payload)

    # ------------------------------------------------------------------ git smart HTTP
    def _dispatch_git(
        self, method: str, path: str, raw_query: str, headers: Mapping[str, str], body: bytes
    ) -> _Response:
        query = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
        with self._meta_lock:
            self._git_requests.append(RecordedRequest(method, path, query))
        text = [("Content-Type", "text/plain; charset=utf-8")]
        user = self._token_user(headers)
        if user is None:
            return _Response(
                401, [*text, ("WWW-Authenticate", 'Basic realm="GitHub"')], b"Unauthorized\n"
            )
        match = re.fullmatch(r"/git/([^/]+)/([^/]+?)(?:\.git)?(/.*)?", path)
        with self._backend.lock:
            repo = self._backend.find_repo(match.group(1), match.group(2)) if match else None
            role = self._backend.role(repo, user.login) if repo else "none"
            enforce = self._backend.enforce_permissions
            denied = repo is not None and user.login.lower() in repo.push_denied
        if match is None or repo is None:
            return _Response(404, text, b"Repository not found.\n")
        rest = match.group(3) or "/"
        pushing = query.get("service") == "git-receive-pack" or rest.endswith("/git-receive-pack")
        if enforce or (denied and pushing):
            if role == "none" and repo.private:
                return _Response(404, text, b"Repository not found.\n")
            needed = "write" if pushing else "read"
            if PERMISSION_ORDER.index(role) < PERMISSION_ORDER.index(needed):
                msg = f"remote: Permission to {repo.full_name}.git denied to {user.login}.\n"
                return _Response(403, text, msg.encode())

        env = {
            "GIT_PROJECT_ROOT": str(self._backend.repos_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": f"/{repo.owner}/{repo.name}.git{rest}",
            "QUERY_STRING": raw_query,
            "REQUEST_METHOD": method,
            "CONTENT_TYPE": headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user.login,
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(self.port),
            "GIT_COMMITTER_NAME": user.login,
            "GIT_COMMITTER_EMAIL": f"{user.id}+{user.login}@users.noreply.github.com",
        }
        encoding = headers.get("content-encoding")
        if encoding:
            env["HTTP_CONTENT_ENCODING"] = encoding
        protocol = headers.get("git-protocol")
        if protocol:
            env["GIT_PROTOCOL"] = protocol
            env["HTTP_GIT_PROTOCOL"] = protocol
        proc = subprocess.run(
            ["git", "http-backend"],
            input=body,
            capture_output=True,
            env=git.git_env(env),
            check=False,
        )
        return self._parse_cgi(proc.stdout, proc.stderr)

    @staticmethod
    def _parse_cgi(output: bytes, stderr: bytes) -> _Response:
        sep = min(
            (i for i in (output.find(b"\r\n\r\n"), output.find(b"\n\n")) if i >= 0),
            default=-1,
        )
        if sep < 0:
            return _Response(
                500, [("Content-Type", "text/plain")], b"git http-backend failed: " + stderr
            )
        head = output[:sep].decode("latin-1")
        body = output[sep + (4 if output[sep : sep + 4] == b"\r\n\r\n" else 2) :]
        status = 200
        headers: list[tuple[str, str]] = []
        for line in head.splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split(" ", 1)[0])
            elif key and key.lower() != "content-length":
                headers.append((key.strip(), value.strip()))
        return _Response(status, headers, body)
