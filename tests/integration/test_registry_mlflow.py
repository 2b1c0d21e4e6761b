"""The MLflow registry follows what is deployed, against a real tracking server and a local
env repo: `registry sync` moves the environment's alias and tags versions (deployed, rolled
back), changes nothing when the registry already agrees, repairs an alias moved by hand;
`follow_merge` does the same for one model; `gate` and `promote` tag the candidate with the
gate's answer; an unreachable MLflow is one line naming the URI."""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.mlflow import MlflowRegistry
from bot.cli.session import session_opener
from bot.core.errors import ExternalError, InvalidInput
from bot.core.target import EnvRepoTarget
from bot.flows.registry import follow_merge, sync_registry
from bot.flows.session import read_config
from bot.ports import EnvSession
from tests.cli.test_gate import assert_usage_error, run
from tests.envfixtures import (
    CONFIG,
    DEFAULT_POLICY_PATH,
    ENVIRONMENT,
    NEIGHBOUR,
    REPO,
    CliResult,
    bare_git,
    deploy,
    fast_github,
    github_env_repo,
    local_env_repo,
    merge_branch,
    promote_locally_and_merge,
    run_cli,
)
from tests.fakegithub import FakeGitHub
from tests.integration.test_mlflow_evidence import BETTER_SCORES, CHAMPION_SCORES, _log_version

pytestmark = pytest.mark.slow

REGISTRY_CONFIG = CONFIG + "registry:\n  move_on: merge\n"
DEPLOYED = f"model_bot.deployed.{ENVIRONMENT}"
ROLLED_BACK = f"model_bot.rolled_back.{ENVIRONMENT}"
REASON = "error rate 5% in the canary"
_names = itertools.count()


@dataclass(frozen=True)
class Mlflow:
    uri: str
    client: Any
    experiment_id: str

    def model(self, versions: int = 3) -> str:
        """A new registered model (a DNS label, as env repo folders are) with `versions`
        versions, each from a run."""
        name = f"fraud-{int(time.time() * 1000)}-{next(_names)}"
        self.client.create_registered_model(name)
        for _ in range(versions):
            run = self.client.create_run(self.experiment_id)
            self.client.create_model_version(
                name, f"runs:/{run.info.run_id}/model", run.info.run_id
            )
        return name

    def alias(self, model: str, alias: str = "champion") -> str | None:
        aliases = dict(self.client.get_registered_model(model).aliases or {})
        value = aliases.get(alias)
        return None if value is None else str(value)

    def tags(self, model: str, version: str) -> dict[str, str]:
        return dict(self.client.get_model_version(model, version).tags or {})


@pytest.fixture(scope="module")
def mlflow(mlflow_server: str) -> Mlflow:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    experiment_id = client.create_experiment(f"registry-{int(time.time() * 1000)}")
    return Mlflow(mlflow_server, client, experiment_id)


def env_repo(tmp_path: Path, config: str = REGISTRY_CONFIG) -> Path:
    return local_env_repo(tmp_path / "env.git", {".model-bot.yaml": config.encode()})


def sync(bare: Path, tmp_path: Path, *extra: str | Path, uri: str | None = None) -> CliResult:
    args: list[str | Path] = ["registry", "sync", "--env-repo", bare]
    if uri is not None:
        args += ["--tracking-uri", uri]
    return run_cli(*args, *extra, token=None, tmp_path=tmp_path)


def rollback_and_merge(bare: Path, tmp_path: Path, model: str, reason: str = REASON) -> str:
    result = run_cli(
        "rollback", "--model", model, "--environment", ENVIRONMENT, "--env-repo", bare,
        "--reason", reason, token=None, tmp_path=tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result
    return merge_branch(bare, f"model-bot/rollback/{ENVIRONMENT}/{model}")


@pytest.fixture
def session_of() -> Iterator[Any]:
    opened: list[EnvSession] = []

    def open_session(bare: Path) -> EnvSession:
        session = session_opener(
            EnvRepoTarget("local", str(bare)), base=None, token=None, read_only=True
        )([])
        opened.append(session)
        return session

    yield open_session
    for session in opened:
        session.close()


# --- registry sync -------------------------------------------------------------------------------


def test_sync_moves_the_alias_tags_and_then_changes_nothing(mlflow: Mlflow, tmp_path: Path) -> None:
    model = mlflow.model()
    bare = env_repo(tmp_path)
    work = tmp_path / "work"
    promote_locally_and_merge(bare, model, "1", workdir=work)
    merged = promote_locally_and_merge(bare, model, "2", champion="1", workdir=work)

    first = sync(bare, tmp_path, uri=mlflow.uri)
    assert first.exit_code == 0, first
    lines = first.stdout.splitlines()
    assert f"{model} {ENVIRONMENT} champion: none -> 2" in lines
    assert f"{model} {ENVIRONMENT}: tagged version 2 as deployed" in lines
    assert (
        f"{NEIGHBOUR} {ENVIRONMENT} champion: skipped (version 9 is not in the registry)" in lines
    )
    assert first.outputs["changed"] == "2"
    assert mlflow.alias(model) == "2"
    tags = mlflow.tags(model, "2")
    assert tags[f"{DEPLOYED}.commit"] == merged
    assert f"{DEPLOYED}.pull_request" not in tags  # local mode: no pull request
    landed = bare_git(bare, "log", "-1", "--format=%cI", merged)
    assert tags[DEPLOYED].endswith("Z") and tags[DEPLOYED][:10] == landed[:10]
    assert DEPLOYED not in mlflow.tags(model, "1")  # only what runs is tagged by a sync

    again = sync(bare, tmp_path, uri=mlflow.uri)
    assert again.exit_code == 0, again
    assert f"{model} {ENVIRONMENT} champion: 2 unchanged" in again.stdout.splitlines()
    assert "->" not in again.stdout and "tagged" not in again.stdout
    assert again.outputs["changed"] == "0"
    assert again.stderr == ""


def test_sync_puts_back_an_alias_moved_by_hand(mlflow: Mlflow, tmp_path: Path) -> None:
    model = mlflow.model()
    bare = env_repo(tmp_path)
    work = tmp_path / "work"
    promote_locally_and_merge(bare, model, "1", workdir=work)
    promote_locally_and_merge(bare, model, "2", champion="1", workdir=work)
    assert sync(bare, tmp_path, uri=mlflow.uri).exit_code == 0
    mlflow.client.set_registered_model_alias(model, "champion", "1")

    repaired = sync(bare, tmp_path, uri=mlflow.uri)
    assert repaired.exit_code == 0, repaired
    assert f"{model} {ENVIRONMENT} champion: 1 -> 2" in repaired.stdout.splitlines()
    assert "tagged" not in repaired.stdout  # the tags were still right
    assert mlflow.alias(model) == "2"


def test_a_merged_rollback_moves_the_alias_back_and_marks_the_version(
    mlflow: Mlflow, tmp_path: Path
) -> None:
    model = mlflow.model()
    bare = env_repo(tmp_path)
    work = tmp_path / "work"
    promote_locally_and_merge(bare, model, "1", workdir=work)
    promote_locally_and_merge(bare, model, "2", champion="1", workdir=work)
    assert sync(bare, tmp_path, uri=mlflow.uri).exit_code == 0
    back = rollback_and_merge(bare, tmp_path, model)

    result = sync(bare, tmp_path, uri=mlflow.uri)
    assert result.exit_code == 0, result
    lines = result.stdout.splitlines()
    assert f"{model} {ENVIRONMENT} champion: 2 -> 1" in lines
    assert f"{model} {ENVIRONMENT}: tagged version 1 as deployed" in lines
    assert f"{model} {ENVIRONMENT}: tagged version 2 as rolled back ({REASON})" in lines
    assert mlflow.alias(model) == "1"
    rolled = mlflow.tags(model, "2")
    assert rolled[f"{ROLLED_BACK}.reason"] == REASON
    assert rolled[ROLLED_BACK].endswith("Z")
    assert mlflow.tags(model, "1")[f"{DEPLOYED}.commit"] == back

    again = sync(bare, tmp_path, uri=mlflow.uri)
    assert again.outputs["changed"] == "0", again.stdout


def test_dry_run_reads_and_writes_nothing(mlflow: Mlflow, tmp_path: Path) -> None:
    model = mlflow.model()
    bare = env_repo(tmp_path)
    promote_locally_and_merge(bare, model, "1", workdir=tmp_path / "work")
    result = sync(bare, tmp_path, "--dry-run", "--environment", ENVIRONMENT, uri=mlflow.uri)
    assert result.exit_code == 0, result
    assert f"{model} {ENVIRONMENT} champion: none -> 1 (dry run)" in result.stdout.splitlines()
    assert f"{model} {ENVIRONMENT}: tagged version 1 as deployed (dry run)" in result.stdout
    assert mlflow.alias(model) is None
    assert DEPLOYED not in mlflow.tags(model, "1")


def test_the_config_tracking_uri_and_tags_switched_off(mlflow: Mlflow, tmp_path: Path) -> None:
    model = mlflow.model()
    config = CONFIG + f"registry:\n  tracking_uri: {mlflow.uri}\n  tag_versions: false\n"
    bare = env_repo(tmp_path, config)
    promote_locally_and_merge(bare, model, "1", workdir=tmp_path / "work")
    result = sync(bare, tmp_path)  # no --tracking-uri, no $MLFLOW_TRACKING_URI
    assert result.exit_code == 0, result
    assert f"{model} {ENVIRONMENT} champion: none -> 1" in result.stdout.splitlines()
    assert "tagged" not in result.stdout
    assert mlflow.alias(model) == "1"
    assert not any(key.startswith("model_bot.") for key in mlflow.tags(model, "1"))


def test_the_flag_beats_the_config_and_the_environment(mlflow: Mlflow, tmp_path: Path) -> None:
    model = mlflow.model()
    dead = f"http://127.0.0.1:{_free_port()}"
    bare = env_repo(tmp_path, CONFIG + f"registry:\n  tracking_uri: {dead}\n")
    promote_locally_and_merge(bare, model, "1", workdir=tmp_path / "work")
    result = run_cli(
        "registry", "sync", "--env-repo", bare, "--tracking-uri", mlflow.uri,
        token=None, env={"MLFLOW_TRACKING_URI": dead},
    )  # fmt: skip
    assert result.exit_code == 0, result
    from_env = run_cli(
        "registry", "sync", "--env-repo", env_repo(tmp_path / "b", REGISTRY_CONFIG),
        token=None, env={"MLFLOW_TRACKING_URI": mlflow.uri},
    )  # fmt: skip
    assert from_env.exit_code == 0, from_env


def test_on_github_the_pull_request_is_tagged(
    mlflow: Mlflow, fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fast_github(monkeypatch)
    model = mlflow.model(2)
    repo = github_env_repo(fake_github, files={".model-bot.yaml": REGISTRY_CONFIG})
    promotions = deploy(fake_github, repo, model, ("1", "2"), workdir=tmp_path)
    result = run_cli(
        "registry", "sync", "--env-repo", repo, "--github-api-url", fake_github.api_url,
        "--tracking-uri", mlflow.uri, tmp_path=tmp_path,
    )  # fmt: skip
    assert result.exit_code == 0, result
    assert f"{model} {ENVIRONMENT} champion: none -> 2" in result.stdout.splitlines()
    tags = mlflow.tags(model, "2")
    pull = promotions[-1].result.pull_request
    assert pull is not None
    assert tags[f"{DEPLOYED}.pull_request"] == pull.url
    assert tags[f"{DEPLOYED}.commit"] == promotions[-1].merge
    assert repo == REPO


# --- follow_merge (what the event flow calls when a pull request merged) -------------------------


def test_follow_merge_follows_one_model(mlflow: Mlflow, tmp_path: Path, session_of: Any) -> None:
    model, other = mlflow.model(), mlflow.model()
    bare = env_repo(tmp_path)
    work = tmp_path / "work"
    promote_locally_and_merge(bare, other, "1", workdir=work)
    promote_locally_and_merge(bare, model, "1", workdir=work)
    registry = MlflowRegistry(mlflow.uri, 10)

    session = session_of(bare)
    config = read_config(session.workspace)
    lines = follow_merge(session, registry, config, model, ENVIRONMENT)
    assert [str(line) for line in lines] == [
        f"{model} {ENVIRONMENT} champion: none -> 1",
        f"{model} {ENVIRONMENT}: tagged version 1 as deployed",
    ]
    assert all(line.changed for line in lines)
    assert mlflow.alias(model) == "1" and mlflow.alias(other) is None  # only the one model

    promote_locally_and_merge(bare, model, "2", champion="1", workdir=work)
    rollback_and_merge(bare, tmp_path, model, "latency doubled")
    session = session_of(bare)
    lines = follow_merge(session, registry, config, model, ENVIRONMENT)
    assert [str(line) for line in lines] == [
        f"{model} {ENVIRONMENT} champion: 1 unchanged",  # 2 was never followed: still 1
        f"{model} {ENVIRONMENT}: tagged version 1 as deployed",
        f"{model} {ENVIRONMENT}: tagged version 2 as rolled back (latency doubled)",
    ]
    assert str(lines[0]).endswith("unchanged") and not lines[0].changed
    assert mlflow.tags(model, "2")[f"{ROLLED_BACK}.reason"] == "latency doubled"
    assert follow_merge(session, registry, config, model, ENVIRONMENT)[1:] == []


def test_follow_merge_without_a_registry_section_does_nothing(
    mlflow: Mlflow, tmp_path: Path, session_of: Any
) -> None:
    model = mlflow.model(1)
    bare = env_repo(tmp_path, CONFIG)
    promote_locally_and_merge(bare, model, "1", workdir=tmp_path / "work")
    session = session_of(bare)
    config = read_config(session.workspace)
    assert follow_merge(session, MlflowRegistry(mlflow.uri), config, model, ENVIRONMENT) == []
    assert mlflow.alias(model) is None


def test_sync_registry_reports_each_line_as_it_goes(
    mlflow: Mlflow, tmp_path: Path, session_of: Any
) -> None:
    model = mlflow.model(1)
    bare = env_repo(tmp_path)
    promote_locally_and_merge(bare, model, "1", workdir=tmp_path / "work")
    session = session_of(bare)
    seen: list[str] = []
    lines = sync_registry(
        session,
        read_config(session.workspace),
        MlflowRegistry(mlflow.uri),
        on_line=lambda line: seen.append(str(line)),
    )
    assert seen == [str(line) for line in lines] and len(seen) == 3


# --- bad input, MLflow unreachable ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_mlflow_unreachable_is_one_line_naming_the_uri(tmp_path: Path) -> None:
    bare = env_repo(tmp_path)  # the neighbour model is deployed: MLflow is asked about it
    uri = f"http://127.0.0.1:{_free_port()}"
    start = time.monotonic()
    result = sync(bare, tmp_path, "--mlflow-timeout", "2", uri=uri)
    assert time.monotonic() - start < 15
    assert_usage_error(result, f"MLflow at {uri}: connection refused")  # type: ignore[arg-type]


def test_the_uris_credentials_never_show(tmp_path: Path) -> None:
    bare = env_repo(tmp_path)
    port = _free_port()
    result = sync(bare, tmp_path, uri=f"http://bot:hunter2@127.0.0.1:{port}")
    assert_usage_error(result, f"127.0.0.1:{port}")  # type: ignore[arg-type]
    assert "hunter2" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("config", "extra", "message"),
    [
        (CONFIG, (), ".model-bot.yaml: registry: not configured"),
        (REGISTRY_CONFIG, ("--environment", "qa"), "--environment: no registry alias for 'qa'"),
        (REGISTRY_CONFIG, ("--environment", "Prod"), "--environment: bad environment name"),
    ],
)
def test_bad_input_is_one_line(
    tmp_path: Path, config: str, extra: tuple[str, ...], message: str
) -> None:
    bare = env_repo(tmp_path, config)
    result = sync(bare, tmp_path, *extra, uri="http://127.0.0.1:9")
    assert_usage_error(result, message)  # type: ignore[arg-type]


def test_no_tracking_uri_anywhere(tmp_path: Path) -> None:
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    result = sync(env_repo(tmp_path), tmp_path)
    assert_usage_error(result, "no MLflow tracking URI")  # type: ignore[arg-type]


def test_an_environment_the_repo_lacks_is_skipped_unless_asked_for(
    mlflow: Mlflow, tmp_path: Path
) -> None:
    config = "apiVersion: model-bot/v1\nkind: BotConfig\nregistry: {aliases: {production: champion, qa: qa}}\n"
    bare = env_repo(tmp_path, config)
    result = sync(bare, tmp_path, uri=mlflow.uri)
    assert result.exit_code == 0, result
    assert "qa qa: skipped (no such environment in the env repo)" in result.stdout.splitlines()
    asked = sync(bare, tmp_path, "--environment", "qa", uri=mlflow.uri)
    assert_usage_error(asked, "unknown environment 'qa'")  # type: ignore[arg-type]


# --- gate and promote tag the candidate ----------------------------------------------------------


@pytest.fixture(scope="module")
def evaluated(mlflow: Mlflow) -> str:
    """A model with a champion (1), a better version (2) and a worse one (3), from runs
    with metrics, as the gate reads them; its versions 2 and 4 name an image."""
    client = mlflow.client
    model = f"gated-{int(time.time() * 1000)}"
    client.create_registered_model(model)
    image = {"image": "ghcr.io/acme/gated", "image_tag": "x"}
    good = {"accuracy": 0.951, "latency_p99_ms": 8.1, "safety_violations": 0}
    for metrics, scores, tags in [
        ({"accuracy": 0.948, "latency_p99_ms": 8.4, "safety_violations": 0}, CHAMPION_SCORES, {}),
        (good, BETTER_SCORES, image),
        ({"accuracy": 0.93, "latency_p99_ms": 12.0, "safety_violations": 1}, None, {}),
        (good, BETTER_SCORES, image),
    ]:
        _log_version(client, mlflow.experiment_id, model, metrics, "abc", {}, scores, tags)
    client.set_registered_model_alias(model, "champion", "1")
    return model


def test_gate_tags_the_candidate_with_its_answer(mlflow: Mlflow, evaluated: str) -> None:
    passed = run(
        "gate", "--mlflow-model", f"models:/{evaluated}/2", "--tracking-uri", mlflow.uri,
        "--policy", DEFAULT_POLICY_PATH,
    )  # fmt: skip
    assert passed.exit_code == 0, passed
    assert passed.stderr == ""
    tags = mlflow.tags(evaluated, "2")
    assert (tags["model_bot.gate"], tags["ready_for_deployment"]) == ("pass", "true")
    assert tags["model_bot.gate.summary"].startswith("PASS ")
    assert tags["image"] == "ghcr.io/acme/gated"  # the version's own tags stay

    failed = run(
        "gate", "--mlflow-model", evaluated, "--mlflow-version", "3", "--tracking-uri",
        mlflow.uri, "--policy", DEFAULT_POLICY_PATH,
    )  # fmt: skip
    assert failed.exit_code == 1, failed
    tags = mlflow.tags(evaluated, "3")
    assert (tags["model_bot.gate"], tags["ready_for_deployment"]) == ("fail", "false")
    assert tags["model_bot.gate.summary"].startswith("FAIL ")


def test_a_tagging_failure_does_not_change_the_gates_answer(
    mlflow: Mlflow, evaluated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object) -> None:
        raise ExternalError(f"cannot tag models:/x/1 in MLflow at {mlflow.uri}: HTTP 403")

    monkeypatch.setattr(MlflowRegistry, "set_version_tags", refuse)
    result = run(
        "gate", "--mlflow-model", f"models:/{evaluated}/3", "--tracking-uri", mlflow.uri,
        "--policy", DEFAULT_POLICY_PATH,
    )  # fmt: skip
    assert result.exit_code == 1, result  # the answer: fail, as without tagging
    assert result.stderr.startswith("warning: the gate's answer was not tagged on ")
    assert "HTTP 403" in result.stderr and result.stderr.count("\n") == 1

    monkeypatch.setattr(MlflowRegistry, "set_version_tags", lambda *a: 1 / 0)
    again = run(
        "gate", "--mlflow-model", f"models:/{evaluated}/2", "--tracking-uri", mlflow.uri,
        "--policy", DEFAULT_POLICY_PATH,
    )  # fmt: skip
    assert again.exit_code == 0, again
    assert "ZeroDivisionError" in again.stderr and "internal error" not in again.stderr


def test_promote_tags_the_candidate_but_not_in_a_dry_run(
    mlflow: Mlflow, evaluated: str, tmp_path: Path
) -> None:
    bare = env_repo(tmp_path)

    def promote(version: str, *extra: str) -> CliResult:
        return run_cli(
            "promote", "--mlflow-model", evaluated, "--mlflow-version", version,
            "--tracking-uri", mlflow.uri, "--policy", DEFAULT_POLICY_PATH,
            "--environment", ENVIRONMENT, "--env-repo", bare, *extra, token=None,
            tmp_path=tmp_path,
        )  # fmt: skip

    dry = promote("4", "--dry-run")
    assert dry.exit_code == 0, dry
    assert "model_bot.gate" not in mlflow.tags(evaluated, "4")
    done = promote("4")
    assert done.exit_code == 0, done
    assert "warning" not in done.stderr
    assert mlflow.tags(evaluated, "4")["model_bot.gate"] == "pass"
    blocked = promote("3")
    assert blocked.exit_code == 1, blocked
    assert mlflow.tags(evaluated, "3")["ready_for_deployment"] == "false"


# --- the adapter ----------------------------------------------------------------------------------


def test_the_adapter_reads_what_is_there_and_none_for_what_is_not(mlflow: Mlflow) -> None:
    model = mlflow.model(2)
    registry = MlflowRegistry(mlflow.uri)
    assert registry.alias_version(model, "champion") is None
    assert registry.alias_version("no-such-model-anywhere", "champion") is None
    assert registry.version_tags(model, "9") is None
    assert registry.version_tags("no-such-model-anywhere", "1") is None
    assert registry.version_tags(model, "2-abc1234") is None  # an image tag, not a version
    registry.set_alias(model, "champion", "2")
    registry.set_version_tags(model, "2", {"a.b": "c"})
    assert registry.alias_version(model, "champion") == "2"
    assert registry.version_tags(model, "2") == {"a.b": "c"}
    with pytest.raises(InvalidInput, match="version 9 not found in the registry"):
        registry.set_alias(model, "champion", "9")
    with pytest.raises(InvalidInput, match="version 9 not found in the registry"):
        registry.set_version_tags(model, "9", {"a": "b"})
    with pytest.raises(InvalidInput, match="no MLflow tracking URI"):
        MlflowRegistry(None)
    with pytest.raises(InvalidInput, match="unsupported MLflow tracking URI"):
        MlflowRegistry("sqlite:///x.db")
