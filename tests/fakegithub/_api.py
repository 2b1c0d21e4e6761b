"""REST v3 routes of the fake GitHub: state, handlers and GitHub-shaped serialisers."""

from __future__ import annotations

import itertools
import json
import math
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from . import _git as git
from . import _gitdata as gitdata
from . import _treereads as treereads
from ._actions import ActionsApi
from ._model import (
    DOCS,
    LEGACY_PERMISSION,
    PERMISSION_ORDER,
    REACTIONS,
    SQUASH_MESSAGES,
    SQUASH_TITLES,
    ApiError,
    AutoMerge,
    BranchProtection,
    Comment,
    Issue,
    Label,
    PullData,
    Reaction,
    Repo,
    Review,
    Team,
    User,
    node_id,
    not_found,
    now_iso,
    perm_at_least,
    validation_failed,
)

T = TypeVar("T")
JSON = dict[str, Any]

PULLS_DOC = "https://docs.github.com/rest/pulls/pulls"
REFS_DOC = "https://docs.github.com/rest/git/refs"
COMMIT_PULLS_DOC = (
    "https://docs.github.com/en/rest/commits/commits#list-pull-requests-associated-with-a-commit"
)
REPO_UPDATE_DOC = "https://docs.github.com/en/rest/repos/repos#update-a-repository"
DISMISS_DOC = "https://docs.github.com/en/rest/pulls/reviews#dismiss-a-review-for-a-pull-request"
LABELS_DOC = "https://docs.github.com/rest/issues/labels"
MERGE_DOC = "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"
PROTECTED_DOC = "https://docs.github.com/articles/about-protected-branches"
#: As recorded in GitHub's answers (e.g. {"message":"Branch not protected","documentation_url":
#: "https://docs.github.com/rest/branches/branch-protection#get-branch-protection","status":"404"}).
PROTECTION_DOC = "https://docs.github.com/rest/branches/branch-protection#get-branch-protection"
CONTENTS_DOC = "https://docs.github.com/rest/repos/contents#get-repository-content"
REVIEW_REQUESTS_DOC = (
    "https://docs.github.com/rest/pulls/review-requests#request-reviewers-for-a-pull-request"
)
# As recorded in PyGithub's tests/ReplayData/Repository.testCollaboratorPermissionNoPushAccess.txt.
PERMISSION_DOC = (
    "https://developer.github.com/v3/repos/collaborators/#review-a-users-permission-level"
)
BASE_MODIFIED = "Base branch was modified. Review and try the merge again."
METHOD_NOT_ALLOWED = {
    "merge": "Merge commits are not allowed on this repository.",
    "squash": "Squash merges are not allowed on this repository.",
    "rebase": "Rebase merges are not allowed on this repository.",
}
GITHUB_SIGNATURE = ("GitHub", "noreply@github.com")
#: ``lag_pull_listing`` leaves out pull requests younger than this many seconds.
LISTING_LAG_SECONDS = 60.0
RATE_LIMIT = 5000


@dataclass
class Request:
    method: str
    path: str  # without the /api/v3 prefix, still percent-encoded
    query: dict[str, str]
    body: Any
    user: User
    link_base: str  # scheme://host[:port][/api/v3] as used by this request


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[..., Reply]


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _qpath(value: str) -> str:
    return urllib.parse.quote(value, safe="/")


class Backend:
    """All stateful GitHub behaviour. Every public method takes ``self.lock``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repos_root = root / "repos"
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}  # lower-case login -> user
        self.tokens: dict[str, str] = {}  # token -> lower-case login
        self.repos: dict[tuple[str, str], Repo] = {}
        self.teams: dict[tuple[str, str], Team] = {}
        self.rate_used: dict[str, int] = {}
        self.rate_reset = int(time.time()) + 3600
        self.enforce_permissions = False
        self.base = "http://127.0.0.1:0"
        self._ids = itertools.count(1001)
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.actions = ActionsApi(self)  # workflows and dispatches: ._actions
        self._build_routes()

    # ------------------------------------------------------------------ helpers
    @property
    def api(self) -> str:
        return f"{self.base}/api/v3"

    def next_id(self) -> int:
        return next(self._ids)

    def user(self, login: str) -> User | None:
        return self.users.get(login.lower())

    def ensure_user(self, login: str, type: str = "User") -> User:
        existing = self.user(login)
        if existing is not None:
            return existing
        u = User(login=login, id=self.next_id(), type=type)
        self.users[login.lower()] = u
        return u

    def find_repo(self, owner: str, name: str) -> Repo | None:
        return self.repos.get((owner.lower(), name.lower()))

    def role(self, repo: Repo, login: str) -> str:
        role = self._granted_role(repo, login)
        if login.lower() in repo.push_denied and perm_at_least(role, "triage"):
            return "read"  # ``deny_push``: a read-only collaborator, whatever was granted
        return role

    def _granted_role(self, repo: Repo, login: str) -> str:
        explicit = repo.permissions.get(login.lower())
        if explicit is not None:
            return explicit
        owner = self.user(repo.owner)
        if owner is not None and owner.type == "User" and owner.login.lower() == login.lower():
            return "admin"
        return "none"

    def association(self, repo: Repo, login: str) -> str:
        if login.lower() == repo.owner.lower():
            return "OWNER"
        return "COLLABORATOR" if self.role(repo, login) != "none" else "NONE"

    def rate_headers(self, login: str | None, count: bool) -> dict[str, str]:
        now = int(time.time())
        if now >= self.rate_reset:
            self.rate_reset = now + 3600
            self.rate_used.clear()
        used = self.rate_used.get(login or "", 0)
        if count and login is not None:
            used += 1
            self.rate_used[login] = used
        return {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(max(0, RATE_LIMIT - used)),
            "X-RateLimit-Reset": str(self.rate_reset),
            "X-RateLimit-Used": str(used),
            "X-RateLimit-Resource": "core",
        }

    # ------------------------------------------------------------------ routing
    def _build_routes(self) -> None:
        repo = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
        num = r"(?P<number>\d+)"
        table: list[tuple[str, str, Handler]] = [
            ("GET", r"/user", self.get_authenticated_user),
            ("GET", r"/users/(?P<login>[^/]+)", self.get_user),
            ("GET", r"/rate_limit", self.get_rate_limit),
            ("POST", r"/graphql", self.graphql),
            ("GET", repo, self.get_repo),
            ("PATCH", repo, self.update_repo),
            ("GET", repo + r"/branches", self.list_branches),
            # Before ``branches/{branch}``, whose ``.+`` would swallow ``{branch}/protection``.
            ("GET", repo + r"/branches/(?P<branch>.+)/protection", self.get_branch_protection),
            ("GET", repo + r"/branches/(?P<branch>.+)", self.get_branch),
            # Before ``commits/{ref}``, whose ``.+`` would swallow ``{sha}/pulls``. A branch
            # name with a slash arrives percent-encoded (PyGithub quotes it), so ``[^/]+``.
            ("GET", repo + r"/commits/(?P<ref>[^/]+)/pulls", self.commit_pulls),
            ("GET", repo + r"/commits/(?P<ref>[^/]+)/statuses", self.list_statuses),
            # PyGithub's Commit.get_statuses() asks the older path of the same list.
            ("GET", repo + r"/statuses/(?P<ref>[0-9a-fA-F]{4,40})", self.list_statuses),
            ("GET", repo + r"/commits/(?P<ref>.+)", self.get_commit),
            ("GET", repo + r"/contents", self.get_contents),
            ("GET", repo + r"/contents/(?P<path>.+)", self.get_contents),
            ("GET", repo + r"/git/commits/(?P<sha>[0-9a-fA-F]{4,40})", self.get_git_commit),
            ("GET", repo + r"/git/ref/(?P<ref>.+)", self.get_ref),
            ("GET", repo + r"/git/refs", self.list_all_refs),
            ("GET", repo + r"/git/refs/(?P<ref>.+)", self.get_refs_legacy),
            ("GET", repo + r"/git/matching-refs/(?P<ref>.*)", self.matching_refs),
            ("POST", repo + r"/git/refs", self.create_ref),
            ("PATCH", repo + r"/git/refs?/(?P<ref>.+)", self.update_ref),
            ("DELETE", repo + r"/git/refs?/(?P<ref>.+)", self.delete_ref),
            ("GET", repo + r"/pulls", self.list_pulls),
            ("POST", repo + r"/pulls", self.create_pull),
            ("GET", repo + r"/pulls/" + num, self.get_pull),
            ("PATCH", repo + r"/pulls/" + num, self.update_pull),
            ("GET", repo + r"/pulls/" + num + r"/merge", self.is_merged),
            ("PUT", repo + r"/pulls/" + num + r"/merge", self.merge_pull),
            ("GET", repo + r"/pulls/" + num + r"/commits", self.pull_commits),
            ("GET", repo + r"/pulls/" + num + r"/files", self.pull_files),
            ("GET", repo + r"/pulls/" + num + r"/requested_reviewers", self.get_review_requests),
            ("POST", repo + r"/pulls/" + num + r"/requested_reviewers", self.request_reviewers),
            ("DELETE", repo + r"/pulls/" + num + r"/requested_reviewers", self.remove_reviewers),
            ("GET", repo + r"/pulls/" + num + r"/reviews", self.list_reviews),
            ("POST", repo + r"/pulls/" + num + r"/reviews", self.create_review),
            (
                "PUT",
                repo + r"/pulls/" + num + r"/reviews/(?P<rid>\d+)/dismissals",
                self.dismiss_review,
            ),
            ("GET", repo + r"/issues", self.list_issues),
            ("POST", repo + r"/issues", self.create_issue),
            ("GET", repo + r"/issues/comments", self.list_repo_comments),
            ("GET", repo + r"/issues/comments/(?P<cid>\d+)", self.get_comment),
            ("PATCH", repo + r"/issues/comments/(?P<cid>\d+)", self.edit_comment),
            ("DELETE", repo + r"/issues/comments/(?P<cid>\d+)", self.delete_comment),
            ("GET", repo + r"/issues/comments/(?P<cid>\d+)/reactions", self.list_comment_reactions),
            ("POST", repo + r"/issues/comments/(?P<cid>\d+)/reactions", self.add_comment_reaction),
            (
                "DELETE",
                repo + r"/issues/comments/(?P<cid>\d+)/reactions/(?P<rid>\d+)",
                self.delete_comment_reaction,
            ),
            ("GET", repo + r"/issues/" + num, self.get_issue),
            ("PATCH", repo + r"/issues/" + num, self.update_issue),
            ("GET", repo + r"/issues/" + num + r"/comments", self.list_issue_comments),
            ("POST", repo + r"/issues/" + num + r"/comments", self.create_comment),
            ("GET", repo + r"/issues/" + num + r"/labels", self.list_issue_labels),
            ("POST", repo + r"/issues/" + num + r"/labels", self.add_issue_labels),
            ("PUT", repo + r"/issues/" + num + r"/labels", self.set_issue_labels),
            ("DELETE", repo + r"/issues/" + num + r"/labels", self.clear_issue_labels),
            (
                "DELETE",
                repo + r"/issues/" + num + r"/labels/(?P<label>.+)",
                self.remove_issue_label,
            ),
            ("GET", repo + r"/issues/" + num + r"/reactions", self.list_issue_reactions),
            ("POST", repo + r"/issues/" + num + r"/reactions", self.add_issue_reaction),
            (
                "DELETE",
                repo + r"/issues/" + num + r"/reactions/(?P<rid>\d+)",
                self.delete_issue_reaction,
            ),
            ("GET", repo + r"/labels", self.list_labels),
            ("POST", repo + r"/labels", self.create_label),
            ("GET", repo + r"/labels/(?P<label>.+)", self.get_label),
            ("PATCH", repo + r"/labels/(?P<label>.+)", self.update_label),
            ("DELETE", repo + r"/labels/(?P<label>.+)", self.delete_label),
            ("POST", repo + r"/statuses/(?P<sha>[0-9a-fA-F]{40})", self.create_status),
            ("GET", repo + r"/collaborators", self.list_collaborators),
            ("GET", repo + r"/collaborators/(?P<login>[^/]+)", self.check_collaborator),
            (
                "GET",
                repo + r"/collaborators/(?P<login>[^/]+)/permission",
                self.collaborator_permission,
            ),
        ]
        table += self.actions.routes(repo)
        table += gitdata.routes(self, repo)
        self.routes = [(m, re.compile(p), h) for m, p, h in table]

    def handle(self, req: Request) -> Reply:
        path = req.path.rstrip("/") or "/"
        for method, pattern, handler in self.routes:
            if method != req.method:
                continue
            match = pattern.fullmatch(path)
            if match is None:
                continue
            params = {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
            with self.lock:
                try:
                    return handler(req, **params)
                except ApiError as err:
                    return Reply(err.status, err.body(), dict(err.headers))
        return Reply(404, ApiError(404, "Not Found").body())

    # ------------------------------------------------------------------ common
    def _repo(self, req: Request, owner: str, name: str, need: str = "read") -> Repo:
        repo = self.find_repo(owner, name)
        if repo is None:
            raise not_found()
        denied = req.user.login.lower() in repo.push_denied and need != "read"
        if self.enforce_permissions or denied:
            role = self.role(repo, req.user.login)
            if role == "none" and repo.private:
                raise not_found()
            if not perm_at_least(role, need):
                raise ApiError(403, "Resource not accessible by personal access token")
        return repo

    def _issue(self, repo: Repo, number: str | int) -> Issue:
        issue = repo.issues.get(int(number))
        if issue is None:
            raise not_found()
        return issue

    def _pull(self, repo: Repo, number: str | int) -> Issue:
        issue = repo.issues.get(int(number))
        if issue is None or issue.pull is None:
            raise not_found()
        self.sync_pull(repo, issue)
        return issue

    @staticmethod
    def _dict_body(req: Request) -> JSON:
        if req.body is None:
            return {}
        if not isinstance(req.body, dict):
            raise ApiError(400, "Problems parsing JSON")
        return req.body

    def _can_modify(self, repo: Repo, issue: Issue, login: str) -> bool:
        if not self.enforce_permissions or issue.user.lower() == login.lower():
            return True
        return perm_at_least(self.role(repo, login), "triage")

    def paginate(self, req: Request, items: Sequence[T], ser: Callable[[T], Any]) -> Reply:
        try:
            per_page = min(100, max(1, int(req.query.get("per_page", "30"))))
        except ValueError:
            per_page = 30
        try:
            page = max(1, int(req.query.get("page", "1")))
        except ValueError:
            page = 1
        last = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers: dict[str, str] = {}
        if last > 1:

            def link(p: int, rel: str) -> str:
                q = dict(req.query)
                q["page"] = str(p)
                return f'<{req.link_base}{req.path}?{urllib.parse.urlencode(q)}>; rel="{rel}"'

            links: list[str] = []
            if page > 1:
                links.append(link(page - 1, "prev"))
            if page < last:
                links.append(link(page + 1, "next"))
                links.append(link(last, "last"))
            if page > 1:
                links.append(link(1, "first"))
            if links:
                headers["Link"] = ", ".join(links)
        return Reply(200, [ser(item) for item in chunk], headers)

    # ------------------------------------------------------------------ serialisers
    def user_json(self, u: User | str | None) -> JSON | None:
        if u is None:
            return None
        if isinstance(u, str):
            found = self.user(u)
            if found is None:
                found = self.ensure_user(u)
            u = found
        api, login = self.api, u.login
        return {
            "login": login,
            "id": u.id,
            "node_id": u.node_id,
            "avatar_url": f"{self.base}/avatars/u/{u.id}?v=4",
            "gravatar_id": "",
            "url": f"{api}/users/{login}",
            "html_url": f"{self.base}/{login}",
            "followers_url": f"{api}/users/{login}/followers",
            "following_url": f"{api}/users/{login}/following{{/other_user}}",
            "gists_url": f"{api}/users/{login}/gists{{/gist_id}}",
            "starred_url": f"{api}/users/{login}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/users/{login}/subscriptions",
            "organizations_url": f"{api}/users/{login}/orgs",
            "repos_url": f"{api}/users/{login}/repos",
            "events_url": f"{api}/users/{login}/events{{/privacy}}",
            "received_events_url": f"{api}/users/{login}/received_events",
            "type": u.type,
            "user_view_type": "public",
            "site_admin": False,
        }

    def _user_json(self, u: User | str) -> JSON:
        data = self.user_json(u)
        assert data is not None
        return data

    def full_user_json(self, u: User) -> JSON:
        data = self._user_json(u)
        data.update(
            {
                "name": u.name,
                "company": None,
                "blog": "",
                "location": None,
                "email": u.email,
                "hireable": None,
                "bio": None,
                "twitter_username": None,
                "public_repos": sum(
                    1 for r in self.repos.values() if r.owner.lower() == u.login.lower()
                ),
                "public_gists": 0,
                "followers": 0,
                "following": 0,
                "created_at": u.created_at,
                "updated_at": u.created_at,
            }
        )
        return data

    def repo_api(self, repo: Repo) -> str:
        return f"{self.api}/repos/{repo.owner}/{repo.name}"

    def repo_html(self, repo: Repo) -> str:
        return f"{self.base}/{repo.owner}/{repo.name}"

    def repo_json(self, repo: Repo, viewer: User | None = None) -> JSON:
        api, html = self.repo_api(repo), self.repo_html(repo)
        owner = self.user(repo.owner) or self.ensure_user(repo.owner)
        head = git.read_ref(repo.path, f"refs/heads/{repo.default_branch}")
        data: JSON = {
            "id": repo.id,
            "node_id": node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "owner": self.user_json(owner),
            "html_url": html,
            "description": repo.description,
            "fork": False,
            "url": api,
            "forks_url": f"{api}/forks",
            "keys_url": f"{api}/keys{{/key_id}}",
            "collaborators_url": f"{api}/collaborators{{/collaborator}}",
            "teams_url": f"{api}/teams",
            "hooks_url": f"{api}/hooks",
            "issue_events_url": f"{api}/issues/events{{/number}}",
            "events_url": f"{api}/events",
            "assignees_url": f"{api}/assignees{{/user}}",
            "branches_url": f"{api}/branches{{/branch}}",
            "tags_url": f"{api}/tags",
            "blobs_url": f"{api}/git/blobs{{/sha}}",
            "git_tags_url": f"{api}/git/tags{{/sha}}",
            "git_refs_url": f"{api}/git/refs{{/sha}}",
            "trees_url": f"{api}/git/trees{{/sha}}",
            "statuses_url": f"{api}/statuses/{{sha}}",
            "languages_url": f"{api}/languages",
            "stargazers_url": f"{api}/stargazers",
            "contributors_url": f"{api}/contributors",
            "subscribers_url": f"{api}/subscribers",
            "subscription_url": f"{api}/subscription",
            "commits_url": f"{api}/commits{{/sha}}",
            "git_commits_url": f"{api}/git/commits{{/sha}}",
            "comments_url": f"{api}/comments{{/number}}",
            "issue_comment_url": f"{api}/issues/comments{{/number}}",
            "contents_url": f"{api}/contents/{{+path}}",
            "compare_url": f"{api}/compare/{{base}}...{{head}}",
            "merges_url": f"{api}/merges",
            "archive_url": f"{api}/{{archive_format}}{{/ref}}",
            "downloads_url": f"{api}/downloads",
            "issues_url": f"{api}/issues{{/number}}",
            "pulls_url": f"{api}/pulls{{/number}}",
            "milestones_url": f"{api}/milestones{{/number}}",
            "notifications_url": f"{api}/notifications{{?since,all,participating}}",
            "labels_url": f"{api}/labels{{/name}}",
            "releases_url": f"{api}/releases{{/id}}",
            "deployments_url": f"{api}/deployments",
            "created_at": repo.created_at,
            "updated_at": repo.created_at,
            "pushed_at": repo.created_at if head is None else now_iso(),
            "git_url": f"{self.base}/git/{repo.owner}/{repo.name}.git",
            "ssh_url": f"git@127.0.0.1:{repo.owner}/{repo.name}.git",
            "clone_url": f"{self.base}/git/{repo.owner}/{repo.name}.git",
            "svn_url": html,
            "homepage": None,
            "size": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "has_issues": True,
            "has_projects": False,
            "has_downloads": True,
            "has_wiki": False,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": sum(1 for i in repo.issues.values() if i.state == "open"),
            "license": None,
            "allow_forking": False,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
            "visibility": "private" if repo.private else "public",
            "forks": 0,
            "open_issues": sum(1 for i in repo.issues.values() if i.state == "open"),
            "watchers": 0,
            "default_branch": repo.default_branch,
        }
        if viewer is not None:
            role = self.role(repo, viewer.login)
            data["permissions"] = self.permissions_json(role)
            data.update(
                {
                    "allow_squash_merge": repo.allow_squash_merge,
                    "allow_merge_commit": repo.allow_merge_commit,
                    "allow_rebase_merge": repo.allow_rebase_merge,
                    "allow_auto_merge": repo.allow_auto_merge,
                    "delete_branch_on_merge": False,
                    "allow_update_branch": False,
                    "use_squash_pr_title_as_default": repo.squash_merge_commit_title == "PR_TITLE",
                    "squash_merge_commit_message": repo.squash_merge_commit_message,
                    "squash_merge_commit_title": repo.squash_merge_commit_title,
                    "merge_commit_message": "PR_TITLE",
                    "merge_commit_title": "MERGE_MESSAGE",
                    "network_count": 0,
                    "subscribers_count": 0,
                }
            )
        return data

    @staticmethod
    def permissions_json(role: str) -> JSON:
        return {
            "admin": perm_at_least(role, "admin"),
            "maintain": perm_at_least(role, "maintain"),
            "push": perm_at_least(role, "write"),
            "triage": perm_at_least(role, "triage"),
            "pull": perm_at_least(role, "read"),
        }

    def label_json(self, repo: Repo, label: Label) -> JSON:
        return {
            "id": label.id,
            "node_id": node_id("Label", label.id),
            "url": f"{self.repo_api(repo)}/labels/{_q(label.name)}",
            "name": label.name,
            "color": label.color,
            "default": label.default,
            "description": label.description,
        }

    def team_json(self, repo: Repo, slug: str) -> JSON:
        team = self.teams.get((repo.owner.lower(), slug.lower()))
        if team is None:
            team = Team(id=self.next_id(), org=repo.owner, slug=slug, name=slug)
            self.teams[(repo.owner.lower(), slug.lower())] = team
        org = self.user(repo.owner) or self.ensure_user(repo.owner)
        url = f"{self.api}/organizations/{org.id}/team/{team.id}"
        return {
            "id": team.id,
            "node_id": node_id("Team", team.id),
            "url": url,
            "html_url": f"{self.base}/orgs/{team.org}/teams/{team.slug}",
            "name": team.name,
            "slug": team.slug,
            "description": None,
            "privacy": "closed",
            "notification_setting": "notifications_enabled",
            "permission": "pull",
            "members_url": f"{url}/members{{/member}}",
            "repositories_url": f"{url}/repos",
            "parent": None,
        }

    @staticmethod
    def reaction_rollup(url: str, reactions: Iterable[Reaction]) -> JSON:
        items = list(reactions)
        data: JSON = {"url": f"{url}/reactions", "total_count": len(items)}
        for content in REACTIONS:
            data[content] = sum(1 for r in items if r.content == content)
        return data

    def reaction_json(self, r: Reaction) -> JSON:
        return {
            "id": r.id,
            "node_id": node_id("Reaction", r.id),
            "user": self.user_json(r.user),
            "content": r.content,
            "created_at": r.created_at,
        }

    def issue_html(self, repo: Repo, issue: Issue) -> str:
        kind = "pull" if issue.pull is not None else "issues"
        return f"{self.repo_html(repo)}/{kind}/{issue.number}"

    def comment_json(self, repo: Repo, c: Comment) -> JSON:
        api = self.repo_api(repo)
        url = f"{api}/issues/comments/{c.id}"
        issue = repo.issues.get(c.issue_number)
        html = (
            self.issue_html(repo, issue)
            if issue
            else f"{self.repo_html(repo)}/issues/{c.issue_number}"
        )
        return {
            "url": url,
            "html_url": f"{html}#issuecomment-{c.id}",
            "issue_url": f"{api}/issues/{c.issue_number}",
            "id": c.id,
            "node_id": node_id("IssueComment", c.id),
            "user": self.user_json(c.user),
            "created_at": c.created_at,
            "updated_at": c.updated_at,
            "author_association": self.association(repo, c.user),
            "body": c.body,
            "reactions": self.reaction_rollup(url, c.reactions),
            "performed_via_github_app": None,
        }

    def issue_json(self, repo: Repo, issue: Issue) -> JSON:
        if issue.pull is not None:
            self.sync_pull(repo, issue)
        api = self.repo_api(repo)
        url = f"{api}/issues/{issue.number}"
        html = self.issue_html(repo, issue)
        data: JSON = {
            "url": url,
            "repository_url": api,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": html,
            "id": issue.id,
            "node_id": node_id("Issue", issue.id),
            "number": issue.number,
            "title": issue.title,
            "user": self.user_json(issue.user),
            "labels": self._labels_json(repo, issue),
            "state": issue.state,
            "locked": issue.locked,
            "assignee": self.user_json(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self.user_json(a) for a in issue.assignees],
            "milestone": None,
            "comments": len(issue.comment_ids),
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "closed_at": issue.closed_at,
            "author_association": self.association(repo, issue.user),
            "active_lock_reason": None,
            "body": issue.body,
            "closed_by": self.user_json(issue.closed_by) if issue.closed_by else None,
            "reactions": self.reaction_rollup(url, issue.reactions),
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
            "state_reason": issue.state_reason,
        }
        if issue.pull is not None:
            data["draft"] = issue.pull.draft
            data["pull_request"] = {
                "url": f"{api}/pulls/{issue.number}",
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": issue.pull.merged_at,
            }
        return data

    def _labels_json(self, repo: Repo, issue: Issue) -> list[JSON]:
        out = []
        for name in issue.labels:
            label = repo.labels.get(name.lower())
            if label is not None:
                out.append(self.label_json(repo, label))
        return out

    def _branch_side(self, repo: Repo, ref: str, sha: str) -> JSON:
        return {
            "label": f"{repo.owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self.user_json(repo.owner),
            "repo": self.repo_json(repo),
        }

    def pull_json(
        self,
        repo: Repo,
        issue: Issue,
        full: bool = True,
        compute: bool = True,
        observe: bool = False,
    ) -> JSON:
        """GitHub's pull request JSON (``full``: the single-PR shape, else the list shape).

        ``observe``: this is a client's read through the API. Like GitHub, the first such read
        after the PR was created or its head or base moved only starts the (background)
        mergeability job and answers ``mergeable: null`` / ``"unknown"``; later reads answer
        the computed values. Inspection helpers (``observe=False``) always compute.
        """
        pd = issue.pull
        assert pd is not None
        self.sync_pull(repo, issue)
        key = (pd.head_sha, pd.base_sha)
        known = False
        if full and compute and not pd.merged:
            if not observe or issue.state != "open" or pd.mergeability_key == key:
                known = True
            else:
                pd.mergeability_key = key  # this read starts the background job
        if pd.merged:
            merge_commit_sha = pd.merge_commit_sha
        elif known:
            merge_commit_sha = self.test_merge(repo, issue)
        else:
            merge_commit_sha = pd.test_merge_cache.get(key)
        api = self.repo_api(repo)
        url = f"{api}/pulls/{issue.number}"
        html = f"{self.repo_html(repo)}/pull/{issue.number}"
        issue_url = f"{api}/issues/{issue.number}"
        data: JSON = {
            "url": url,
            "id": pd.id,
            "node_id": node_id("PullRequest", pd.id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_url,
            "number": issue.number,
            "state": issue.state,
            "locked": issue.locked,
            "title": issue.title,
            "user": self.user_json(issue.user),
            "body": issue.body,
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "closed_at": issue.closed_at,
            "merged_at": pd.merged_at,
            "merge_commit_sha": merge_commit_sha,
            "assignee": self.user_json(issue.assignees[0]) if issue.assignees else None,
            "assignees": [self.user_json(a) for a in issue.assignees],
            "requested_reviewers": [self.user_json(r) for r in pd.requested_reviewers],
            "requested_teams": [self.team_json(repo, t) for t in pd.requested_teams],
            "labels": self._labels_json(repo, issue),
            "milestone": None,
            "draft": pd.draft,
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "comments_url": f"{issue_url}/comments",
            "statuses_url": f"{api}/statuses/{pd.head_sha}",
            "head": self._branch_side(repo, pd.head_ref, pd.head_sha),
            "base": self._branch_side(repo, pd.base_ref, pd.base_sha),
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "issue": {"href": issue_url},
                "comments": {"href": f"{issue_url}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": f"{api}/statuses/{pd.head_sha}"},
            },
            "author_association": self.association(repo, issue.user),
            "auto_merge": self.auto_merge_json(pd.auto_merge),
            "active_lock_reason": None,
        }
        if not full:
            return data
        mergeable: bool | None = None
        state = "unknown"
        if known:
            mergeable = merge_commit_sha is not None
            if issue.state == "open":
                if pd.draft:
                    state = "draft"
                elif not mergeable:
                    state = "dirty"
                elif self.protection_violation(repo, issue) is not None:
                    state = "blocked"
                else:
                    state = "clean"
        commits, additions, deletions, changed = (
            self.pull_stats(repo, pd) if compute else (0, 0, 0, 0)
        )
        data.update(
            {
                "merged": pd.merged,
                "mergeable": mergeable,
                "rebaseable": mergeable,
                "mergeable_state": state,
                "merged_by": self.user_json(pd.merged_by) if pd.merged_by else None,
                "comments": len(issue.comment_ids),
                "review_comments": 0,
                "maintainer_can_modify": pd.maintainer_can_modify,
                "commits": commits,
                "additions": additions,
                "deletions": deletions,
                "changed_files": changed,
            }
        )
        return data

    def commit_json(self, repo: Repo, info: git.CommitInfo) -> JSON:
        api, html = self.repo_api(repo), self.repo_html(repo)
        return {
            "sha": info.sha,
            "node_id": node_id("Commit", int(info.sha[:12], 16)),
            "commit": {
                "author": {
                    "name": info.author_name,
                    "email": info.author_email,
                    "date": info.author_date,
                },
                "committer": {
                    "name": info.committer_name,
                    "email": info.committer_email,
                    "date": info.committer_date,
                },
                "message": info.message,
                "tree": {"sha": info.tree, "url": f"{api}/git/trees/{info.tree}"},
                "url": f"{api}/git/commits/{info.sha}",
                "comment_count": 0,
                "verification": gitdata.verification(repo.path, info.sha),
            },
            "url": f"{api}/commits/{info.sha}",
            "html_url": f"{html}/commit/{info.sha}",
            "comments_url": f"{api}/commits/{info.sha}/comments",
            "author": self._user_by_email(info.author_email),
            "committer": self._user_by_email(info.committer_email),
            "parents": [
                {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{html}/commit/{p}"}
                for p in info.parents
            ],
        }

    def _user_by_email(self, email: str) -> JSON | None:
        for u in self.users.values():
            if email in (u.email, f"{u.id}+{u.login}@users.noreply.github.com"):
                return self.user_json(u)
        return None

    def ref_json(self, repo: Repo, ref: str, sha: str) -> JSON:
        api = self.repo_api(repo)
        kind = (
            "commit"
            if ref.startswith("refs/heads/")
            else (git.object_type(repo.path, sha) or "commit")
        )
        return {
            "ref": ref,
            "node_id": node_id("Ref", abs(hash((repo.id, ref))) % 10**9),
            "url": f"{api}/git/{_qpath(ref)}",
            "object": {"sha": sha, "type": kind, "url": f"{api}/git/{kind}s/{sha}"},
        }

    # ------------------------------------------------------------------ pull request sync
    def sync_pull(self, repo: Repo, issue: Issue) -> None:
        """Track the real branches: head/base sha, closing on branch deletion, merge-by-push."""
        pd = issue.pull
        if pd is None or issue.state != "open":
            return
        head = git.read_ref(repo.path, f"refs/heads/{pd.head_ref}")
        base = git.read_ref(repo.path, f"refs/heads/{pd.base_ref}")
        if head is None or base is None:
            # GitHub closes a pull request when its head or base branch is deleted.
            issue.state = "closed"
            issue.closed_at = issue.updated_at = now_iso()
            return
        previous_base = pd.base_sha
        pd.head_sha, pd.base_sha = head, base
        key = (head, base)
        if pd.checked == key:
            return
        pd.checked = key
        if git.is_ancestor(repo.path, head, base):
            # The head commits landed in the base by a push: GitHub marks the PR merged.
            now = now_iso()
            try:
                landed = git.commits_between(repo.path, previous_base, head, limit=10_000)
            except git.GitError:
                landed = []
            pd.merged_commits = [c.sha for c in landed]
            pd.merged, pd.merged_at, pd.merge_commit_sha = True, now, head
            issue.state, issue.closed_at, issue.updated_at = "closed", now, now

    def test_merge(self, repo: Repo, issue: Issue) -> str | None:
        """GitHub's test merge of the head into the base: a real merge commit (parents base,
        head; message "Merge HEAD into BASE"; author the PR's author, committer GitHub) that no
        branch points at. None when the two conflict."""
        pd = issue.pull
        assert pd is not None
        key = (pd.head_sha, pd.base_sha)
        if key not in pd.test_merge_cache:
            tree = git.merge_tree(repo.path, pd.base_sha, pd.head_sha)
            sha: str | None = None
            if tree is not None:
                now = int(time.time())
                author = self.user(issue.user) or self.ensure_user(issue.user)
                sha = git.commit_tree(
                    repo.path,
                    tree,
                    [pd.base_sha, pd.head_sha],
                    f"Merge {pd.head_sha} into {pd.base_sha}\n",
                    git.Signature(author.login, self.commit_email(author), now),
                    git.Signature(*GITHUB_SIGNATURE, now),
                )
            pd.test_merge_cache[key] = sha
        return pd.test_merge_cache[key]

    def mergeable(self, repo: Repo, issue: Issue) -> bool:
        return self.test_merge(repo, issue) is not None

    @staticmethod
    def commit_email(u: User) -> str:
        return u.email or f"{u.id}+{u.login}@users.noreply.github.com"

    def protection_violation(self, repo: Repo, issue: Issue) -> str | None:
        """GitHub's message for the first unmet rule of the base branch's protection, if any.

        Reviews: the latest APPROVED / CHANGES_REQUESTED review of each user with write access
        counts. Checks: a required context needs a "success" commit status on the head.
        """
        pd = issue.pull
        assert pd is not None
        rules = repo.protections.get(pd.base_ref)
        if rules is None:
            return None
        if rules.required_reviews > 0:
            latest: dict[str, str] = {}
            for review in pd.reviews:
                if review.state in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
                    latest[review.user.lower()] = review.state
            approvals = sum(
                1
                for login, st in latest.items()
                if st == "APPROVED" and perm_at_least(self.role(repo, login), "write")
            )
            n = rules.required_reviews
            if approvals < n:
                verb = "review is" if n == 1 else "reviews are"
                return f"At least {n} approving {verb} required by reviewers with write access."
        states = repo.statuses.get(pd.head_sha, {})
        for context in rules.required_checks:
            if states.get(context) != "success":
                return f'Required status check "{context}" is expected.'
        return None

    def pull_stats(self, repo: Repo, pd: PullData) -> tuple[int, int, int, int]:
        key = (pd.head_sha, pd.base_sha)
        if key not in pd.stats_cache:
            try:
                files = git.diff_files(repo.path, pd.base_sha, pd.head_sha)
                count = git.count_between(repo.path, pd.base_sha, pd.head_sha)
            except git.GitError:
                files, count = [], 0
            pd.stats_cache[key] = (
                count,
                sum(f.additions for f in files),
                sum(f.deletions for f in files),
                len(files),
            )
        return pd.stats_cache[key]

    def _open_duplicate(
        self, repo: Repo, head_ref: str, base_ref: str, exclude: int | None = None
    ) -> bool:
        for other in repo.issues.values():
            if other.pull is None or other.number == exclude:
                continue
            self.sync_pull(repo, other)
            if (
                other.state == "open"
                and other.pull.head_ref == head_ref
                and other.pull.base_ref == base_ref
            ):
                return True
        return False

    # ------------------------------------------------------------------ users
    def get_authenticated_user(self, req: Request) -> Reply:
        return Reply(200, self.full_user_json(req.user))

    def get_user(self, req: Request, login: str) -> Reply:
        u = self.user(login)
        if u is None:
            raise not_found()
        return Reply(200, self.full_user_json(u))

    def get_rate_limit(self, req: Request) -> Reply:
        used = self.rate_used.get(req.user.login.lower(), 0)
        core = {
            "limit": RATE_LIMIT,
            "used": used,
            "remaining": RATE_LIMIT - used,
            "reset": self.rate_reset,
        }
        search = {"limit": 30, "used": 0, "remaining": 30, "reset": self.rate_reset}
        return Reply(
            200, {"resources": {"core": core, "search": search, "graphql": core}, "rate": core}
        )

    # ------------------------------------------------------------------ repos, branches, refs
    def get_repo(self, req: Request, owner: str, name: str) -> Reply:
        repo = self._repo(req, owner, name)
        return Reply(200, self.repo_json(repo, req.user))

    def update_repo(self, req: Request, owner: str, name: str) -> Reply:
        """``PATCH /repos/{o}/{r}`` (GitHub REST docs, "Update a repository":
        https://docs.github.com/en/rest/repos/repos#update-a-repository), for the settings the
        fake models: ``allow_merge_commit`` / ``allow_squash_merge`` / ``allow_rebase_merge``,
        ``allow_auto_merge`` ("Whether to allow Auto-merge to be used on pull requests."),
        ``squash_merge_commit_title`` (PR_TITLE | COMMIT_OR_PR_TITLE),
        ``squash_merge_commit_message`` (PR_BODY | COMMIT_MESSAGES | BLANK), the closing-down
        ``use_squash_pr_title_as_default`` (true: PR_TITLE) and ``description``. Answers the
        repository as ``GET`` does. Needs admin (under ``enforce_permissions``). An unknown
        enum value answers 422 "Validation Failed" (the exact body is not verified); renaming
        is not modelled."""
        repo = self._repo(req, owner, name, need="admin")
        body = self._dict_body(req)
        new_name = body.get("name")
        if new_name is not None and str(new_name).lower() != repo.name.lower():
            raise ApiError(
                422,
                "Renaming repositories is not supported by the fake",
                documentation_url=REPO_UPDATE_DOC,
            )
        title = body.get("squash_merge_commit_title")
        message = body.get("squash_merge_commit_message")
        errors = [
            {"resource": "Repository", "code": "invalid", "field": field}
            for field, value, allowed in (
                ("squash_merge_commit_title", title, SQUASH_TITLES),
                ("squash_merge_commit_message", message, SQUASH_MESSAGES),
            )
            if value is not None and value not in allowed
        ]
        if errors:
            raise validation_failed(errors, REPO_UPDATE_DOC)
        allowed_methods = {
            key: bool(body[key]) if key in body else getattr(repo, key)
            for key in ("allow_merge_commit", "allow_squash_merge", "allow_rebase_merge")
        }
        for key, value in allowed_methods.items():
            setattr(repo, key, value)
        if "allow_auto_merge" in body:
            repo.allow_auto_merge = bool(body["allow_auto_merge"])
        if "use_squash_pr_title_as_default" in body:
            repo.squash_merge_commit_title = (
                "PR_TITLE" if body["use_squash_pr_title_as_default"] else "COMMIT_OR_PR_TITLE"
            )
        if title is not None:
            repo.squash_merge_commit_title = str(title)
        if message is not None:
            repo.squash_merge_commit_message = str(message)
        if "description" in body:
            repo.description = body["description"] if isinstance(body["description"], str) else None
        return Reply(200, self.repo_json(repo, req.user))

    def get_contents(self, req: Request, owner: str, name: str, path: str = "") -> Reply:
        """`GET /repos/{o}/{r}/contents/{path}?ref=`: a file's content (base64), or a directory's
        entries ("" for the root). 404 when missing, or hidden from this token (``hide_contents``)."""
        import base64

        repo = self._repo(req, owner, name)
        path = urllib.parse.unquote(path).strip("/")
        ref = req.query.get("ref") or repo.default_branch
        missing = ApiError(404, "Not Found", documentation_url=CONTENTS_DOC)
        if req.user.login.lower() in repo.contents_hidden:
            raise missing
        sha = self._resolve(repo, ref)
        if sha is None:
            raise missing
        api = self.repo_api(repo)
        entries = git.list_tree(repo.path, sha, path)
        if entries is not None:
            return Reply(200, [self._content_entry(repo, ref, e) for e in entries])
        if not path:
            raise missing
        kind = git.run(repo.path, "cat-file", "-t", f"{sha}:{path}", check=False)
        if kind.returncode != 0 or kind.stdout.strip() != b"blob":
            raise missing
        blob = git.out(repo.path, "rev-parse", f"{sha}:{path}")
        data = git.run(repo.path, "cat-file", "blob", blob).stdout
        html = f"{self.repo_html(repo)}/blob/{_qpath(ref)}/{path}"
        return Reply(
            200,
            {
                "type": "file",
                "encoding": "base64",
                "size": len(data),
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "content": base64.encodebytes(data).decode("ascii"),
                "sha": blob,
                "url": f"{api}/contents/{path}?ref={_qpath(ref)}",
                "git_url": f"{api}/git/blobs/{blob}",
                "html_url": html,
                "download_url": None,
                "_links": {
                    "self": f"{api}/contents/{path}?ref={_qpath(ref)}",
                    "git": f"{api}/git/blobs/{blob}",
                    "html": html,
                },
            },
        )

    def _content_entry(self, repo: Repo, ref: str, entry: git.TreeEntry) -> JSON:
        """One item of a directory listing of the contents API."""
        api = self.repo_api(repo)
        kind = {"tree": "dir", "commit": "submodule"}.get(entry.type, "file")
        if entry.mode == "120000":
            kind = "symlink"
        page = "tree" if kind == "dir" else "blob"
        html = f"{self.repo_html(repo)}/{page}/{_qpath(ref)}/{_qpath(entry.path)}"
        url = f"{api}/contents/{_qpath(entry.path)}?ref={_qpath(ref)}"
        git_url = f"{api}/git/{'trees' if kind == 'dir' else 'blobs'}/{entry.sha}"
        return {
            "name": entry.path.rsplit("/", 1)[-1],
            "path": entry.path,
            "sha": entry.sha,
            "size": entry.size if kind != "dir" else 0,
            "url": url,
            "html_url": html,
            "git_url": git_url,
            "download_url": None,
            "type": kind,
            "_links": {"self": url, "git": git_url, "html": html},
        }

    def list_branches(self, req: Request, owner: str, name: str) -> Reply:
        repo = self._repo(req, owner, name)
        refs = sorted(git.list_refs(repo.path, "refs/heads/").items())
        api = self.repo_api(repo)

        def ser(item: tuple[str, str]) -> JSON:
            branch = item[0][len("refs/heads/") :]
            return {
                "name": branch,
                "commit": {"sha": item[1], "url": f"{api}/commits/{item[1]}"},
                "protected": branch in repo.protections,
            }

        return self.paginate(req, refs, ser)

    def get_branch(self, req: Request, owner: str, name: str, branch: str) -> Reply:
        repo = self._repo(req, owner, name)
        sha = git.read_ref(repo.path, f"refs/heads/{branch}")
        info = git.commit_info(repo.path, sha) if sha else None
        if info is None:
            raise ApiError(
                404,
                "Branch not found",
                documentation_url="https://docs.github.com/rest/branches/branches#get-a-branch",
            )
        api = self.repo_api(repo)
        rules: BranchProtection | None = repo.protections.get(branch)
        checks = rules.required_checks if rules is not None else ()
        return Reply(
            200,
            {
                "name": branch,
                "commit": self.commit_json(repo, info),
                "_links": {
                    "self": f"{api}/branches/{_qpath(branch)}",
                    "html": f"{self.repo_html(repo)}/tree/{_qpath(branch)}",
                },
                "protected": rules is not None,
                "protection": {
                    "enabled": rules is not None,
                    "required_status_checks": {
                        "enforcement_level": "non_admins" if checks else "off",
                        "contexts": list(checks),
                        "checks": [{"context": c, "app_id": None} for c in checks],
                    },
                },
                "protection_url": f"{api}/branches/{_qpath(branch)}/protection",
            },
        )

    def _resolve(self, repo: Repo, ref: str) -> str | None:
        for candidate in (f"refs/heads/{ref}", f"refs/tags/{ref}", ref):
            sha = git.read_ref(repo.path, candidate)
            if sha:
                return sha
        if re.fullmatch(r"[0-9a-fA-F]{4,40}", ref):
            proc = git.run(
                repo.path, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False
            )
            if proc.returncode == 0:
                return proc.stdout.decode().strip()
        return None

    def get_commit(self, req: Request, owner: str, name: str, ref: str) -> Reply:
        repo = self._repo(req, owner, name)
        sha = self._resolve(repo, ref)
        info = git.commit_info(repo.path, sha) if sha else None
        if info is None:
            raise ApiError(422, f"No commit found for SHA: {ref}")
        return Reply(200, self.commit_json(repo, info))

    def list_statuses(self, req: Request, owner: str, name: str, ref: str) -> Reply:
        """``GET /repos/{o}/{r}/commits/{ref}/statuses``, "List commit statuses for a
        reference" (https://docs.github.com/en/rest/commits/statuses#list-commit-statuses-for-a-reference):
        "Users with pull access in a repository can view commit statuses for a given ref...
        Statuses are returned in reverse chronological order. The first status in the list
        will be the latest one." The fake keeps the newest state per context, so it lists
        one status per context (what a reader taking the first of each context sees).
        Also served at ``GET /repos/{o}/{r}/statuses/{sha}``: a repository's own
        ``statuses_url`` (``.../statuses/{sha}``, as PyGithub's tests assert it), the path
        PyGithub's ``Commit.get_statuses`` requests."""
        repo = self._repo(req, owner, name)
        sha = self._resolve(repo, ref)
        if sha is None:
            raise ApiError(
                404,
                "Not Found",
                documentation_url="https://docs.github.com/rest/commits/statuses#list-commit-statuses-for-a-reference",
            )
        api = self.repo_api(repo)
        states = sorted(repo.statuses.get(sha.lower(), {}).items())

        def ser(item: tuple[str, str]) -> JSON:
            context, state = item
            return {
                "url": f"{api}/statuses/{sha}",
                "state": state,
                "context": context,
                "description": None,
                "target_url": None,
                "created_at": now_iso(),
                "updated_at": now_iso(),
            }

        return self.paginate(req, states, ser)

    def commit_pulls(self, req: Request, owner: str, name: str, ref: str) -> Reply:
        """``GET /repos/{o}/{r}/commits/{commit_sha}/pulls``, "List pull requests associated
        with a commit" (https://docs.github.com/en/rest/commits/commits#list-pull-requests-associated-with-a-commit):
        "Lists the merged pull request that introduced the commit to the repository. If the
        commit is not present in the default branch, will only return open pull requests
        associated with the commit. To list the open or merged pull requests associated with
        a branch, you can set the commit_sha parameter to the branch name."

        On the default branch: the merged PRs whose merge wrote the commit (the merge commit,
        the squash commit, any commit a rebase merge replayed; ``merge_commit_sha`` is the
        last), then the merged PRs that had it among their own commits (a merge commit keeps
        them), each by number. Elsewhere: the open PRs whose head contains it. A branch name:
        its open or merged PRs. The list shape of ``GET /pulls`` (as recorded in PyGithub's
        tests/ReplayData/Commit.testGetPulls.txt), paginated. An unknown commit answers 422
        "No commit found for SHA: ..." like ``GET /commits/{ref}`` (not verified here).
        """
        repo = self._repo(req, owner, name)
        pulls = [i for _, i in sorted(repo.issues.items()) if i.pull is not None]
        for issue in pulls:
            self.sync_pull(repo, issue)
        is_sha = re.fullmatch(r"[0-9a-fA-F]{40}", ref) is not None
        if not is_sha and git.read_ref(repo.path, f"refs/heads/{ref}") is not None:
            found = [
                i
                for i in pulls
                if i.pull is not None
                and i.pull.head_ref == ref
                and (i.state == "open" or i.pull.merged)
            ]
            return self.paginate(req, found, lambda i: self.pull_json(repo, i, full=False))
        sha = self._resolve(repo, ref)
        if sha is None or git.object_type(repo.path, sha) != "commit":
            raise ApiError(
                422, f"No commit found for SHA: {ref}", documentation_url=COMMIT_PULLS_DOC
            )
        default = git.read_ref(repo.path, f"refs/heads/{repo.default_branch}")
        introduced: list[Issue] = []
        carried: list[Issue] = []
        if default is not None and git.is_ancestor(repo.path, sha, default):
            for issue in pulls:
                pd = issue.pull
                assert pd is not None
                if not pd.merged:
                    continue
                if sha == pd.merge_commit_sha or sha in pd.landed_shas:
                    introduced.append(issue)
                elif sha in pd.merged_commits:
                    carried.append(issue)
        else:
            carried = [
                i
                for i in pulls
                if i.state == "open"
                and i.pull is not None
                and git.is_ancestor(repo.path, sha, i.pull.head_sha)
            ]
        return self.paginate(
            req, introduced + carried, lambda i: self.pull_json(repo, i, full=False)
        )

    def get_git_commit(self, req: Request, owner: str, name: str, sha: str) -> Reply:
        repo = self._repo(req, owner, name)
        info = (
            git.commit_info(repo.path, sha) if git.object_type(repo.path, sha) == "commit" else None
        )
        if info is None:
            raise not_found()
        api, html = self.repo_api(repo), self.repo_html(repo)
        data = self.commit_json(repo, info)["commit"]
        data.pop("comment_count")
        data.update(
            {
                "sha": info.sha,
                "node_id": node_id("Commit", int(info.sha[:12], 16)),
                "url": f"{api}/git/commits/{info.sha}",
                "html_url": f"{html}/commit/{info.sha}",
                "parents": [
                    {"sha": p, "url": f"{api}/git/commits/{p}", "html_url": f"{html}/commit/{p}"}
                    for p in info.parents
                ],
            }
        )
        return Reply(200, data)

    def get_ref(self, req: Request, owner: str, name: str, ref: str) -> Reply:
        repo = self._repo(req, owner, name)
        full = ref if ref.startswith("refs/") else f"refs/{ref}"
        sha = git.read_ref(repo.path, full)
        if sha is None:
            raise ApiError(404, "Not Found", documentation_url=f"{REFS_DOC}#get-a-reference")
        return Reply(200, self.ref_json(repo, full, sha))

    def list_all_refs(self, req: Request, owner: str, name: str) -> Reply:
        repo = self._repo(req, owner, name)
        refs = sorted(git.list_refs(repo.path).items())
        return self.paginate(req, refs, lambda item: self.ref_json(repo, item[0], item[1]))

    def get_refs_legacy(self, req: Request, owner: str, name: str, ref: str) -> Reply:
        """``GET git/refs/{ref}``: the ref itself on an exact match, else the refs it prefixes."""
        repo = self._repo(req, owner, name)
        full = ref if ref.startswith("refs/") else f"refs/{ref}"
        sha = git.read_ref(repo.path, full)
        if sha is not None:
            return Reply(200, self.ref_json(repo, full, sha))
        matches = sorted((r, s) for r, s in git.list_refs(repo.path).items() if r.startswith(full))
        if not matches:
            raise ApiError(404, "Not Found", documentation_url=f"{REFS_DOC}#get-a-reference")
        return Reply(200, [self.ref_json(repo, r, s) for r, s in matches])

    def matching_refs(self, req: Request, owner: str, name: str, ref: str) -> Reply:
        repo = self._repo(req, owner, name)
        prefix = f"refs/{ref}"
        matches = sorted(
            (r, s) for r, s in git.list_refs(repo.path).items() if r.startswith(prefix)
        )
        return self.paginate(req, matches, lambda item: self.ref_json(repo, item[0], item[1]))

    def create_ref(self, req: Request, owner: str, name: str) -> Reply:
        repo = self._repo(req, owner, name, need="write")
        body = self._dict_body(req)
        ref, sha = body.get("ref"), body.get("sha")
        if not isinstance(ref, str) or not ref:
            raise ApiError(
                422, 'Invalid request.\n\n"ref" wasn\'t supplied.', documentation_url=REFS_DOC
            )
        if not isinstance(sha, str) or not sha:
            raise ApiError(
                422, 'Invalid request.\n\n"sha" wasn\'t supplied.', documentation_url=REFS_DOC
            )
        if not ref.startswith("refs/") or ref.count("/") < 2 or ".." in ref or ref.endswith("/"):
            raise ApiError(422, "Reference name is invalid", documentation_url=REFS_DOC)
        if git.object_type(repo.path, sha) is None or len(sha) != 40:
            raise ApiError(422, "Object does not exist", documentation_url=REFS_DOC)
        if git.read_ref(repo.path, ref) is not None or not git.update_ref(
            repo.path, ref, sha, None
        ):
            raise ApiError(422, "Reference already exists", documentation_url=REFS_DOC)
        return Reply(
            201,
            self.ref_json(repo, ref, sha),
            {"Location": f"{self.repo_api(repo)}/git/{_qpath(ref)}"},
        )

    def update_ref(self, req: Request, owner: str, name: str, ref: str) -> Reply:
        repo = self._repo(req, owner, name, need="write")
        body = self._dict_body(req)
        full = ref if ref.startswith("refs/") else f"refs/{ref}"
        sha, force = body.get("sha"), bool(body.get("force", False))
        if not isinstance(sha, str) or not sha:
            raise ApiError(
                422, 'Invalid request.\n\n"sha" wasn\'t supplied.', documentation_url=REFS_DOC
            )
        current = git.read_ref(repo.path, full)
        if current is None:
            raise ApiError(422, "Reference does not exist", documentation_url=REFS_DOC)
        if len(sha) != 40 or git.object_type(repo.path, sha) is None:
            raise ApiError(422, "Object does not exist", documentation_url=REFS_DOC)
        if not force and not git.is_ancestor(repo.path, current, sha):
            raise ApiError(422, "Update is not a fast forward", documentation_url=REFS_DOC)
        if not git.update_ref(repo.path, full, sha, current):
            raise ApiError(422, "Reference cannot be updated", documentation_url=REFS_DOC)
        return Reply(200, self.ref_json(repo, full, sha))

    def delete_ref(self, req: Request, owner: str, name: str, ref: str) -> Reply:
        repo = self._repo(req, owner, name, need="write")
        full = ref if ref.startswith("refs/") else f"refs/{ref}"
        current = git.read_ref(repo.path, full)
        if current is None or not git.delete_ref(repo.path, full, current):
            raise ApiError(422, "Reference does not exist", documentation_url=REFS_DOC)
        return Reply(204)

    # ------------------------------------------------------------------ pulls
    def _pulls_sorted(self, repo: Repo, query: dict[str, str]) -> list[Issue]:
        state = query.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise validation_failed(
                [{"resource": "PullRequest", "field": "state", "code": "invalid"}]
            )
        head_filter = query.get("head")
        base_filter = query.get("base")
        result = []
        for issue in repo.issues.values():
            if issue.pull is None:
                continue
            self.sync_pull(repo, issue)
            if state != "all" and issue.state != state:
                continue
            # GitHub only honours ``head`` in the ``user:ref-name`` form; a bare branch is ignored.
            if head_filter and ":" in head_filter:
                h_owner, _, h_ref = head_filter.partition(":")
                if h_owner.lower() != repo.owner.lower():
                    continue
                if h_ref and issue.pull.head_ref != h_ref:
                    continue
            if base_filter and issue.pull.base_ref != base_filter:
                continue
            result.append(issue)
        sort = query.get("sort", "created")
        direction = query.get("direction", "desc" if sort == "created" else "asc")
        if sort == "updated":
            result.sort(key=lambda i: (i.updated_at, i.number))
        elif sort == "popularity":
            result.sort(key=lambda i: (len(i.comment_ids), i.number))
        elif sort == "long-running":
            result.sort(key=lambda i: (i.created_at, i.number), reverse=True)
        else:
            result.sort(key=lambda i: (i.created_at, i.number))
        if direction == "desc":
            result.reverse()
        return result

    def list_pulls(self, req: Request, owner: str, name: str) -> Reply:
        repo = self._repo(req, owner, name)
        pulls = self._pulls_sorted(repo, req.query)
        if repo.listing_lag_left > 0:
            # ``lag_pull_listing``: the listing has not caught up with recent creations yet.
            repo.listing_lag_left -= 1
            cutoff = time.time() - LISTING_LAG_SECONDS
            pulls = [i for i in pulls if i.pull is not None and i.pull.created_ts < cutoff]
        return self.paginate(req, pulls, lambda i: self.pull_json(repo, i, full=False))

    def create_pull(self, req: Request, owner: str, name: str) -> Reply:
        repo = self._repo(req, owner, name)
        body = self._dict_body(req)
        doc = f"{PULLS_DOC}#create-a-pull-request"
        if repo.head_invisible_left > 0:
            # ``head_not_yet_visible``: the pushed head is not visible to the API yet.
            repo.head_invisible_left -= 1
            raise validation_failed(
                [{"resource": "PullRequest", "field": "head", "code": "invalid"}], doc
            )
        title, head_spec, base_ref = body.get("title"), body.get("head"), body.get("base")
        if "issue" in body:
            raise ApiError(
                422,
                "Converting issues to pull requests is not supported by the fake",
                documentation_url=doc,
            )
        missing = [
            f
            for f, v in (("head", head_spec), ("base", base_ref))
            if not isinstance(v, str) or not v
        ]
        if missing:
            raise ApiError(
                422, f'Invalid request.\n\n"{missing[0]}" wasn\'t supplied.', documentation_url=doc
            )
        if not isinstance(title, str) or not title:
            raise validation_failed(
                [{"resource": "PullRequest", "field": "title", "code": "missing_field"}], doc
            )
        assert isinstance(head_spec, str) and isinstance(base_ref, str)
        head_owner, sep, head_ref = head_spec.partition(":")
        if not sep:
            head_owner, head_ref = repo.owner, head_spec
        head_repo = body.get("head_repo")
        if head_owner.lower() != repo.owner.lower() or (
            head_repo and str(head_repo).lower() != repo.name.lower()
        ):
            # Forks are not modelled: a head in another repository never exists.
            raise validation_failed(
                [{"resource": "PullRequest", "field": "head", "code": "invalid"}], doc
            )
        base_sha = git.read_ref(repo.path, f"refs/heads/{base_ref}")
        head_sha = git.read_ref(repo.path, f"refs/heads/{head_ref}")
        errors = []
        if base_sha is None:
            errors.append({"resource": "PullRequest", "field": "base", "code": "invalid"})
        if head_sha is None:
            errors.append({"resource": "PullRequest", "field": "head", "code": "invalid"})
        if errors:
            raise validation_failed(errors, doc)
        assert base_sha is not None and head_sha is not None
        if self._open_duplicate(repo, head_ref, base_ref):
            raise validation_failed(
                [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for {repo.owner}:{head_ref}.",
                    }
                ],
                doc,
            )
        if git.is_ancestor(repo.path, head_sha, base_sha):
            raise validation_failed(
                [
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"No commits between {base_ref} and {head_ref}",
                    }
                ],
                doc,
            )
        number = repo.next_number
        repo.next_number += 1
        issue = Issue(
            number=number,
            id=self.next_id(),
            title=title,
            body=body.get("body") if isinstance(body.get("body"), str) else None,
            user=req.user.login,
            pull=PullData(
                id=self.next_id(),
                head_ref=head_ref,
                base_ref=base_ref,
                head_sha=head_sha,
                base_sha=base_sha,
                draft=bool(body.get("draft", False)),
                maintainer_can_modify=bool(body.get("maintainer_can_modify", False)),
                checked=(head_sha, base_sha),
            ),
        )
        repo.issues[number] = issue
        data = self.pull_json(repo, issue, compute=False)
        # GitHub computes mergeability asynchronously: unknown right after creation.
        data.update({"mergeable": None, "rebaseable": None, "mergeable_state": "unknown"})
        commits, additions, deletions, changed = self.pull_stats(repo, issue.pull)  # type: ignore[arg-type]
        data.update(
            {
                "commits": commits,
                "additions": additions,
                "deletions": deletions,
                "changed_files": changed,
            }
        )
        return Reply(201, data, {"Location": data["url"]})

    def get_pull(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name)
        issue = self._pull(repo, number)
        return Reply(200, self.pull_json(repo, issue, observe=True))

    def _close(self, issue: Issue, login: str, reason: str | None = "completed") -> None:
        if issue.state == "closed":
            return
        now = now_iso()
        issue.state, issue.closed_at, issue.closed_by = "closed", now, login
        issue.state_reason = None if issue.pull is not None else reason

    def _reopen(self, repo: Repo, issue: Issue) -> None:
        if issue.state == "open":
            return
        pd = issue.pull
        if pd is not None:
            doc = f"{PULLS_DOC}#update-a-pull-request"
            if pd.merged:
                raise validation_failed(
                    [
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "field": "state",
                            "message": "state cannot be changed. The pull request has been merged.",
                        }
                    ],
                    doc,
                )
            head = git.read_ref(repo.path, f"refs/heads/{pd.head_ref}")
            base = git.read_ref(repo.path, f"refs/heads/{pd.base_ref}")
            if head is None or base is None:
                raise validation_failed(
                    [
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "field": "state",
                            "message": "state cannot be changed. The head or base branch was deleted.",
                        }
                    ],
                    doc,
                )
            if self._open_duplicate(repo, pd.head_ref, pd.base_ref, exclude=issue.number):
                raise validation_failed(
                    [
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"A pull request already exists for {repo.owner}:{pd.head_ref}.",
                        }
                    ],
                    doc,
                )
            pd.checked = None
        issue.state, issue.closed_at, issue.closed_by = "open", None, None
        issue.state_reason = "reopened" if issue.pull is None else None

    def update_pull(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name)
        issue = self._pull(repo, number)
        pd = issue.pull
        assert pd is not None
        if (
            self.enforce_permissions
            and issue.user.lower() != req.user.login.lower()
            and not perm_at_least(self.role(repo, req.user.login), "write")
        ):
            raise ApiError(403, "Resource not accessible by personal access token")
        body = self._dict_body(req)
        doc = f"{PULLS_DOC}#update-a-pull-request"
        if "state" in body and body["state"] not in ("open", "closed"):
            raise validation_failed(
                [{"resource": "PullRequest", "field": "state", "code": "invalid"}], doc
            )
        if "base" in body:
            base = body["base"]
            if not isinstance(base, str) or git.read_ref(repo.path, f"refs/heads/{base}") is None:
                raise validation_failed(
                    [{"resource": "PullRequest", "field": "base", "code": "invalid"}], doc
                )
            if issue.state != "open":
                raise validation_failed(
                    [
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": "Cannot change the base branch of a closed pull request.",
                        }
                    ],
                    doc,
                )
        if isinstance(body.get("title"), str):
            issue.title = body["title"]
        if "body" in body:
            issue.body = body["body"] if isinstance(body["body"], str) else None
        if "maintainer_can_modify" in body:
            pd.maintainer_can_modify = bool(body["maintainer_can_modify"])
        if "base" in body:
            pd.base_ref = body["base"]
            pd.checked = None
        if body.get("state") == "closed":
            self._close(issue, req.user.login)
        elif body.get("state") == "open":
            self._reopen(repo, issue)
        issue.updated_at = now_iso()
        self.sync_pull(repo, issue)
        return Reply(200, self.pull_json(repo, issue, observe=True))

    def is_merged(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name)
        issue = self._pull(repo, number)
        if issue.pull is not None and issue.pull.merged:
            return Reply(204)
        raise ApiError(
            404,
            "Not Found",
            documentation_url=f"{PULLS_DOC}#check-if-a-pull-request-has-been-merged",
        )

    def merge_pull(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name, need="write")
        issue = self._pull(repo, number)
        pd = issue.pull
        assert pd is not None
        body = self._dict_body(req)
        method = body.get("merge_method", "merge")
        if method not in ("merge", "squash", "rebase"):
            raise validation_failed(
                [{"resource": "PullRequest", "field": "merge_method", "code": "invalid"}], MERGE_DOC
            )
        if issue.state != "open" or pd.merged:
            raise ApiError(405, "Pull Request is not mergeable", documentation_url=MERGE_DOC)
        allowed = {
            "merge": repo.allow_merge_commit,
            "squash": repo.allow_squash_merge,
            "rebase": repo.allow_rebase_merge,
        }
        if not allowed[method]:
            raise ApiError(405, METHOD_NOT_ALLOWED[method], documentation_url=MERGE_DOC)
        if pd.draft:
            raise ApiError(405, "Pull Request is still a draft", documentation_url=MERGE_DOC)
        expected = body.get("sha")
        if expected and expected != pd.head_sha:
            raise ApiError(
                409,
                "Head branch was modified. Review and try the merge again.",
                documentation_url=MERGE_DOC,
            )
        if repo.base_modified_left > 0:
            # ``base_branch_modified``: GitHub lost a race with another update of the base.
            repo.base_modified_left -= 1
            raise ApiError(405, BASE_MODIFIED, documentation_url=MERGE_DOC)
        violation = self.protection_violation(repo, issue)
        if violation is not None:
            raise ApiError(405, violation, documentation_url=PROTECTED_DOC)
        new_sha = self._land(repo, issue, method, body, req.user)
        return Reply(
            200, {"sha": new_sha, "merged": True, "message": "Pull Request successfully merged"}
        )

    def _land(self, repo: Repo, issue: Issue, method: str, body: JSON, merger: User) -> str:
        """Write the merge (``method``) on the base and mark the PR merged by ``merger``;
        returns the base's new sha. 405 when head and base conflict (or a branch is gone)."""
        pd = issue.pull
        assert pd is not None
        now = int(time.time())
        author = git.Signature(merger.login, self.commit_email(merger), now)
        committer = git.Signature(*GITHUB_SIGNATURE, now)
        base_ref = f"refs/heads/{pd.base_ref}"
        for _attempt in range(5):
            base_sha = git.read_ref(repo.path, base_ref)
            head_sha = git.read_ref(repo.path, f"refs/heads/{pd.head_ref}")
            if base_sha is None or head_sha is None:
                raise ApiError(405, "Pull Request is not mergeable", documentation_url=MERGE_DOC)
            written = self._merge_commit(
                repo, issue, method, base_sha, head_sha, body, author, committer
            )
            if written is None:
                raise ApiError(
                    405,
                    "This branch can't be rebased"
                    if method == "rebase"
                    else "Pull Request is not mergeable",
                    documentation_url=MERGE_DOC,
                )
            new_sha = written[-1] if written else base_sha
            if git.update_ref(repo.path, base_ref, new_sha, base_sha):
                break
        else:
            raise ApiError(405, BASE_MODIFIED, documentation_url=MERGE_DOC)
        stamp = now_iso(now)
        pd.merged, pd.merged_at, pd.merge_commit_sha, pd.merged_by = (
            True,
            stamp,
            new_sha,
            merger.login,
        )
        pd.landed_shas = list(written)
        pd.merged_commits = [
            c.sha for c in git.commits_between(repo.path, base_sha, head_sha, limit=10_000)
        ]
        pd.head_sha, pd.base_sha = head_sha, base_sha
        # The merge closes the PR's issue: its ``closed_by`` is the merger (not verified
        # against a recording; GitHub's docs only say ``closed_by`` is who closed the issue).
        issue.state, issue.closed_at, issue.updated_at = "closed", stamp, stamp
        issue.closed_by = merger.login
        return new_sha

    def _merge_commit(
        self,
        repo: Repo,
        issue: Issue,
        method: str,
        base_sha: str,
        head_sha: str,
        body: JSON,
        author: git.Signature,
        committer: git.Signature,
    ) -> list[str] | None:
        """The commits written on top of the base (the last is where the base moves), or None
        when head and base conflict.

        merge: a merge commit (parents base, head), title "Merge pull request #N from
        owner/branch" and the PR title as the message (GitHub's MERGE_MESSAGE / PR_TITLE
        defaults). squash: one commit on the base with the merged tree; its default title and
        message follow the repository's ``squash_merge_commit_title`` /
        ``squash_merge_commit_message`` (``set_squash_message``; GitHub REST docs, "Update a
        repository"): COMMIT_OR_PR_TITLE is the commit's title when the PR has one commit,
        else the PR title, PR_TITLE the PR title, either with " (#N)"; COMMIT_MESSAGES is the
        commit's body (one commit) or "* message" per commit, PR_BODY the PR's description,
        BLANK nothing. rebase: each non-merge commit replayed on the base (authors kept,
        committer GitHub). ``commit_title`` and ``commit_message`` replace the defaults (merge
        and squash): title, blank line, message.
        """
        pd = issue.pull
        assert pd is not None
        title_in, message_in = body.get("commit_title"), body.get("commit_message")
        if method == "rebase":
            parent = base_sha
            replayed: list[str] = []
            for info in git.commits_between(
                repo.path, base_sha, head_sha, limit=10_000, no_merges=True
            ):
                tree = git.cherry_pick_tree(repo.path, info, parent)
                if tree is None:
                    return None
                orig_author = git.Signature(info.author_name, info.author_email, info.author_time)
                parent = git.commit_tree(
                    repo.path, tree, [parent], info.message + "\n", orig_author, committer
                )
                replayed.append(parent)
            return replayed
        tree = git.merge_tree(repo.path, base_sha, head_sha)
        if tree is None:
            return None
        if method == "squash":
            commits = git.commits_between(repo.path, base_sha, head_sha, limit=10_000)
            single = commits[0] if len(commits) == 1 else None
            if repo.squash_merge_commit_title == "PR_TITLE" or single is None:
                default_title = issue.title
            else:
                default_title = single.subject
            title = title_in or f"{default_title} (#{issue.number})"
            if message_in is not None:
                message = str(message_in)
            elif repo.squash_merge_commit_message == "PR_BODY":
                message = issue.body or ""
            elif repo.squash_merge_commit_message == "BLANK":
                message = ""
            elif single is not None:
                message = single.body
            else:
                message = "\n\n".join(f"* {c.message}" for c in commits)
            squashed = git.commit_tree(
                repo.path,
                tree,
                [base_sha],
                f"{title}\n\n{message}".rstrip() + "\n",
                author,
                committer,
            )
            return [squashed]
        title = title_in or f"Merge pull request #{issue.number} from {repo.owner}/{pd.head_ref}"
        message = str(message_in) if message_in is not None else issue.title
        merge = git.commit_tree(
            repo.path,
            tree,
            [base_sha, head_sha],
            f"{title}\n\n{message}".rstrip() + "\n",
            author,
            committer,
        )
        return [merge]

    def pull_commits(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name)
        pd = self._pull(repo, number).pull
        assert pd is not None
        commits = git.commits_between(repo.path, pd.base_sha, pd.head_sha)
        return self.paginate(req, commits, lambda c: self.commit_json(repo, c))

    def pull_files(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name)
        pd = self._pull(repo, number).pull
        assert pd is not None
        files = git.diff_files(repo.path, pd.base_sha, pd.head_sha)
        api, html = self.repo_api(repo), self.repo_html(repo)

        def ser(f: git.FileChange) -> JSON:
            data: JSON = {
                "sha": f.sha,
                "filename": f.filename,
                "status": f.status,
                "additions": f.additions,
                "deletions": f.deletions,
                "changes": f.additions + f.deletions,
                "blob_url": f"{html}/blob/{pd.head_sha}/{_qpath(f.filename)}",
                "raw_url": f"{html}/raw/{pd.head_sha}/{_qpath(f.filename)}",
                "contents_url": f"{api}/contents/{_qpath(f.filename)}?ref={pd.head_sha}",
            }
            if f.patch is not None:
                data["patch"] = f.patch
            if f.previous_filename is not None:
                data["previous_filename"] = f.previous_filename
            return data

        return self.paginate(req, files, ser)

    def get_review_requests(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name)
        pd = self._pull(repo, number).pull
        assert pd is not None
        return Reply(
            200,
            {
                "users": [self.user_json(u) for u in pd.requested_reviewers],
                "teams": [self.team_json(repo, t) for t in pd.requested_teams],
            },
        )

    @staticmethod
    def _str_list(value: Any) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return list(value)
        raise validation_failed(
            [{"resource": "PullRequest", "code": "invalid", "field": "reviewers"}]
        )

    def request_reviewers(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name, need="triage")
        issue = self._pull(repo, number)
        pd = issue.pull
        assert pd is not None
        body = self._dict_body(req)
        users = self._str_list(body.get("reviewers"))
        teams = self._str_list(body.get("team_reviewers"))
        doc = REVIEW_REQUESTS_DOC
        for login in users:
            if login.lower() == issue.user.lower():
                raise ApiError(
                    422,
                    "Review cannot be requested from pull request author.",
                    documentation_url=doc,
                )
        # Nobody is requested when one of them is refused: the valid ones are dropped too.
        if any(not self._team_collaborates(repo, slug) for slug in teams):
            raise ApiError(
                422,
                "Reviews may only be requested from collaborators. One or more of the teams you "
                f"specified is not a collaborator of the {repo.full_name} repository.",
                documentation_url=doc,
            )
        for login in users:
            u = self.user(login)
            if u is None or self.role(repo, u.login) == "none":
                raise ApiError(
                    422,
                    "Reviews may only be requested from collaborators. One or more of the users or teams you "
                    f"specified is not a collaborator of the {repo.full_name} repository.",
                    documentation_url=doc,
                )
        for login in users:
            u = self.user(login)
            assert u is not None
            if u.login not in pd.requested_reviewers:
                pd.requested_reviewers.append(u.login)
        for slug in teams:
            if slug.lower() not in (t.lower() for t in pd.requested_teams):
                pd.requested_teams.append(slug)
        issue.updated_at = now_iso()
        return Reply(201, self.pull_json(repo, issue, full=False))

    def _team_collaborates(self, repo: Repo, slug: str) -> bool:
        """Whether team ``slug`` of the repository's owner may be asked for a review.

        Lenient (any slug) while no team of that organisation was made with ``add_team``;
        strict once one was: the team must exist and be a collaborator of the repository.
        """
        org = repo.owner.lower()
        declared = [t for (o, _), t in self.teams.items() if o == org and t.repos is not None]
        if not declared:
            return True
        team = self.teams.get((org, slug.lower()))
        return team is not None and team.repos is not None and repo.full_name.lower() in team.repos

    def remove_reviewers(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name, need="triage")
        issue = self._pull(repo, number)
        pd = issue.pull
        assert pd is not None
        body = self._dict_body(req)
        users = {u.lower() for u in self._str_list(body.get("reviewers"))}
        teams = {t.lower() for t in self._str_list(body.get("team_reviewers"))}
        pd.requested_reviewers = [u for u in pd.requested_reviewers if u.lower() not in users]
        pd.requested_teams = [t for t in pd.requested_teams if t.lower() not in teams]
        issue.updated_at = now_iso()
        return Reply(200, self.pull_json(repo, issue, full=False))

    def review_json(self, repo: Repo, issue: Issue, r: Review) -> JSON:
        url = f"{self.repo_api(repo)}/pulls/{issue.number}"
        html = f"{self.repo_html(repo)}/pull/{issue.number}#pullrequestreview-{r.id}"
        return {
            "id": r.id,
            "node_id": node_id("PullRequestReview", r.id),
            "user": self.user_json(r.user),
            "body": r.body,
            "state": r.state,
            "html_url": html,
            "pull_request_url": url,
            "author_association": self.association(repo, r.user),
            "_links": {"html": {"href": html}, "pull_request": {"href": url}},
            "submitted_at": r.submitted_at if r.state != "PENDING" else None,
            "commit_id": r.commit_id,
        }

    def list_reviews(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name)
        issue = self._pull(repo, number)
        assert issue.pull is not None
        return self.paginate(req, issue.pull.reviews, lambda r: self.review_json(repo, issue, r))

    def create_review(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name)
        issue = self._pull(repo, number)
        pd = issue.pull
        assert pd is not None
        body = self._dict_body(req)
        event = body.get("event")
        states = {
            "APPROVE": "APPROVED",
            "REQUEST_CHANGES": "CHANGES_REQUESTED",
            "COMMENT": "COMMENTED",
            None: "PENDING",
        }
        if event not in states:
            raise validation_failed(
                [{"resource": "PullRequestReview", "field": "event", "code": "invalid"}]
            )
        text = body.get("body") or ""
        if event in ("APPROVE", "REQUEST_CHANGES") and req.user.login.lower() == issue.user.lower():
            verb = "approve" if event == "APPROVE" else "request changes on"
            raise ApiError(
                422, "Unprocessable Entity", errors=[f"Can not {verb} your own pull request"]
            )
        if event in ("REQUEST_CHANGES", "COMMENT") and not text:
            raise ApiError(422, "Unprocessable Entity", errors=["Body is required"])
        review = Review(
            id=self.next_id(),
            user=req.user.login,
            body=text,
            state=states[event],
            commit_id=body.get("commit_id") or pd.head_sha,
        )
        pd.reviews.append(review)
        if event is not None:
            pd.requested_reviewers = [
                u for u in pd.requested_reviewers if u.lower() != req.user.login.lower()
            ]
        data = self.review_json(repo, issue, review)
        self.run_auto_merges(repo)  # an approval meeting the protection merges an armed PR
        return Reply(200, data)

    def dismiss_review(self, req: Request, owner: str, name: str, number: str, rid: str) -> Reply:
        """``PUT /pulls/{n}/reviews/{id}/dismissals`` (GitHub REST docs, "Dismiss a review for
        a pull request": https://docs.github.com/en/rest/pulls/reviews#dismiss-a-review-for-a-pull-request):
        the review, its state now DISMISSED, body and ``submitted_at`` kept, as recorded in
        PyGithub's tests/ReplayData/PullRequestReview.testDismiss.txt. ``message`` is
        required. Needs write access (under ``enforce_permissions``). The 422 sentences (no
        message, a pending review) are not verified against GitHub."""
        repo = self._repo(req, owner, name, need="write")
        issue = self._pull(repo, number)
        pd = issue.pull
        assert pd is not None
        body = self._dict_body(req)
        if not isinstance(body.get("message"), str) or not body["message"]:
            raise ApiError(
                422,
                'Invalid request.\n\n"message" wasn\'t supplied.',
                documentation_url=DISMISS_DOC,
            )
        for review in pd.reviews:
            if review.id == int(rid):
                if review.state == "PENDING":
                    raise ApiError(
                        422, "Can not dismiss a pending review", documentation_url=DISMISS_DOC
                    )
                review.state = "DISMISSED"
                return Reply(200, self.review_json(repo, issue, review))
        raise not_found()

    # ------------------------------------------------------------------ issues
    def list_issues(self, req: Request, owner: str, name: str) -> Reply:
        repo = self._repo(req, owner, name)
        q = req.query
        state = q.get("state", "open")
        wanted = [x.strip().lower() for x in q.get("labels", "").split(",") if x.strip()]
        creator = q.get("creator")
        assignee = q.get("assignee")
        since = q.get("since")
        result = []
        for issue in repo.issues.values():
            if issue.pull is not None:
                self.sync_pull(repo, issue)
            if state != "all" and issue.state != state:
                continue
            have = {x.lower() for x in issue.labels}
            if any(w not in have for w in wanted):
                continue
            if creator and issue.user.lower() != creator.lower():
                continue
            if assignee == "none" and issue.assignees:
                continue
            if (
                assignee
                and assignee not in ("*", "none")
                and assignee.lower() not in (a.lower() for a in issue.assignees)
            ):
                continue
            if assignee == "*" and not issue.assignees:
                continue
            if since and issue.updated_at < since:
                continue
            result.append(issue)
        sort = q.get("sort", "created")
        if sort == "updated":
            result.sort(key=lambda i: (i.updated_at, i.number))
        elif sort == "comments":
            result.sort(key=lambda i: (len(i.comment_ids), i.number))
        else:
            result.sort(key=lambda i: (i.created_at, i.number))
        if q.get("direction", "desc") == "desc":
            result.reverse()
        return self.paginate(req, result, lambda i: self.issue_json(repo, i))

    def _apply_labels(self, repo: Repo, issue: Issue, names: Iterable[str], replace: bool) -> None:
        if replace:
            issue.labels = []
        present = {x.lower() for x in issue.labels}
        for raw in names:
            label = repo.labels.get(raw.lower())
            if label is None:
                label = Label(id=self.next_id(), name=raw)
                repo.labels[raw.lower()] = label
            if label.name.lower() not in present:
                issue.labels.append(label.name)
                present.add(label.name.lower())

    def _valid_assignees(self, value: Any) -> list[str]:
        return [u.login for a in self._str_list(value) if (u := self.user(a)) is not None]

    def create_issue(self, req: Request, owner: str, name: str) -> Reply:
        repo = self._repo(req, owner, name)
        body = self._dict_body(req)
        title = body.get("title")
        doc = "https://docs.github.com/rest/issues/issues#create-an-issue"
        if title is None or title == "":
            raise validation_failed(
                [{"resource": "Issue", "field": "title", "code": "missing_field"}], doc
            )
        number = repo.next_number
        repo.next_number += 1
        issue = Issue(
            number=number,
            id=self.next_id(),
            title=str(title),
            body=body.get("body") if isinstance(body.get("body"), str) else None,
            user=req.user.login,
        )
        assignees = self._valid_assignees(body.get("assignees"))
        if isinstance(body.get("assignee"), str):
            assignees = self._valid_assignees([body["assignee"]]) + assignees
        issue.assignees = list(dict.fromkeys(assignees))
        self._apply_labels(repo, issue, self._label_names(body.get("labels")), replace=True)
        repo.issues[number] = issue
        data = self.issue_json(repo, issue)
        return Reply(201, data, {"Location": data["url"]})

    def get_issue(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name)
        return Reply(200, self.issue_json(repo, self._issue(repo, number)))

    def update_issue(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name)
        issue = self._issue(repo, number)
        if not self._can_modify(repo, issue, req.user.login):
            raise ApiError(403, "Resource not accessible by personal access token")
        body = self._dict_body(req)
        if "state" in body and body["state"] not in ("open", "closed"):
            raise validation_failed([{"resource": "Issue", "field": "state", "code": "invalid"}])
        if "title" in body and body["title"] is not None:
            issue.title = str(body["title"])
        if "body" in body:
            issue.body = body["body"] if isinstance(body["body"], str) else None
        if "labels" in body:
            self._apply_labels(repo, issue, self._label_names(body["labels"]), replace=True)
        if "assignees" in body:
            issue.assignees = list(dict.fromkeys(self._valid_assignees(body["assignees"])))
        if body.get("state") == "closed":
            self._close(issue, req.user.login, body.get("state_reason") or "completed")
        elif body.get("state") == "open":
            self._reopen(repo, issue)
        issue.updated_at = now_iso()
        return Reply(200, self.issue_json(repo, issue))

    # ------------------------------------------------------------------ comments
    def _comment(self, repo: Repo, cid: str) -> Comment:
        comment = repo.comments.get(int(cid))
        if comment is None:
            raise not_found()
        return comment

    def list_issue_comments(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name)
        issue = self._issue(repo, number)
        since = req.query.get("since")
        comments = [repo.comments[c] for c in issue.comment_ids]
        if since:
            comments = [c for c in comments if c.updated_at >= since]
        return self.paginate(req, comments, lambda c: self.comment_json(repo, c))

    def list_repo_comments(self, req: Request, owner: str, name: str) -> Reply:
        repo = self._repo(req, owner, name)
        since = req.query.get("since")
        comments = sorted(repo.comments.values(), key=lambda c: c.id)
        if req.query.get("sort") == "updated":
            comments.sort(key=lambda c: (c.updated_at, c.id))
        if req.query.get("direction") == "desc":
            comments.reverse()
        if since:
            comments = [c for c in comments if c.updated_at >= since]
        return self.paginate(req, comments, lambda c: self.comment_json(repo, c))

    def create_comment(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name)
        issue = self._issue(repo, number)
        body = self._dict_body(req)
        text = body.get("body")
        if not isinstance(text, str) or not text:
            raise validation_failed(
                [{"resource": "IssueComment", "code": "missing_field", "field": "body"}]
            )
        if issue.locked and self.role(repo, req.user.login) == "none":
            raise ApiError(403, "Unable to create comment because issue is locked.")
        comment = Comment(
            id=self.next_id(), issue_number=issue.number, user=req.user.login, body=text
        )
        repo.comments[comment.id] = comment
        issue.comment_ids.append(comment.id)
        issue.updated_at = comment.created_at
        data = self.comment_json(repo, comment)
        return Reply(201, data, {"Location": data["url"]})

    def get_comment(self, req: Request, owner: str, name: str, cid: str) -> Reply:
        repo = self._repo(req, owner, name)
        return Reply(200, self.comment_json(repo, self._comment(repo, cid)))

    def _check_comment_owner(self, repo: Repo, comment: Comment, login: str) -> None:
        if (
            self.enforce_permissions
            and comment.user.lower() != login.lower()
            and not perm_at_least(self.role(repo, login), "write")
        ):
            raise ApiError(403, "Resource not accessible by personal access token")

    def edit_comment(self, req: Request, owner: str, name: str, cid: str) -> Reply:
        repo = self._repo(req, owner, name)
        comment = self._comment(repo, cid)
        self._check_comment_owner(repo, comment, req.user.login)
        text = self._dict_body(req).get("body")
        if not isinstance(text, str) or not text:
            raise validation_failed(
                [{"resource": "IssueComment", "code": "missing_field", "field": "body"}]
            )
        comment.body = text
        comment.updated_at = now_iso()
        return Reply(200, self.comment_json(repo, comment))

    def delete_comment(self, req: Request, owner: str, name: str, cid: str) -> Reply:
        repo = self._repo(req, owner, name)
        comment = self._comment(repo, cid)
        self._check_comment_owner(repo, comment, req.user.login)
        del repo.comments[comment.id]
        issue = repo.issues.get(comment.issue_number)
        if issue is not None and comment.id in issue.comment_ids:
            issue.comment_ids.remove(comment.id)
        return Reply(204)

    # ------------------------------------------------------------------ reactions
    def _react(self, req: Request, reactions: list[Reaction]) -> Reply:
        content = self._dict_body(req).get("content")
        if content not in REACTIONS:
            raise validation_failed(
                [{"resource": "Reaction", "code": "invalid", "field": "content"}]
            )
        for existing in reactions:
            if existing.user.lower() == req.user.login.lower() and existing.content == content:
                return Reply(200, self.reaction_json(existing))
        reaction = Reaction(id=self.next_id(), user=req.user.login, content=content)
        reactions.append(reaction)
        return Reply(201, self.reaction_json(reaction))

    def _list_reactions(self, req: Request, reactions: list[Reaction]) -> Reply:
        content = req.query.get("content")
        items = [r for r in reactions if content is None or r.content == content]
        return self.paginate(req, items, self.reaction_json)

    @staticmethod
    def _unreact(reactions: list[Reaction], rid: str) -> Reply:
        for r in reactions:
            if r.id == int(rid):
                reactions.remove(r)
                return Reply(204)
        raise not_found()

    def list_comment_reactions(self, req: Request, owner: str, name: str, cid: str) -> Reply:
        repo = self._repo(req, owner, name)
        return self._list_reactions(req, self._comment(repo, cid).reactions)

    def add_comment_reaction(self, req: Request, owner: str, name: str, cid: str) -> Reply:
        repo = self._repo(req, owner, name)
        return self._react(req, self._comment(repo, cid).reactions)

    def delete_comment_reaction(
        self, req: Request, owner: str, name: str, cid: str, rid: str
    ) -> Reply:
        repo = self._repo(req, owner, name)
        return self._unreact(self._comment(repo, cid).reactions, rid)

    def list_issue_reactions(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name)
        return self._list_reactions(req, self._issue(repo, number).reactions)

    def add_issue_reaction(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name)
        return self._react(req, self._issue(repo, number).reactions)

    def delete_issue_reaction(
        self, req: Request, owner: str, name: str, number: str, rid: str
    ) -> Reply:
        repo = self._repo(req, owner, name)
        return self._unreact(self._issue(repo, number).reactions, rid)

    # ------------------------------------------------------------------ labels
    @staticmethod
    def _label_names(value: Any) -> list[str]:
        if value is None:
            return []
        if isinstance(value, dict):
            value = value.get("labels", [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise validation_failed(
                [{"resource": "Label", "code": "invalid", "field": "labels"}], LABELS_DOC
            )
        names = []
        for item in value:
            if isinstance(item, dict):
                item = item.get("name")
            if not isinstance(item, str) or not item:
                raise validation_failed(
                    [{"resource": "Label", "code": "invalid", "field": "name"}], LABELS_DOC
                )
            names.append(item)
        return names

    def list_issue_labels(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name)
        issue = self._issue(repo, number)
        labels = [repo.labels[n.lower()] for n in issue.labels if n.lower() in repo.labels]
        return self.paginate(req, labels, lambda lb: self.label_json(repo, lb))

    @staticmethod
    def _check_labels_allowed(repo: Repo, anchor: str) -> None:
        """``refuse_labels``: the token's installation lacks the issues/pull requests permission."""
        if repo.labels_refused:
            raise ApiError(
                403,
                "Resource not accessible by integration",
                documentation_url=f"{LABELS_DOC}#{anchor}",
                headers={"X-Accepted-GitHub-Permissions": "issues=write; pull_requests=write"},
            )

    def add_issue_labels(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name, need="triage")
        self._check_labels_allowed(repo, "add-labels-to-an-issue")
        issue = self._issue(repo, number)
        self._apply_labels(repo, issue, self._label_names(req.body), replace=False)
        issue.updated_at = now_iso()
        return Reply(200, self._labels_json(repo, issue))

    def set_issue_labels(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name, need="triage")
        self._check_labels_allowed(repo, "set-labels-for-an-issue")
        issue = self._issue(repo, number)
        self._apply_labels(repo, issue, self._label_names(req.body), replace=True)
        issue.updated_at = now_iso()
        return Reply(200, self._labels_json(repo, issue))

    def clear_issue_labels(self, req: Request, owner: str, name: str, number: str) -> Reply:
        repo = self._repo(req, owner, name, need="triage")
        self._check_labels_allowed(repo, "remove-all-labels-from-an-issue")
        issue = self._issue(repo, number)
        issue.labels = []
        issue.updated_at = now_iso()
        return Reply(204)

    def remove_issue_label(
        self, req: Request, owner: str, name: str, number: str, label: str
    ) -> Reply:
        repo = self._repo(req, owner, name, need="triage")
        self._check_labels_allowed(repo, "remove-a-label-from-an-issue")
        issue = self._issue(repo, number)
        remaining = [x for x in issue.labels if x.lower() != label.lower()]
        if len(remaining) == len(issue.labels):
            raise ApiError(
                404,
                "Label does not exist",
                documentation_url=f"{LABELS_DOC}#remove-a-label-from-an-issue",
            )
        issue.labels = remaining
        issue.updated_at = now_iso()
        return Reply(200, self._labels_json(repo, issue))

    def list_labels(self, req: Request, owner: str, name: str) -> Reply:
        repo = self._repo(req, owner, name)
        labels = sorted(repo.labels.values(), key=lambda lb: lb.id)
        return self.paginate(req, labels, lambda lb: self.label_json(repo, lb))

    @staticmethod
    def _color(value: Any) -> str:
        color = str(value).lstrip("#")
        if not re.fullmatch(r"[0-9a-fA-F]{6}", color):
            raise validation_failed(
                [{"resource": "Label", "code": "invalid", "field": "color"}], LABELS_DOC
            )
        return color.lower()

    def create_label(self, req: Request, owner: str, name: str) -> Reply:
        repo = self._repo(req, owner, name, need="triage")
        body = self._dict_body(req)
        label_name = body.get("name")
        if not isinstance(label_name, str) or not label_name:
            raise validation_failed(
                [{"resource": "Label", "code": "missing_field", "field": "name"}], LABELS_DOC
            )
        if label_name.lower() in repo.labels:
            raise validation_failed(
                [{"resource": "Label", "code": "already_exists", "field": "name"}], LABELS_DOC
            )
        color = self._color(body["color"]) if body.get("color") is not None else "ededed"
        label = Label(
            id=self.next_id(), name=label_name, color=color, description=body.get("description")
        )
        repo.labels[label_name.lower()] = label
        data = self.label_json(repo, label)
        return Reply(201, data, {"Location": data["url"]})

    def _label(self, repo: Repo, name: str) -> Label:
        label = repo.labels.get(name.lower())
        if label is None:
            raise not_found()
        return label

    def get_label(self, req: Request, owner: str, name: str, label: str) -> Reply:
        repo = self._repo(req, owner, name)
        return Reply(200, self.label_json(repo, self._label(repo, label)))

    def update_label(self, req: Request, owner: str, name: str, label: str) -> Reply:
        repo = self._repo(req, owner, name, need="triage")
        lb = self._label(repo, label)
        body = self._dict_body(req)
        new_name = body.get("new_name") or body.get("name")
        if isinstance(new_name, str) and new_name and new_name != lb.name:
            if new_name.lower() in repo.labels and new_name.lower() != lb.name.lower():
                raise validation_failed(
                    [{"resource": "Label", "code": "already_exists", "field": "name"}], LABELS_DOC
                )
            old = lb.name
            del repo.labels[old.lower()]
            lb.name = new_name
            repo.labels[new_name.lower()] = lb
            for issue in repo.issues.values():
                issue.labels = [new_name if x.lower() == old.lower() else x for x in issue.labels]
        if body.get("color") is not None:
            lb.color = self._color(body["color"])
        if "description" in body:
            lb.description = body["description"]
        return Reply(200, self.label_json(repo, lb))

    def delete_label(self, req: Request, owner: str, name: str, label: str) -> Reply:
        repo = self._repo(req, owner, name, need="triage")
        lb = self._label(repo, label)
        del repo.labels[lb.name.lower()]
        for issue in repo.issues.values():
            issue.labels = [x for x in issue.labels if x.lower() != lb.name.lower()]
        return Reply(204)

    # ------------------------------------------------------------------ commit statuses
    def create_status(self, req: Request, owner: str, name: str, sha: str) -> Reply:
        """``POST /repos/{o}/{r}/statuses/{sha}`` (what required status checks look at)."""
        repo = self._repo(req, owner, name, need="write")
        body = self._dict_body(req)
        doc = "https://docs.github.com/rest/commits/statuses#create-a-commit-status"
        state = body.get("state")
        if state not in ("error", "failure", "pending", "success"):
            raise validation_failed(
                [{"resource": "Status", "code": "custom", "field": "state"}], doc
            )
        if git.object_type(repo.path, sha) != "commit":
            raise ApiError(422, f"No commit found for SHA: {sha}", documentation_url=doc)
        context = str(body.get("context") or "default")
        repo.statuses.setdefault(sha.lower(), {})[context] = state
        self.run_auto_merges(repo)  # a required check turning green merges an armed PR
        status_id = self.next_id()
        stamp = now_iso()
        data = {
            "url": f"{self.repo_api(repo)}/statuses/{sha}",
            "avatar_url": None,
            "id": status_id,
            "node_id": node_id("StatusContext", status_id),
            "state": state,
            "description": body.get("description"),
            "target_url": body.get("target_url"),
            "context": context,
            "created_at": stamp,
            "updated_at": stamp,
            "creator": self.user_json(req.user),
        }
        return Reply(201, data, {"Location": data["url"]})

    # ------------------------------------------------------------------ branch protection
    def get_branch_protection(self, req: Request, owner: str, name: str, branch: str) -> Reply:
        """``GET /repos/{o}/{r}/branches/{branch}/protection`` (GitHub REST docs, "Get branch
        protection": https://docs.github.com/en/rest/branches/branch-protection#get-branch-protection).

        The rules of ``protect_branch``: ``required_status_checks`` (``strict``, ``contexts``,
        ``checks`` with ``app_id`` null, as for commit statuses) when checks are required,
        ``required_pull_request_reviews`` (``required_approving_review_count``) when reviews
        are, and the other rules of the docs' example, all off. An unprotected branch answers
        404 "Branch not protected", as recorded (documentation_url ``PROTECTION_DOC``).

        Reading protection needs admin on GitHub, always (not only under
        ``enforce_permissions``): a token without it answers 404 "Not Found" (recorded for an
        account without admin, e.g. ``{"message":"Not Found","documentation_url":
        PROTECTION_DOC,"status":"404"}``; an App / GITHUB_TOKEN or fine-grained token gets 403
        "Resource not accessible by integration" / "... by personal access token" instead,
        which the fake does not produce: use ``inject`` for those). A branch that does not exist
        answers 404 "Branch not found" (not verified)."""
        repo = self._repo(req, owner, name)
        if not perm_at_least(self.role(repo, req.user.login), "admin"):
            raise ApiError(404, "Not Found", documentation_url=PROTECTION_DOC)
        if git.read_ref(repo.path, f"refs/heads/{branch}") is None:
            raise ApiError(404, "Branch not found", documentation_url=PROTECTION_DOC)
        rules = repo.protections.get(branch)
        if rules is None:
            raise ApiError(404, "Branch not protected", documentation_url=PROTECTION_DOC)
        url = f"{self.repo_api(repo)}/branches/{_qpath(branch)}/protection"

        def off() -> JSON:
            return {"enabled": False}

        data: JSON = {"url": url}
        if rules.required_checks:
            data["required_status_checks"] = {
                "url": f"{url}/required_status_checks",
                "strict": False,
                "contexts": list(rules.required_checks),
                "contexts_url": f"{url}/required_status_checks/contexts",
                "checks": [{"context": c, "app_id": None} for c in rules.required_checks],
            }
        if rules.required_reviews > 0:
            data["required_pull_request_reviews"] = {
                "url": f"{url}/required_pull_request_reviews",
                "dismiss_stale_reviews": False,
                "require_code_owner_reviews": False,
                "required_approving_review_count": rules.required_reviews,
                "require_last_push_approval": False,
            }
        data.update(
            {
                "required_signatures": {"url": f"{url}/required_signatures", "enabled": False},
                "enforce_admins": {"url": f"{url}/enforce_admins", "enabled": False},
                "required_linear_history": off(),
                "allow_force_pushes": off(),
                "allow_deletions": off(),
                "block_creations": off(),
                "required_conversation_resolution": off(),
                "lock_branch": off(),
                "allow_fork_syncing": off(),
            }
        )
        return Reply(200, data)

    # ------------------------------------------------------------------ auto-merge (GraphQL)
    def auto_merge_json(self, am: AutoMerge | None) -> JSON | None:
        """A pull request's ``auto_merge`` (GitHub REST docs, "Get a pull request"; the
        ``auto-merge`` schema of GitHub's OpenAPI description: ``enabled_by``, ``merge_method``
        merge | squash | rebase, ``commit_title``, ``commit_message``; empty strings when none
        were given, as recorded in google/go-github issue #1881)."""
        if am is None:
            return None
        return {
            "enabled_by": self.user_json(am.enabled_by),
            "merge_method": am.merge_method,
            "commit_title": am.commit_title,
            "commit_message": am.commit_message,
        }

    def graphql(self, req: Request) -> Reply:
        """``POST /graphql`` (GHES: ``/api/graphql``), for the Git database's ``updateRefs`` (``_gitdata``) and the two mutations PyGithub's
        ``PullRequest.enable_automerge`` / ``disable_automerge`` send (GitHub GraphQL docs,
        "Mutations": enablePullRequestAutoMerge, disablePullRequestAutoMerge), as recorded in
        PyGithub's tests/ReplayData/PullRequest.testEnableAutomerge.txt,
        PullRequest.testEnableAutomergeError.txt and PullRequest.testDisableAutomerge.txt:

        ``mutation Mutation($input: EnablePullRequestAutoMergeInput!) {
        enablePullRequestAutoMerge(input: $input) { actor { avatarUrl login resourcePath url }
        clientMutationId } }`` with ``input`` ``pullRequestId`` (the PR's ``node_id``),
        ``mergeMethod`` MERGE | SQUASH | REBASE (default MERGE), ``commitHeadline``,
        ``commitBody``, ``expectedHeadOid``, ``authorEmail`` (ignored), ``clientMutationId``.
        Success: 200 ``{"data": {"enablePullRequestAutoMerge": {"actor": {...},
        "clientMutationId": ...}}}`` (the answer has those two fields, whatever the selection).

        Refusals are GraphQL errors: HTTP 200, ``{"data": {NAME: null}, "errors":
        [{"locations": [{"column", "line"}], "message", "path": [NAME], "type"}]}``. See
        ``_refuse_auto_merge`` for the sentences. An unknown ``pullRequestId`` answers type
        NOT_FOUND "Could not resolve to a node with the global id of 'ID'." (PyGithub raises
        UnknownObjectException for it). Any other query answers a fake-only error (the fake
        has no GraphQL schema).
        """
        body = req.body if isinstance(req.body, dict) else {}
        query = body.get("query")
        if not isinstance(query, str):
            # Not verified against GitHub (its wording for a body without a query).
            return Reply(
                200,
                {
                    "errors": [
                        {"message": "A query attribute must be specified and must be a string."}
                    ]
                },
            )
        git_mutation = gitdata.graphql_mutation(self, req, query, body)
        if git_mutation is not None:
            return git_mutation
        tree_read = treereads.graphql_query(self, req, query, body)
        if tree_read is not None:
            return tree_read
        found = re.search(
            r"\b(enablePullRequestAutoMerge|disablePullRequestAutoMerge)\s*\(\s*input\s*:\s*\$(\w+)\s*\)",
            query,
        )
        if not query.lstrip().startswith("mutation") or found is None:
            return Reply(
                200,
                {
                    "errors": [
                        {
                            "message": "The fake GitHub serves only the enablePullRequestAutoMerge"
                            " and disablePullRequestAutoMerge mutations (input: $input)."
                        }
                    ]
                },
            )
        mutation = found.group(1)
        before = query[: found.start(1)]
        location = {
            "column": len(before) - (before.rfind("\n") + 1) + 1,
            "line": before.count("\n") + 1,
        }
        variables = body.get("variables") if isinstance(body.get("variables"), dict) else {}
        given = variables.get(found.group(2))
        inputs: JSON = given if isinstance(given, dict) else {}

        def error(message: str, kind: str = "UNPROCESSABLE") -> Reply:
            return Reply(
                200,
                {
                    "data": {mutation: None},
                    "errors": [
                        {
                            "locations": [location],
                            "message": message,
                            "path": [mutation],
                            "type": kind,
                        }
                    ],
                },
            )

        pr_id = str(inputs.get("pullRequestId") or "")
        target = self._pull_by_node_id(pr_id)
        if target is None:
            return error(
                f"Could not resolve to a node with the global id of '{pr_id}'.", "NOT_FOUND"
            )
        repo, issue = target
        pd = issue.pull
        assert pd is not None
        self.sync_pull(repo, issue)
        role = self.role(repo, req.user.login)
        if (self.enforce_permissions or req.user.login.lower() in repo.push_denied) and not (
            perm_at_least(role, "write")
        ):
            if role == "none" and repo.private:
                return error(
                    f"Could not resolve to a node with the global id of '{pr_id}'.", "NOT_FOUND"
                )
            # As gh relays it (dependabot/fetch-metadata issue #646); the ``type`` is not verified.
            return error("Pull request User is not allowed to push to this repository")
        if mutation == "disablePullRequestAutoMerge":
            # Disabling an auto-merge that is not armed succeeds too (not verified).
            pd.auto_merge = None
        else:
            method = str(inputs.get("mergeMethod") or "MERGE")
            if method not in ("MERGE", "SQUASH", "REBASE"):
                # GraphQL input validation; the exact wording is not verified.
                return Reply(
                    200,
                    {
                        "errors": [
                            {
                                "message": f"Variable $input of type {mutation[0].upper()}"
                                f"{mutation[1:]}Input! was provided invalid value for mergeMethod"
                                f' (Expected "{method}" to be one of: MERGE, SQUASH, REBASE)',
                                "locations": [{"line": 1, "column": 19}],
                            }
                        ]
                    },
                )
            refusal = self._refuse_auto_merge(repo, issue, method.lower(), inputs)
            if refusal is not None:
                return error(refusal)
            pd.auto_merge = AutoMerge(
                enabled_by=req.user.login,
                merge_method=method.lower(),
                commit_title=str(inputs.get("commitHeadline") or ""),
                commit_message=str(inputs.get("commitBody") or ""),
            )
        issue.updated_at = now_iso()
        u = req.user
        actor = {
            "avatarUrl": f"{self.base}/avatars/u/{u.id}?v=4",
            "login": u.login,
            "resourcePath": f"/{u.login}",
            "url": f"{self.base}/{u.login}",
        }
        # clientMutationId: null when none is given, as recorded. PyGithub's recording answers
        # null although its request names "1234", but that request was edited after the
        # recording (its error's `locations` column, 81, fits an older query text); the fake
        # echoes a given one, as Relay mutations do (not verified).
        return Reply(
            200,
            {
                "data": {
                    mutation: {"actor": actor, "clientMutationId": inputs.get("clientMutationId")}
                }
            },
        )

    def _pull_by_node_id(self, ident: str) -> tuple[Repo, Issue] | None:
        for repo in self.repos.values():
            for issue in repo.issues.values():
                if issue.pull is not None and node_id("PullRequest", issue.pull.id) == ident:
                    return repo, issue
        return None

    def _refuse_auto_merge(self, repo: Repo, issue: Issue, method: str, inputs: JSON) -> str | None:
        """GitHub's refusal of ``enablePullRequestAutoMerge``, if any (type UNPROCESSABLE).

        Recorded: "Pull request Auto merge is not allowed for this repository" (the repository's
        ``allow_auto_merge`` is off; PyGithub's PullRequest.testEnableAutomergeError.txt, type
        UNPROCESSABLE; 2026 gh output drops the "Pull request " prefix); "Pull request Pull
        request is in clean status" (nothing to wait for: no rule of the base's protection is
        unmet, so it could merge now; recorded in iterative/workshop-uncool-mlops' README, type
        UNPROCESSABLE, and peter-evans/enable-pull-request-automerge issue #1118);
        "Pull request Pull request is closed" (peter-evans/enable-pull-request-automerge issue
        #1060); "Merge method merge commits are not allowed on this repository" (gh output in
        hashicorp/homebrew-tap PR #372). Not verified, following those patterns: the squash /
        rebase sentences, "Pull request Pull request is in dirty status" (conflicts), "... is in
        draft status" (GitHub refuses drafts: framework/the-framework PR #1357), and the
        ``expectedHeadOid`` mismatch sentence (the REST merge's 409 sentence)."""
        pd = issue.pull
        assert pd is not None
        if not repo.allow_auto_merge:
            return "Pull request Auto merge is not allowed for this repository"
        if issue.state != "open" or pd.merged:
            return "Pull request Pull request is closed"
        allowed = {
            "merge": repo.allow_merge_commit,
            "squash": repo.allow_squash_merge,
            "rebase": repo.allow_rebase_merge,
        }
        if not allowed[method]:
            what = {"merge": "merge commits", "squash": "squash merges", "rebase": "rebase merges"}
            return f"Merge method {what[method]} are not allowed on this repository"
        if pd.draft:
            return "Pull request Pull request is in draft status"
        if not self.mergeable(repo, issue):
            return "Pull request Pull request is in dirty status"
        expected = inputs.get("expectedHeadOid")
        if expected and expected != pd.head_sha:
            return "Head branch was modified. Review and try the merge again."
        if self.protection_violation(repo, issue) is None:
            return "Pull request Pull request is in clean status"
        return None

    def run_auto_merges(self, repo: Repo) -> None:
        """Merge every open PR of ``repo`` whose armed auto-merge can now go ahead: no rule of
        the base's protection unmet (required checks green, approving reviews), mergeable, not
        a draft, the armed method still allowed. Merged by the user who enabled auto-merge
        (GitHub docs, "Automatically merging a pull request": the PR merges "when all required
        reviews are met and all required status checks have passed"), with the armed method
        and ``commitHeadline`` / ``commitBody`` when given (else the method's defaults).

        GitHub merges asynchronously; the fake merges synchronously, inside the request that
        posted the status or the review (``POST /statuses/{sha}``, ``POST /pulls/{n}/reviews``,
        ``set_commit_status``, ``add_review``, ``protect_branch``). An auto-merge that cannot
        go ahead stays armed (what GitHub does then, e.g. on a conflict, is not modelled)."""
        for issue in list(repo.issues.values()):
            pd = issue.pull
            if pd is None or pd.auto_merge is None or issue.state != "open":
                continue
            self.sync_pull(repo, issue)
            if issue.state != "open" or pd.merged or pd.draft:
                continue
            am = pd.auto_merge
            allowed = {
                "merge": repo.allow_merge_commit,
                "squash": repo.allow_squash_merge,
                "rebase": repo.allow_rebase_merge,
            }
            if not allowed.get(am.merge_method, False):
                continue
            if self.protection_violation(repo, issue) is not None or not self.mergeable(
                repo, issue
            ):
                continue
            body: JSON = {
                "commit_title": am.commit_title or None,
                "commit_message": am.commit_message or None,
            }
            merger = self.user(am.enabled_by) or self.ensure_user(am.enabled_by)
            try:
                self._land(repo, issue, am.merge_method, body, merger)
            except ApiError:
                continue

    # ------------------------------------------------------------------ collaborators
    def _collaborator_json(self, repo: Repo, u: User) -> JSON:
        role = self.role(repo, u.login)
        data = self._user_json(u)
        data["permissions"] = self.permissions_json(role)
        data["role_name"] = role
        return data

    def list_collaborators(self, req: Request, owner: str, name: str) -> Reply:
        repo = self._repo(req, owner, name)
        users = sorted(
            (u for u in self.users.values() if self.role(repo, u.login) != "none"),
            key=lambda u: u.id,
        )
        permission = req.query.get("permission")
        if permission:
            need = {"pull": "read", "push": "write"}.get(permission, permission)
            if need in PERMISSION_ORDER:
                users = [u for u in users if perm_at_least(self.role(repo, u.login), need)]
        return self.paginate(req, users, lambda u: self._collaborator_json(repo, u))

    def check_collaborator(self, req: Request, owner: str, name: str, login: str) -> Reply:
        repo = self._repo(req, owner, name)
        u = self.user(login)
        if u is None or self.role(repo, u.login) == "none":
            raise not_found()
        return Reply(204)

    def collaborator_permission(self, req: Request, owner: str, name: str, login: str) -> Reply:
        repo = self._repo(req, owner, name)
        caller = req.user.login
        if caller.lower() in repo.push_denied or (
            self.enforce_permissions and not perm_at_least(self.role(repo, caller), "write")
        ):
            raise ApiError(
                403,
                "Must have push access to view collaborator permission.",
                documentation_url=PERMISSION_DOC,
            )
        u = self.user(login)
        if u is None:
            raise ApiError(404, f"{login} is not a user", documentation_url=DOCS)
        role = self.role(repo, u.login)
        return Reply(
            200,
            {
                "permission": LEGACY_PERMISSION[role],
                "role_name": role,
                "user": self._collaborator_json(repo, u),
            },
        )


def dumps(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")
