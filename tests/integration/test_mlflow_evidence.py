"""Evidence from a real MLflow tracking server: registry, runs, aliases, lineage, errors."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import bot.adapters.mlflow as mlflow_adapter
from bot.adapters.mlflow import (
    ModelSpec,
    bounded_http,
    champion_from_mlflow,
    evidence_from_mlflow,
    model_spec,
    parse_model_uri,
    run_url,
)
from bot.core.errors import ExternalError, InvalidInput
from bot.core.gate import NO_CHAMPION, evaluate
from bot.core.policy import load_policy
from tests.cli.test_gate import assert_usage_error, run

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DEFAULT = REPO / "policies" / "default.yaml"
PRODUCTION = REPO / "policies" / "production.yaml"
CHAMPION_SCORES = [1.0] * 90 + [0.0] * 10
BETTER_SCORES = [1.0] * 90 + [1.0] * 8 + [0.0] * 2


# --- pure helpers (no server) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("models:/fraud-detector/7", ModelSpec("fraud-detector", "7")),
        ("models:/fraud-detector/7/", ModelSpec("fraud-detector", "7")),
        ("models:/fraud-detector@champion", ModelSpec("fraud-detector", alias="champion")),
        (" models:/a.b_c/12 ", ModelSpec("a.b_c", "12")),
    ],
)
def test_parse_model_uri(text: str, spec: ModelSpec) -> None:
    assert parse_model_uri(text) == spec
    assert parse_model_uri(str(spec)) == spec


@pytest.mark.parametrize(
    "text", ["models:/m", "models:/", "models:/m/1/2", "runs:/abc/model", "models:/m@", "m/1"]
)
def test_parse_model_uri_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="use models:/NAME/VERSION or models:/NAME@ALIAS"):
        parse_model_uri(text)


def test_model_spec_from_flags() -> None:
    assert model_spec("m", " 3 ") == ModelSpec("m", "3")
    assert model_spec("models:/m/3", "3") == ModelSpec("m", "3")
    for model, version, message in [
        ("m", None, "--mlflow-version: missing"),
        (" ", "1", "--mlflow-model: empty model name"),
        ("models:/m@a", "1", "--mlflow-version: conflicts"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            model_spec(model, version)


@pytest.mark.parametrize(
    ("uri", "url"),
    [
        ("http://mlflow:5000", "http://mlflow:5000/#/experiments/1/runs/r"),
        ("https://mlflow.example.com/", "https://mlflow.example.com/#/experiments/1/runs/r"),
        ("databricks", None),
    ],
)
def test_run_url(uri: str, url: str | None) -> None:
    assert run_url(uri, "1", "r") == url
    assert run_url(uri, None, "r") is None


def test_bounded_http_sets_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "7")
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    with bounded_http(10):
        assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "5"
        assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "1"
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "7"
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" not in os.environ


# --- against a real tracking server -----------------------------------------------------------


@dataclass(frozen=True)
class Registry:
    uri: str
    model: str
    newbie: str
    runs: dict[str, str]  # version -> run id
    experiment_id: str


def _log_version(
    client: Any,
    experiment_id: str,
    model: str,
    metrics: dict[str, float],
    commit: str,
    params: dict[str, str],
    scores: list[float] | None = None,
    tags: dict[str, str] | None = None,
) -> tuple[str, str]:
    import mlflow.data
    import numpy as np
    from mlflow.entities import DatasetInput, InputTag

    run = client.create_run(experiment_id, tags={"mlflow.source.git.commit": commit})
    run_id = run.info.run_id
    for key, value in metrics.items():
        client.log_metric(run_id, key, value)
    for key, value in params.items():
        client.log_param(run_id, key, value)
    dataset = mlflow.data.from_numpy(
        np.array([[1.0, 0.0], [2.0, 1.0]]),
        name="fraud-eval",
        source="s3://acme-data/fraud/eval-2026-11.parquet",
    )
    client.log_inputs(
        run_id,
        datasets=[
            DatasetInput(
                dataset._to_mlflow_entity(),
                tags=[InputTag(key="mlflow.data.context", value="evaluation")],
            )
        ],
    )
    if scores is not None:
        client.log_dict(run_id, {"accuracy": scores}, "scores.json")
    client.set_terminated(run_id)
    version = client.create_model_version(model, f"runs:/{run_id}/model", run_id, tags=tags or {})
    return str(version.version), run_id


@pytest.fixture(scope="module")
def registry(mlflow_server: str) -> Registry:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    suffix = str(int(time.time() * 1000))
    experiment_id = client.create_experiment(f"fraud-{suffix}")
    model, newbie = f"fraud-detector-{suffix}", f"newbie-{suffix}"
    client.create_registered_model(model)
    client.create_registered_model(newbie)
    runs = {}
    v1, runs["1"] = _log_version(
        client,
        experiment_id,
        model,
        {"accuracy": 0.948, "latency_p99_ms": 8.4, "safety_violations": 0},
        "1111111",
        {"lr": "0.1"},
        CHAMPION_SCORES,
    )
    v2, runs["2"] = _log_version(
        client,
        experiment_id,
        model,
        {"accuracy": 0.951, "latency_p99_ms": 8.1, "safety_violations": 0},
        "3f2a1c9d8e7b",
        {"lr": "0.05", "depth": "8"},
        BETTER_SCORES,
        tags={"image": "ghcr.io/acme/fraud-detector", "image_tag": "2-3f2a1c9"},
    )
    v3, runs["3"] = _log_version(
        client,
        experiment_id,
        model,
        {"accuracy": 0.93, "latency_p99_ms": 12.0, "safety_violations": 1},
        "9999999",
        {"lr": "0.5"},
    )
    assert (v1, v2, v3) == ("1", "2", "3")
    client.set_registered_model_alias(model, "champion", "1")
    client.set_registered_model_alias(model, "challenger", "2")
    _log_version(
        client,
        experiment_id,
        newbie,
        {"accuracy": 0.95, "latency_p99_ms": 5.0, "safety_violations": 0},
        "abc",
        {},
    )
    return Registry(mlflow_server, model, newbie, runs, experiment_id)


def test_candidate_champion_and_lineage(registry: Registry) -> None:
    evidence = evidence_from_mlflow(registry.uri, registry.model, "2")
    assert evidence.model.name == registry.model and evidence.model.version == "2"
    assert evidence.model.image == "ghcr.io/acme/fraud-detector"
    assert evidence.image_tag == "2-3f2a1c9"
    assert evidence.model.uri == f"models:/{registry.model}/2"
    assert evidence.metrics == {"accuracy": 0.951, "latency_p99_ms": 8.1, "safety_violations": 0.0}
    assert evidence.champion is not None and evidence.champion.version == "1"
    assert evidence.champion.metrics["accuracy"] == 0.948
    lineage = evidence.lineage
    assert lineage.code_commit == "3f2a1c9d8e7b"
    assert lineage.run_id == registry.runs["2"]
    assert (
        lineage.run_url
        == f"{registry.uri}/#/experiments/{registry.experiment_id}/runs/{registry.runs['2']}"
    )
    assert lineage.params == {"lr": "0.05", "depth": "8"}
    assert lineage.dataset_version is not None and lineage.dataset_version.startswith("fraud-eval@")
    assert lineage.datasets == (lineage.dataset_version,)
    assert evidence.scores["accuracy"] == tuple(BETTER_SCORES)
    assert evidence.champion.scores["accuracy"] == tuple(CHAMPION_SCORES)


def test_better_version_passes(registry: Registry) -> None:
    evidence = evidence_from_mlflow(registry.uri, f"models:/{registry.model}/2")
    decision = evaluate(load_policy(PRODUCTION), evidence)
    assert decision.significance is not None and decision.significance.verdict == "pass"
    # the MLflow run has no slice metrics: the EU slice gate fails, the rest pass
    failed = [row.metric for row in decision.failed_rows]
    assert failed == ["accuracy[region=eu]"]
    assert evaluate(load_policy(DEFAULT), evidence).passed


def test_worse_version_fails(registry: Registry) -> None:
    decision = evaluate(
        load_policy(DEFAULT), evidence_from_mlflow(registry.uri, registry.model, "3")
    )
    assert not decision.passed
    assert [r.metric for r in decision.failed_rows] == [
        "accuracy",
        "latency_p99_ms",
        "regression_delta",
        "safety_violations",
    ]


def test_alias_uri_and_custom_champion_alias(registry: Registry) -> None:
    evidence = evidence_from_mlflow(
        registry.uri, f"models:/{registry.model}@challenger", champion_alias="challenger"
    )
    assert evidence.model.version == "2"
    assert evidence.champion is not None and evidence.champion.version == "2"


def test_no_champion_yet(registry: Registry) -> None:
    evidence = evidence_from_mlflow(registry.uri, registry.newbie, "1")
    assert evidence.champion is None
    decision = evaluate(load_policy(DEFAULT), evidence)
    assert decision.passed
    row = next(r for r in decision.rows if r.metric == "regression_delta")
    assert (row.verdict, row.reason) == ("pass", NO_CHAMPION)


@pytest.mark.parametrize(
    ("model", "version", "message"),
    [
        ("no-such-model", "1", "model 'no-such-model' not found in the registry"),
        (None, "42", "version 42 not found in the registry"),
        (None, "@nope", "has no alias 'nope'"),
    ],
)
def test_unknown_model_or_version(
    registry: Registry, model: str | None, version: str, message: str
) -> None:
    name = model or registry.model
    with pytest.raises(InvalidInput) as info:
        if version.startswith("@"):
            evidence_from_mlflow(registry.uri, f"models:/{name}{version}")
        else:
            evidence_from_mlflow(registry.uri, name, version)
    assert message in str(info.value)


def test_cli_passes_and_fails_from_mlflow(registry: Registry, tmp_path: Path) -> None:
    env = {"MLFLOW_TRACKING_URI": registry.uri}
    summary = tmp_path / "summary.md"
    passed = run(
        "gate",
        "--mlflow-model",
        registry.model,
        "--mlflow-version",
        "2",
        "--policy",
        DEFAULT,
        "--summary-file",
        summary,
        env=env,
    )
    assert passed.exit_code == 0, passed
    assert f"{registry.model} 2 vs champion 1" in passed.stdout
    assert "| code commit | `3f2a1c9d8e7b` |" in summary.read_text()
    failed = run(
        "gate",
        "--mlflow-model",
        f"models:/{registry.model}/3",
        "--tracking-uri",
        registry.uri,
        "--policy",
        DEFAULT,
        "--format",
        "json",
    )
    assert failed.exit_code == 1
    assert json.loads(failed.stdout)["champion_version"] == "1"
    newbie = run(
        "gate", "--mlflow-model", f"models:/{registry.newbie}/1", "--policy", DEFAULT, env=env
    )
    assert newbie.exit_code == 0 and NO_CHAMPION in newbie.stdout


def test_cli_unknown_version(registry: Registry) -> None:
    result = run(
        "gate",
        "--mlflow-model",
        f"models:/{registry.model}/42",
        "--tracking-uri",
        registry.uri,
        "--policy",
        DEFAULT,
    )
    assert_usage_error(result, registry.uri, f"model '{registry.model}' version 42 not found")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_tracking_uri_fails_fast() -> None:
    uri = f"http://127.0.0.1:{_free_port()}"
    start = time.monotonic()
    result = run(
        "gate",
        "--mlflow-model",
        "m",
        "--mlflow-version",
        "1",
        "--tracking-uri",
        uri,
        "--policy",
        DEFAULT,
    )
    assert time.monotonic() - start < 10
    assert_usage_error(result, f"cannot read models:/m/1 from MLflow at {uri}: connection refused")


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@pytest.mark.parametrize("timeout", [3, 5])
def test_the_timeout_bounds_the_whole_wait(silent_server: str, timeout: int) -> None:
    """`--mlflow-timeout 3` took 6.4 s: two tries of ceil(3 / 2) = 2 s, plus the import."""
    import mlflow  # noqa: F401 - the import is not MLflow's answer: keep it out of the clock

    start = time.monotonic()
    with pytest.raises(ExternalError, match=f"no answer within {timeout}s"):
        evidence_from_mlflow(silent_server, "m", "1", timeout=timeout)
    assert time.monotonic() - start < timeout + 0.9


def test_silent_server_times_out_within_the_bound(silent_server: str) -> None:
    start = time.monotonic()
    with pytest.raises(ExternalError) as info:
        evidence_from_mlflow(silent_server, "m", "1", timeout=2)
    assert time.monotonic() - start < 8  # two tries of 1 s, plus importing mlflow
    assert str(info.value).startswith(
        f"cannot read models:/m/1 from MLflow at {silent_server}: no answer within 2s"
    )


def test_environment_is_restored(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "77")
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    evidence_from_mlflow(registry.uri, registry.model, "2")
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "77"
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ


# --- a mistyped champion alias, and a version's metrics on request ------------------------------


def test_a_mistyped_champion_alias_names_the_aliases_that_exist(registry: Registry) -> None:
    """The model has aliases: one that does not exist is a typo, not a first promotion (which
    would pass every regression gate)."""
    with pytest.raises(InvalidInput) as info:
        evidence_from_mlflow(registry.uri, registry.model, "3", champion_alias="prdo")
    assert str(info.value) == (
        f"--champion-alias: no alias 'prdo' on model {registry.model} "
        "(its aliases: challenger, champion)"
    )
    result = run(
        "gate",
        "--mlflow-model",
        f"models:/{registry.model}/3",
        "--tracking-uri",
        registry.uri,
        "--champion-alias",
        "prdo",
        "--policy",
        DEFAULT,
    )
    assert_usage_error(result, f"--champion-alias: no alias 'prdo' on model {registry.model}")


def test_a_model_without_any_alias_has_no_champion_whatever_the_alias(registry: Registry) -> None:
    evidence = evidence_from_mlflow(registry.uri, registry.newbie, "1", champion_alias="prdo")
    assert evidence.champion is None


def test_a_versions_metrics_as_the_champion(registry: Registry) -> None:
    champion = champion_from_mlflow(registry.uri, registry.model, "1")
    assert champion.version == "1" and champion.deployed
    assert champion.metrics["accuracy"] == 0.948
    assert champion.scores["accuracy"] == tuple(CHAMPION_SCORES)
    with pytest.raises(InvalidInput) as info:
        champion_from_mlflow(registry.uri, registry.model, "42")
    assert f"model '{registry.model}' version 42 not found in the registry" in str(info.value)


def test_a_scores_artifact_over_the_limit_is_refused_before_it_is_downloaded(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The size comes from the server's artifact listing (the old code downloaded and read the
    whole file, then parsed it with no limit of its own); a lower limit stands in for 64 MiB."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=registry.uri, registry_uri=registry.uri)
    listed = {a.path: a.file_size for a in client.list_artifacts(registry.runs["2"])}
    size = listed["scores.json"]
    monkeypatch.setattr(mlflow_adapter, "SCORES_LIMIT", size - 1)
    with pytest.raises(InvalidInput) as refused:
        evidence_from_mlflow(registry.uri, registry.model, "2")
    assert str(refused.value) == (
        f"MLflow {registry.uri} models:/{registry.model}/2 artifact scores.json: scores file is"
        f" {size:,} bytes, over the"
        f" {size - 1:,} bytes limit for a scores file (round the scores or log a sample of them)"
    )
    monkeypatch.setattr(mlflow_adapter, "SCORES_LIMIT", size)
    assert evidence_from_mlflow(registry.uri, registry.model, "2").scores["accuracy"]
