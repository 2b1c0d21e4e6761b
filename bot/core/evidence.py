"""Evidence: what is known about a candidate model and the current champion.

Both sources (a gate-results JSON file and the MLflow registry, see `bot.adapters.mlflow`)
produce this one validated model.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from bot.core.errors import InvalidInput, Problem
from bot.core.loading import MAX_GATE_RESULTS_BYTES, parse_json, read_text, validate_data

# Metric values may be NaN/inf/null in the file: such a metric fails its gate with that reason.
# Numbers are strict: an integer or a float, never a string ("0.95") or a boolean (true).
Score = StrictFloat
MetricValue = StrictFloat | None
GATE_RESULTS_FIX = (
    "1,000,000 paired per-example scores take at most 50 MiB: round the scores or score a sample"
)
Name = Annotated[str, StringConstraints(min_length=1, max_length=253)]


def version_as_text(value: object) -> object:
    """`"version": 7` is as common as `"7"`; both mean the same registry version."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelRef(Strict):
    name: Name
    version: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    image: str | None = Field(default=None, description="container image repository")
    tag: str | None = Field(default=None, description="container image tag; default the version")
    uri: str | None = Field(default=None, description="model artifact URI, e.g. models:/name/7")

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: object) -> object:
        return version_as_text(value)


class Champion(Strict):
    version: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    metrics: dict[Name, MetricValue] = {}
    slices: dict[Name, dict[Name, MetricValue]] = {}
    scores: dict[Name, tuple[Score, ...]] = Field(default={}, description="per-example scores")
    # Set by promote, not read from files: the version the environment runs, gated against
    # because the registry has no alias at all (reports say so).
    deployed: SkipJsonSchema[bool] = Field(default=False, exclude=True)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: object) -> object:
        return version_as_text(value)


class Lineage(Strict):
    code_commit: str | None = None
    dataset_version: str | None = None
    datasets: tuple[str, ...] = ()
    run_id: str | None = None
    run_url: str | None = None
    experiment_id: str | None = None
    params: dict[Name, str] = {}

    @field_validator("params", mode="before")
    @classmethod
    def _params_text(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}
        return value


class Evidence(Strict):
    """A candidate's metrics (and optionally slices and per-example scores) plus its champion."""

    model: ModelRef
    metrics: dict[Name, MetricValue]
    slices: dict[Name, dict[Name, MetricValue]] = Field(
        default={}, description="slice name (e.g. 'region=eu') -> metrics on that slice"
    )
    scores: dict[Name, tuple[Score, ...]] = Field(
        default={}, description="metric -> per-example scores, paired by index with the champion's"
    )
    champion: Champion | None = None
    lineage: Lineage = Lineage()

    def metric(self, name: str) -> float | None:
        return self.metrics.get(name)

    @property
    def image_tag(self) -> str:
        return self.model.tag or self.model.version


def is_measurable(value: float | None) -> bool:
    return value is not None and not math.isnan(value) and not math.isinf(value)


def pairing_problems(evidence: Evidence, source: str) -> list[Problem]:
    """Per-example scores are paired by index: a metric scored for both the candidate and the
    champion needs the same number of scores on each side."""
    if evidence.champion is None:
        return []
    problems = []
    for metric, scores in evidence.scores.items():
        other = evidence.champion.scores.get(metric)
        if other is not None and len(other) != len(scores):
            problems.append(
                Problem(
                    source,
                    f"champion.scores.{metric}",
                    f"has {len(other)} scores but scores.{metric} has {len(scores)} "
                    "(scores are paired by example index: give both the same examples)",
                )
            )
    return problems


def load_evidence(path: Path) -> Evidence:
    """Read a gate-results JSON file (format: `model-bot schema gate-results`), at most
    `MAX_GATE_RESULTS_BYTES` (64 MiB) long."""
    text = read_text(path, "gate results", MAX_GATE_RESULTS_BYTES, GATE_RESULTS_FIX)
    evidence = validate_data(parse_json(text, str(path)), Evidence, str(path))
    problems = pairing_problems(evidence, str(path))
    if problems:
        raise InvalidInput(problems)
    return evidence


EVIDENCE_SUFFIX = ".evidence.json"


def evidence_file(report_path: str) -> str:
    """Where the evidence of a promotion is committed: beside its report
    (`reports/production/fraud-detector/7.md` -> `.../7.evidence.json`)."""
    stem = report_path[: -len(".md")] if report_path.endswith(".md") else report_path
    return stem + EVIDENCE_SUFFIX


def evidence_json(evidence: Evidence) -> bytes:
    """The evidence as gate-results JSON (what `load_evidence` reads): committed with the
    promotion, so `advance` gates the same artifact against the next environment's policy
    without the training pipeline. Non-finite numbers stay readable (`NaN`, `Infinity`)."""
    data = evidence.model_dump(mode="json", exclude_none=True)
    return (json.dumps(data, indent=2, sort_keys=True, allow_nan=True) + "\n").encode("utf-8")


def evidence_from_bytes(data: bytes, source: str) -> Evidence:
    """Committed evidence read back (the same checks as a gate-results file)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput.one(source, "", "evidence file is not UTF-8 text") from None
    evidence = validate_data(parse_json(text, source), Evidence, source)
    problems = pairing_problems(evidence, source)
    if problems:
        raise InvalidInput(problems)
    return evidence


def gate_results_json_schema() -> dict[str, object]:
    schema = Evidence.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "model-bot gate results v1"
    return schema
