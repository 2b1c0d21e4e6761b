"""Real GitHub webhook payloads (tests/fixtures/github-webhooks), pointed at the fake GitHub.

The files stay as copied; `rewrite` returns a changed deep copy: the repository (name, owner,
every API and web URL), the issue (number, state, whether it is a pull request), the comment
(id, body, author) and the sender, so that a payload GitHub really sent describes a comment
that exists in the fake.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "github-webhooks"
ISSUE_COMMENT_CREATED = FIXTURES / "octokit" / "issue_comment" / "created.payload.json"
ISSUE_COMMENT_EDITED = FIXTURES / "octokit" / "issue_comment" / "edited.payload.json"
PULL_REQUEST_CLOSED = FIXTURES / "octokit" / "pull_request" / "closed.payload.json"
PR_COMMENT_CREATED = FIXTURES / "go-playground" / "pull-request-issue-comment.json"

GITHUB_API = "https://api.github.com"
GITHUB_WEB = "https://github.com"


def load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _replace_strings(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_replace_strings(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _replace_strings(v, old, new) for k, v in value.items()}
    return value


def _user(user: dict[str, Any], login: str, user_id: int, user_type: str, web: str, api: str):
    old = user["login"]
    for key, value in list(user.items()):
        if isinstance(value, str):
            user[key] = value.replace(f"{GITHUB_API}/users/{old}", f"{api}/users/{login}").replace(
                f"{GITHUB_WEB}/{old}", f"{web}/{login}"
            )
    user.update({"login": login, "id": user_id, "type": user_type})


def rewrite(
    payload: dict[str, Any],
    *,
    api_url: str,
    repo: str,
    number: int,
    comment_id: int,
    body: str,
    author: str,
    author_id: int = 1,
    author_type: str = "User",
    action: str | None = None,
    state: str | None = None,
    pull_request: bool | None = None,
) -> dict[str, Any]:
    """A copy of `payload` describing comment `comment_id` by `author` on `repo`#`number`.

    `api_url` is the fake's API root (`http://127.0.0.1:PORT/api/v3`); its web root is the
    same host without `/api/v3`. `pull_request` None keeps the payload's own kind of issue.
    """
    data = copy.deepcopy(payload)
    api = api_url.rstrip("/")
    web = api.removesuffix("/api/v3")
    old_repo = data["repository"]["full_name"]
    old_number = data["issue"]["number"]
    old_comment = data["comment"]["id"]
    owner, name = repo.split("/", 1)

    # URLs of the issue and the comment first (they hold the old numbers), then the repo.
    for old, new in [
        (f"/issues/{old_number}", f"/issues/{number}"),
        (f"/pull/{old_number}", f"/pull/{number}"),
        (f"/pulls/{old_number}", f"/pulls/{number}"),
        (f"/comments/{old_comment}", f"/comments/{comment_id}"),
        (f"#issuecomment-{old_comment}", f"#issuecomment-{comment_id}"),
        (f"{GITHUB_API}/repos/{old_repo}", f"{api}/repos/{repo}"),
        (f"{GITHUB_WEB}/{old_repo}", f"{web}/{repo}"),
        (f"git://github.com/{old_repo}", f"{web}/git/{repo}"),
        (f"git@github.com:{old_repo}", f"{web}/git/{repo}"),
    ]:
        for key in ("issue", "comment", "repository"):
            data[key] = _replace_strings(data[key], old, new)

    repository = data["repository"]
    repository.update({"full_name": repo, "name": name})
    _user(repository["owner"], owner, 2, "Organization", web, api)
    data["issue"]["number"] = number
    if state is not None:
        data["issue"]["state"] = state
    if pull_request is True and "pull_request" not in data["issue"]:
        data["issue"]["pull_request"] = {
            "url": f"{api}/repos/{repo}/pulls/{number}",
            "html_url": f"{web}/{repo}/pull/{number}",
            "diff_url": f"{web}/{repo}/pull/{number}.diff",
            "patch_url": f"{web}/{repo}/pull/{number}.patch",
        }
    elif pull_request is False:
        data["issue"].pop("pull_request", None)
    comment = data["comment"]
    comment.update({"id": comment_id, "body": body})
    # Every other person in the payload (the commenter, the sender, the issue's author,
    # assignees) becomes `author`; then no URL may still point at GitHub.com.
    for user in _users(data):
        if user is not repository["owner"]:
            _user(user, author, author_id, author_type, web, api)
    data = _replace_strings(data, GITHUB_API, api)
    data = _replace_strings(data, GITHUB_WEB, web)
    if action is not None:
        data["action"] = action
    return data


def _users(value: Any) -> list[dict[str, Any]]:
    """Every user object (a mapping with `login` and `type`) inside `value`."""
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        if isinstance(value.get("login"), str) and "type" in value:
            found.append(value)
        for item in value.values():
            found.extend(_users(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_users(item))
    return found


__all__ = [
    "FIXTURES",
    "ISSUE_COMMENT_CREATED",
    "ISSUE_COMMENT_EDITED",
    "PR_COMMENT_CREATED",
    "PULL_REQUEST_CLOSED",
    "load",
    "rewrite",
]


def pull_request_closed_event(github: Any, repo: str, tmp_path: Path, number: int) -> Path:
    """The `pull_request` `closed` event GitHub sends for PR `number` of `repo` (OWNER/NAME),
    built from the fake GitHub's own JSON of the PR
    (https://docs.github.com/en/webhooks/webhook-events-and-payloads#pull_request)."""
    owner, name = repo.split("/")
    pull = next(p for p in github.pulls(owner, name) if p["number"] == number)
    path = tmp_path / f"closed-{number}.json"
    path.write_text(
        json.dumps(
            {
                "action": "closed",
                "number": number,
                "pull_request": pull,
                "repository": {"full_name": repo},
            }
        )
    )
    return path
