"""GitHub, through PyGithub: the only module that imports `github`.

Returns our own frozen dataclasses, never PyGithub objects. Every call goes through
`Forge._call`, which retries 5xx and lost responses with bounded, jittered backoff, waits out
rate limits up to a configured maximum, and turns everything else into one-line errors.
Decisions branch on HTTP status codes, never on message text.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, TypeVar

from bot.core.errors import ExternalError, InvalidInput, Refused
from bot.core.pulls import CommentInfo, IssueInfo, MergeResult, PullRequestInfo

if TYPE_CHECKING:
    from github.PullRequest import PullRequest
    from github.Repository import Repository

T = TypeVar("T")
GITHUB_API = "https://api.github.com"


@dataclass(frozen=True)
class ForgeSettings:
    repo: str  # OWNER/NAME
    token: str = field(repr=False)
    api_url: str = GITHUB_API
    timeout: float = 15.0
    retries: int = 4
    backoff_seconds: float = 1.0
    max_rate_limit_wait: float = 60.0
    seconds_between_writes: float = 1.0  # GitHub's advice against secondary rate limits

    @classmethod
    def from_env(cls, repo: str, token: str, api_url: str | None = None) -> ForgeSettings:
        """Tunables read from `MODEL_BOT_*` variables (tests and benchmarks shorten waits)."""

        def number(name: str, default: float) -> float:
            raw = os.environ.get(name)
            if raw is None or raw == "":
                return default
            try:
                return float(raw)
            except ValueError:
                raise InvalidInput.one(name, "", f"expected a number, got {raw!r}") from None

        return cls(
            repo=repo,
            token=token,
            api_url=(api_url or os.environ.get("GITHUB_API_URL") or GITHUB_API).rstrip("/"),
            timeout=number("MODEL_BOT_GITHUB_TIMEOUT", 15.0),
            retries=int(number("MODEL_BOT_GITHUB_RETRIES", 4)),
            backoff_seconds=number("MODEL_BOT_GITHUB_BACKOFF", 1.0),
            max_rate_limit_wait=number("MODEL_BOT_MAX_RATE_LIMIT_WAIT", 60.0),
            seconds_between_writes=number("MODEL_BOT_GITHUB_WRITE_INTERVAL", 1.0),
        )


SECONDARY_WAIT = 60.0  # GitHub: without Retry-After, wait at least a minute
UNREACHABLE_RETRIES = 2  # a GitHub that cannot be reached is not asked again and again
AUTO_MERGE_METHODS = ("merge", "squash", "rebase")
#: GraphQL error types of a rate limit, answered with HTTP 200: RATE_LIMIT as recorded in
#: yanyongyu/githubkit issue #271, RATE_LIMITED as earlier clients expected it.
GRAPHQL_RATE_LIMITED = frozenset({"RATE_LIMIT", "RATE_LIMITED"})


@dataclass(frozen=True)
class RateLimit:
    """A rate-limit answer: which kind, and how long to wait before asking again."""

    kind: str  # primary | secondary
    wait: float


def rate_limit(
    status: int, headers: Mapping[str, str], body: object, now: float
) -> RateLimit | None:
    """Whether an answer is a rate limit, from its status, headers and the body's
    `documentation_url` (GitHub's documented signals), never from message text.

    429 is always one; 403 is one with `Retry-After`, with `X-RateLimit-Remaining: 0`
    (primary: wait for `X-RateLimit-Reset`), or when the body points at the secondary rate
    limit documentation; any other 403 is a permission problem. A secondary limit without
    `Retry-After` is waited out for at least a minute, as GitHub's docs ask.
    """
    if status not in (403, 429):
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    doc = body.get("documentation_url", "") if isinstance(body, Mapping) else ""
    secondary = "secondary" in str(doc).lower()
    if "retry-after" in lower:
        try:
            wait = max(1.0, float(lower["retry-after"]))
        except ValueError:
            wait = SECONDARY_WAIT
        return RateLimit(
            "primary" if lower.get("x-ratelimit-remaining") == "0" else "secondary", wait
        )
    if lower.get("x-ratelimit-remaining") == "0" and not secondary:
        try:
            reset = float(lower.get("x-ratelimit-reset", "0"))
        except ValueError:
            reset = 0.0
        return RateLimit("primary", max(1.0, reset - now))
    if status == 429 or secondary:
        return RateLimit("secondary", SECONDARY_WAIT)
    return None


def validation_errors(body: object) -> list[Mapping[str, object]]:
    """The `errors` of a 422 Validation Failed body (each resource, field, code, message)."""
    errors = body.get("errors") if isinstance(body, Mapping) else None
    return [e for e in errors if isinstance(e, Mapping)] if isinstance(errors, list) else []


def graphql_errors(body: object) -> list[Mapping[str, object]]:
    """The `errors` of a GraphQL answer (each `type`, `message`, `path`, `locations`)."""
    errors = body.get("errors") if isinstance(body, Mapping) else None
    return [e for e in errors if isinstance(e, Mapping)] if isinstance(errors, list) else []


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


def _protection_requires(rules: Mapping[str, object]) -> bool:
    """Whether branch protection rules ("Get branch protection") make a merge wait: required
    status checks (`contexts`, or `checks`, which replaces it) or approving reviews."""
    checks = rules.get("required_status_checks")
    reviews = rules.get("required_pull_request_reviews")
    if isinstance(checks, Mapping) and (checks.get("contexts") or checks.get("checks")):
        return True
    if isinstance(reviews, Mapping):
        count = reviews.get("required_approving_review_count")
        return isinstance(count, int) and count > 0
    return False


def _detail(data: object) -> str:
    """GitHub's message (and the first validation error) as one short line."""
    detail = ""
    if isinstance(data, Mapping):
        detail = str(data.get("message", ""))
        errors = validation_errors(data)
        if errors:
            detail += f": {errors[0].get('message') or errors[0].get('code', '')}"
    return " ".join(detail.split())[:200]


def _cannot_connect(error: BaseException) -> bool:
    """The connection itself failed (refused, no such host, connect timeout): nothing was
    sent, and asking again at once will not help. A dropped or slow answer is not this."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    if isinstance(error, requests.ConnectTimeout):
        return True
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (NewConnectionError, ConnectTimeoutError)):
            return True
        reason = getattr(current, "reason", None)
        if isinstance(reason, (NewConnectionError, ConnectTimeoutError)):
            return True
        current = (
            current.__cause__
            or current.__context__
            or (
                current.args[0]
                if current.args and isinstance(current.args[0], BaseException)
                else None
            )
        )
    return False


class _Again(Exception):
    """Raised inside an action: a transient answer, ask again after a backoff."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def html_root(api_url: str) -> str:
    """Where a forge's web pages live, from its API URL (github.com or GHES)."""
    if api_url.rstrip("/") == GITHUB_API:
        return "https://github.com"
    return api_url.rstrip("/").removesuffix("/api/v3")


def _utc(value: datetime | None) -> datetime | None:
    """A GitHub timestamp as a timezone-aware UTC datetime (GitHub's are UTC: "...Z")."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _pull_info(pull: PullRequest, *, full: bool = False) -> PullRequestInfo:
    """`full`: `pull` is a single-PR read (GET /pulls/N), which carries `mergeable` and
    `merged_by`; a list response does not, and asking PyGithub for them there would cost a
    request per PR. `merged_at` and `closed_at` are in both shapes."""
    merged_by: str | None = None
    if full:
        merger = pull.merged_by
        merged_by = merger.login if merger is not None else None
    return PullRequestInfo(
        number=pull.number,
        url=pull.html_url,
        state=pull.state,
        title=pull.title or "",
        body=pull.body or "",
        head_ref=pull.head.ref,
        head_sha=pull.head.sha,
        base_ref=pull.base.ref,
        merged=pull.merged_at is not None,  # in list responses too: no re-fetch
        merge_commit_sha=pull.merge_commit_sha,
        labels=tuple(label.name for label in pull.labels),
        mergeable=pull.mergeable if full else None,
        merged_by=merged_by,
        merged_at=_utc(pull.merged_at),
        closed_at=_utc(pull.closed_at),
        auto_merge=pull.auto_merge is not None,  # in list responses too
    )


class Forge:
    """One repository on GitHub (or GitHub Enterprise Server: set `api_url`)."""

    def __init__(
        self, settings: ForgeSettings, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        import github

        self.settings = settings
        self._sleep = sleep
        self._github = github.Github(
            base_url=settings.api_url,
            auth=github.Auth.Token(settings.token),
            timeout=int(max(1, settings.timeout)),
            retry=None,  # retries are ours: bounded, and aware of lost POST responses
            seconds_between_requests=None,
            seconds_between_writes=settings.seconds_between_writes or None,
            lazy=True,
        )
        self._repo: Repository = self._github.get_repo(settings.repo)
        self.owner = settings.repo.split("/", 1)[0]
        self._unreachable: str | None = None  # set once GitHub could not be reached

    # -- the one place that talks HTTP ------------------------------------------------------
    def _call(
        self, what: str, action: Callable[[], T], *, recover: Callable[[], T | None] | None = None
    ) -> T:
        """Run `action`, retrying transient failures; `recover` finds the result of a write
        whose response was lost (so a retried POST never creates a duplicate). A GitHub that
        cannot be reached is tried `UNREACHABLE_RETRIES` more times, then not again in this
        run: every later call fails at once with the same message."""
        import requests
        from github import GithubException

        if self._unreachable is not None:
            raise ExternalError(f"{self._unreachable} (while trying to {what})")
        attempt = 0
        waited = 0.0
        while True:
            attempt += 1
            try:
                return action()
            except _Again as again:
                if attempt <= self.settings.retries:
                    self._backoff(attempt)
                    continue
                raise ExternalError(
                    f"GitHub kept answering that it is not ready while trying to {what} in "
                    f"{self.settings.repo} ({again.why}); run again in a minute"
                ) from None
            except GithubException as error:
                status = error.status
                limited = rate_limit(status, error.headers or {}, error.data, time.time())
                if limited is not None:
                    if waited + limited.wait > self.settings.max_rate_limit_wait:
                        raise ExternalError(
                            f"GitHub rate limit while trying to {what} ({limited.kind}): would "
                            f"wait {limited.wait:.0f}s more (over MODEL_BOT_MAX_RATE_LIMIT_WAIT="
                            f"{self.settings.max_rate_limit_wait:g}s); retry later or raise the "
                            "limit"
                        ) from None
                    waited += limited.wait
                    self._sleep(limited.wait)
                    continue
                if status >= 500 and attempt <= self.settings.retries:
                    self._backoff(attempt)
                    continue
                raise self._error(what, status, error.data) from None
            except (requests.ConnectionError, requests.Timeout) as error:
                if recover is not None:
                    found = self._quietly(recover)
                    if found is not None:
                        return found
                cannot_connect = _cannot_connect(error)
                limit = min(self.settings.retries, UNREACHABLE_RETRIES)
                if attempt <= (limit if cannot_connect else self.settings.retries):
                    self._backoff(attempt)
                    continue
                if not cannot_connect:
                    raise ExternalError(
                        f"GitHub at {self.settings.api_url} did not answer while trying to "
                        f"{what}: {type(error).__name__} (check github-api-url and the network)"
                    ) from None
                self._unreachable = (
                    f"cannot reach GitHub at {self.settings.api_url}: {type(error).__name__} "
                    "(check github-api-url and the network)"
                )
                raise ExternalError(f"{self._unreachable} (while trying to {what})") from None

    def _quietly(self, recover: Callable[[], T | None]) -> T | None:
        try:
            return recover()
        except Exception:  # noqa: BLE001 - recovery is best effort; the retry follows
            return None

    def _backoff(self, attempt: int) -> None:
        base = self.settings.backoff_seconds * (2 ** (attempt - 1))
        self._sleep(min(30.0, base) * (0.5 + random.random() / 2))  # noqa: S311 - jitter, not crypto

    def _error(self, what: str, status: int, data: object) -> ExternalError:
        repo = self.settings.repo
        detail = _detail(data)
        if status == 401:
            return ExternalError(
                f"GitHub rejected the token (401 {detail or 'Bad credentials'}) while trying to {what}: "
                "set a valid token in github-token / GITHUB_TOKEN"
            )
        if status == 403:
            return Refused(
                f"the token may not {what} in {repo} (403 {detail}): grant it contents and "
                "pull-requests write access"
            )
        if status == 404:
            return Refused(
                f"{repo} not found, or not visible to the token, while trying to {what} (404): "
                "check --env-repo and the token's repository access"
            )
        return ExternalError(f"GitHub answered {status} while trying to {what} in {repo}: {detail}")

    # -- raw calls for the API publisher (bot.adapters.github_commits) --------------------
    def node_id(self) -> str:
        """The repository's GraphQL global id."""
        return str(self._call("read the repository", lambda: self._repo.node_id))

    def post_json(self, what: str, path: str, payload: Mapping[str, object]) -> dict[str, object]:
        """POST `payload` to the repository's `path` (e.g. `/git/trees`): the answer's JSON."""

        def action() -> dict[str, object]:
            _headers, data = self._repo._requester.requestJsonAndCheck(
                "POST", f"{self._repo.url}{path}", input=dict(payload)
            )
            return dict(data)

        return self._call(what, action)

    def graphql_mutation(
        self, what: str, query: str, variables: Mapping[str, object]
    ) -> str | None:
        """Run a GraphQL mutation: None when done, else GitHub's refusal (GraphQL errors of
        other types than rate limits and FORBIDDEN, which are handled as REST ones) as one
        line. Types are told apart, never texts."""
        from github import GithubException

        def action() -> str | None:
            try:
                self._github.requester.graphql_query(query, dict(variables))
            except GithubException as error:
                errors = graphql_errors(error.data)
                if error.status not in (400, 404) or not errors:
                    raise
                kinds = {str(e.get("type", "")) for e in errors}
                said = _one_line("; ".join(str(e.get("message", "")) for e in errors))
                if kinds & GRAPHQL_RATE_LIMITED:
                    raise GithubException(429, error.data, error.headers) from None
                if kinds == {"FORBIDDEN"}:
                    raise GithubException(403, {"message": said}, error.headers) from None
                return said
            return None

        return self._call(what, action)

    def graphql_read(
        self, what: str, query: str, variables: Mapping[str, object]
    ) -> dict[str, object]:
        """Run a GraphQL query: its `data`. GraphQL errors (a repository the token cannot
        see) raise like REST ones; rate limits are waited out like every call."""
        from github import GithubException

        def action() -> dict[str, object]:
            try:
                _headers, data = self._github.requester.graphql_query(query, dict(variables))
            except GithubException as error:
                kinds = {str(e.get("type", "")) for e in graphql_errors(error.data)}
                if kinds & GRAPHQL_RATE_LIMITED:
                    raise GithubException(429, error.data, error.headers) from None
                raise
            found = data.get("data") if isinstance(data, dict) else None
            return dict(found) if isinstance(found, dict) else {}

        return self._call(what, action)

    def get_json(self, what: str, path: str) -> dict[str, object]:
        """GET the repository's `path` (e.g. `/git/blobs/{sha}`): the answer's JSON."""

        def action() -> dict[str, object]:
            _headers, data = self._repo._requester.requestJsonAndCheck(
                "GET", f"{self._repo.url}{path}"
            )
            return dict(data)

        return self._call(what, action)

    # -- repository -------------------------------------------------------------------------
    @property
    def web_root(self) -> str:
        """The repository's web pages, from the API URL (github.com or GHES)."""
        return f"{html_root(self.settings.api_url)}/{self.settings.repo}"

    def clone_url(self) -> str:
        return self._call("read the repository", lambda: self._repo.clone_url)

    def default_branch(self) -> str:
        return self._call("read the repository", lambda: self._repo.default_branch)

    def read_file(self, path: str, ref: str | None = None) -> bytes | None:
        """One file's bytes through the contents API (no clone); None when it does not exist.

        GitHub answers 404 both for a missing file and for a token that cannot see the
        repository's files. A 404 is taken for "missing" only when the root listing is
        readable; otherwise this raises, so a caller never mistakes "cannot see" for "absent"
        (and, say, falls back to a weaker default)."""
        from github import GithubException

        def contents(target: str) -> object:
            if ref is None:
                return self._repo.get_contents(target)
            return self._repo.get_contents(target, ref=ref)

        def action() -> bytes | None:
            try:
                found = contents(path)
            except GithubException as error:
                if error.status != 404:
                    raise
                try:
                    contents("")
                except GithubException as root:
                    if root.status == 404:
                        raise ExternalError(
                            f"cannot read {path} in {self.settings.repo}: the token cannot see "
                            "the repository's files (404 for the root folder too): give it "
                            "contents read access"
                        ) from None
                    raise
                return None
            if isinstance(found, list):  # a directory
                return None
            return found.decoded_content  # type: ignore[attr-defined, no-any-return]

        return self._call(f"read {path}", action)

    # -- pull requests ----------------------------------------------------------------------
    def find_pulls(
        self, head_branch: str, state: str = "open", base: str | None = None
    ) -> list[PullRequestInfo]:
        def action() -> list[PullRequestInfo]:
            kwargs = {"state": state, "head": f"{self.owner}:{head_branch}"}
            if base is not None:
                kwargs["base"] = base
            pulls = self._repo.get_pulls(**kwargs)
            return [_pull_info(p) for p in pulls.get_page(0)]

        return self._call("list pull requests", action)

    def find_open_pull(self, head_branch: str, base: str | None = None) -> PullRequestInfo | None:
        found = self.find_pulls(head_branch, "open", base)
        return found[0] if found else None

    def get_pull(self, number: int) -> PullRequestInfo:
        return self._call(
            f"read pull request #{number}",
            lambda: _pull_info(self._repo.get_pull(number), full=True),
        )

    def open_pulls(self) -> list[PullRequestInfo]:
        """Every open pull request from one of the bot's branches (`model-bot/...`): one
        request per 100 open pull requests."""

        def action() -> list[PullRequestInfo]:
            pulls = self._repo.get_pulls(state="open", sort="created", direction="desc")
            return [_pull_info(p) for p in pulls if p.head.ref.startswith("model-bot/")]

        return self._call("list open pull requests", action)

    def pulls_for_commit(self, sha: str) -> list[PullRequestInfo]:
        """The pull requests GitHub associates with a commit ("List pull requests associated
        with a commit"): for a commit on the default branch, the merged ones that introduced
        it (its merge commit, squash commit or rebased commits, or one of its own commits);
        otherwise the open ones whose head contains it. Empty for a commit pushed straight to
        the branch. Merged ones first, each read once more on its own (the list carries no
        `merged_by`): one request per page of the list, plus one per merged PR."""

        def action() -> list[PullRequestInfo]:
            listed = list(self._repo.get_commit(sha).get_pulls())
            merged = [
                _pull_info(self._repo.get_pull(pull.number), full=True)
                for pull in listed
                if pull.merged_at is not None
            ]
            return merged + [_pull_info(pull) for pull in listed if pull.merged_at is None]

        return self._call(f"list the pull requests of commit {sha[:12]}", action)

    def approvers(self, number: int) -> tuple[str, ...]:
        """The logins whose latest review of #`number` that is not a comment approves it
        (a later "changes requested" or a dismissal withdraws an approval; a comment does
        not), sorted. Pending reviews and reviews of deleted users do not count."""

        def action() -> tuple[str, ...]:
            latest: dict[str, tuple[str, str]] = {}  # lower-case login -> (login, state)
            for review in self._repo.get_pull(number).get_reviews():
                user = review.user
                if user is None or review.state in ("COMMENTED", "PENDING"):
                    continue
                latest[user.login.lower()] = (user.login, review.state)
            return tuple(sorted(login for login, state in latest.values() if state == "APPROVED"))

        return self._call(f"read the reviews of #{number}", action)

    def closed_by(self, number: int) -> str | None:
        """Who closed #`number`: the issue's `closed_by` ("Get an issue"), None while it is
        open (or when GitHub does not say)."""

        def action() -> str | None:
            closer = self._repo.get_issue(number).closed_by
            return closer.login if closer is not None else None

        return self._call(f"read who closed #{number}", action)

    def create_pull(self, *, title: str, body: str, head: str, base: str) -> PullRequestInfo:
        """Open the PR, converging under GitHub's eventual consistency: a branch pushed a
        moment ago can be refused as `head` `invalid` (422), and a PR created by a request
        whose answer was lost can be missing from the list for a moment; both are asked
        again after a backoff. A 422 for an existing PR for `head` is that PR."""
        from github import GithubException

        def action() -> PullRequestInfo:
            try:
                return _pull_info(
                    self._repo.create_pull(base=base, head=head, title=title, body=body)
                )
            except GithubException as error:
                if error.status != 422:
                    raise
                fields = {(e.get("field"), e.get("code")) for e in validation_errors(error.data)}
                if ("head", "invalid") in fields:
                    raise _Again(f"the branch {head} is not visible yet") from None
                existing = self.find_open_pull(head, base)
                if existing is not None:
                    return existing
                if any(code == "custom" for _, code in fields):
                    raise _Again(
                        f"a pull request for {head} exists but is not listed yet"
                    ) from None
                raise

        return self._call(
            "open a pull request", action, recover=lambda: self.find_open_pull(head, base)
        )

    def update_pull(self, number: int, *, title: str, body: str) -> None:
        self._call(
            f"update pull request #{number}",
            lambda: self._repo.get_pull(number).edit(title=title, body=body),
        )

    def add_labels(self, number: int, labels: Sequence[str]) -> None:
        """Add labels; a token without issue write access is refused (403): callers treat
        labels as best effort."""
        if labels:
            self._call(
                f"label pull request #{number}",
                lambda: self._repo.get_issue(number).add_to_labels(*labels),
            )

    def request_reviewers(
        self, number: int, users: Sequence[str], teams: Sequence[str]
    ) -> list[str]:
        """Ask users and teams for review; the refused ones, one line each.

        GitHub refuses a whole request (422) when one reviewer is not a collaborator, which
        would drop the valid ones with it: users and teams are asked in one request, and a
        refused one is asked again with users and teams apart, then one request per reviewer
        to name the refused ones."""
        users, teams = list(users), list(teams)
        if users and teams and self._review_request(number, "user and team", users, teams) is None:
            return []
        refused: list[str] = []
        for kind, names in (("user", users), ("team", teams)):
            if not names:
                continue
            why = self._review_request(number, kind, names)
            if why is None:
                continue
            if len(names) == 1:
                refused.append(f"{kind} {names[0]}: {why}")
                continue
            for name in names:
                alone = self._review_request(number, kind, [name])
                if alone is not None:
                    refused.append(f"{kind} {name}: {alone}")
        return refused

    def _review_request(
        self, number: int, kind: str, names: list[str], teams: list[str] | None = None
    ) -> str | None:
        """None when GitHub took the request, else its 422 reason. `kind` user: `names` are
        users; team: teams; else users, with `teams` in the same request."""
        from github import GithubException

        def action() -> str | None:
            pull = self._repo.get_pull(number)
            try:
                if kind == "user":
                    pull.create_review_request(reviewers=names)
                elif kind == "team":
                    pull.create_review_request(team_reviewers=names)
                else:
                    pull.create_review_request(reviewers=names, team_reviewers=teams or [])
            except GithubException as error:
                if error.status == 422:
                    return _detail(error.data) or "422 Unprocessable Entity"
                raise
            return None

        return self._call(f"request {kind} reviewers on #{number}", action)

    def merge_pull(self, number: int, title: str, squash_message: str) -> MergeResult:
        """Merge with a method the repository allows (merge commit, else squash with
        `squash_message` as the body, so the squashed commit keeps the trailers, else
        rebase). "Base branch was modified" (405) is asked again after a backoff; a merge
        refused by a branch protection rule (405, the PR's `mergeable_state` "blocked") is
        returned with GitHub's reason, not raised."""
        from github import GithubException

        method = self._merge_method()

        def action() -> MergeResult:
            pull = self._repo.get_pull(number)
            try:
                if method == "squash":
                    status = pull.merge(
                        commit_title=title, commit_message=squash_message, merge_method=method
                    )
                else:
                    status = pull.merge(commit_title=title, merge_method=method)
            except GithubException as error:
                if error.status != 405:
                    raise
                reason = _detail(error.data) or "405 Method Not Allowed"
                if self._repo.get_pull(number).mergeable_state == "blocked":
                    return MergeResult(False, method, None, reason)
                raise _Again(reason) from None
            return MergeResult(True, method, str(status.sha), None)

        return self._call(f"merge pull request #{number}", action)

    def base_requires_checks(self, branch: str) -> bool | None:
        """Whether a merge into `branch` has to wait for something GitHub's auto-merge waits
        for: status checks or approving reviews its branch protection requires. False when
        `branch` is not protected (GitHub then refuses to arm auto-merge: the PR can merge at
        once); None when its rules cannot be read.

        "Get a branch" (read access) says whether the branch is protected and names its
        required status checks; "Get branch protection" adds the required reviews but needs
        admin rights (without them GitHub answers 404, or 403 to an App or fine-grained
        token). Unreadable rules of a protected branch are True when the branch names
        required checks, else None. One request for an unprotected branch, two otherwise."""
        from github import GithubException

        def action() -> bool | None:
            found = self._repo.get_branch(branch)
            if found.protected is False:  # None (not reported): the protection decides
                return False
            summary = found.raw_data.get("protection")
            summary_checks = (
                summary.get("required_status_checks") if isinstance(summary, Mapping) else None
            )
            names_checks = isinstance(summary_checks, Mapping) and bool(
                summary_checks.get("contexts") or summary_checks.get("checks")
            )
            try:
                rules = found.get_protection().raw_data
            except GithubException as error:
                if error.status in (403, 404) and (
                    rate_limit(error.status, error.headers or {}, error.data, time.time()) is None
                ):
                    return True if names_checks else None
                raise
            return _protection_requires(rules)

        return self._call(f"read the protection of {branch}", action)

    def enable_auto_merge(self, number: int, method: str | None = None) -> str | None:
        """Arm GitHub's auto-merge on #`number` (GraphQL `enablePullRequestAutoMerge`): GitHub
        merges it by `method` (merge | squash | rebase) once its base's protection is met.

        None when armed; otherwise the refusal as one line, never raised: the repository does
        not allow auto-merge (its `allow_auto_merge`, read first, is false), or GitHub's
        refusal of the mutation (GraphQL errors of type UNPROCESSABLE, HTTP 200: nothing to
        wait for, i.e. the PR could merge now; closed; a merge method the repository does not
        allow; conflicts...). Arming again is harmless, so a lost answer is simply asked
        again. A GraphQL rate limit (type RATE_LIMIT / RATE_LIMITED) is waited out like a REST
        one; any other failure raises as every call does (FORBIDDEN as a 403). GraphQL errors
        are told apart by their `type`, never by their text."""
        from github import GithubException

        if method is None:  # the first method the repository allows, as merge_pull picks
            method = self._merge_method()
        if method not in AUTO_MERGE_METHODS:
            raise InvalidInput.one(
                "merge method",
                "",
                f"expected one of {', '.join(AUTO_MERGE_METHODS)}, got {method!r}",
            )
        allowed = self._call(
            "read the repository's auto-merge setting", lambda: self._repo.allow_auto_merge
        )
        if allowed is False:  # None: not reported (no admin, old GHES): ask GitHub anyway
            return (
                f'auto-merge is not allowed on {self.settings.repo} (its "Allow auto-merge" '
                "setting is off)"
            )

        def action() -> str | None:
            pull = self._repo.get_pull(number)
            try:
                pull.enable_automerge(merge_method=method.upper())
            except GithubException as error:
                errors = graphql_errors(error.data)
                if error.status != 400 or not errors:
                    raise
                kinds = {str(e.get("type", "")) for e in errors}
                said = _one_line("; ".join(str(e.get("message", "")) for e in errors))
                if kinds & GRAPHQL_RATE_LIMITED:
                    # `_call` reads it as any rate limit: Retry-After, X-RateLimit-Reset, or
                    # at least a minute.
                    raise GithubException(429, error.data, error.headers) from None
                if kinds == {"UNPROCESSABLE"}:
                    return f"GitHub refused to enable auto-merge on #{number}: {said}"
                status = 403 if kinds == {"FORBIDDEN"} else 400
                raise GithubException(status, {"message": said}, error.headers) from None
            return None

        return self._call(f"enable auto-merge on #{number}", action)

    def _merge_method(self) -> str:
        allowed = self._call(
            "read the repository's merge settings",
            lambda: (
                self._repo.allow_merge_commit,
                self._repo.allow_squash_merge,
                self._repo.allow_rebase_merge,
            ),
        )
        for method, ok in zip(("merge", "squash", "rebase"), allowed, strict=True):
            if ok is not False:  # not reported (old GHES): GitHub's default allows it
                return method
        return "merge"

    # -- comments, reactions, permissions ---------------------------------------------------
    def comment(self, number: int, body: str) -> CommentInfo:
        def action() -> CommentInfo:
            created = self._repo.get_issue(number).create_comment(body)
            return CommentInfo(created.id, created.body, created.user.login)

        return self._call(f"comment on #{number}", action)

    def set_status(
        self, sha: str, *, context: str, state: str, description: str, target_url: str | None
    ) -> None:
        """A commit status ("Create a commit status": `state` error | failure | pending |
        success, `description` at most 140 characters); the newest per context wins."""
        from github.GithubObject import NotSet

        def action() -> None:
            self._repo.get_commit(sha).create_status(
                state,
                target_url=target_url if target_url else NotSet,
                description=description[:140],
                context=context,
            )

        self._call(f"set the {context} status of {sha[:12]}", action)

    def commit_statuses(self, sha: str) -> dict[str, str]:
        """context -> the newest state of the commit statuses of `sha` ("List commit statuses
        for a reference": newest first, so the first of each context wins)."""

        def action() -> dict[str, str]:
            found: dict[str, str] = {}
            for status in self._repo.get_commit(sha).get_statuses():
                found.setdefault(status.context, status.state)
            return found

        return self._call(f"read the statuses of {sha[:12]}", action)

    def comments(self, number: int) -> list[CommentInfo]:
        def action() -> list[CommentInfo]:
            return [
                CommentInfo(c.id, c.body, c.user.login)
                for c in self._repo.get_issue(number).get_comments()
            ]

        return self._call(f"read comments of #{number}", action)

    def delete_comment(self, comment_id: int) -> None:
        """ "Delete an issue comment" (204); the comment object is lazy, so one request."""
        self._call(
            "delete a comment",
            lambda: self._repo.get_issue(0).get_comment(comment_id).delete(),
        )

    def react(self, comment_id: int, content: str) -> None:
        self._call(
            "react to a comment",
            lambda: self._repo.get_issue(0).get_comment(comment_id).create_reaction(content),
        )

    def permission(self, login: str) -> str:
        """`login`'s permission. Reading it needs push access: a token without it is
        refused (403), raised as such so that callers fail closed."""
        from github import GithubException

        def action() -> str:
            try:
                return self._repo.get_collaborator_permission(login)
            except GithubException as error:
                if (
                    error.status == 403
                    and rate_limit(403, error.headers or {}, error.data, 0) is None
                ):
                    raise ExternalError(
                        f"cannot read {login}'s permission on {self.settings.repo} (403 "
                        f"{_detail(error.data)}): the token needs push access to read "
                        "collaborator permissions"
                    ) from None
                raise

        return self._call(f"read {login}'s permission", action)

    # -- issues and dispatches (monitor) ----------------------------------------------------
    def find_issues(self, label: str) -> list[IssueInfo]:
        """The open issues (pull requests left out) carrying `label` ("List repository
        issues" with `labels` and `state=open`)."""

        def action() -> list[IssueInfo]:
            return [
                _issue_info(issue)
                for issue in self._repo.get_issues(state="open", labels=[label])
                if issue.pull_request is None
            ]

        return self._call(f"list the open issues labelled {label}", action)

    def create_issue(self, *, title: str, body: str, labels: Sequence[str]) -> IssueInfo:
        """Open an issue; a lost answer is recovered by finding it (same label and body),
        so a retried POST never opens a second one."""

        def recover() -> IssueInfo | None:
            found = [i for i in self.find_issues(labels[0]) if i.body == body] if labels else []
            return found[0] if found else None

        return self._call(
            "open an issue",
            lambda: _issue_info(self._repo.create_issue(title, body=body, labels=list(labels))),
            recover=recover,
        )

    def edit_issue(self, number: int, *, body: str | None = None, state: str | None = None) -> None:
        """Change an issue's body and/or state (open | closed)."""
        from github.GithubObject import NotSet

        self._call(
            f"edit issue #{number}",
            lambda: self._repo.get_issue(number).edit(
                body=body if body is not None else NotSet,
                state=state if state is not None else NotSet,
            ),
        )

    def get_issue(self, number: int) -> IssueInfo | None:
        """The issue, or None when there is none by that number (or it is a pull request)."""
        from github import GithubException

        def action() -> IssueInfo | None:
            try:
                issue = self._repo.get_issue(number)
                return None if issue.pull_request is not None else _issue_info(issue)
            except GithubException as error:
                if error.status == 404:
                    return None
                raise

        return self._call(f"read issue #{number}", action)

    def dispatch_workflow(self, workflow: str, ref: str, inputs: Mapping[str, str]) -> None:
        """`workflow_dispatch` of `workflow` (a file name) on `ref` with `inputs` ("Create a
        workflow dispatch event", 204). A missing workflow (404) or one without a
        `workflow_dispatch` trigger or with other inputs (422) is the policy's to fix."""
        where = f"{self.settings.repo} workflow {workflow}"

        def action() -> None:
            self._once(
                where,
                lambda: self._repo.get_workflow(workflow).create_dispatch(
                    ref, dict(inputs), throw=True
                ),
                "monitoring.retrain.workflow",
            )

        self._call(f"dispatch {workflow}", action)

    def dispatch_event(self, event_type: str, payload: Mapping[str, object]) -> None:
        """A `repository_dispatch` of `event_type` ("Create a repository dispatch event",
        204); PyGithub's `create_repository_dispatch` hides the status, so the requester
        (PyGithub's way to endpoints it does not wrap) sends it and raises on errors."""

        def action() -> None:
            self._once(
                f"{self.settings.repo} repository_dispatch {event_type}",
                lambda: self._github.requester.requestJsonAndCheck(
                    "POST",
                    f"{self._repo.url}/dispatches",
                    input={"event_type": event_type, "client_payload": dict(payload)},
                ),
                "monitoring.retrain.event_type",
            )

        self._call(f"send the {event_type} repository_dispatch", action)

    def _once(self, where: str, send: Callable[[], object], field: str) -> None:
        """Send a dispatch, which cannot be looked up afterwards: a 404 or 422 is the
        policy's to fix (exit 2, naming the field); an answer lost after sending is not
        retried (a second dispatch would start a second training run)."""
        import requests
        from github import GithubException

        try:
            send()
        except GithubException as error:
            if error.status in (404, 422):
                raise InvalidInput.one(
                    "policy",
                    field,
                    f"{where}: GitHub answered {error.status} ({_detail(error.data)}); "
                    "check the repository, the workflow file and its workflow_dispatch "
                    "trigger and inputs, and the token's actions write access",
                ) from None
            raise
        except (requests.ReadTimeout, requests.exceptions.ChunkedEncodingError):
            raise ExternalError(
                f"GitHub did not answer the dispatch to {where}: it may have started; "
                "check the training runs before monitoring again"
            ) from None


def _issue_info(issue: object) -> IssueInfo:
    from github.Issue import Issue

    assert isinstance(issue, Issue)
    return IssueInfo(
        number=issue.number,
        url=issue.html_url,
        state=issue.state,
        title=issue.title or "",
        body=issue.body or "",
        labels=tuple(label.name for label in issue.labels),
    )
