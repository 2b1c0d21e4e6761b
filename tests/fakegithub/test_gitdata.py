"""The fake's Git database endpoints and GraphQL `updateRefs`, through unmodified PyGithub on
real bare repositories (sources: the docstring of `tests.fakegithub._gitdata`)."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import github
import pytest
from github import GithubException, InputGitAuthor, InputGitTreeElement

from tests.fakegithub import FakeGitHub

ZERO = "0" * 40
UPDATE_REFS = (
    "mutation ($input: UpdateRefsInput!) { updateRefs(input: $input) { clientMutationId } }"
)


def _git(bare: Path, *args: str) -> str:
    return subprocess.run(
        ["git", f"--git-dir={bare}", *args], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(fake_github: FakeGitHub) -> tuple[FakeGitHub, Path, str]:
    """acme/env with one commit on main; returns the fake, the bare path, main's sha."""
    bare = fake_github.add_repo("acme", "env")
    fake_github.add_user("app", token="ghs_app0123456789abcdefABCDEF012345", type="Bot")
    fake_github.add_user("person", token="ghp_person0123456789abcdefABCDEF0123")
    fake_github.set_permission("acme", "env", "app", "write")
    fake_github.set_permission("acme", "env", "person", "write")
    sha = fake_github.commit_files(
        "acme",
        "env",
        "main",
        {"a/keep.txt": "keep\n", "a/gone.txt": "bye\n", "b/other.txt": "other\n"},
        "Seed",
    )
    return fake_github, bare, sha


def _client(fake: FakeGitHub, token: str) -> github.Github:
    return github.Github(
        base_url=fake.api_url,
        auth=github.Auth.Token(token),
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


def _commit(
    fake: FakeGitHub, token: str, base: str, files: dict[str, str | None], **kwargs: object
) -> github.GitCommit.GitCommit:
    gh_repo = _client(fake, token).get_repo("acme/env")
    parent = gh_repo.get_git_commit(base)
    elements = [
        InputGitTreeElement(path, "100644", "blob", content=text)
        if text is not None
        else InputGitTreeElement(path, "100644", "blob", sha=None)
        for path, text in files.items()
    ]
    tree = gh_repo.create_git_tree(elements, parent.tree)
    return gh_repo.create_git_commit("Change a", tree, [parent], **kwargs)  # type: ignore[arg-type]


def test_a_tree_on_base_tree_changes_only_its_entries_and_is_a_real_git_tree(repo) -> None:
    fake, bare, main = repo
    commit = _commit(fake, "ghs_app0123456789abcdefABCDEF012345", main, {
        "a/keep.txt": "changed\n", "a/gone.txt": None, "a/new.txt": "new\n",
    })  # fmt: skip
    listing = _git(bare, "ls-tree", "-r", "--name-only", commit.sha).split()
    assert listing == ["a/keep.txt", "a/new.txt", "b/other.txt"]
    assert _git(bare, "show", f"{commit.sha}:a/keep.txt") == "changed\n"
    assert _git(bare, "rev-parse", f"{commit.sha}^").strip() == main
    # Without base_tree, the tree holds only the entries given (the docs' warning).
    gh_repo = _client(fake, "ghs_app0123456789abcdefABCDEF012345").get_repo("acme/env")
    lone = gh_repo.create_git_tree([InputGitTreeElement("x.txt", "100644", "blob", content="x")])
    assert [e.path for e in lone.tree] == ["x.txt"]


def test_an_app_commit_without_author_is_signed_and_reported_verified(repo) -> None:
    fake, bare, main = repo
    commit = _commit(fake, "ghs_app0123456789abcdefABCDEF012345", main, {"a/keep.txt": "v2\n"})
    assert commit.raw_data["verification"]["verified"] is True
    assert commit.raw_data["verification"]["reason"] == "valid"
    assert commit.committer.name == "GitHub" and commit.committer.email == "noreply@github.com"
    # A real git commit, with the signature in its gpgsig header...
    assert "gpgsig -----BEGIN PGP SIGNATURE-----" in _git(bare, "cat-file", "commit", commit.sha)
    # ...and every endpoint that shows the commit reports it verified.
    gh_repo = _client(fake, "ghp_person0123456789abcdefABCDEF0123").get_repo("acme/env")
    assert gh_repo.get_commit(commit.sha).commit.raw_data["verification"]["verified"] is True
    assert gh_repo.get_git_commit(commit.sha).raw_data["verification"]["verified"] is True


def test_a_personal_token_or_a_given_author_gives_an_unsigned_commit(repo) -> None:
    """As recorded (PyGithub Repository.testCreateGitCommit.txt, a personal token):
    verified false, reason unsigned, signature and payload null."""
    fake, bare, main = repo
    by_person = _commit(fake, "ghp_person0123456789abcdefABCDEF0123", main, {"a/keep.txt": "p\n"})
    author = InputGitAuthor("Model Bot", "bot@example.com")
    with_author = _commit(
        fake, "ghs_app0123456789abcdefABCDEF012345", main, {"a/keep.txt": "q\n"}, author=author
    )
    for commit in (by_person, with_author):
        assert commit.raw_data["verification"] == {
            "verified": False, "reason": "unsigned", "signature": None, "payload": None,
            "verified_at": None,
        }  # fmt: skip
        assert "gpgsig" not in _git(bare, "cat-file", "commit", commit.sha)
    assert with_author.author.name == "Model Bot"


def test_a_forged_signature_is_not_verified(repo) -> None:
    fake, bare, main = repo
    signed = _commit(fake, "ghs_app0123456789abcdefABCDEF012345", main, {"a/keep.txt": "s\n"})
    raw = _git(bare, "cat-file", "commit", signed.sha).replace("Change a", "Changed by hand")
    forged = subprocess.run(
        ["git", f"--git-dir={bare}", "hash-object", "-t", "commit", "-w", "--stdin"],
        input=raw, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    gh_repo = _client(fake, "ghp_person0123456789abcdefABCDEF0123").get_repo("acme/env")
    verification = gh_repo.get_git_commit(forged).raw_data["verification"]
    assert (verification["verified"], verification["reason"]) == (False, "unknown_key")


def test_both_sha_and_content_in_an_entry_is_refused(repo) -> None:
    fake, _bare, _main = repo
    gh_repo = _client(fake, "ghs_app0123456789abcdefABCDEF012345").get_repo("acme/env")
    blob = gh_repo.create_git_blob("x", "utf-8")
    with pytest.raises(GithubException) as raised:
        gh_repo._requester.requestJsonAndCheck(
            "POST",
            f"{gh_repo.url}/git/trees",
            input={"tree": [{"path": "x", "mode": "100644", "type": "blob", "sha": blob.sha,
                             "content": "x"}]},
        )  # fmt: skip
    assert raised.value.status == 422


def _update_refs(fake: FakeGitHub, token: str, updates: list[dict[str, object]]) -> dict:
    client = _client(fake, token)
    gh_repo = client.get_repo("acme/env")
    requester = gh_repo._requester
    _, data = requester.requestJsonAndCheck(
        "POST",
        requester.graphql_url,
        input={
            "query": UPDATE_REFS,
            "variables": {"input": {"repositoryId": gh_repo.node_id, "refUpdates": updates}},
        },
    )
    return data


def test_update_refs_is_a_compare_and_swap(repo) -> None:
    fake, bare, main = repo
    token = "ghs_app0123456789abcdefABCDEF012345"
    first = _commit(fake, token, main, {"a/keep.txt": "1\n"}).sha
    second = _commit(fake, token, main, {"a/keep.txt": "2\n"}).sha
    ref = "refs/heads/model-bot/x"
    # Create only while absent.
    assert "errors" not in _update_refs(fake, token, [
        {"name": ref, "beforeOid": ZERO, "afterOid": first, "force": True}
    ])  # fmt: skip
    again = _update_refs(fake, token, [{"name": ref, "beforeOid": ZERO, "afterOid": second}])
    assert again["data"] == {"updateRefs": None} and again["errors"][0]["type"] == "UNPROCESSABLE"
    # A non-fast-forward move needs force, and the expected old value must match.
    stale = _update_refs(fake, token, [
        {"name": ref, "beforeOid": main, "afterOid": second, "force": True}
    ])  # fmt: skip
    assert "errors" in stale
    unforced = _update_refs(fake, token, [{"name": ref, "beforeOid": first, "afterOid": second}])
    assert "errors" in unforced
    assert _git(bare, "rev-parse", ref).strip() == first
    moved = _update_refs(fake, token, [
        {"name": ref, "beforeOid": first, "afterOid": second, "force": True}
    ])  # fmt: skip
    assert "errors" not in moved
    assert _git(bare, "rev-parse", ref).strip() == second
    assert fake.requests_by_endpoint()["POST /graphql"] == 5


def test_concurrent_compare_and_swaps_lose_no_update(repo) -> None:
    """Twenty racing moves from the same expected value: exactly one wins."""
    fake, bare, main = repo
    token = "ghs_app0123456789abcdefABCDEF012345"
    ref = "refs/heads/model-bot/race"
    _git(bare, "update-ref", ref, main)
    commits = [_commit(fake, token, main, {"a/keep.txt": f"{i}\n"}).sha for i in range(20)]
    outcomes: list[bool] = []
    lock = threading.Lock()

    def move(sha: str) -> None:
        data = _update_refs(fake, token, [
            {"name": ref, "beforeOid": main, "afterOid": sha, "force": True}
        ])  # fmt: skip
        with lock:
            outcomes.append("errors" not in data)

    threads = [threading.Thread(target=move, args=(sha,)) for sha in commits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(True) == 1
    assert _git(bare, "rev-parse", ref).strip() in commits


def test_requests_are_counted_per_endpoint(repo) -> None:
    fake, _bare, main = repo
    fake.reset_requests()
    _commit(fake, "ghs_app0123456789abcdefABCDEF012345", main, {"a/keep.txt": "c\n"})
    counts = fake.requests_by_endpoint()
    trees = [name for name in counts if name.startswith("POST ") and name.endswith("/git/trees")]
    commits = [name for name in counts if name.startswith("POST ") and "/git/commits" in name]
    assert [counts[n] for n in trees] == [1] and [counts[n] for n in commits] == [1]
