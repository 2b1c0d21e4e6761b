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
    full = world.repo.get_pull(conflict.number)
    assert full.mergeable is False and full.mergeable_state == "dirty"
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
