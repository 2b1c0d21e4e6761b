"""The fake GitHub, driven through unmodified PyGithub and the real git CLI."""

from __future__ import annotations

import base64
import gzip
import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import github
import pytest
import requests
from github import GithubException

from tests.fakegithub import FakeGitHub, FakeUser

OWNER, NAME = "acme", "env-repo"


def git(
    cwd: Path, *args: str, header: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    cmd = [
        "git",
        "-c",
        "user.name=Tester",
        "-c",
        "user.email=tester@example.com",
        "-c",
        "protocol.version=2",
    ]
    if header:
        cmd += ["-c", f"http.extraHeader={header}"]
    return subprocess.run(
        [*cmd, *args], cwd=cwd, env=env, capture_output=True, text=True, check=check
    )


def bare_git(fake: FakeGitHub, *args: str) -> str:
    path = fake.repo_path(OWNER, NAME)
    return subprocess.run(
        ["git", f"--git-dir={path}", *args], capture_output=True, text=True, check=True
    ).stdout.strip()


class World:
    def __init__(self, fake: FakeGitHub, tmp_path: Path) -> None:
        self.fake = fake
        self.tmp = tmp_path
        self.bot: FakeUser = fake.add_user("promo-bot", token="ghp_bot_token_0123456789")
        self.alice: FakeUser = fake.add_user("alice")
        fake.add_repo(OWNER, NAME)
        fake.set_permission(OWNER, NAME, "promo-bot", "write")
        fake.set_permission(OWNER, NAME, "alice", "maintain")
        self.gh = fake.client(self.bot.token, retry=None)
        self.base_sha = fake.commit_files(
            OWNER, NAME, "main", {"README.md": "env\n", "prod.yaml": "v: 1\n"}, "init"
        )
        self.repo = self.gh.get_repo(f"{OWNER}/{NAME}")

    def branch(
        self, name: str, files: Mapping[str, str | bytes | None], message: str = "change"
    ) -> str:
        return self.fake.commit_files(OWNER, NAME, name, files, message)

    def pr(
        self, branch: str, title: str = "Promote", **files: str
    ) -> github.PullRequest.PullRequest:
        self.branch(branch, files or {f"{branch}.txt": branch})
        return self.repo.create_pull(base="main", head=branch, title=title, body="body")


@pytest.fixture
def world(fake_github: FakeGitHub, tmp_path: Path) -> World:
    return World(fake_github, tmp_path)


def raw(
    fake: FakeGitHub, token: str | None, method: str, path: str, **kwargs: object
) -> requests.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.request(method, f"{fake.api_url}{path}", headers=headers, timeout=10, **kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- git over HTTP
def test_git_push_and_partial_clone_over_http(world: World) -> None:
    fake, tmp = world.fake, world.tmp
    header = fake.git_auth_header(world.bot.token)
    url = fake.clone_url(OWNER, NAME)
    assert url == f"{fake.git_base_url}/{OWNER}/{NAME}.git"

    clone = tmp / "clone"
    git(tmp, "clone", "--filter=blob:none", "--quiet", url, str(clone), header=header)
    assert (clone / "prod.yaml").read_text() == "v: 1\n"
    assert git(clone, "config", "remote.origin.partialclonefilter").stdout.strip() == "blob:none"

    git(clone, "checkout", "-q", "-b", "feature/x")
    (clone / "prod.yaml").write_text("v: 2\n")
    (clone / "big.bin").write_bytes(os.urandom(300_000))
    git(clone, "commit", "-qam", "bump")
    git(clone, "add", "big.bin")
    git(clone, "commit", "-qm", "blob")
    # A small postBuffer makes git send the pack with chunked transfer encoding.
    git(clone, "-c", "http.postBuffer=65536", "push", "-q", "origin", "feature/x", header=header)
    head = git(clone, "rev-parse", "HEAD").stdout.strip()
    assert fake.branch_sha(OWNER, NAME, "feature/x") == head
    assert world.repo.get_branch("feature/x").commit.sha == head

    # Bearer works too; protocol v2 was negotiated (ls-refs command over POST).
    clone2 = tmp / "clone2"
    git(
        tmp,
        "clone",
        "-q",
        "--filter=blob:none",
        "--branch",
        "feature/x",
        url,
        str(clone2),
        header=f"Authorization: Bearer {world.bot.token}",
    )
    assert (clone2 / "big.bin").stat().st_size == 300_000
    assert any(
        r.method == "POST" and r.path.endswith("/git-upload-pack") for r in fake.git_requests
    )
    assert all(not r.path.startswith("/git") for r in fake.requests)


def test_git_requires_a_known_token(world: World) -> None:
    fake, tmp = world.fake, world.tmp
    url = fake.clone_url(OWNER, NAME)
    proc = git(tmp, "clone", "-q", url, str(tmp / "nope"), check=False)
    assert proc.returncode != 0
    proc = git(
        tmp,
        "clone",
        "-q",
        url,
        str(tmp / "nope2"),
        header=fake.git_auth_header("wrong"),
        check=False,
    )
    assert proc.returncode != 0
    resp = requests.get(f"{url}/info/refs?service=git-upload-pack", timeout=5)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == 'Basic realm="GitHub"'
    creds = base64.b64encode(f"x-access-token:{world.bot.token}".encode()).decode()
    ok = requests.get(
        f"{url}/info/refs?service=git-upload-pack",
        headers={"Authorization": f"Basic {creds}"},
        timeout=5,
    )
    assert ok.status_code == 200
    assert ok.headers["Content-Type"] == "application/x-git-upload-pack-advertisement"


def test_git_protocol_v2_with_gzip_body(world: World) -> None:
    def pkt(line: str) -> bytes:
        return f"{len(line) + 4:04x}{line}".encode()

    body = pkt("command=ls-refs\n") + b"0001" + pkt("peel\n") + b"0000"
    resp = requests.post(
        f"{world.fake.clone_url(OWNER, NAME)}/git-upload-pack",
        data=gzip.compress(body),
        headers={
            "Authorization": world.fake.git_auth_header(world.bot.token).split(": ", 1)[1],
            "Content-Type": "application/x-git-upload-pack-request",
            "Content-Encoding": "gzip",
            "Git-Protocol": "version=2",
        },
        timeout=10,
    )
    assert resp.status_code == 200
    assert f"{world.base_sha} refs/heads/main".encode() in resp.content


# --------------------------------------------------------------------------- repos, branches, refs
def test_repo_branch_and_auth(world: World) -> None:
    fake, repo = world.fake, world.repo
    assert repo.full_name == f"{OWNER}/{NAME}"
    assert repo.url == f"{fake.api_url}/repos/{OWNER}/{NAME}"
    assert repo.clone_url == fake.clone_url(OWNER, NAME)
    assert repo.default_branch == "main"
    assert repo.permissions.push and not repo.permissions.admin
    assert repo.owner.login == OWNER
    branch = repo.get_branch("main")
    assert branch.commit.sha == world.base_sha
    assert branch.commit.commit.message == "init"
    assert world.gh.get_user().login == "promo-bot"
    assert world.gh.get_user("alice").id == world.alice.id

    with pytest.raises(GithubException) as exc:
        repo.get_branch("nope")
    assert exc.value.status == 404
    with pytest.raises(GithubException) as exc:
        world.gh.get_repo(f"{OWNER}/missing")
    assert exc.value.status == 404
    assert exc.value.data["message"] == "Not Found"

    bad = fake.client("ghp_not_a_token", retry=None)
    with pytest.raises(github.BadCredentialsException) as bad_exc:
        bad.get_repo(f"{OWNER}/{NAME}")
    assert bad_exc.value.status == 401
    assert raw(fake, None, "GET", "/user").status_code == 401
    # Same routes without the /api/v3 prefix; unknown routes are JSON 404s.
    resp = requests.get(
        f"{fake.base_url}/repos/{OWNER}/{NAME}",
        headers={"Authorization": f"Bearer {world.bot.token}"},
        timeout=5,
    )
    assert resp.status_code == 200 and resp.json()["name"] == NAME
    assert int(resp.headers["X-RateLimit-Remaining"]) < 5000
    assert {"X-RateLimit-Limit", "X-RateLimit-Reset", "X-RateLimit-Used"} <= set(resp.headers)
    unknown = raw(fake, world.bot.token, "GET", "/repos/acme/env-repo/nonsense")
    assert unknown.status_code == 404 and unknown.json()["message"] == "Not Found"


def test_git_refs_operate_on_the_bare_repo(world: World) -> None:
    repo = world.repo
    ref = repo.create_git_ref("refs/heads/release", world.base_sha)
    assert ref.ref == "refs/heads/release" and ref.object.sha == world.base_sha
    assert bare_git(world.fake, "rev-parse", "refs/heads/release") == world.base_sha
    with pytest.raises(GithubException) as exc:
        repo.create_git_ref("refs/heads/release", world.base_sha)
    assert exc.value.status == 422 and exc.value.data["message"] == "Reference already exists"

    new = world.branch("topic", {"x": "1"})
    got = repo.get_git_ref("heads/release")
    got.edit(new)
    assert world.fake.branch_sha(OWNER, NAME, "release") == new
    other = world.fake.commit_files(OWNER, NAME, "side", {"y": "2"}, parent=world.base_sha)
    with pytest.raises(GithubException) as exc:
        repo.get_git_ref("heads/release").edit(other)
    assert exc.value.data["message"] == "Update is not a fast forward"
    repo.get_git_ref("heads/release").edit(other, force=True)
    assert world.fake.branch_sha(OWNER, NAME, "release") == other
    repo.get_git_ref("heads/release").delete()
    assert world.fake.branch_sha(OWNER, NAME, "release") is None
    with pytest.raises(GithubException) as exc:
        repo.get_git_ref("heads/release")
    assert exc.value.status == 404


# --------------------------------------------------------------------------- pull requests
def test_create_pull_duplicate_and_validation(world: World) -> None:
    fake, repo = world.fake, world.repo
    head = world.branch("promote/model-a", {"prod.yaml": "v: 2\n"})
    pr = repo.create_pull(
        base="main", head="promote/model-a", title="Promote A", body="why", draft=False
    )
    assert pr.number == 1 and pr.state == "open" and not pr.merged
    assert (
        pr.head.sha == head
        and pr.head.ref == "promote/model-a"
        and pr.head.label == f"{OWNER}:promote/model-a"
    )
    assert pr.base.ref == "main" and pr.base.sha == world.base_sha
    assert pr.html_url == f"{fake.base_url}/{OWNER}/{NAME}/pull/1"
    assert pr.url == f"{fake.api_url}/repos/{OWNER}/{NAME}/pulls/1"
    assert pr.user.login == "promo-bot"

    with pytest.raises(GithubException) as exc:
        repo.create_pull(base="main", head=f"{OWNER}:promote/model-a", title="again")
    assert exc.value.status == 422
    assert exc.value.data["message"] == "Validation Failed"
    assert exc.value.data["errors"] == [
        {
            "resource": "PullRequest",
            "code": "custom",
            "message": f"A pull request already exists for {OWNER}:promote/model-a.",
        }
    ]
    with pytest.raises(GithubException) as exc:
        repo.create_pull(base="main", head="does-not-exist", title="x")
    assert exc.value.status == 422 and exc.value.data["errors"][0]["field"] == "head"
    fake.create_branch(OWNER, NAME, "empty")
    with pytest.raises(GithubException) as exc:
        repo.create_pull(base="main", head="empty", title="x")
    assert exc.value.data["errors"][0]["message"] == "No commits between main and empty"

    # The head sha tracks the real branch.
    newer = world.branch("promote/model-a", {"prod.yaml": "v: 3\n"})
    full = repo.get_pull(1)
    assert full.head.sha == newer
    # The first read after the push only starts GitHub's mergeability job; the next has it.
    assert full.mergeable is None and full.mergeable_state == "unknown"
    full = repo.get_pull(1)
    assert full.mergeable is True and full.mergeable_state == "clean"
    assert full.commits == 2 and full.changed_files == 1
    assert [c.sha for c in full.get_commits()] == [head, newer]
    files = list(full.get_files())
    assert [(f.filename, f.status, f.additions, f.deletions) for f in files] == [
        ("prod.yaml", "modified", 1, 1)
    ]
    assert "+v: 3" in files[0].patch

    issue = repo.get_issue(1)
    assert issue.pull_request is not None and issue.title == "Promote A"
    assert repo.create_issue(title="plain issue").number == 2  # shared number sequence
    assert repo.get_issue(2).pull_request is None


def test_list_pulls_filters_and_pagination(world: World) -> None:
    repo, fake = world.repo, world.fake
    for i in range(35):
        world.branch(f"b{i}", {f"f{i}": str(i)})
        repo.create_pull(base="main", head=f"b{i}", title=f"PR {i}")
    fake.reset_requests()
    pulls = repo.get_pulls(state="open")
    numbers = [p.number for p in pulls]
    assert numbers == list(range(35, 0, -1))  # created desc by default
    assert fake.request_count("GET", "/pulls") == 2  # two pages of 30
    assert pulls.totalCount == 35
    assert [p.number for p in repo.get_pulls(direction="asc")][:3] == [1, 2, 3]

    by_head = list(repo.get_pulls(state="all", head=f"{OWNER}:b7"))
    assert [p.number for p in by_head] == [8]
    assert repo.get_pulls(head="b7").totalCount == 35  # GitHub ignores head without "owner:"
    assert repo.get_pulls(base="other").totalCount == 0

    repo.get_pull(8).edit(state="closed")
    assert repo.get_pulls(state="closed").totalCount == 1
    assert repo.get_pulls(state="open", head=f"{OWNER}:b7").totalCount == 0

    resp = raw(
        fake,
        world.bot.token,
        "GET",
        f"/repos/{OWNER}/{NAME}/pulls",
        params={"per_page": 10, "page": 2},
    )
    links = resp.headers["Link"]
    assert (
        'rel="next"' in links
        and 'rel="last"' in links
        and 'rel="prev"' in links
        and 'rel="first"' in links
    )
    assert "page=4" in links and len(resp.json()) == 10
    assert "merged" not in resp.json()[0]  # list items use GitHub's "simple" PR shape


def test_update_pull(world: World) -> None:
    repo = world.repo
    world.branch("release", {"r": "1"})
    pr = world.pr("feat")
    pr.edit(title="New title", body="New body")
    again = repo.get_pull(pr.number)
    assert (again.title, again.body) == ("New title", "New body")
    pr.edit(base="release")
    assert repo.get_pull(pr.number).base.ref == "release"
    pr.edit(state="closed")
    closed = repo.get_pull(pr.number)
    assert closed.state == "closed" and closed.closed_at is not None and not closed.merged
    pr.edit(state="open")
    assert repo.get_pull(pr.number).state == "open"


def test_labels(world: World) -> None:
    repo = world.repo
    pr = world.pr("feat")
    pr.add_to_labels("promotion", "env: prod")
    assert [lb.name for lb in pr.get_labels()] == ["promotion", "env: prod"]
    assert repo.get_label("env: prod").color == "ededed"
    assert sorted(lb.name for lb in repo.get_labels()) == ["env: prod", "promotion"]
    pr.remove_from_labels("env: prod")
    assert world.fake.issue_labels(OWNER, NAME, pr.number) == ["promotion"]
    with pytest.raises(GithubException) as exc:
        pr.remove_from_labels("env: prod")
    assert exc.value.status == 404 and exc.value.data["message"] == "Label does not exist"
    created = repo.create_label("rollback", "ff0000", "auto rollback")
    assert (created.name, created.color, created.description) == (
        "rollback",
        "ff0000",
        "auto rollback",
    )
    with pytest.raises(GithubException) as exc:
        repo.create_label("rollback", "00ff00")
    assert exc.value.status == 422 and exc.value.data["errors"][0]["code"] == "already_exists"
    pr.set_labels("rollback")
    assert [lb.name for lb in repo.get_issue(pr.number).labels] == ["rollback"]
    with pytest.raises(GithubException):
        repo.get_label("missing")


def test_review_requests(world: World) -> None:
    pr = world.pr("feat")
    pr.create_review_request(reviewers=["alice"], team_reviewers=["ml-platform"])
    users, teams = pr.get_review_requests()
    assert [u.login for u in users] == ["alice"]
    assert [t.slug for t in teams] == ["ml-platform"]
    full = world.repo.get_pull(pr.number)
    assert [u.login for u in full.requested_reviewers] == ["alice"]
    assert [t.slug for t in full.requested_teams] == ["ml-platform"]
    with pytest.raises(GithubException) as exc:
        pr.create_review_request(reviewers=["promo-bot"])
    assert exc.value.status == 422 and "author" in exc.value.data["message"]
    with pytest.raises(GithubException) as exc:
        pr.create_review_request(reviewers=["nobody"])
    assert exc.value.status == 422 and "collaborators" in exc.value.data["message"]
    pr.delete_review_request(reviewers=["alice"])
    assert world.fake.requested_reviewers(OWNER, NAME, pr.number) == {
        "users": [],
        "teams": ["ml-platform"],
    }

    alice = (
        world.fake.client(world.alice.token, retry=None)
        .get_repo(f"{OWNER}/{NAME}")
        .get_pull(pr.number)
    )
    alice.create_review(event="APPROVE")
    assert [(r.user.login, r.state) for r in pr.get_reviews()] == [("alice", "APPROVED")]


def test_comments_pagination_and_reactions(world: World) -> None:
    fake, repo = world.fake, world.repo
    pr = world.pr("feat")
    for i in range(35):
        pr.create_issue_comment(f"comment {i}")
    comments = list(pr.get_issue_comments())
    assert [c.body for c in comments] == [f"comment {i}" for i in range(35)]
    assert repo.get_issue(pr.number).comments == 35
    first = comments[0]
    assert (
        first.html_url == f"{fake.base_url}/{OWNER}/{NAME}/pull/{pr.number}#issuecomment-{first.id}"
    )
    assert first.issue_url.endswith(f"/issues/{pr.number}")
    first.edit("edited")
    assert repo.get_issue(pr.number).get_comment(first.id).body == "edited"
    comments[1].delete()
    assert len(fake.comments(OWNER, NAME, pr.number)) == 34

    reaction = first.create_reaction("rocket")
    assert reaction.content == "rocket" and reaction.user.login == "promo-bot"
    url = f"/repos/{OWNER}/{NAME}/issues/comments/{first.id}/reactions"
    again = raw(fake, world.bot.token, "POST", url, json={"content": "rocket"})
    assert again.status_code == 200 and again.json()["id"] == reaction.id
    new = raw(fake, world.alice.token, "POST", url, json={"content": "rocket"})
    assert new.status_code == 201
    bad = raw(fake, world.bot.token, "POST", url, json={"content": "thumbs"})
    assert bad.status_code == 422
    assert [r.content for r in first.get_reactions()] == ["rocket", "rocket"]
    assert repo.get_issue(pr.number).get_comment(first.id).reactions["rocket"] == 2
    repo.get_issue(pr.number).create_reaction("eyes")
    assert [r["content"] for r in fake.reactions(OWNER, NAME, number=pr.number)] == ["eyes"]


def test_collaborator_permission(world: World) -> None:
    fake, repo = world.fake, world.repo
    for login, role in [
        ("w", "write"),
        ("m", "maintain"),
        ("t", "triage"),
        ("r", "read"),
        ("n", "none"),
        ("a", "admin"),
    ]:
        fake.add_user(login)
        fake.set_permission(OWNER, NAME, login, role)
    expected = {"w": "write", "m": "write", "t": "read", "r": "read", "n": "none", "a": "admin"}
    for login, legacy in expected.items():
        assert repo.get_collaborator_permission(login) == legacy
    assert repo.get_collaborator_role_name("m") == "maintain"
    assert repo.get_collaborator_role_name("t") == "triage"
    data = raw(
        fake, world.bot.token, "GET", f"/repos/{OWNER}/{NAME}/collaborators/m/permission"
    ).json()
    assert data["permission"] == "write" and data["role_name"] == "maintain"
    assert data["user"]["login"] == "m" and data["user"]["permissions"]["maintain"] is True
    assert repo.has_in_collaborators("w") and not repo.has_in_collaborators("n")
    with pytest.raises(GithubException) as exc:
        repo.get_collaborator_permission("ghost")
    assert exc.value.status == 404


# --------------------------------------------------------------------------- merging
def test_merge_creates_a_real_merge_commit(world: World) -> None:
    fake, repo = world.fake, world.repo
    main_moved = fake.commit_files(OWNER, NAME, "main", {"other.txt": "x\n"}, "unrelated change")
    pr = world.pr("feat", title="Promote model")
    head = pr.head.sha
    with pytest.raises(GithubException) as exc:
        pr.merge(sha="0" * 40)
    assert exc.value.status == 409
    status = pr.merge()
    assert status.merged and status.message == "Pull Request successfully merged"
    assert bare_git(fake, "rev-parse", "refs/heads/main") == status.sha
    parents = bare_git(fake, "log", "-1", "--format=%P", status.sha).split()
    assert parents == [main_moved, head]
    assert (
        bare_git(fake, "log", "-1", "--format=%s", status.sha)
        == f"Merge pull request #{pr.number} from {OWNER}/feat"
    )
    assert bare_git(fake, "show", f"{status.sha}:feat.txt") == "feat"

    merged = repo.get_pull(pr.number)
    assert merged.merged and merged.state == "closed" and merged.merge_commit_sha == status.sha
    assert merged.merged_by.login == "promo-bot" and merged.merged_at is not None
    assert merged.is_merged()
    with pytest.raises(GithubException) as exc:
        merged.merge()
    assert exc.value.status == 405


def test_squash_merge_and_conflicts(world: World) -> None:
    fake = world.fake
    pr = world.pr("feat")
    status = pr.merge(merge_method="squash", commit_title="Squashed")
    parents = bare_git(fake, "log", "-1", "--format=%P", status.sha).split()
    assert len(parents) == 1
    assert bare_git(fake, "log", "-1", "--format=%s", status.sha) == "Squashed"

    fake.commit_files(OWNER, NAME, "c1", {"prod.yaml": "v: left\n"})
    conflict = world.repo.create_pull(base="main", head="c1", title="conflict")
    fake.commit_files(OWNER, NAME, "main", {"prod.yaml": "v: right\n"})
    assert world.repo.get_pull(conflict.number).mergeable is None  # the job starts
    full = world.repo.get_pull(conflict.number)
    assert full.mergeable is False and full.mergeable_state == "dirty"
    assert full.merge_commit_sha is None  # no test merge for a conflict
    with pytest.raises(GithubException) as exc:
        conflict.merge()
    assert exc.value.status == 405 and exc.value.data["message"] == "Pull Request is not mergeable"


def test_pushes_and_branch_deletion_update_pull_state(world: World) -> None:
    fake, repo = world.fake, world.repo
    pr1 = world.pr("one")
    pr2 = world.pr("two")
    # Fast-forward main to pr1's head by a plain push: GitHub marks the PR merged.
    repo.get_git_ref("heads/main").edit(pr1.head.sha)
    got = repo.get_pull(pr1.number)
    assert got.merged and got.state == "closed"
    # Deleting the head branch closes the PR.
    repo.get_git_ref("heads/two").delete()
    got2 = repo.get_pull(pr2.number)
    assert got2.state == "closed" and not got2.merged
    assert [p["state"] for p in fake.pulls(OWNER, NAME)] == ["closed", "closed"]


# --------------------------------------------------------------------------- faults
def test_injected_5xx(world: World) -> None:
    fake = world.fake
    fake.inject(502, times=1, method="GET", path_regex=r"/pulls$")
    with pytest.raises(GithubException) as exc:
        list(world.repo.get_pulls())
    assert exc.value.status == 502
    assert list(world.repo.get_pulls()) == []

    # With PyGithub's default retry policy the 5xx is retried transparently.
    retrying = fake.client(world.bot.token)
    fake.reset_requests()
    fake.inject(503, times=2, path_regex=r"^/repos/acme/env-repo$")
    assert retrying.get_repo(f"{OWNER}/{NAME}").name == NAME
    assert fake.request_count("GET", "/repos/acme/env-repo") == 3


def test_secondary_and_primary_rate_limits(world: World) -> None:
    fake = world.fake
    fake.secondary_rate_limit(times=1, retry_after=7)
    resp = raw(fake, world.bot.token, "GET", "/user")
    assert resp.status_code == 403 and resp.headers["Retry-After"] == "7"
    assert resp.json()["message"].startswith("You have exceeded a secondary rate limit")
    fake.secondary_rate_limit(times=1, retry_after=0)
    with pytest.raises(github.RateLimitExceededException):
        world.gh.get_user().login  # noqa: B018
    # The default retry policy honours Retry-After and succeeds.
    fake.secondary_rate_limit(times=1, retry_after=0, path_regex="^/user$")
    assert fake.client(world.bot.token).get_user().login == "promo-bot"

    fake.rate_limit_primary(times=1, reset_in=30)
    resp = raw(fake, world.bot.token, "GET", "/user")
    assert resp.status_code == 403 and resp.headers["X-RateLimit-Remaining"] == "0"
    assert int(resp.headers["X-RateLimit-Reset"]) >= int(time.time()) + 25
    fake.rate_limit_primary()
    with pytest.raises(github.RateLimitExceededException):
        world.gh.get_repo(f"{OWNER}/{NAME}")


def test_latency(world: World) -> None:
    world.fake.latency = 0.2
    start = time.monotonic()
    world.gh.get_user("alice")
    assert time.monotonic() - start >= 0.2
    world.fake.latency = 0


def test_dropped_response_still_applies_the_request(world: World) -> None:
    fake, repo = world.fake, world.repo
    world.branch("lost", {"l": "1"})
    fake.drop_response(times=1, method="POST", path_regex=r"/pulls$")
    with pytest.raises(requests.exceptions.ConnectionError):
        repo.create_pull(base="main", head="lost", title="lost response")
    assert [p["title"] for p in fake.pulls(OWNER, NAME)] == ["lost response"]
    with pytest.raises(GithubException) as exc:
        repo.create_pull(base="main", head="lost", title="retry")
    assert exc.value.status == 422
    assert repo.get_pulls(head=f"{OWNER}:lost").totalCount == 1

    # PyGithub's default retry policy re-sends a POST whose response was lost: the retry
    # then hits the state the first attempt created.
    world.branch("lost2", {"l2": "1"})
    fake.drop_response(times=1, method="POST", path_regex=r"/pulls$")
    with pytest.raises(GithubException) as exc:
        fake.client(world.bot.token).get_repo(f"{OWNER}/{NAME}").create_pull(
            base="main", head="lost2", title="t"
        )
    assert exc.value.status == 422
    assert fake.request_count("POST", "/pulls") == 4


# --------------------------------------------------------------------------- bookkeeping
def test_request_log_and_stored_text(world: World) -> None:
    fake = world.fake
    fake.reset_requests()
    pr = world.pr("feat")
    pr.create_issue_comment("deploying model v7")
    assert fake.request_count("POST", "/pulls") == 1
    assert fake.request_count("POST", "/comments") == 1
    assert fake.request_count() == len(fake.requests)
    assert fake.requests[0].method == "POST"
    assert not fake.git_requests
    text = fake.all_stored_text()
    assert "deploying model v7" in text and "feat.txt" in text
    assert world.bot.token not in text
    assert fake.server_errors == []


def test_concurrent_clients(world: World) -> None:
    fake = world.fake
    pr = world.pr("feat")
    errors: list[BaseException] = []

    def worker(i: int) -> Callable[[], None]:
        def run() -> None:
            try:
                gh = fake.client(world.bot.token, retry=None)
                issue = gh.get_repo(f"{OWNER}/{NAME}").get_issue(pr.number)
                for j in range(3):
                    issue.create_comment(f"w{i}-{j}")
            except BaseException as exc:
                errors.append(exc)

        return run

    threads = [threading.Thread(target=worker(i)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    comments = fake.comments(OWNER, NAME, pr.number)
    assert len(comments) == 60 and len({c["id"] for c in comments}) == 60


def test_enforced_permissions(world: World) -> None:
    fake = world.fake
    fake.enforce_permissions = True
    reader = fake.add_user("reader")
    fake.set_permission(OWNER, NAME, "reader", "read")
    outsider = fake.add_user("outsider")
    pr = world.pr("feat")
    ro = fake.client(reader.token, retry=None).get_repo(f"{OWNER}/{NAME}")
    with pytest.raises(GithubException) as exc:
        ro.get_pull(pr.number).merge()
    assert exc.value.status == 403
    with pytest.raises(GithubException) as exc:
        fake.client(outsider.token, retry=None).get_repo(f"{OWNER}/{NAME}")
    assert exc.value.status == 404

    clone = world.tmp / "ro"
    header = fake.git_auth_header(reader.token)
    git(world.tmp, "clone", "-q", fake.clone_url(OWNER, NAME), str(clone), header=header)
    (clone / "x").write_text("x")
    git(clone, "add", "x")
    git(clone, "commit", "-qm", "x")
    push = git(clone, "push", "origin", "HEAD:refs/heads/ro", header=header, check=False)
    assert push.returncode != 0 and "403" in push.stderr


# --------------------------------------------------------------------------- unfriendly switches
MERGE_DOC = "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"
PROTECTED_DOC = "https://docs.github.com/articles/about-protected-branches"


def error_of(call: Callable[[], object]) -> GithubException:
    with pytest.raises(GithubException) as exc:
        call()
    return exc.value


def test_set_merge_methods_refuses_disallowed_methods(world: World) -> None:
    """405 with GitHub's sentence per disallowed method.

    Sources: the three sentences as matched by Mergify's engine (Mergifyio/mergify PR #1812,
    "handle forbidden squash/rebase/merge commits"); recorded 405 bodies in Mergifyio/mergify
    issue #48 ("Merge commits are not allowed on this repository.") and
    NielPieterse0/chatgpt-skill issue #153 ("Squash merges are not allowed on this
    repository."); the documentation_url as recorded in bazelbuild/continuous-integration PR
    #2178. Repository fields: GitHub REST docs, "Get a repository" (allow_merge_commit,
    allow_squash_merge, allow_rebase_merge).
    """
    fake = world.fake
    fake.set_merge_methods(OWNER, NAME, merge=False)
    repo = world.gh.get_repo(f"{OWNER}/{NAME}")
    assert (repo.allow_merge_commit, repo.allow_squash_merge, repo.allow_rebase_merge) == (
        False,
        True,
        True,
    )
    pr = world.pr("feat")
    err = error_of(pr.merge)
    assert err.status == 405
    assert err.data["message"] == "Merge commits are not allowed on this repository."
    assert err.data["documentation_url"] == MERGE_DOC
    assert fake.branch_sha(OWNER, NAME, "main") == world.base_sha  # nothing merged

    fake.set_merge_methods(OWNER, NAME, merge=False, squash=False, rebase=True)
    err = error_of(lambda: pr.merge(merge_method="squash"))
    assert (err.status, err.data["message"]) == (
        405,
        "Squash merges are not allowed on this repository.",
    )
    fake.set_merge_methods(OWNER, NAME, merge=True, squash=True, rebase=False)
    err = error_of(lambda: pr.merge(merge_method="rebase"))
    assert (err.status, err.data["message"]) == (
        405,
        "Rebase merges are not allowed on this repository.",
    )
    with pytest.raises(ValueError):
        fake.set_merge_methods(OWNER, NAME, merge=False, squash=False, rebase=False)
    assert pr.merge(merge_method="merge").merged


def test_squash_merge_is_one_commit_with_title_and_message(world: World) -> None:
    """A squash merge is one new commit on the base: commit_title, blank line, commit_message.

    Defaults (no commit_title / commit_message) follow the repository settings the fake reports,
    squash_merge_commit_title COMMIT_OR_PR_TITLE ("the commit's title (if only one commit) or the
    pull request's title") and squash_merge_commit_message COMMIT_MESSAGES (GitHub REST docs,
    "Get a repository"); a one-commit PR titled after its commit through the API is recorded in
    pascalgn/automerge-action issue #87. The " (#N)" suffix and the one-commit body are the
    GitHub UI's defaults, not verified for the API.
    """
    fake = world.fake
    fake.set_merge_methods(OWNER, NAME, merge=False, squash=True, rebase=False)
    fake.commit_files(OWNER, NAME, "multi", {"a.txt": "a\n"}, "Add a\n\nbecause")
    fake.commit_files(OWNER, NAME, "multi", {"b.txt": "b\n"}, "Add b")
    fake.commit_files(OWNER, NAME, "main", {"other.txt": "o\n"}, "Unrelated")
    pr = world.repo.create_pull(base="main", head="multi", title="Two things")
    status = pr.merge(
        merge_method="squash", commit_title="Promote v2", commit_message="Body\n\nModel: x"
    )
    assert bare_git(fake, "rev-parse", "refs/heads/main") == status.sha
    assert len(bare_git(fake, "log", "-1", "--format=%P", status.sha).split()) == 1
    assert (
        bare_git(fake, "log", "-1", "--format=%B", status.sha) == "Promote v2\n\nBody\n\nModel: x"
    )
    assert bare_git(fake, "show", f"{status.sha}:a.txt") == "a"
    assert bare_git(fake, "show", f"{status.sha}:other.txt") == "o"
    assert bare_git(fake, "log", "-1", "--format=%cn <%ce>", status.sha) == (
        "GitHub <noreply@github.com>"
    )

    fake.commit_files(OWNER, NAME, "multi2", {"c.txt": "c\n"}, "Add c")
    fake.commit_files(OWNER, NAME, "multi2", {"d.txt": "d\n"}, "Add d")
    pr2 = world.repo.create_pull(base="main", head="multi2", title="Defaults")
    sha2 = pr2.merge(merge_method="squash").sha
    assert bare_git(fake, "log", "-1", "--format=%B", sha2) == (
        f"Defaults (#{pr2.number})\n\n* Add c\n\n* Add d"
    )
    fake.commit_files(OWNER, NAME, "one", {"e.txt": "e\n"}, "Add e\n\nWhy e.")
    pr3 = world.repo.create_pull(base="main", head="one", title="PR title")
    sha3 = pr3.merge(merge_method="squash").sha
    assert bare_git(fake, "log", "-1", "--format=%B", sha3) == f"Add e (#{pr3.number})\n\nWhy e."


def test_rebase_merge_replays_commits_on_a_moved_base(world: World) -> None:
    """A rebase merge replays each commit on the base (authors kept, committer GitHub) even when
    the base moved, and refuses a conflicting replay with 405 "This branch can't be rebased".

    Sources: GitHub docs "About merge methods on GitHub" (rebase and merge: each commit added to
    the base without a merge commit); the 405 sentence as recorded in nikku/merge-me issue #12.
    """
    fake = world.fake
    c1 = fake.commit_files(
        OWNER, NAME, "topic", {"t1.txt": "1\n"}, "First", author=("Ann", "ann@example.com")
    )
    c2 = fake.commit_files(OWNER, NAME, "topic", {"t2.txt": "2\n"}, "Second")
    moved = fake.commit_files(OWNER, NAME, "main", {"m.txt": "m\n"}, "Main moved")
    pr = world.repo.create_pull(base="main", head="topic", title="Rebase me")
    status = pr.merge(merge_method="rebase")
    log = bare_git(fake, "log", "--format=%H %P|%s|%an|%cn", f"{moved}..{status.sha}").splitlines()
    assert [line.split("|", 1)[1] for line in log] == ["Second|Seeder|GitHub", "First|Ann|GitHub"]
    first_sha, first_parent = log[1].split("|")[0].split()
    assert first_parent == moved and first_sha not in (c1, c2)
    assert bare_git(fake, "show", f"{status.sha}:t1.txt") == "1"
    assert bare_git(fake, "show", f"{status.sha}:m.txt") == "m"
    assert world.repo.get_pull(pr.number).merge_commit_sha == status.sha

    fake.commit_files(OWNER, NAME, "clash", {"prod.yaml": "v: left\n"}, "Left")
    fake.commit_files(OWNER, NAME, "main", {"prod.yaml": "v: right\n"}, "Right")
    clash = world.repo.create_pull(base="main", head="clash", title="Clash")
    err = error_of(lambda: clash.merge(merge_method="rebase"))
    assert (err.status, err.data["message"]) == (405, "This branch can't be rebased")


def test_base_branch_modified_is_transient(world: World) -> None:
    """405 "Base branch was modified. Review and try the merge again." for the next `times`
    merges, then merges work.

    Source: the recorded body in NixOS/nixpkgs-merge-bot issue #179
    ({"message": "Base branch was modified. Review and try the merge again.",
    "documentation_url": "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request",
    "status": "405"}); transient per KnpLabs/php-github-api issue #497.
    """
    fake = world.fake
    pr = world.pr("feat")
    fake.base_branch_modified(OWNER, NAME, times=2)
    for _ in range(2):
        err = error_of(pr.merge)
        assert err.status == 405
        assert err.data == {
            "message": "Base branch was modified. Review and try the merge again.",
            "documentation_url": MERGE_DOC,
            "status": "405",
        }
        assert fake.branch_sha(OWNER, NAME, "main") == world.base_sha
    assert pr.merge().merged
    assert world.repo.get_pull(pr.number).merged


def test_protect_branch_blocks_merges_until_rules_are_met(world: World) -> None:
    """Merging into a protected branch answers 405 with the unmet rule; mergeable_state "blocked".

    Sources: "At least 1 approving review is required by reviewers with write access." recorded
    in Reviewable/Reviewable issue #561 (405 on PUT .../merge), the plural "At least 2
    approving reviews are required by reviewers with write access." in
    Skatteetaten/terraform-nomad-minio issue #53; the required-check body recorded in
    bors-ng/bors-ng issue #1493 ({"message": "Required status check \"Specify breaking\" is
    expected.", "documentation_url": "https://docs.github.com/articles/about-protected-branches"}).
    mergeable_state "blocked": travis-ci/gh commit 38ef396 (the known values). Not verified: the
    sentence for a check that reported a failure; the fake says "is expected." for any check
    without a "success" status.
    """
    fake = world.fake
    fake.protect_branch(OWNER, NAME, "main", required_reviews=1, required_checks=["ci"])
    pr = world.pr("feat")
    assert world.repo.get_pull(pr.number).mergeable_state == "unknown"
    full = world.repo.get_pull(pr.number)
    assert full.mergeable is True and full.mergeable_state == "blocked"
    branch = world.repo.get_branch("main")
    assert branch.protected and branch.raw_data["protection"]["required_status_checks"][
        "contexts"
    ] == ["ci"]

    err = error_of(pr.merge)
    assert err.status == 405
    assert err.data["message"] == (
        "At least 1 approving review is required by reviewers with write access."
    )
    assert err.data["documentation_url"] == PROTECTED_DOC
    alice = fake.client(world.alice.token, retry=None).get_repo(f"{OWNER}/{NAME}")
    alice.get_pull(pr.number).create_review(event="APPROVE")
    err = error_of(pr.merge)
    assert (err.status, err.data["message"]) == (405, 'Required status check "ci" is expected.')
    world.repo.get_commit(pr.head.sha).create_status("pending", context="ci")
    assert error_of(pr.merge).data["message"] == 'Required status check "ci" is expected.'
    world.repo.get_commit(pr.head.sha).create_status("success", context="ci")
    assert world.repo.get_pull(pr.number).mergeable_state == "clean"
    assert pr.merge().merged

    fake.protect_branch(OWNER, NAME, "main", required_reviews=2)
    pr2 = world.pr("feat2")
    alice.get_pull(pr2.number).create_review(event="APPROVE")
    reader = fake.add_user("reader")
    fake.set_permission(OWNER, NAME, "reader", "read")
    ro = fake.client(reader.token, retry=None).get_repo(f"{OWNER}/{NAME}")
    ro.get_pull(pr2.number).create_review(event="APPROVE")  # no write access: does not count
    assert error_of(pr2.merge).data["message"] == (
        "At least 2 approving reviews are required by reviewers with write access."
    )
    fake.set_commit_status(OWNER, NAME, pr2.head.sha, "ci")  # seeding helper, no rule on it now
    assert fake.branch_sha(OWNER, NAME, "feat2") == pr2.head.sha


def test_secondary_rate_limit_status_and_retry_after(world: World) -> None:
    """403 or 429, with or without Retry-After, and X-RateLimit-Remaining above zero.

    Sources: GitHub REST docs "Rate limits for the REST API", section "Exceeding the rate
    limit" (secondary: "a 403 or 429 response", retry-after may be present, otherwise wait at
    least a minute unless x-ratelimit-remaining is 0); headers recorded on a real secondary
    limit in KnpLabs/php-github-api PR #1072 (X-RateLimit-Remaining 14 of 30 on a 403).
    """
    fake, token = world.fake, world.bot.token
    raw(fake, token, "GET", "/user")  # some quota used
    fake.secondary_rate_limit(times=1, retry_after=None, status=429)
    resp = raw(fake, token, "GET", "/user")
    assert resp.status_code == 429 and "Retry-After" not in resp.headers
    assert resp.json()["message"].startswith("You have exceeded a secondary rate limit")
    assert resp.json()["documentation_url"].endswith("#about-secondary-rate-limits")
    remaining = int(resp.headers["X-RateLimit-Remaining"])
    assert 0 < remaining < 5000
    assert resp.headers["X-RateLimit-Limit"] == "5000"
    assert resp.headers["X-RateLimit-Resource"] == "core"
    assert int(resp.headers["X-RateLimit-Used"]) == 5000 - remaining
    assert int(resp.headers["X-RateLimit-Reset"]) > time.time()

    fake.secondary_rate_limit(times=1, retry_after=5, status=429)
    resp = raw(fake, token, "GET", "/user")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "5"
    fake.secondary_rate_limit(times=1, retry_after=None)
    resp = raw(fake, token, "GET", "/user")
    assert resp.status_code == 403 and "Retry-After" not in resp.headers
    assert int(resp.headers["X-RateLimit-Remaining"]) > 0

    # PyGithub: a 403 is a RateLimitExceededException, a 429 a plain GithubException(429).
    fake.secondary_rate_limit(times=1, retry_after=None)
    with pytest.raises(github.RateLimitExceededException):
        world.gh.get_user().login  # noqa: B018
    fake.secondary_rate_limit(times=1, retry_after=None, status=429)
    assert error_of(lambda: world.gh.get_user("alice").login).status == 429
    # The default retry policy honours a 429's Retry-After.
    fake.secondary_rate_limit(times=1, retry_after=0, path_regex="^/user$", status=429)
    assert fake.client(token).get_user().login == "promo-bot"
    with pytest.raises(ValueError):
        fake.secondary_rate_limit(status=500)


def test_head_not_yet_visible(world: World) -> None:
    """422 Validation Failed with errors [{resource PullRequest, field head, code invalid}],
    nothing created, then creation works.

    Sources: /work/shared/NOTES.md ("Right after a push, creating the PR can answer 422 with
    field: head, code: invalid for a moment"); GitHub REST docs "Create a pull request" (422
    "Validation failed"); the body shape as GitHub sends it for an unknown head (the fake's
    own test_create_pull_duplicate_and_validation).
    """
    fake = world.fake
    world.branch("fresh", {"f.txt": "f"})
    fake.head_not_yet_visible(OWNER, NAME, times=1)
    err = error_of(lambda: world.repo.create_pull(base="main", head="fresh", title="t"))
    assert err.status == 422
    assert err.data == {
        "message": "Validation Failed",
        "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
        "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
        "status": "422",
    }
    assert fake.pulls(OWNER, NAME) == [] and fake.issues(OWNER, NAME) == []
    pr = world.repo.create_pull(base="main", head="fresh", title="t")
    assert pr.number == 1


def test_lag_pull_listing_hides_young_pull_requests(world: World) -> None:
    """The next `times` list requests leave out PRs created in the last 60 seconds.

    Source: NordSecurity/libtelio PR #1881 ("the pulls list API ... lags PR creation - a push
    racing PR-open, or read-replica lag - so it returned 0"), while GET /pulls/{n} finds the
    PR. The 60-second window is the fake's choice, not a GitHub figure.
    """
    fake = world.fake
    old = world.pr("old")
    young = world.pr("young")
    # Age the first PR past the window (the fake's own state).
    with fake._backend.lock:
        repo_state = fake._backend.find_repo(OWNER, NAME)
        assert repo_state is not None
        pd = repo_state.issues[old.number].pull
        assert pd is not None
        pd.created_ts -= 120
    fake.lag_pull_listing(OWNER, NAME, times=2)
    assert [p.number for p in world.repo.get_pulls(state="all")] == [old.number]
    assert [p.number for p in world.repo.get_pulls(head=f"{OWNER}:young")] == []
    assert world.repo.get_pull(young.number).title == "Promote"
    assert [p.number for p in world.repo.get_pulls()] == [young.number, old.number]


def test_deny_push(world: World) -> None:
    """A token without push access: 403 "Must have push access to view collaborator
    permission." on GET /collaborators/{user}/permission, no writes, no git push.

    Source: PyGithub tests/ReplayData/Repository.testCollaboratorPermissionNoPushAccess.txt
    (403, {"documentation_url": "https://developer.github.com/v3/repos/collaborators/
    #review-a-users-permission-level", "message": "Must have push access to view collaborator
    permission."}, X-RateLimit-Remaining 4980).
    """
    fake, tmp = world.fake, world.tmp
    fake.deny_push(OWNER, NAME, "promo-bot")
    gh = fake.client(world.bot.token, retry=None)
    repo = gh.get_repo(f"{OWNER}/{NAME}")
    assert repo.permissions.push is False and repo.permissions.pull is True
    resp = raw(
        fake, world.bot.token, "GET", f"/repos/{OWNER}/{NAME}/collaborators/alice/permission"
    )
    assert resp.status_code == 403
    assert resp.json()["message"] == "Must have push access to view collaborator permission."
    assert resp.json()["documentation_url"] == (
        "https://developer.github.com/v3/repos/collaborators/#review-a-users-permission-level"
    )
    assert int(resp.headers["X-RateLimit-Remaining"]) > 0
    err = error_of(lambda: repo.get_collaborator_permission("alice"))
    assert err.status == 403
    # Others see a read-only collaborator.
    alice = fake.client(world.alice.token, retry=None).get_repo(f"{OWNER}/{NAME}")
    assert alice.get_collaborator_permission("promo-bot") == "read"
    assert repo.get_contents("prod.yaml").decoded_content == b"v: 1\n"  # reads still work
    world.branch("feat", {"x": "1"})
    pr = alice.create_pull(base="main", head="feat", title="by alice")
    assert error_of(repo.get_pull(pr.number).merge).status == 403
    clone = tmp / "denied"
    header = fake.git_auth_header(world.bot.token)
    git(tmp, "clone", "-q", fake.clone_url(OWNER, NAME), str(clone), header=header)
    git(clone, "commit", "-q", "--allow-empty", "-m", "x")
    push = git(clone, "push", "origin", "HEAD:refs/heads/denied", header=header, check=False)
    assert push.returncode != 0 and "403" in push.stderr


def test_hide_contents(world: World) -> None:
    """404 Not Found from the contents API for a token that may not see the files, even for a
    file that exists and for the root listing.

    Sources: GitHub REST docs, "Troubleshooting" ("404 error for an existing repository": the
    API answers 404 rather than 403 not to reveal what a token cannot see); body and
    documentation_url of GitHub REST docs "Get repository content" (404 Resource not found).
    """
    fake = world.fake
    world.branch("main", {"dir/a.txt": "a\n"})
    listing = world.repo.get_contents("")
    assert isinstance(listing, list)
    assert sorted((c.path, c.type) for c in listing) == [
        ("README.md", "file"),
        ("dir", "dir"),
        ("prod.yaml", "file"),
    ]
    sub = world.repo.get_contents("dir")
    assert isinstance(sub, list) and [c.path for c in sub] == ["dir/a.txt"]

    fake.hide_contents(OWNER, NAME, "promo-bot")
    for path in ("prod.yaml", "", "dir", "missing.txt"):
        with pytest.raises(github.UnknownObjectException) as exc:
            world.repo.get_contents(path)
        assert exc.value.status == 404
        assert exc.value.data == {
            "message": "Not Found",
            "documentation_url": "https://docs.github.com/rest/repos/contents#get-repository-content",
            "status": "404",
        }
    alice = fake.client(world.alice.token, retry=None).get_repo(f"{OWNER}/{NAME}")
    found = alice.get_contents("prod.yaml")
    assert not isinstance(found, list) and found.decoded_content == b"v: 1\n"


def test_team_reviewers_must_be_collaborators(world: World) -> None:
    """422 "Reviews may only be requested from collaborators..." for a team or user that is not
    a collaborator; nobody is requested then.

    Sources: the team sentence as recorded by Dependabot in freifunkMUC/wg-access-server PR #335
    (422, documentation_url .../pulls#request-reviewers-for-a-pull-request) and in
    projectcontour/contour PR #5998; the users-or-teams sentence with its documentation_url in
    peter-evans/create-pull-request issue #4138.
    """
    fake = world.fake
    doc = "https://docs.github.com/rest/pulls/review-requests#request-reviewers-for-a-pull-request"
    team_id = fake.add_team(OWNER, "ml-platform", repos=[f"{OWNER}/{NAME}"])
    fake.add_team(OWNER, "elsewhere", repos=[f"{OWNER}/other-repo"])
    pr = world.pr("feat")
    for teams in (["elsewhere"], ["ghost"], ["ml-platform", "elsewhere"]):
        err = error_of(
            lambda teams=teams: pr.create_review_request(reviewers=["alice"], team_reviewers=teams)
        )
        assert err.status == 422
        assert err.data["message"] == (
            "Reviews may only be requested from collaborators. One or more of the teams you "
            f"specified is not a collaborator of the {OWNER}/{NAME} repository."
        )
        assert err.data["documentation_url"] == doc
    assert fake.requested_reviewers(OWNER, NAME, pr.number) == {"users": [], "teams": []}

    fake.add_user("carol")  # a user, not a collaborator
    err = error_of(lambda: pr.create_review_request(reviewers=["alice", "carol"]))
    assert (err.status, err.data["message"]) == (
        422,
        "Reviews may only be requested from collaborators. One or more of the users or teams "
        f"you specified is not a collaborator of the {OWNER}/{NAME} repository.",
    )
    assert fake.requested_reviewers(OWNER, NAME, pr.number) == {"users": [], "teams": []}

    pr.create_review_request(reviewers=["alice"], team_reviewers=["ml-platform"])
    users, teams = pr.get_review_requests()
    assert [u.login for u in users] == ["alice"]
    assert [(t.slug, t.id) for t in teams] == [("ml-platform", team_id)]


def test_refuse_labels(world: World) -> None:
    """403 "Resource not accessible by integration" for label writes.

    Sources: the recorded body in belastingdienst/opr-paas issue #61 ({"message": "Resource not
    accessible by integration", "documentation_url":
    "https://docs.github.com/rest/issues/labels#add-labels-to-an-issue", "status": "403"}) and
    the recorded headers in Financial-Times/github-label-sync issue #188
    (x-accepted-github-permissions: issues=write; pull_requests=write, x-ratelimit-remaining
    above zero).
    """
    fake = world.fake
    pr = world.pr("feat")
    pr.add_to_labels("kept")
    fake.refuse_labels(OWNER, NAME)
    resp = raw(
        fake,
        world.bot.token,
        "POST",
        f"/repos/{OWNER}/{NAME}/issues/{pr.number}/labels",
        json={"labels": ["promotion"]},
    )
    assert resp.status_code == 403
    assert resp.json() == {
        "message": "Resource not accessible by integration",
        "documentation_url": "https://docs.github.com/rest/issues/labels#add-labels-to-an-issue",
        "status": "403",
    }
    assert resp.headers["X-Accepted-GitHub-Permissions"] == "issues=write; pull_requests=write"
    assert int(resp.headers["X-RateLimit-Remaining"]) > 0
    err = error_of(lambda: pr.add_to_labels("promotion"))
    assert err.status == 403
    assert error_of(lambda: pr.set_labels("x")).status == 403
    assert error_of(lambda: pr.remove_from_labels("kept")).status == 403
    assert fake.issue_labels(OWNER, NAME, pr.number) == ["kept"]


def test_test_merge_commit_and_mergeability_job(world: World) -> None:
    """An open PR's merge_commit_sha is GitHub's test merge (a real merge commit of head into
    base that no branch points at); mergeable is null on the first read after creation or a
    push, then computed.

    Sources: GitHub REST docs "Get a pull request" ("GitHub creates a merge commit to test
    whether the pull request can be automatically merged ... This test commit is not added to
    the base branch or the head branch"; "If the value is null, then GitHub has started a
    background job to compute the mergeability"; "If mergeable is true, then merge_commit_sha
    will be the SHA of the test merge commit"); the test merge's message "Merge HEAD into BASE"
    as recorded in actions/checkout issue #261.
    """
    fake = world.fake
    moved = fake.commit_files(OWNER, NAME, "main", {"other.txt": "o\n"}, "Main moved")
    pr = world.pr("feat")
    assert (pr.mergeable, pr.mergeable_state, pr.merge_commit_sha) == (None, "unknown", None)
    first = world.repo.get_pull(pr.number)
    assert (first.mergeable, first.mergeable_state, first.merge_commit_sha) == (
        None,
        "unknown",
        None,
    )
    second = world.repo.get_pull(pr.number)
    assert second.mergeable is True and second.mergeable_state == "clean"
    test_merge = second.merge_commit_sha
    assert test_merge is not None
    assert bare_git(fake, "log", "-1", "--format=%P", test_merge).split() == [moved, pr.head.sha]
    assert bare_git(fake, "log", "-1", "--format=%s", test_merge) == (
        f"Merge {pr.head.sha} into {moved}"
    )
    assert bare_git(fake, "show", f"{test_merge}:feat.txt") == "feat"
    assert bare_git(fake, "branch", "--contains", test_merge) == ""
    assert bare_git(fake, "for-each-ref", "--points-at", test_merge) == ""
    assert world.repo.get_pull(pr.number).merge_commit_sha == test_merge  # stable
    listed = raw(fake, world.bot.token, "GET", f"/repos/{OWNER}/{NAME}/pulls").json()
    assert listed[0]["merge_commit_sha"] == test_merge

    newer = world.branch("feat", {"feat.txt": "feat 2"})
    again = world.repo.get_pull(pr.number)
    assert again.head.sha == newer and again.mergeable is None
    again = world.repo.get_pull(pr.number)
    assert again.mergeable is True and again.merge_commit_sha not in (None, test_merge)
    status = pr.merge()
    assert world.repo.get_pull(pr.number).merge_commit_sha == status.sha


# --------------------------------------------------------------------------- history of a commit
COMMIT_PULLS_DOC = (
    "https://docs.github.com/en/rest/commits/commits#list-pull-requests-associated-with-a-commit"
)


def commit_pulls(world: World, ref: str) -> list[int]:
    """`GET /commits/{ref}/pulls` through PyGithub (`Commit.get_pulls`): the PR numbers."""
    return [p.number for p in world.repo.get_commit(ref).get_pulls()]


def test_pulls_associated_with_a_commit(world: World) -> None:
    """`GET /repos/{o}/{r}/commits/{sha}/pulls` (COMMIT_PULLS_DOC): "Lists the merged pull
    request that introduced the commit to the repository. If the commit is not present in the
    default branch, will only return open pull requests associated with the commit. To list
    the open or merged pull requests associated with a branch, you can set the commit_sha
    parameter to the branch name." The items have the list shape of `GET /pulls` (a merged
    PR's `merge_commit_sha` is the commit asked about), as recorded in PyGithub's
    tests/ReplayData/Commit.testGetPulls.txt.
    """
    fake, repo = world.fake, world.repo
    # Merge commit: the merge commit and the PR's own commit (its second parent) map to it.
    merged = world.pr("merged")
    head = merged.head.sha
    merge_sha = merged.merge().sha
    assert commit_pulls(world, merge_sha) == [merged.number]
    assert commit_pulls(world, head) == [merged.number]
    # Squash: the squash commit maps to it; the squashed-away commit is on no branch of main's.
    squashed = world.pr("squashed")
    squashed_head = squashed.head.sha
    squash_sha = squashed.merge(merge_method="squash").sha
    assert commit_pulls(world, squash_sha) == [squashed.number]
    assert commit_pulls(world, squashed_head) == []  # not on main, and the PR is not open
    # Rebase: every replayed commit maps back to the PR (merge_commit_sha is the last one).
    fake.commit_files(OWNER, NAME, "rebased", {"r1.txt": "1\n"}, "R1")
    fake.commit_files(OWNER, NAME, "rebased", {"r2.txt": "2\n"}, "R2")
    rebased = repo.create_pull(base="main", head="rebased", title="Rebase")
    before = fake.branch_sha(OWNER, NAME, "main")
    tip = rebased.merge(merge_method="rebase").sha
    replayed = bare_git(fake, "rev-list", "--reverse", f"{before}..{tip}").split()
    assert len(replayed) == 2 and replayed[-1] == tip
    for sha in replayed:
        assert commit_pulls(world, sha) == [rebased.number]
    # A direct push to main: no pull request.
    pushed = fake.commit_files(OWNER, NAME, "main", {"hotfix.txt": "x\n"}, "Hotfix")
    assert commit_pulls(world, pushed) == []
    # Not on main: the open PRs whose head contains it (a closed one is left out).
    first = world.branch("stack", {"s1.txt": "1\n"}, "S1")
    open_pr = repo.create_pull(base="main", head="stack", title="Stack")
    fake.create_branch(OWNER, NAME, "stack2", from_ref="stack")
    world.branch("stack2", {"s2.txt": "2\n"}, "S2")
    stacked = repo.create_pull(base="main", head="stack2", title="Stack 2")
    fake.create_branch(OWNER, NAME, "stack3", from_ref="stack")
    world.branch("stack3", {"s3.txt": "3\n"}, "S3")
    closed = repo.create_pull(base="main", head="stack3", title="Stack 3")
    closed.edit(state="closed")
    assert commit_pulls(world, first) == [open_pr.number, stacked.number]
    # A branch name: its open or merged pull requests.
    assert commit_pulls(world, "stack2") == [stacked.number]
    assert commit_pulls(world, "merged") == [merged.number]

    # Plain HTTP: the list shape, pagination, and GET /commits/{sha} still answered.
    path = f"/repos/{OWNER}/{NAME}/commits/{first}/pulls"
    resp = raw(fake, world.bot.token, "GET", path, params={"per_page": 1})
    assert resp.status_code == 200 and 'rel="next"' in resp.headers["Link"]
    (item,) = resp.json()
    listed = raw(fake, world.bot.token, "GET", f"/repos/{OWNER}/{NAME}/pulls").json()
    assert set(item) == set(listed[0]) and "merged_by" not in item and "mergeable" not in item
    page = raw(fake, world.bot.token, "GET", f"/repos/{OWNER}/{NAME}/commits/{merge_sha}/pulls")
    assert page.json()[0]["merge_commit_sha"] == merge_sha
    assert page.json()[0]["merged_at"] is not None
    commit = raw(fake, world.bot.token, "GET", f"/repos/{OWNER}/{NAME}/commits/{merge_sha}")
    assert commit.status_code == 200 and commit.json()["sha"] == merge_sha
    unknown = raw(fake, world.bot.token, "GET", f"/repos/{OWNER}/{NAME}/commits/{'e' * 40}/pulls")
    assert unknown.status_code == 422
    assert unknown.json()["message"] == f"No commit found for SHA: {'e' * 40}"


def test_merged_by_merged_at_and_closed_by(world: World) -> None:
    """A merged PR's single-PR JSON carries `merged_by` (a user) and `merged_at`, `closed_at`
    (GitHub REST docs, "Get a pull request":
    https://docs.github.com/en/rest/pulls/pulls#get-a-pull-request); the list shape has no
    `merged_by` (Commit.testGetPulls.txt, above). The issue of a PR closed with
    `PATCH /pulls/{n}` `state=closed` names who closed it in `closed_by` (a user, null while
    open; "Get an issue": https://docs.github.com/en/rest/issues/issues#get-an-issue).
    A merge closes the issue too; the fake names the merger (not verified).
    """
    fake = world.fake
    pr = world.pr("feat")
    as_alice = fake.client(world.alice.token, retry=None).get_repo(f"{OWNER}/{NAME}")
    assert world.repo.get_issue(pr.number).closed_by is None
    as_alice.get_pull(pr.number).edit(state="closed")
    closed = world.repo.get_pull(pr.number)
    assert closed.state == "closed" and not closed.merged and closed.merged_by is None
    assert closed.closed_at is not None and closed.merged_at is None
    issue = world.repo.get_issue(pr.number)
    assert issue.closed_by is not None and issue.closed_by.login == "alice"
    assert issue.closed_at == closed.closed_at
    pr.edit(state="open")
    assert world.repo.get_issue(pr.number).closed_by is None

    as_alice.get_pull(pr.number).merge()
    merged = world.repo.get_pull(pr.number)
    assert merged.merged_by.login == "alice" and merged.merged_at is not None
    assert merged.closed_at == merged.merged_at
    assert world.repo.get_issue(pr.number).closed_by.login == "alice"
    raw_pull = raw(fake, world.bot.token, "GET", f"/repos/{OWNER}/{NAME}/pulls/{pr.number}")
    assert raw_pull.json()["merged_by"]["login"] == "alice"
    assert raw_pull.json()["merged_at"].endswith("Z")


def test_reviews_states_users_and_dismissal(world: World) -> None:
    """`GET /pulls/{n}/reviews` lists reviews in chronological order with `user`, `state`
    (APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED) and `submitted_at` (GitHub REST docs,
    "List reviews for a pull request":
    https://docs.github.com/en/rest/pulls/reviews#list-reviews-for-a-pull-request).
    `PUT /pulls/{n}/reviews/{id}/dismissals` turns one DISMISSED, keeping its body and
    `submitted_at` (https://docs.github.com/en/rest/pulls/reviews#dismiss-a-review-for-a-pull-request;
    recorded in PyGithub's tests/ReplayData/PullRequestReview.testDismiss.txt).
    `add_review` seeds a review as another user without a token.
    """
    fake = world.fake
    pr = world.pr("feat")
    alice = fake.client(world.alice.token, retry=None).get_repo(f"{OWNER}/{NAME}")
    alice.get_pull(pr.number).create_review(event="APPROVE")
    fake.add_review(OWNER, NAME, pr.number, "bob", "CHANGES_REQUESTED", body="no")
    fake.add_review(OWNER, NAME, pr.number, "carol", "COMMENTED", body="hm")
    review_id = fake.add_review(OWNER, NAME, pr.number, "dave", "APPROVED")
    reviews = list(pr.get_reviews())
    assert [(r.user.login, r.state) for r in reviews] == [
        ("alice", "APPROVED"),
        ("bob", "CHANGES_REQUESTED"),
        ("carol", "COMMENTED"),
        ("dave", "APPROVED"),
    ]
    assert all(r.submitted_at is not None for r in reviews)
    assert reviews[3].id == review_id and reviews[3].commit_id == pr.head.sha

    dismissed = reviews[3]
    dismissed.dismiss("stale")
    assert dismissed.state == "DISMISSED"
    again = list(pr.get_reviews())[3]
    assert (again.state, again.submitted_at, again.body) == (
        "DISMISSED",
        reviews[3].submitted_at,
        "",
    )
    assert fake.reviews(OWNER, NAME, pr.number)[3]["state"] == "DISMISSED"
    fake.add_review(OWNER, NAME, pr.number, "erin", "DISMISSED")
    assert list(pr.get_reviews())[-1].state == "DISMISSED"
    with pytest.raises(ValueError):
        fake.add_review(OWNER, NAME, pr.number, "promo-bot", "APPROVED")  # the author
    with pytest.raises(ValueError):
        fake.add_review(OWNER, NAME, pr.number, "alice", "LGTM")


SQUASH_DOC = (
    "https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/"
    "configuring-pull-request-merges/configuring-commit-squashing-for-pull-requests"
)
REPO_UPDATE_DOC = "https://docs.github.com/en/rest/repos/repos#update-a-repository"


@pytest.mark.parametrize(
    ("title", "message", "expected"),
    [
        ("COMMIT_OR_PR_TITLE", "COMMIT_MESSAGES", "Two things (#{n})\n\n* Add c\n\n* Add d"),
        ("PR_TITLE", "PR_BODY", "Two things (#{n})\n\nThe description.\n\nModel: x"),
        ("PR_TITLE", "BLANK", "Two things (#{n})"),
        ("PR_TITLE", "COMMIT_MESSAGES", "Two things (#{n})\n\n* Add c\n\n* Add d"),
    ],
)
def test_set_squash_message_defaults(world: World, title: str, message: str, expected: str) -> None:
    """A squash merge without commit_title / commit_message writes the repository's defaults,
    `squash_merge_commit_title` (PR_TITLE | COMMIT_OR_PR_TITLE) and
    `squash_merge_commit_message` (PR_BODY | COMMIT_MESSAGES | BLANK), GitHub REST docs
    "Update a repository" (REPO_UPDATE_DOC); the UI's choices, e.g. "Default to pull request
    title and description", in SQUASH_DOC. The repository JSON reports them. COMMIT_OR_PR_TITLE
    with two commits is the PR title; with one it would be the commit's (see
    test_squash_merge_is_one_commit_with_title_and_message).
    """
    fake = world.fake
    fake.set_squash_message(OWNER, NAME, title=title, message=message)
    repo = world.gh.get_repo(f"{OWNER}/{NAME}")
    assert (repo.squash_merge_commit_title, repo.squash_merge_commit_message) == (title, message)
    assert repo.use_squash_pr_title_as_default is (title == "PR_TITLE")
    fake.commit_files(OWNER, NAME, "multi", {"c.txt": "c\n"}, "Add c")
    fake.commit_files(OWNER, NAME, "multi", {"d.txt": "d\n"}, "Add d")
    pr = repo.create_pull(
        base="main", head="multi", title="Two things", body="The description.\n\nModel: x"
    )
    sha = pr.merge(merge_method="squash").sha
    assert bare_git(fake, "log", "-1", "--format=%B", sha) == expected.format(n=pr.number)


def test_squash_settings_through_patch_repo(world: World) -> None:
    """`PATCH /repos/{o}/{r}` (REPO_UPDATE_DOC) sets the squash defaults (PyGithub's
    `Repository.edit`), and the single-commit PR_TITLE default drops the commit's title.
    An unknown value answers 422 (body not verified) and changes nothing; `set_squash_message`
    refuses one (ValueError)."""
    fake = world.fake
    world.repo.edit(squash_merge_commit_title="PR_TITLE", squash_merge_commit_message="PR_BODY")
    repo = world.gh.get_repo(f"{OWNER}/{NAME}")
    assert (repo.squash_merge_commit_title, repo.squash_merge_commit_message) == (
        "PR_TITLE",
        "PR_BODY",
    )
    fake.commit_files(OWNER, NAME, "one", {"e.txt": "e\n"}, "Add e\n\nWhy e.")
    pr = repo.create_pull(base="main", head="one", title="PR title", body="PR body")
    sha = pr.merge(merge_method="squash").sha
    assert bare_git(fake, "log", "-1", "--format=%B", sha) == f"PR title (#{pr.number})\n\nPR body"
    bad = raw(
        fake,
        world.bot.token,
        "PATCH",
        f"/repos/{OWNER}/{NAME}",
        json={"squash_merge_commit_message": "EVERYTHING"},
    )
    assert bad.status_code == 422 and bad.json()["message"] == "Validation Failed"
    assert world.gh.get_repo(f"{OWNER}/{NAME}").squash_merge_commit_message == "PR_BODY"
    world.repo.edit(use_squash_pr_title_as_default=False)
    assert world.gh.get_repo(f"{OWNER}/{NAME}").squash_merge_commit_title == "COMMIT_OR_PR_TITLE"
    with pytest.raises(ValueError):
        fake.set_squash_message(OWNER, NAME, title="PR_BODY")


# --------------------------------------------------------------------------- auto-merge (GraphQL)
AUTO_MERGE_DOC = (
    "https://docs.github.com/en/pull-requests/collaborating-with-pull-requests/"
    "incorporating-changes-from-a-pull-request/automatically-merging-a-pull-request"
)


def graphql_error(call: Callable[[], object]) -> dict[str, object]:
    """The one GraphQL error of a refused mutation (PyGithub raises 400 for any `errors`)."""
    err = error_of(call)
    assert err.status == 400
    (only,) = err.data["errors"]
    return only


def test_enable_auto_merge_refusals_are_graphql_errors(world: World) -> None:
    """`PullRequest.enable_automerge` posts GraphQL `enablePullRequestAutoMerge` to
    `/api/graphql` (PyGithub's GraphQL URL for a GHES-style base_url `.../api/v3`). Refusals
    answer HTTP 200 with `{"data": {"enablePullRequestAutoMerge": null}, "errors":
    [{"locations", "message", "path", "type": "UNPROCESSABLE"}]}`, as recorded in PyGithub's
    tests/ReplayData/PullRequest.testEnableAutomergeError.txt ("Pull request Auto merge is not
    allowed for this repository"; the repository's `allow_auto_merge`, off by default). With
    auto-merge allowed, a PR that could merge now is refused "Pull request Pull request is in
    clean status" (recorded with type UNPROCESSABLE in iterative/workshop-uncool-mlops'
    README, 2022, and peter-evans/enable-pull-request-automerge issue #1118, 2025: GitHub
    arms auto-merge only while a rule of the base's protection is unmet); a closed one "Pull
    request Pull request is closed" (peter-evans/enable-pull-request-automerge issue #1060);
    a disallowed method "Merge method merge commits are not allowed on this repository"
    (hashicorp/homebrew-tap PR #372). Not verified: "... is in dirty status" for a conflict.
    `locations` points at the mutation's field in the query (line 8, column 13 in the 2022
    recording's multi-line query; PyGithub's recording says column 81, which fits the longer
    operation name of an older PyGithub query, 18 characters more than today's).
    """
    fake = world.fake
    pr = world.pr("feat")
    assert world.repo.allow_auto_merge is False
    refused = error_of(lambda: pr.enable_automerge(merge_method="SQUASH"))
    assert refused.status == 400
    assert refused.data == {
        "data": {"enablePullRequestAutoMerge": None},
        "errors": [
            {
                "locations": [{"column": 63, "line": 1}],
                "message": "Pull request Auto merge is not allowed for this repository",
                "path": ["enablePullRequestAutoMerge"],
                "type": "UNPROCESSABLE",
            }
        ],
    }
    assert fake.requests[-1][:3] == ("POST", "/graphql", {})

    fake.set_auto_merge_allowed(OWNER, NAME, True)
    clean = graphql_error(lambda: pr.enable_automerge(merge_method="SQUASH"))
    assert (clean["type"], clean["message"]) == (
        "UNPROCESSABLE",
        "Pull request Pull request is in clean status",
    )
    fake.protect_branch(OWNER, NAME, "main", required_checks=["ci"])
    fake.set_commit_status(OWNER, NAME, pr.head.sha, "ci", "success")  # nothing left to wait for
    assert graphql_error(pr.enable_automerge)["message"] == (
        "Pull request Pull request is in clean status"
    )
    fake.set_merge_methods(OWNER, NAME, merge=False)
    fake.set_commit_status(OWNER, NAME, pr.head.sha, "ci", "pending")
    assert graphql_error(pr.enable_automerge)["message"] == (
        "Merge method merge commits are not allowed on this repository"
    )
    fake.commit_files(OWNER, NAME, "clash", {"prod.yaml": "v: left\n"}, "Left")
    fake.commit_files(OWNER, NAME, "main", {"prod.yaml": "v: right\n"}, "Right")
    clash = world.repo.create_pull(base="main", head="clash", title="Clash")
    assert graphql_error(lambda: clash.enable_automerge(merge_method="SQUASH"))["message"] == (
        "Pull request Pull request is in dirty status"
    )
    clash.edit(state="closed")
    assert graphql_error(lambda: clash.enable_automerge(merge_method="SQUASH"))["message"] == (
        "Pull request Pull request is closed"
    )
    assert world.repo.get_pull(pr.number).auto_merge is None  # nothing was armed


def test_auto_merge_merges_once_required_checks_pass(world: World) -> None:
    """An armed auto-merge shows in the REST PR JSON as `auto_merge` (`enabled_by`,
    `merge_method` in REST spelling, `commit_title`, `commit_message`: GitHub REST docs, "Get a
    pull request", https://docs.github.com/en/rest/pulls/pulls#get-a-pull-request, and the
    `auto-merge` schema of GitHub's OpenAPI description; empty strings when none were given,
    as recorded in google/go-github issue #1881) and in the list shape. The success answer is
    `{"data": {"enablePullRequestAutoMerge": {"actor": {"avatarUrl", "login", "resourcePath",
    "url"}, "clientMutationId": null}}}` (PyGithub's PullRequest.testEnableAutomerge.txt).
    GitHub merges the PR "when all required reviews are met and all required status checks
    have passed" (AUTO_MERGE_DOC), by the method armed, merged by whoever armed it; the fake
    merges synchronously, on the status that turns the last required check green (GitHub
    merges asynchronously, moments later).
    """
    fake = world.fake
    fake.set_auto_merge_allowed(OWNER, NAME, True)
    fake.protect_branch(OWNER, NAME, "main", required_checks=["ci"])
    pr = world.pr("feat")
    answer = pr.enable_automerge(
        merge_method="SQUASH", commit_headline="Promote feat", commit_body="Model: m"
    )
    assert answer == {
        "actor": {
            "avatarUrl": f"{fake.base_url}/avatars/u/{world.bot.id}?v=4",
            "login": "promo-bot",
            "resourcePath": "/promo-bot",
            "url": f"{fake.base_url}/promo-bot",
        },
        "clientMutationId": None,
    }
    armed = world.repo.get_pull(pr.number)
    assert armed.auto_merge["merge_method"] == "squash"
    assert armed.auto_merge["enabled_by"]["login"] == "promo-bot"
    assert (armed.auto_merge["commit_title"], armed.auto_merge["commit_message"]) == (
        "Promote feat",
        "Model: m",
    )
    (listed,) = world.repo.get_pulls(state="open")
    assert listed.raw_data["auto_merge"]["merge_method"] == "squash"

    world.repo.get_commit(pr.head.sha).create_status("pending", context="ci")
    assert not world.repo.get_pull(pr.number).merged
    as_alice = fake.client(world.alice.token, retry=None).get_repo(f"{OWNER}/{NAME}")
    as_alice.get_commit(pr.head.sha).create_status("success", context="ci")
    merged = world.repo.get_pull(pr.number)
    assert merged.merged and merged.state == "closed"
    assert merged.merged_by.login == "promo-bot"  # who armed it, not who posted the status
    tip = bare_git(fake, "rev-parse", "refs/heads/main")
    assert merged.merge_commit_sha == tip
    assert len(bare_git(fake, "log", "-1", "--format=%P", tip).split()) == 1  # squashed
    assert bare_git(fake, "log", "-1", "--format=%B", tip) == "Promote feat\n\nModel: m"


def test_auto_merge_waits_for_approving_reviews_and_can_be_disabled(world: World) -> None:
    """Required approving reviews hold an armed auto-merge until they are met: an approval
    through `POST /pulls/{n}/reviews` or `add_review` merges the PR then, with the method
    armed (a merge commit here: MERGE is the mutation's default). `disablePullRequestAutoMerge`
    (PyGithub's PullRequest.testDisableAutomerge.txt: the same answer shape) clears
    `auto_merge`, and nothing merges.
    """
    fake = world.fake
    fake.set_auto_merge_allowed(OWNER, NAME, True)
    fake.protect_branch(OWNER, NAME, "main", required_reviews=1)
    first, second = world.pr("one"), world.pr("two")
    first.enable_automerge()
    second.enable_automerge(merge_method="REBASE")
    assert second.disable_automerge()["actor"]["login"] == "promo-bot"
    assert world.repo.get_pull(second.number).auto_merge is None
    as_alice = fake.client(world.alice.token, retry=None).get_repo(f"{OWNER}/{NAME}")
    as_alice.get_pull(second.number).create_review(event="APPROVE")
    assert not world.repo.get_pull(second.number).merged  # disarmed: stays open
    fake.add_user("reader")
    fake.set_permission(OWNER, NAME, "reader", "read")
    fake.add_review(OWNER, NAME, first.number, "reader")  # no write access: does not count
    assert not world.repo.get_pull(first.number).merged
    fake.add_review(OWNER, NAME, first.number, "alice")
    merged = world.repo.get_pull(first.number)
    assert merged.merged and merged.merged_by.login == "promo-bot"
    assert len(bare_git(fake, "log", "-1", "--format=%P", merged.merge_commit_sha).split()) == 2


def test_auto_merge_graphql_edges(world: World) -> None:
    """An unknown `pullRequestId` answers one error of type NOT_FOUND "Could not resolve to a
    node with the global id of 'ID'." (as GitHub words it for any node id), which PyGithub
    raises as UnknownObjectException (404). `POST /graphql` (github.com's path) is served as
    `/api/graphql` is. Under `enforce_permissions` a read-only collaborator is refused "Pull
    request User is not allowed to push to this repository" (gh's output in
    dependabot/fetch-metadata issue #646; its `type` is not verified). A query other than the
    two mutations gets a fake-only error (the fake has no GraphQL schema).
    """
    fake = world.fake
    fake.set_auto_merge_allowed(OWNER, NAME, True)
    fake.protect_branch(OWNER, NAME, "main", required_checks=["ci"])
    pr = world.pr("feat")
    requester = world.gh.requester
    with pytest.raises(github.UnknownObjectException):
        requester.graphql_named_mutation(
            "enablePullRequestAutoMerge", {"pullRequestId": "PR_nope"}, "clientMutationId"
        )
    headers = {"Authorization": f"token {world.bot.token}"}
    query = (
        "mutation($input: EnablePullRequestAutoMergeInput!) {\n"
        "  enablePullRequestAutoMerge(input: $input) { clientMutationId }\n}"
    )
    answer = requests.post(
        f"{fake.base_url}/graphql",
        headers=headers,
        json={"query": query, "variables": {"input": {"pullRequestId": pr.node_id}}},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json()["data"]["enablePullRequestAutoMerge"]["clientMutationId"] is None
    assert world.repo.get_pull(pr.number).auto_merge["merge_method"] == "merge"
    other = requests.post(
        f"{fake.base_url}/api/graphql",
        headers=headers,
        json={"query": "{ viewer { login } }"},
        timeout=10,
    )
    assert other.status_code == 200 and "errors" in other.json()

    fake.enforce_permissions = True
    reader = fake.add_user("reader")
    fake.set_permission(OWNER, NAME, "reader", "read")
    as_reader = fake.client(reader.token, retry=None).get_repo(f"{OWNER}/{NAME}")
    refused = graphql_error(as_reader.get_pull(pr.number).enable_automerge)
    assert refused["message"] == "Pull request User is not allowed to push to this repository"


def test_allow_auto_merge_through_patch_repo(world: World) -> None:
    """`allow_auto_merge` in the repository JSON, settable by `PATCH /repos/{o}/{r}`
    (PyGithub's `Repository.edit(allow_auto_merge=...)`; GitHub REST docs, "Update a
    repository", REPO_UPDATE_DOC: "Whether to allow Auto-merge to be used on pull requests.",
    default false)."""
    assert world.repo.allow_auto_merge is False
    world.repo.edit(allow_auto_merge=True)
    assert world.gh.get_repo(f"{OWNER}/{NAME}").allow_auto_merge is True
    world.repo.edit(allow_auto_merge=False)
    assert world.gh.get_repo(f"{OWNER}/{NAME}").allow_auto_merge is False


def test_get_branch_protection(world: World) -> None:
    """`GET /repos/{o}/{r}/branches/{branch}/protection` (GitHub REST docs, "Get branch
    protection": https://docs.github.com/en/rest/branches/branch-protection#get-branch-protection):
    `required_status_checks` (`contexts`, `checks`) and `required_pull_request_reviews`
    (`required_approving_review_count`) as `protect_branch` set them, each only when that rule
    is on. An unprotected branch answers 404 {"message": "Branch not protected",
    "documentation_url": PROTECTION_DOC, "status": "404"}, as recorded (e.g. in
    0ssol1620-byte/tavonel-saas-foundation's docs, 2026). It needs admin rights: a token
    without them gets 404 "Not Found" with the same documentation_url (recorded for an
    account with pull access in quatricmorph/quatricmorph's notes; "measured live" against
    cli/cli in another recording), even where the branch is protected; the branch's own
    `protected` / `protection` summary ("Get a branch") stays readable.
    """
    fake = world.fake
    doc = "https://docs.github.com/rest/branches/branch-protection#get-branch-protection"
    admin = fake.add_user("root")
    fake.set_permission(OWNER, NAME, "root", "admin")
    as_admin = fake.client(admin.token, retry=None).get_repo(f"{OWNER}/{NAME}")
    path = f"/repos/{OWNER}/{NAME}/branches/main/protection"
    unprotected = raw(fake, admin.token, "GET", path)
    assert unprotected.status_code == 404
    assert unprotected.json() == {
        "message": "Branch not protected",
        "documentation_url": doc,
        "status": "404",
    }
    fake.protect_branch(OWNER, NAME, "main", required_reviews=2, required_checks=["ci", "lint"])
    rules = as_admin.get_branch("main").get_protection()
    assert rules.required_status_checks.contexts == ["ci", "lint"]
    assert rules.raw_data["required_status_checks"]["checks"] == [
        {"context": "ci", "app_id": None},
        {"context": "lint", "app_id": None},
    ]
    assert rules.required_pull_request_reviews.required_approving_review_count == 2
    assert rules.enforce_admins is False
    fake.protect_branch(OWNER, NAME, "main", required_checks=["ci"])
    only_checks = raw(fake, admin.token, "GET", path).json()
    assert "required_pull_request_reviews" not in only_checks
    assert only_checks["url"] == f"{fake.api_url}{path}"

    as_writer = raw(fake, world.bot.token, "GET", path)
    assert (as_writer.status_code, as_writer.json()) == (
        404,
        {"message": "Not Found", "documentation_url": doc, "status": "404"},
    )
    summary = world.repo.get_branch("main")
    assert summary.protected is True
    assert summary.raw_data["protection"]["required_status_checks"]["contexts"] == ["ci"]
