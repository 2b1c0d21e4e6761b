"""Evidence from the MLflow model registry. The only module that imports mlflow.

mlflow is imported inside the functions (about a second of import time), so commands that do
not read MLflow never load it. The adapter returns our `Evidence`, never mlflow objects.

* candidate: a registered model version; its metrics, params and lineage come from the run
  that produced it (`mlflow.source.git.commit` tag, `mlflow.log_input` datasets);
* champion: the version behind an alias (default `champion`); a model with no alias at all
  has none (a first promotion, unless promote finds the environment running a version: then
  `champion_from_mlflow` gives that version's metrics); an alias the model lacks while it has
  others is an error naming them (a typo must not pass every regression gate);
* image: the model version's tags `image` and `image_tag`, when set;
* per-example scores: a run artifact `scores.json` (`{"metric": [..]}`), when present.

`MlflowRegistry` is the registry the bot writes (`bot.ports.Registry`): aliases that follow
what is deployed, and tags on versions (deployed, rolled back, the gate's answer).

The tracking URI may hold credentials (`https://user:password@host`, `?token=...`): every
message, the run link in the evidence, and the log records made while MLflow is asked
(urllib3 logs each request line, and its retries as warnings) show it redacted
(`bot.text.redact`).
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bot.core.errors import ExternalError, InvalidInput
from bot.core.evidence import Champion, Evidence, pairing_problems
from bot.core.loading import (
    MAX_GATE_RESULTS_BYTES,
    parse_json,
    read_text,
    too_big,
    validate_data,
)
from bot.text.redact import redact, redact_url, redact_urls_in, url_secrets

DEFAULT_TIMEOUT = 10.0
# A tracking server over HTTP (what mlflow-skinny supports without a database driver).
TRACKING_SCHEMES = ("http://", "https://", "databricks")
SCORES_ARTIFACT = "scores.json"
SCORES_LIMIT = MAX_GATE_RESULTS_BYTES  # the same per-example scores a gate-results file may carry
SCORES_FIX = "round the scores or log a sample of them"
GIT_COMMIT_TAG = "mlflow.source.git.commit"
DATASET_CONTEXT_TAG = "mlflow.data.context"
_EVAL_CONTEXTS = ("evaluation", "eval", "test", "validation")
_MODEL_URI = re.compile(r"models:/(?P<name>[^/@]+)(?:/(?P<version>[^/@]+)|@(?P<alias>[^/@]+))/?")


@dataclass(frozen=True)
class ModelSpec:
    """A registered model version, or the version an alias points to."""

    name: str
    version: str | None = None
    alias: str | None = None

    def __str__(self) -> str:
        return (
            f"models:/{self.name}@{self.alias}"
            if self.alias
            else f"models:/{self.name}/{self.version}"
        )


def parse_model_uri(text: str) -> ModelSpec:
    """`models:/NAME/VERSION` or `models:/NAME@ALIAS` -> ModelSpec; ValueError otherwise."""
    match = _MODEL_URI.fullmatch(text.strip())
    if not match:
        raise ValueError(f"bad model URI {text!r} (use models:/NAME/VERSION or models:/NAME@ALIAS)")
    return ModelSpec(match.group("name"), match.group("version"), match.group("alias"))


def model_spec(model: str, version: str | None) -> ModelSpec:
    """A spec from `--mlflow-model` and `--mlflow-version` (a `models:/` URI needs no version)."""
    if model.startswith("models:/"):
        try:
            spec = parse_model_uri(model)
        except ValueError as error:
            raise InvalidInput.one("--mlflow-model", "", str(error)) from None
        if version is not None and version != spec.version:
            raise InvalidInput.one(
                "--mlflow-version", "", f"conflicts with {model} (give the version in one place)"
            )
        return spec
    if not model.strip():
        raise InvalidInput.one("--mlflow-model", "", "empty model name")
    if version is None or not version.strip():
        raise InvalidInput.one(
            "--mlflow-version", "", f"missing for model {model!r} (or pass models:/{model}/N)"
        )
    return ModelSpec(model, version.strip())


def run_url(tracking_uri: str, experiment_id: str | None, run_id: str) -> str | None:
    """The MLflow UI page of a run, for an http(s) tracking server; credentials in the
    tracking URI are redacted (the link is printed and goes into pull requests)."""
    if not tracking_uri.startswith(("http://", "https://")) or not experiment_id:
        return None
    parts = urlsplit(redact_url(tracking_uri))
    page = f"/experiments/{experiment_id}/runs/{run_id}"
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/", fragment=page))


def _scrubber(tracking_uri: str) -> Callable[[str], str]:
    """Text -> the text with the URLs in it, and the secrets of `tracking_uri`, redacted."""
    secrets = url_secrets(tracking_uri)
    return lambda text: redact(redact_urls_in(text), secrets)


@contextmanager
def bounded_http(timeout: float) -> Iterator[None]:
    """MLflow's HTTP client retries for minutes by default; bound every request to
    `timeout` seconds in all (two tries of half the timeout each from 4 s up, one try below:
    MLflow takes whole seconds, and two rounded-up halves of 3 s made 4), no backoff, and
    restore the environment."""
    tries = 2 if timeout >= 4 else 1
    per_try = max(1, math.floor(timeout / tries))
    settings = {
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(per_try),
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(tries - 1),
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
        "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
    }
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def scrubbed_logs(scrub: Callable[[str], str]) -> Iterator[None]:
    """Every log record made meanwhile (by any library) has its message passed through
    `scrub`; the record factory is restored afterwards."""
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            text = record.getMessage()
        except (TypeError, ValueError):  # a bad format: logging reports it when emitting
            return record
        clean = scrub(text)
        if clean != text:
            record.msg, record.args = clean, None
        return record

    logging.setLogRecordFactory(factory)
    try:
        yield
    finally:
        logging.setLogRecordFactory(previous)


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)


def _reason(error: BaseException, timeout: float, scrub: Callable[[str], str]) -> str:
    """A short, one-line reason, chosen by exception type and HTTP status (not by text);
    `scrub` redacts the error's own text before it is shortened (so no cut URL escapes)."""
    import requests

    chain = list(_chain(error))
    if any(isinstance(e, requests.exceptions.Timeout | TimeoutError) for e in chain):
        return f"no answer within {timeout:g}s"
    for e in chain:
        if isinstance(e, OSError) and e.strerror:
            return e.strerror[0].lower() + e.strerror[1:]
    status = getattr(error, "get_http_status_code", None)
    code = getattr(error, "error_code", None)
    if code == "ENDPOINT_NOT_FOUND":
        return "no MLflow REST API there (HTTP 404; is this an MLflow tracking server?)"
    if callable(status) and code and code != "INTERNAL_ERROR":
        return f"HTTP {status()} {code}"
    first = scrub(" ".join(str(error).split()))
    return first if len(first) <= 160 else first[:157] + "..."


def _not_found(error: BaseException) -> bool:
    """MLflow itself said so (a bare 404 from something else is not a missing model)."""
    return getattr(error, "error_code", None) == "RESOURCE_DOES_NOT_EXIST"


def _datasets(run: Any) -> tuple[tuple[str, ...], str | None]:
    """`name@digest` of each dataset input, and the evaluation one (else the first)."""
    inputs = getattr(getattr(run, "inputs", None), "dataset_inputs", None) or []
    names: list[str] = []
    chosen: str | None = None
    for item in inputs:
        dataset = item.dataset
        label = f"{dataset.name}@{dataset.digest}" if dataset.digest else str(dataset.name)
        names.append(label)
        contexts = {t.value for t in item.tags or () if t.key == DATASET_CONTEXT_TAG}
        if chosen is None and contexts & set(_EVAL_CONTEXTS):
            chosen = label
    return tuple(names), chosen or (names[0] if names else None)


def _metrics(metrics: Mapping[str, float]) -> dict[str, float]:
    return {str(k): float(v) for k, v in metrics.items()}


def _scores(client: Any, run_id: str, source: str) -> dict[str, object]:
    """The run's `scores.json` artifact, or {} when it has none; one larger than
    `SCORES_LIMIT` is refused by the size the server lists, before it is downloaded."""
    listed = {info.path: info for info in client.list_artifacts(run_id)}
    if SCORES_ARTIFACT not in listed:
        return {}
    what = f"{source} artifact {SCORES_ARTIFACT}"
    size = getattr(listed[SCORES_ARTIFACT], "file_size", None)
    if isinstance(size, int) and size > SCORES_LIMIT:
        raise InvalidInput.one(what, "", too_big(size, SCORES_LIMIT, "scores", SCORES_FIX))
    with tempfile.TemporaryDirectory(prefix="model-bot-") as tmp:
        local = client.download_artifacts(run_id, SCORES_ARTIFACT, tmp)
        try:
            text = read_text(Path(local), "scores", SCORES_LIMIT, SCORES_FIX)
        except InvalidInput as error:
            raise InvalidInput.one(what, "", error.problems[0].message) from None
    data = parse_json(text, what)
    if not isinstance(data, dict):
        raise InvalidInput.one(what, "", 'expected {"metric": [score, ...]}')
    return data


def _version_data(client: Any, name: str, version: str, source: str) -> dict[str, Any]:
    """Metrics, params, lineage and scores of one model version, as plain data."""
    mv = client.get_model_version(name, version)
    data: dict[str, Any] = {"version": str(mv.version), "tags": dict(mv.tags or {})}
    if not mv.run_id:
        data["metrics"] = {m.key: m.value for m in (getattr(mv, "metrics", None) or [])}
        return data
    run = client.get_run(mv.run_id)
    datasets, dataset_version = _datasets(run)
    tags = run.data.tags or {}
    data.update(
        metrics=_metrics(run.data.metrics or {}),
        params=dict(run.data.params or {}),
        run_id=run.info.run_id,
        experiment_id=str(run.info.experiment_id),
        code_commit=tags.get(GIT_COMMIT_TAG),
        datasets=datasets,
        dataset_version=tags.get("dataset_version") or dataset_version,
        scores=_scores(client, run.info.run_id, source),
    )
    return data


def _resolve(client: Any, spec: ModelSpec, champion_alias: str) -> tuple[str, str | None]:
    """The candidate's version and the champion's (None without the alias)."""
    model = client.get_registered_model(spec.name)
    aliases = dict(getattr(model, "aliases", None) or {})
    version = spec.version
    if spec.alias is not None:
        if spec.alias not in aliases:
            raise InvalidInput.one(
                "--mlflow-model", "", f"model {spec.name!r} has no alias {spec.alias!r}"
            )
        version = str(aliases[spec.alias])
    assert version is not None
    champion = aliases.get(champion_alias)
    if champion is None and aliases:
        # Not a first promotion: the model has a champion under another name (a typo would
        # otherwise pass every regression gate as "no champion").
        raise InvalidInput.one(
            "--champion-alias",
            "",
            f"no alias {champion_alias!r} on model {spec.name} "
            f"(its aliases: {', '.join(sorted(aliases))})",
        )
    return version, None if champion is None else str(champion)


def _checked_uri(tracking_uri: str | None) -> tuple[Callable[[str], str], str]:
    """The scrubber for `tracking_uri` and the URI as every message names it; InvalidInput
    for a missing or unsupported URI."""
    if not tracking_uri:
        raise InvalidInput.one(
            "--tracking-uri",
            "",
            "no MLflow tracking URI (pass --tracking-uri or set MLFLOW_TRACKING_URI)",
        )
    scrub = _scrubber(tracking_uri)
    shown = scrub(redact_url(tracking_uri))
    if not tracking_uri.startswith(TRACKING_SCHEMES):
        raise InvalidInput.one(
            "--tracking-uri",
            "",
            f"unsupported MLflow tracking URI {shown!r} (use the http(s) address of a "
            "tracking server, or databricks)",
        )
    return scrub, shown


@contextmanager
def _talking_to(
    uri: tuple[Callable[[str], str], str],
    spec: ModelSpec,
    timeout: float,
    not_found: Callable[[], InvalidInput],
    doing: str | None = None,
) -> Iterator[None]:
    """One conversation with MLflow: HTTP bounded by `timeout`, logs scrubbed, and its
    failures as our errors naming the URI (`uri`: its scrubber and redacted form, from
    `_checked_uri`); "not found" is `not_found()`. `doing`: what was asked, as in "cannot
    {doing} MLflow at URI" (default: `read {spec} from`)."""
    scrub, shown = uri
    what = doing or f"read {spec} from"
    with bounded_http(timeout), scrubbed_logs(scrub):
        from mlflow.exceptions import MlflowException

        try:
            yield
        except MlflowException as error:
            if _not_found(error):
                raise not_found() from None
            raise ExternalError(
                f"cannot {what} MLflow at {shown}: {_reason(error, timeout, scrub)} "
                "(check --tracking-uri / MLFLOW_TRACKING_URI and that the server is up)"
            ) from None
        except (OSError, ValueError) as error:
            raise ExternalError(
                f"cannot {what} MLflow at {shown}: {_reason(error, timeout, scrub)}"
            ) from None


def champion_from_mlflow(
    tracking_uri: str | None,
    model_name: str,
    version: str,
    timeout: float = DEFAULT_TIMEOUT,
) -> Champion:
    """One registered version's metrics (and scores) as the champion to gate against, marked
    `deployed`: promote asks for the version the environment runs when the registry has no
    alias at all. Errors as `evidence_from_mlflow`'s."""
    uri = _checked_uri(tracking_uri)
    assert tracking_uri is not None
    spec = ModelSpec(model_name, version)
    source = f"MLflow {uri[1]} {spec}"
    not_found = (
        f"model {model_name!r} version {version} not found in the registry (the version the "
        "environment runs, gated against as the champion because the model has no alias: set "
        "the champion alias on the version to compare with)"
    )
    with _talking_to(uri, spec, timeout, lambda: InvalidInput.one(source, "", not_found)):
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        data = _version_data(client, model_name, version, source)
    champion = {
        "version": data["version"],
        "metrics": data["metrics"],
        "scores": data.get("scores", {}),
    }
    return validate_data(champion, Champion, source).model_copy(update={"deployed": True})


def evidence_from_mlflow(
    tracking_uri: str | None,
    model_name: str,
    version: str | None = None,
    champion_alias: str = "champion",
    timeout: float = DEFAULT_TIMEOUT,
) -> Evidence:
    """The Evidence for a registered model version (or `models:/NAME/N`, `models:/NAME@ALIAS`
    as `model_name`) against the version behind `champion_alias`.

    Raises `InvalidInput` for an unknown model or version, `ExternalError` when MLflow cannot
    be reached or fails; either names the tracking URI.
    """
    uri = _checked_uri(tracking_uri)
    assert tracking_uri is not None
    spec = model_spec(model_name, version)
    source = f"MLflow {uri[1]} {spec}"
    step = [""]  # what was being read when the registry said "not found"

    def not_found() -> InvalidInput:
        return InvalidInput.one(
            source,
            "",
            f"model {spec.name!r}{step[0]} not found in the registry "
            "(check the model name and version)",
        )

    with _talking_to(uri, spec, timeout, not_found):
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        candidate_version, champion_version = _resolve(client, spec, champion_alias)
        step[0] = f" version {candidate_version}"
        candidate = _version_data(client, spec.name, candidate_version, source)
        champion = None
        if champion_version is not None:
            step[0] = f" champion version {champion_version} (alias {champion_alias!r})"
            champion = _version_data(client, spec.name, champion_version, source)
    return _evidence(tracking_uri, spec.name, candidate, champion, source)


class _Absent(Exception):
    """MLflow said it has no such model or version (a read answers None)."""


class MlflowRegistry:
    """The `bot.ports.Registry` of an MLflow tracking server: reads and moves aliases, reads
    and sets version tags. Every call is one bounded conversation (`timeout` seconds per
    request, as `evidence_from_mlflow`), its log records and errors scrubbed of the tracking
    URI's credentials; an unreachable or failing server is an `ExternalError` naming the URI
    (redacted), a version the registry lacks on a write an `InvalidInput`.

    MLflow answers a missing alias with INVALID_PARAMETER_VALUE (only a missing model is
    RESOURCE_DOES_NOT_EXIST), so an alias is read from the registered model's aliases."""

    def __init__(self, tracking_uri: str | None, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._uri = _checked_uri(tracking_uri)
        assert tracking_uri is not None
        self._tracking_uri = tracking_uri
        self._timeout = timeout
        self._client: Any = None

    @property
    def shown_uri(self) -> str:
        """The tracking URI as messages show it (credentials redacted)."""
        return self._uri[1]

    def _mlflow(self) -> Any:
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(
                tracking_uri=self._tracking_uri, registry_uri=self._tracking_uri
            )
        return self._client

    def _absent(self) -> InvalidInput:
        raise _Absent

    def _missing(self, spec: ModelSpec, what: str) -> Callable[[], InvalidInput]:
        return lambda: InvalidInput.one(
            f"MLflow {self.shown_uri} {spec}",
            "",
            f"model {spec.name!r} version {spec.version} not found in the registry ({what})",
        )

    def alias_version(self, model: str, alias: str) -> str | None:
        spec = ModelSpec(model, alias=alias)
        try:
            with _talking_to(self._uri, spec, self._timeout, self._absent):
                registered = self._mlflow().get_registered_model(model)
        except _Absent:
            return None
        aliases = dict(getattr(registered, "aliases", None) or {})
        version = aliases.get(alias)
        return None if version is None else str(version)

    def version_tags(self, model: str, version: str) -> Mapping[str, str] | None:
        if not version.isdigit():  # MLflow numbers its versions: `7-abc` is none of them
            return None
        spec = ModelSpec(model, version)
        try:
            with _talking_to(self._uri, spec, self._timeout, self._absent):
                found = self._mlflow().get_model_version(model, version)
        except _Absent:
            return None
        return {str(k): str(v) for k, v in (found.tags or {}).items()}

    def set_alias(self, model: str, alias: str, version: str) -> None:
        spec = ModelSpec(model, version)
        with _talking_to(
            self._uri,
            spec,
            self._timeout,
            self._missing(spec, f"alias {alias!r} cannot point at it"),
            doing=f"point alias {alias!r} of {model} at version {version} in",
        ):
            self._mlflow().set_registered_model_alias(model, alias, version)

    def set_version_tags(self, model: str, version: str, tags: Mapping[str, str]) -> None:
        spec = ModelSpec(model, version)
        with _talking_to(
            self._uri,
            spec,
            self._timeout,
            self._missing(spec, "cannot tag it"),
            doing=f"tag {spec} in",
        ):
            client = self._mlflow()
            for key, value in tags.items():
                client.set_model_version_tag(model, version, key, value)


def _evidence(
    tracking_uri: str,
    name: str,
    candidate: dict[str, Any],
    champion: dict[str, Any] | None,
    source: str,
) -> Evidence:
    tags = candidate["tags"]
    run_id = candidate.get("run_id")
    data: dict[str, Any] = {
        "model": {
            "name": name,
            "version": candidate["version"],
            "image": tags.get("image"),
            "tag": tags.get("image_tag"),
            "uri": f"models:/{name}/{candidate['version']}",
        },
        "metrics": candidate["metrics"],
        "scores": candidate.get("scores", {}),
        "lineage": {
            "code_commit": candidate.get("code_commit"),
            "dataset_version": candidate.get("dataset_version"),
            "datasets": candidate.get("datasets", ()),
            "run_id": run_id,
            "run_url": run_url(tracking_uri, candidate.get("experiment_id"), run_id)
            if run_id
            else None,
            "experiment_id": candidate.get("experiment_id"),
            "params": candidate.get("params", {}),
        },
    }
    if champion is not None:
        data["champion"] = {
            "version": champion["version"],
            "metrics": champion["metrics"],
            "scores": champion.get("scores", {}),
        }
    evidence = validate_data(data, Evidence, source)
    problems = pairing_problems(evidence, source)
    if problems:
        raise InvalidInput(problems)
    return evidence


__all__ = [
    "DEFAULT_TIMEOUT",
    "MlflowRegistry",
    "ModelSpec",
    "bounded_http",
    "champion_from_mlflow",
    "evidence_from_mlflow",
    "model_spec",
    "parse_model_uri",
    "run_url",
    "scrubbed_logs",
]
