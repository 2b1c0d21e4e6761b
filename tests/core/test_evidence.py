"""Gate results files: the format, every malformed case, and score pairing."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bot.core.errors import InvalidInput
from bot.core.evidence import Evidence, gate_results_json_schema, load_evidence

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = [
    REPO / "examples" / "gate-results.json",
    REPO / "examples" / "gate-results-failing.json",
]
MINIMAL: dict[str, Any] = {"model": {"name": "m", "version": "1"}, "metrics": {"accuracy": 0.9}}


def write(tmp_path: Path, data: object, name: str = "results.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_load_and_match_the_schema(path: Path) -> None:
    evidence = load_evidence(path)
    assert evidence.model.name == "fraud-detector"
    assert evidence.champion is not None and evidence.champion.version == "6"
    assert len(evidence.scores["accuracy"]) == len(evidence.champion.scores["accuracy"])
    jsonschema.validate(json.loads(path.read_text()), gate_results_json_schema())


def test_design_example_loads(tmp_path: Path) -> None:
    data = {
        "model": {
            "name": "fraud-detector",
            "version": 7,
            "image": "ghcr.io/acme/fraud-detector",
            "tag": "7-3f2a1c9",
        },
        "metrics": {"accuracy": 0.951, "latency_p99_ms": 8.1, "safety_violations": 0},
        "champion": {"version": 6, "metrics": {"accuracy": 0.948, "latency_p99_ms": 8.4}},
        "lineage": {
            "code_commit": "3f2a1c9",
            "dataset_version": "v1",
            "run_id": "r",
            "params": {"lr": 0.1},
        },
    }
    evidence = load_evidence(write(tmp_path, data))
    assert evidence.model.version == "7" and evidence.champion is not None
    assert evidence.champion.version == "6"
    assert evidence.image_tag == "7-3f2a1c9"
    assert evidence.lineage.params == {"lr": "0.1"}


def test_nan_and_null_metrics_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '{"model": {"name": "m", "version": "1"}, "metrics": {"a": NaN, "b": Infinity, "c": null}}',
    )
    evidence = load_evidence(path)
    assert math.isnan(evidence.metrics["a"] or 0.0) and evidence.metrics["b"] == math.inf
    assert evidence.metrics["c"] is None


@pytest.mark.parametrize(
    ("data", "problems"),
    [
        (
            "{",
            [
                "line 1: invalid JSON: Expecting property name enclosed in double quotes (fix the syntax)"
            ],
        ),
        ("", ["line 1: invalid JSON: Expecting value"]),
        ("[]", ["(top level): expected a mapping, got []"]),
        ({"metrics": {}}, ["model: required field is missing (add it)"]),
        ({**MINIMAL, "extra": 1}, ["extra: unknown field (remove it or fix its spelling)"]),
        (
            {**MINIMAL, "metrics": {"accuracy": "high"}},
            ['metrics.accuracy: expected a number, got "high"'],
        ),
        ({**MINIMAL, "metrics": [0.9]}, ["metrics: expected a mapping, got [0.9]"]),
        ({"model": {"name": "m"}, "metrics": {}}, ["model.version: required field is missing"]),
        (
            {"model": {"name": "", "version": "1"}, "metrics": {}},
            ["model.name: string should have at least 1 character"],
        ),
        (
            {"model": {"name": "m", "version": []}, "metrics": {}},
            ["model.version: expected a string, got []"],
        ),
        ({**MINIMAL, "champion": {"metrics": {}}}, ["champion.version: required field is missing"]),
        ({**MINIMAL, "slices": {"eu": {"a": "x"}}}, ['slices.eu.a: expected a number, got "x"']),
        ({**MINIMAL, "scores": {"a": [1, "x"]}}, ['scores.a[1]: expected a number, got "x"']),
        ({**MINIMAL, "lineage": {"commit": "x"}}, ["lineage.commit: unknown field"]),
        (
            {
                **MINIMAL,
                "scores": {"a": [1, 0, 1]},
                "champion": {"version": "0", "scores": {"a": [1, 0]}},
            },
            [
                "champion.scores.a: has 2 scores but scores.a has 3 (scores are paired by example index"
            ],
        ),
    ],
)
def test_malformed_results(tmp_path: Path, data: object, problems: list[str]) -> None:
    path = write(tmp_path, data)
    with pytest.raises(InvalidInput) as info:
        load_evidence(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    for problem in problems:
        assert problem in message


def test_all_problems_at_once(tmp_path: Path) -> None:
    data = {"model": {"name": "m"}, "metrics": {"a": "x", "b": []}, "bogus": 1}
    with pytest.raises(InvalidInput) as info:
        load_evidence(write(tmp_path, data))
    assert {p.field for p in info.value.problems} == {
        "model.version",
        "metrics.a",
        "metrics.b",
        "bogus",
    }


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="gate results file not found"):
        load_evidence(tmp_path / "nope.json")


def test_deeply_nested_json(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"nested too deeply|expected a mapping"):
        load_evidence(write(tmp_path, "[" * 100_000 + "]" * 100_000))


def test_evidence_is_frozen_and_forbids_extra() -> None:
    evidence = Evidence.model_validate(MINIMAL)
    assert evidence.metric("accuracy") == 0.9 and evidence.metric("x") is None
    schema = gate_results_json_schema()
    assert schema["additionalProperties"] is False


# --- numbers are numbers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {**MINIMAL, "metrics": {"accuracy": "0.95"}},
            "metrics.accuracy",
            'expected a number, got "0.95" (write the number without quotes)',
        ),
        (
            {**MINIMAL, "metrics": {"accuracy": True}},
            "metrics.accuracy",
            "expected a number, got true (true and false are not numbers: write 1 or 0)",
        ),
        (
            {**MINIMAL, "champion": {"version": "6", "metrics": {"accuracy": "1e-3"}}},
            "champion.metrics.accuracy",
            'expected a number, got "1e-3" (write the number without quotes)',
        ),
        (
            {**MINIMAL, "slices": {"region=eu": {"accuracy": False}}},
            "slices.region=eu.accuracy",
            "expected a number, got false (true and false are not numbers: write 1 or 0)",
        ),
        (
            {**MINIMAL, "scores": {"accuracy": [1, True, 0]}},
            "scores.accuracy[1]",
            "expected a number, got true (true and false are not numbers: write 1 or 0)",
        ),
        (
            {
                **MINIMAL,
                "champion": {"version": "6", "slices": {"a=b": {"x": "NaN"}}},
            },
            "champion.slices.a=b.x",
            'expected a number, got "NaN" (write the number without quotes)',
        ),
        (
            {**MINIMAL, "champion": {"version": "6", "scores": {"accuracy": ["1"]}}},
            "champion.scores.accuracy[0]",
            'expected a number, got "1" (write the number without quotes)',
        ),
    ],
)
def test_strings_and_booleans_are_not_numbers(
    tmp_path: Path, data: object, field: str, message: str
) -> None:
    path = write(tmp_path, data)
    with pytest.raises(InvalidInput) as info:
        load_evidence(path)
    [problem] = info.value.problems
    assert (problem.source, problem.field, problem.message) == (str(path), field, message)


def test_integers_and_non_finite_numbers_stay_numbers(tmp_path: Path) -> None:
    evidence = load_evidence(
        write(
            tmp_path,
            '{"model": {"name": "m", "version": 7}, "metrics": {"violations": 0, "big": '
            + "9" * 100
            + ', "x": -Infinity}, "scores": {"a": [0, 1, 0.5]}}',
        )
    )
    assert evidence.metrics["violations"] == 0 and evidence.metrics["x"] == -math.inf
    assert evidence.metrics["big"] == float("9" * 100)
    assert evidence.scores["a"] == (0.0, 1.0, 0.5) and evidence.model.version == "7"


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (
            '{"model": {"name": "m", "version": "1"}, "metrics": {"accuracy": ' + "1" * 5000 + "}}",
            "metrics.accuracy",
            "number with 5000 digits is too long (at most 100 digits; write e.g. 1.5e30)",
        ),
        (
            '{"model": {"name": "m", "version": ' + "7" * 5000 + '}, "metrics": {}}',
            "model.version",
            "number with 5000 digits is too long",
        ),
        (
            '{"model": {"name": "m", "version": "1"}, "metrics": {}, "champion": '
            '{"version": "1", "scores": {"a": [1e999]}}}',
            "champion.scores.a[0]",
            "number 1e999 is too large for a float (at most about 1.8e308)",
        ),
    ],
)
def test_numbers_a_float_cannot_hold_are_refused(
    tmp_path: Path, text: str, field: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InvalidInput) as info:
        load_evidence(path)  # was: ValueError (int-string conversion limit), an internal error
    [problem] = info.value.problems
    assert (problem.source, problem.field) == (str(path), field)
    assert problem.message.startswith(message)


def test_gate_results_over_64_mib_are_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    with path.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024 + 1)
    with pytest.raises(InvalidInput) as info:
        load_evidence(path)
    assert str(info.value) == (
        f"{path}: gate results file is 67,108,865 bytes, over the 64 MiB limit for a gate "
        "results file (1,000,000 paired per-example scores take at most 50 MiB: round the "
        "scores or score a sample)"
    )


def test_a_million_paired_scores_fit(tmp_path: Path) -> None:
    # the large case the limit is sized for: 1,000,000 scores on each side, each as long as
    # json.dumps ever writes a float (24 characters): 52,000,000 bytes, 49.6 MiB
    scores = ", ".join(["-1.2345678901234567e-300"] * 1_000_000)
    text = (
        '{"model": {"name": "m", "version": "1"}, "metrics": {}, "scores": {"a": ['
        + scores
        + ']}, "champion": {"version": "0", "scores": {"a": ['
        + scores
        + "]}}}"
    )
    assert 49 * 1024 * 1024 < len(text) < 50 * 1024 * 1024
    evidence = load_evidence(write(tmp_path, text))
    assert len(evidence.scores["a"]) == 1_000_000
