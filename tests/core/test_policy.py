"""Policy files: what is valid, every malformed case reported at once, environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.errors import InvalidInput
from bot.core.policy import Policy, duration_seconds, load_policy, policy_json_schema

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "policies").glob("*.yaml"))
HEAD = "apiVersion: model-bot/v1\nkind: PromotionPolicy\nprimary_metric: accuracy\n"


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_policies_are_valid(path: Path) -> None:
    policy = load_policy(path)
    assert policy.gates


def test_shipped_policies_cover_the_issue() -> None:
    names = {p.name for p in SHIPPED}
    assert {"default.yaml", "staging.yaml", "production.yaml"} <= names
    prod = load_policy(REPO / "policies" / "production.yaml")
    staging = load_policy(REPO / "policies" / "staging.yaml")
    assert prod.significance is not None and prod.significance.required
    assert "accuracy[region=eu] >= 0.93" in [g.metric for g in prod.gates]
    baseline = [m for m in prod.analysis.metrics if m.baseline_query]
    assert baseline and baseline[0].success == "result <= 1.5"
    assert duration_seconds(prod.rollout.pause) > duration_seconds(staging.rollout.pause)
    assert len(prod.rollout.steps) > len(staging.rollout.steps)


@pytest.mark.parametrize(
    ("body", "problems"),
    [
        (
            HEAD + "gates:\n  - metric: accuracy > 0.9\n  - metric: latency => 10\n",
            ["gates[1].metric: unknown operator '=>' (use >=)"],
        ),
        (HEAD + "gates:\n  - metric: accuracy\n", ["gates[0].metric: no comparison operator"]),
        (HEAD + "gates:\n  - metric: accuracy > high\n", ["must be a number, got 'high'"]),
        (HEAD + "gate: []\n", ["gate: unknown field (remove it or fix its spelling)"]),
        (
            HEAD + "gates:\n  - metric: a > 1\n    threshold: 2\n",
            ["gates[0].threshold: unknown field"],
        ),
        (HEAD + "gates: {metric: a > 1}\n", ['gates: expected a list, got {"metric": "a > 1"}']),
        (HEAD + "rollout: {steps: five}\n", ['rollout.steps: expected a list, got "five"']),
        (HEAD + "rollout: {steps: [50, 25]}\n", ["rollout.steps: weights must increase"]),
        (HEAD + "rollout: {pause: 10 minutes}\n", ["rollout.pause: bad duration '10 minutes'"]),
        (HEAD + "rollout: {strategy: linear}\n", ['rollout.strategy: got "linear", use one of']),
        (HEAD + "significance: {confidence: 2}\n", ["significance.confidence: must be < 1"]),
        (
            HEAD + "significance: {resamples: ten}\n",
            ["significance.resamples: expected an integer"],
        ),
        (HEAD + "significance: {metric: 'a b'}\n", ["significance.metric: bad metric name 'a b'"]),
        (HEAD + "on_fail: explode\n", ['on_fail: got "explode", use one of']),
        (
            HEAD + "analysis:\n  metrics:\n    - {name: e, query: q, success: x < 1}\n",
            ["analysis.metrics[0].success: condition must compare result"],
        ),
        (
            HEAD + "analysis:\n  metrics:\n    - {name: Err, query: q, success: result < 1}\n",
            ["analysis.metrics[0].name: bad metric name 'Err'"],
        ),
        (
            HEAD
            + "analysis:\n  metrics:\n    - {name: e, query: q, success: result < 1}\n"
            + "    - {name: e, query: q, success: result < 1}\n",
            ["analysis.metrics: metric names must be unique, e repeats"],
        ),
        (HEAD + "environments: {Prod: {}}\n", ["bad environment name 'Prod'"]),
        (
            HEAD + "environments:\n  prod: {gates: [{metric: a =< 1}]}\n",
            ["environments.prod.gates[0].metric: unknown operator '=<' (use <=)"],
        ),
        (
            "apiVersion: model-bot/v2\nkind: PromotionPolicy\nprimary_metric: a\n",
            ['apiVersion: got "model-bot/v2"'],
        ),
        (
            "apiVersion: model-bot/v1\nkind: PromotionPolicy\n",
            ["primary_metric: required field is missing (add it)"],
        ),
        ("a: [\n", ["line 2: invalid YAML: ", "(fix the syntax)"]),
        ("a: 1\na: 2\n", ['line 2: invalid YAML: found duplicate key "a"']),
        ("- 1\n", ["(top level): expected a mapping, got [1]"]),
        ("", ["policy file is empty"]),
        ("# only a comment\n", ["policy file is empty"]),
        ("!!python/object:os.system {}\n", ["invalid YAML"]),
    ],
)
def test_malformed_policies(tmp_path: Path, body: str, problems: list[str]) -> None:
    path = write(tmp_path, body)
    with pytest.raises(InvalidInput) as info:
        load_policy(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    for problem in problems:
        assert problem in message


def test_every_problem_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "apiVersion: model-bot/v2\nkind: Policy\ngate: []\nrollout: {steps: five}\n"
        "gates: [{metric: a => 1}, {metric: b ~ 2}]\n",
    )
    with pytest.raises(InvalidInput) as info:
        load_policy(path)
    fields = [p.field for p in info.value.problems]
    assert fields == sorted(fields, key=fields.index)  # stable order
    assert {
        "apiVersion",
        "kind",
        "primary_metric",
        "gate",
        "rollout.steps",
        "gates[0].metric",
        "gates[1].metric",
    } <= set(fields)
    assert all(p.source == str(path) for p in info.value.problems)


def test_query_templates_are_checked(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEAD
        + "analysis:\n  metrics:\n"
        + "    - {name: a, query: 'x{app=\"{{ modle }}\"}', success: result < 1}\n"
        + "    - {name: b, query: q, baseline_query: '{{ model ', success: result < 1}\n",
    )
    with pytest.raises(InvalidInput) as info:
        load_policy(path)
    assert [p.field for p in info.value.problems] == [
        "analysis.metrics[0].query",
        "analysis.metrics[1].baseline_query",
    ]
    assert "'modle' is undefined" in str(info.value)


@pytest.mark.parametrize(
    ("name", "message"),
    [("missing.yaml", "policy file not found (check the path)"), ("dir", "is a directory")],
)
def test_unreadable_policy(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(InvalidInput) as info:
        load_policy(tmp_path / name)
    assert message in str(info.value)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InvalidInput, match="not UTF-8"):
        load_policy(path)


def test_for_environment_replaces_fields_whole(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEAD
        + "gates: [{metric: a > 1}, {metric: b > 1}]\n"
        + "rollout: {steps: [5, 100], pause: 1m}\n"
        + "environments:\n  prod:\n    gates: [{metric: a > 2}]\n    on_fail: block\n",
    )
    policy = load_policy(path)
    prod = policy.for_environment("prod")
    assert [g.metric for g in prod.gates] == ["a > 2"]
    assert prod.on_fail == "block" and prod.rollout == policy.rollout
    assert policy.for_environment("staging") is policy
    assert policy.for_environment(None) is policy


def test_policy_is_frozen() -> None:
    policy = Policy.model_validate(
        {"apiVersion": "model-bot/v1", "kind": "PromotionPolicy", "primary_metric": "a"}
    )
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error
        policy.primary_metric = "b"  # type: ignore[misc]


def test_json_schema_forbids_unknown_fields() -> None:
    schema = policy_json_schema()
    assert schema["additionalProperties"] is False
    assert "apiVersion" in schema["properties"]  # type: ignore[operator]
