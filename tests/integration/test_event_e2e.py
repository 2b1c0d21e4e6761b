"""`model-bot event` end to end on the fake GitHub with real git: an Argo Rollouts
notification (a `repository_dispatch` of type `model-bot-rollout`, as
docs/argo-rollouts-notifications.yaml sends it: "Create a repository dispatch event",
https://docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event; the
workflow's event carries `event_type` as `action` and `client_payload`,
https://docs.github.com/en/webhooks/webhook-events-and-payloads#repository_dispatch) opens
the revert pull request at once; the same notice again changes nothing; a notice about an
image Git no longer deploys is ignored with the reason; a completed rollout is told on the
promotion PR and as the `model-bot/rollout` status of its merge commit."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.envfixtures import (
    CONFIG,
    ENVIRONMENT,
    REPO,
    CliResult,
    bare_path,
    deploy,
    fast_github,
    folder,
    folder_blobs,
    github_env_repo,
    merge_pull,
    run_cli,
)
from tests.fakegithub import FakeGitHub
from tests.webhooks import pull_request_closed_event

OWNER, NAME = REPO.split("/")
MODEL = "fraud-detector"
MESSAGE = 'Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)'


@pytest.fixture
def github(fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    fast_github(monkeypatch)
    github_env_repo(fake_github)
    return fake_github


def dispatch(tmp_path: Path, trigger: str, tag: str, message: str = MESSAGE) -> Path:
    path = tmp_path / f"event-{trigger}-{tag}.json"
    path.write_text(
        json.dumps(
            {
                "action": "model-bot-rollout",
                "branch": "main",
                "client_payload": {
                    "trigger": trigger,
                    "rollout": MODEL,
                    "namespace": ENVIRONMENT,
                    "revision": "4",
                    "images": [f"ghcr.io/acme/{MODEL}:{tag}"],
                    "message": message,
                },
                "repository": {"full_name": REPO},
            }
        )
    )
    return path


def event(github: FakeGitHub, tmp_path: Path, path: Path, name: str) -> CliResult:
    return run_cli(
        "event", "--event-path", path, "--event-name", name, "--env-repo", REPO,
        "--github-api-url", github.api_url, tmp_path=tmp_path,
    )  # fmt: skip


def pulls_from(github: FakeGitHub, branch: str) -> list[dict[str, Any]]:
    return [p for p in github.pulls(OWNER, NAME) if p["head"]["ref"] == branch]


def test_an_aborted_canary_opens_the_revert_at_once_and_only_once(
    github: FakeGitHub, tmp_path: Path
) -> None:
    first, second = deploy(github, REPO, MODEL, ("1", "2"), workdir=tmp_path)
    notice = dispatch(tmp_path, "on-analysis-run-failed", "2-abc1234")
    result = event(github, tmp_path, notice, "repository_dispatch")
    assert result.exit_code == 0, result
    assert result.stdout.startswith("event: rollback: ")
    reverts = pulls_from(github, f"model-bot/rollback/{ENVIRONMENT}/{MODEL}")
    assert len(reverts) == 1 and reverts[0]["state"] == "open"
    assert reverts[0]["title"] == f"Roll back {MODEL} in {ENVIRONMENT}: 2 → 1"
    assert "Argo Rollouts on-analysis-run-failed (revision 4)" in reverts[0]["body"]
    assert "error-rate" in reverts[0]["body"]
    assert result.outputs["outcome"] == "created"
    assert result.outputs["pull-request-number"] == str(reverts[0]["number"])

    writes = github.request_count("POST") + github.request_count("PATCH")
    again = event(github, tmp_path, notice, "repository_dispatch")
    assert again.exit_code == 0, again
    assert again.outputs["outcome"] == "unchanged", again.stdout
    assert len(pulls_from(github, f"model-bot/rollback/{ENVIRONMENT}/{MODEL}")) == 1
    assert github.request_count("POST") + github.request_count("PATCH") == writes

    # Merged, the folder is version 1's again.
    bare = bare_path(github)
    merged = merge_pull(github, REPO, reverts[0]["number"])
    assert folder_blobs(bare, merged, folder(MODEL)) == folder_blobs(
        bare, second.base_before, folder(MODEL)
    )
    assert first.number < second.number


def test_a_notice_about_an_image_git_no_longer_deploys_is_ignored(
    github: FakeGitHub, tmp_path: Path
) -> None:
    deploy(github, REPO, MODEL, ("1", "2"), workdir=tmp_path)
    stale = dispatch(tmp_path, "on-rollout-aborted", "1-abc1234")
    posts = github.request_count("POST")
    result = event(github, tmp_path, stale, "repository_dispatch")
    assert result.exit_code == 0, result
    assert "Git has moved on, nothing to do" in result.stdout
    assert "declares fraud-detector 2 (tag 2-abc1234)" in result.stdout
    assert github.request_count("POST") == posts
    assert pulls_from(github, f"model-bot/rollback/{ENVIRONMENT}/{MODEL}") == []


def test_a_completed_rollout_is_told_on_the_promotion_and_as_a_status(
    github: FakeGitHub, tmp_path: Path
) -> None:
    _, second = deploy(github, REPO, MODEL, ("1", "2"), workdir=tmp_path)
    done = dispatch(tmp_path, "on-rollout-completed", "2-abc1234", message="")
    result = event(github, tmp_path, done, "repository_dispatch")
    assert result.exit_code == 0, result
    assert f"told #{second.number}" in result.stdout
    comments = github.comments(OWNER, NAME, second.number)
    assert len(comments) == 1 and "completed (revision `4`)" in comments[0]["body"]
    statuses = github.repo_statuses(OWNER, NAME, second.merge)
    assert statuses == {"model-bot/rollout": "success"}
    again = event(github, tmp_path, done, "repository_dispatch")
    assert again.exit_code == 0 and "already says so" in again.stdout
    assert len(github.comments(OWNER, NAME, second.number)) == 1


@pytest.mark.parametrize(
    ("name", "payload", "said"),
    [
        ("push", {"ref": "refs/heads/main"}, "push"),
        ("repository_dispatch", {"action": "deploy", "client_payload": {}}, "deploy"),
    ],
)
def test_other_events_are_ignored_with_one_line(
    github: FakeGitHub, tmp_path: Path, name: str, payload: dict[str, Any], said: str
) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps(payload))
    result = event(github, tmp_path, path, name)
    assert result.exit_code == 0, result
    assert result.stdout.startswith("event: ignored: ") and said in result.stdout
    assert len(result.stdout.splitlines()) == 1


def test_a_hostile_payload_is_refused_with_one_line(github: FakeGitHub, tmp_path: Path) -> None:
    path = tmp_path / "hostile.json"
    payload = json.loads(dispatch(tmp_path, "on-rollout-aborted", "2-abc1234").read_text())
    payload["client_payload"]["rollout"] = "$(touch /tmp/pwned)"
    path.write_text(json.dumps(payload))
    result = event(github, tmp_path, path, "repository_dispatch")
    assert result.exit_code == 2, result
    assert "client_payload.rollout" in result.stderr and "Traceback" not in result.stderr
    assert not Path("/tmp/pwned").exists()


# --- merged pull requests move the registry (a real MLflow server) ----------------------------


def closed_event(github: FakeGitHub, tmp_path: Path, number: int) -> Path:
    return pull_request_closed_event(github, REPO, tmp_path, number)


def test_merged_promotions_and_rollbacks_move_the_champion(
    fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, mlflow_server: str, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    fast_github(monkeypatch)
    model = f"fd-{int(time.time() * 1000)}"
    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    client.create_registered_model(model)
    experiment = client.create_experiment(f"event-{model}")
    for _ in range(2):
        run = client.create_run(experiment)
        client.create_model_version(model, f"runs:/{run.info.run_id}/model", run.info.run_id)
    config = CONFIG + f"registry:\n  tracking_uri: {mlflow_server}\n  move_on: merge\n"
    github_env_repo(fake_github, files={".model-bot.yaml": config})
    first, second = deploy(fake_github, REPO, model, ("1", "2"), workdir=tmp_path)

    merged = event(
        fake_github, tmp_path, closed_event(fake_github, tmp_path, second.number), "pull_request"
    )
    assert merged.exit_code == 0, merged
    assert merged.stdout.startswith(f"event: merged: #{second.number} merged")
    assert f"registry: {model} {ENVIRONMENT} champion: none -> 2" in merged.stdout
    aliases = dict(client.get_registered_model(model).aliases)
    assert aliases == {"champion": "2"}
    tags = dict(client.get_model_version(model, "2").tags)
    assert f"model_bot.deployed.{ENVIRONMENT}" in tags
    assert tags[f"model_bot.deployed.{ENVIRONMENT}.pull_request"].endswith(f"/pull/{second.number}")
    again = event(
        fake_github, tmp_path, closed_event(fake_github, tmp_path, second.number), "pull_request"
    )
    assert again.exit_code == 0 and "champion: 2 unchanged" in again.stdout

    # The rollback merged: the champion goes back to 1, and 2 is tagged with the reason.
    back = run_cli(
        "rollback", "--model", model, "--environment", ENVIRONMENT, "--env-repo", REPO,
        "--github-api-url", fake_github.api_url, "--reason", "p99 doubled", tmp_path=tmp_path,
    )  # fmt: skip
    assert back.exit_code == 0, back
    number = int(back.outputs["pull-request-number"])
    merge_pull(fake_github, REPO, number)
    followed = event(
        fake_github, tmp_path, closed_event(fake_github, tmp_path, number), "pull_request"
    )
    assert followed.exit_code == 0, followed
    assert "champion: 2 -> 1" in followed.stdout
    assert dict(client.get_registered_model(model).aliases) == {"champion": "1"}
    rolled = dict(client.get_model_version(model, "2").tags)
    assert rolled[f"model_bot.rolled_back.{ENVIRONMENT}.reason"] == "p99 doubled"
    assert first.number < second.number


def test_mlflow_down_still_does_the_git_side_and_exits_2(
    fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fast_github(monkeypatch)
    config = CONFIG + "registry:\n  tracking_uri: http://127.0.0.1:9\n  move_on: complete\n"
    github_env_repo(fake_github, files={".model-bot.yaml": config})
    _, second = deploy(fake_github, REPO, MODEL, ("1", "2"), workdir=tmp_path)
    done = dispatch(tmp_path, "on-rollout-completed", "2-abc1234", message="")
    result = event(fake_github, tmp_path, done, "repository_dispatch")
    assert result.exit_code == 2, result
    assert f"told #{second.number}" in result.stdout  # the Git side was done
    assert "the registry was not updated" in result.stderr
    assert "registry sync" in result.stderr and "Traceback" not in result.stderr
    assert len(fake_github.comments(OWNER, NAME, second.number)) == 1
