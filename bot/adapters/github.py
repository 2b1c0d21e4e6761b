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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from bot.core.errors import ExternalError, InvalidInput
from bot.core.pulls import CommentInfo, PullRequestInfo

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


def html_root(api_url: str) -> str:
    """Where a forge's web pages live, from its API URL (github.com or GHES)."""
    if api_url.rstrip("/") == GITHUB_API:
        return "https://github.com"
    return api_url.rstrip("/").removesuffix("/api/v3")


def _pull_info(pull: PullRequest) -> PullRequestInfo:
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

    # -- the one place that talks HTTP ------------------------------------------------------
    def _call(
        self, what: str, action: Callable[[], T], *, recover: Callable[[], T | None] | None = None
    ) -> T:
        """Run `action`, retrying transient failures; `recover` finds the result of a write
        whose response was lost (so a retried POST never creates a duplicate)."""
        import requests
        from github import GithubException

        attempt = 0
        waited = 0.0
        while True:
            attempt += 1
            try:
                return action()
            except GithubException as error:
                status = error.status
                headers = {k.lower(): v for k, v in (error.headers or {}).items()}
                wait = self._rate_limit_wait(status, headers)
                if wait is not None:
                    if waited + wait > self.settings.max_rate_limit_wait:
                        raise ExternalError(
                            f"GitHub rate limit while trying to {what}: would wait {wait:.0f}s more "
                            f"(over MODEL_BOT_MAX_RATE_LIMIT_WAIT={self.settings.max_rate_limit_wait:g}s); "
                            "retry later or raise the limit"
                        ) from None
                    waited += wait
                    self._sleep(wait)
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
                if attempt <= self.settings.retries:
                    self._backoff(attempt)
                    continue
                raise ExternalError(
                    f"cannot reach GitHub at {self.settings.api_url} to {what}: "
                    f"{type(error).__name__} (check github-api-url and the network)"
                ) from None

    def _quietly(self, recover: Callable[[], T | None]) -> T | None:
        try:
            return recover()
        except Exception:  # noqa: BLE001 - recovery is best effort; the retry follows
            return None

    def _backoff(self, attempt: int) -> None:
        base = self.settings.backoff_seconds * (2 ** (attempt - 1))
        self._sleep(min(30.0, base) * (0.5 + random.random() / 2))  # noqa: S311 - jitter, not crypto

    @staticmethod
    def _rate_limit_wait(status: int, headers: dict[str, str]) -> float | None:
        if status not in (403, 429):
            return None
        if "retry-after" in headers:
            try:
                return max(1.0, float(headers["retry-after"]))
            except ValueError:
                return 60.0
        if headers.get("x-ratelimit-remaining") == "0":
            try:
                reset = float(headers.get("x-ratelimit-reset", "0"))
            except ValueError:
                reset = 0.0
            return max(1.0, reset - time.time())
        return None

    def _error(self, what: str, status: int, data: object) -> ExternalError:
        repo = self.settings.repo
        detail = ""
        if isinstance(data, dict):
            detail = str(data.get("message", ""))
            errors = data.get("errors")
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                detail += f": {errors[0].get('message') or errors[0].get('code', '')}"
        detail = " ".join(detail.split())[:200]
        if status == 401:
            return ExternalError(
                f"GitHub rejected the token (401 {detail or 'Bad credentials'}) while trying to {what}: "
                "set a valid token in github-token / GITHUB_TOKEN"
            )
        if status == 403:
            return ExternalError(
                f"the token may not {what} in {repo} (403 {detail}): grant it contents and "
                "pull-requests write access"
            )
        if status == 404:
            return ExternalError(
                f"{repo} not found, or not visible to the token, while trying to {what} (404): "
                "check --env-repo and the token's repository access"
            )
        return ExternalError(f"GitHub answered {status} while trying to {what} in {repo}: {detail}")

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
        """One file's bytes through the contents API (no clone); None when it does not exist."""
        from github import GithubException

        def action() -> bytes | None:
            try:
                if ref is None:
                    found = self._repo.get_contents(path)
                else:
                    found = self._repo.get_contents(path, ref=ref)
            except GithubException as error:
                if error.status == 404:
                    return None
                raise
            if isinstance(found, list):  # a directory
                return None
            return found.decoded_content

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
            f"read pull request #{number}", lambda: _pull_info(self._repo.get_pull(number))
        )

    def create_pull(self, *, title: str, body: str, head: str, base: str) -> PullRequestInfo:
        from github import GithubException

        def action() -> PullRequestInfo:
            try:
                return _pull_info(
                    self._repo.create_pull(base=base, head=head, title=title, body=body)
                )
            except GithubException as error:
                # 422: a PR for this head already exists (e.g. an earlier response was lost).
                if error.status == 422:
                    existing = self.find_open_pull(head, base)
                    if existing is not None:
                        return existing
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
        if labels:
            self._call(
                f"label pull request #{number}",
                lambda: self._repo.get_issue(number).add_to_labels(*labels),
            )

    def request_reviewers(self, number: int, users: Sequence[str], teams: Sequence[str]) -> None:
        if not users and not teams:
            return
        self._call(
            f"request reviewers on #{number}",
            lambda: self._repo.get_pull(number).create_review_request(
                reviewers=list(users), team_reviewers=list(teams)
            ),
        )

    def merge_pull(self, number: int, message: str) -> str:
        def action() -> str:
            status = self._repo.get_pull(number).merge(commit_title=message, merge_method="merge")
            return str(status.sha)

        return self._call(f"merge pull request #{number}", action)

    # -- comments, reactions, permissions ---------------------------------------------------
    def comment(self, number: int, body: str) -> CommentInfo:
        def action() -> CommentInfo:
            created = self._repo.get_issue(number).create_comment(body)
            return CommentInfo(created.id, created.body, created.user.login)

        return self._call(f"comment on #{number}", action)

    def comments(self, number: int) -> list[CommentInfo]:
        def action() -> list[CommentInfo]:
            return [
                CommentInfo(c.id, c.body, c.user.login)
                for c in self._repo.get_issue(number).get_comments()
            ]

        return self._call(f"read comments of #{number}", action)

    def react(self, comment_id: int, content: str) -> None:
        self._call(
            "react to a comment",
            lambda: self._repo.get_issue(0).get_comment(comment_id).create_reaction(content),
        )

    def permission(self, login: str) -> str:
        return self._call(
            f"read {login}'s permission", lambda: self._repo.get_collaborator_permission(login)
        )
