"""The fake's workflow and repository dispatches, through unmodified PyGithub (sources in
tests/fakegithub/_actions.py)."""

from __future__ import annotations

import github
import pytest
from github import GithubException

from tests.fakegithub import FakeGitHub

OWNER, NAME = "acme", "training"
TRAIN = """\
name: train
on:
  workflow_dispatch:
    inputs:
      model: {required: true}
      environment: {required: false}
      dataset: {required: true, default: latest}
jobs: {}
"""
PUSH_ONLY = "on: [push]\njobs: {}\n"
BARE = "on: workflow_dispatch\njobs: {}\n"


@pytest.fixture
def repo(fake_github: FakeGitHub) -> github.Repository.Repository:
    token = fake_github.add_user("bot").token
    fake_github.add_repo(OWNER, NAME)
    fake_github.commit_files(
        OWNER,
        NAME,
        "main",
        {
            ".github/workflows/train.yml": TRAIN,
            ".github/workflows/ci.yml": PUSH_ONLY,
            ".github/workflows/bare.yaml": BARE,
        },
    )
    return fake_github.client(token).get_repo(f"{OWNER}/{NAME}")


def test_a_dispatch_with_declared_inputs_is_accepted_and_logged(
    fake_github: FakeGitHub, repo: github.Repository.Repository
) -> None:
    workflow = repo.get_workflow("train.yml")
    assert workflow.create_dispatch("main", {"model": "fraud", "environment": "prod"}, throw=True)
    [sent] = fake_github.dispatches(OWNER, NAME)
    assert (sent.kind, sent.workflow, sent.ref) == ("workflow", "train.yml", "main")
    assert sent.inputs == {"model": "fraud", "environment": "prod"}
    assert fake_github.request_count("POST", "/dispatches") == 1


def test_the_workflow_reads_as_recorded_and_dispatches_by_id(
    fake_github: FakeGitHub, repo: github.Repository.Repository
) -> None:
    workflow = repo.get_workflow("bare.yaml")
    assert workflow.path == ".github/workflows/bare.yaml"
    assert workflow.state == "active"
    assert repo.get_workflow(workflow.id).create_dispatch("main", throw=True)
    assert len(fake_github.dispatches(OWNER, NAME)) == 1


@pytest.mark.parametrize(
    ("workflow", "ref", "inputs", "status", "message"),
    [
        ("missing.yml", "main", {}, 404, "Not Found"),
        ("ci.yml", "main", {}, 422, "Workflow does not have 'workflow_dispatch' trigger"),
        ("train.yml", "nope", {"model": "m"}, 422, "No ref found for: nope"),
        ("train.yml", "main", {"model": "m", "x": "1"}, 422, 'Unexpected inputs provided: ["x"]'),
        ("train.yml", "main", {"environment": "p"}, 422, "Required input 'model' not provided"),
    ],
)
def test_refusals_have_githubs_status_and_message(
    fake_github: FakeGitHub,
    repo: github.Repository.Repository,
    workflow: str,
    ref: str,
    inputs: dict[str, str],
    status: int,
    message: str,
) -> None:
    with pytest.raises(GithubException) as caught:
        repo.get_workflow(workflow).create_dispatch(ref, inputs, throw=True)
    assert caught.value.status == status
    assert caught.value.data["message"] == message
    assert "documentation_url" in caught.value.data
    assert fake_github.dispatches(OWNER, NAME) == []


def test_the_trigger_is_read_at_the_ref(
    fake_github: FakeGitHub, repo: github.Repository.Repository
) -> None:
    fake_github.commit_files(OWNER, NAME, "old", {".github/workflows/train.yml": PUSH_ONLY})
    with pytest.raises(GithubException) as caught:
        repo.get_workflow("train.yml").create_dispatch("old", {"model": "m"}, throw=True)
    assert caught.value.status == 422


def test_a_repository_dispatch_is_accepted_and_logged(
    fake_github: FakeGitHub, repo: github.Repository.Repository
) -> None:
    assert repo.create_repository_dispatch("retrain", {"model": "fraud"})
    [sent] = fake_github.dispatches(OWNER, NAME)
    assert (sent.kind, sent.event_type, sent.inputs) == (
        "repository",
        "retrain",
        {"model": "fraud"},
    )


def test_a_repository_dispatch_with_too_many_payload_keys_is_refused(
    fake_github: FakeGitHub, repo: github.Repository.Repository
) -> None:
    payload = {f"k{i}": i for i in range(11)}
    assert not repo.create_repository_dispatch("retrain", payload)
    assert fake_github.dispatches(OWNER, NAME) == []
