"""`bot.core.gate.evaluate`: one row per gate, derived metrics, slices, no champion, significance."""

from __future__ import annotations

import math
from typing import Any

import pytest

from bot.core.errors import InvalidInput
from bot.core.evidence import Evidence
from bot.core.gate import NO_CHAMPION, Decision, difference, evaluate, parse_operand
from bot.core.policy import Policy


def policy(*gates: str, **fields: Any) -> Policy:
    data: dict[str, Any] = {
        "apiVersion": "model-bot/v1",
        "kind": "PromotionPolicy",
        "primary_metric": "accuracy",
        "gates": [{"metric": g} for g in gates],
    }
    data.update(fields)
    return Policy.model_validate(data)


def evidence(
    metrics: dict[str, float | None] | None = None,
    champion: dict[str, Any] | bool | None = True,
    **fields: Any,
) -> Evidence:
    data: dict[str, Any] = {
        "model": {"name": "fraud-detector", "version": "7"},
        "metrics": {"accuracy": 0.951, "latency_p99_ms": 8.1, "safety_violations": 0}
        if metrics is None
        else metrics,
        "slices": {"region=eu": {"accuracy": 0.947}, "region=eu,device=ios": {"accuracy": 0.9}},
    }
    if champion is True:
        data["champion"] = {
            "version": "6",
            "metrics": {"accuracy": 0.948, "latency_p99_ms": 8.4},
            "slices": {"region=eu": {"accuracy": 0.944}},
        }
    elif champion:
        data["champion"] = champion
    data.update(fields)
    return Evidence.model_validate(data)


def only_row(decision: Decision) -> Any:
    assert len(decision.rows) == 1
    return decision.rows[0]


@pytest.mark.parametrize(
    ("gate", "verdict", "reason"),
    [
        ("accuracy > 0.94", "pass", "0.951 > 0.94"),
        ("accuracy > 0.951", "fail", "0.951, needs > 0.951"),
        ("accuracy >= 0.951", "pass", "0.951 >= 0.951"),
        ("accuracy >= 0.96", "fail", "0.951, needs >= 0.96"),
        ("latency_p99_ms < 10", "pass", "8.1 < 10"),
        ("latency_p99_ms < 8.1", "fail", "8.1, needs < 8.1"),
        ("latency_p99_ms <= 8.1", "pass", "8.1 <= 8.1"),
        ("latency_p99_ms <= 8", "fail", "8.1, needs <= 8"),
        ("safety_violations == 0", "pass", "0 == 0"),
        ("safety_violations == 1", "fail", "0, needs == 1"),
        ("safety_violations != 1", "pass", "0 != 1"),
        ("safety_violations != 0", "fail", "0, needs != 0"),
    ],
)
def test_every_operator(gate: str, verdict: str, reason: str) -> None:
    decision = evaluate(policy(gate), evidence())
    row = only_row(decision)
    assert (row.verdict, row.reason) == (verdict, reason)
    assert decision.passed is (verdict == "pass")


@pytest.mark.parametrize(
    ("gate", "goal", "value", "verdict"),
    [
        # maximize: regression_delta = champion - candidate = 0.948 - 0.951
        ("regression_delta < 0.01", "maximize", -0.003, "pass"),
        ("regression_delta <= -0.003", "maximize", -0.003, "pass"),
        ("regression_delta < -0.003", "maximize", -0.003, "fail"),
        # minimize: regression_delta = candidate - champion = 0.951 - 0.948
        ("regression_delta < 0.01", "minimize", 0.003, "pass"),
        ("regression_delta < 0.003", "minimize", 0.003, "fail"),
        ("regression_delta <= 0.003", "minimize", 0.003, "pass"),
        # delta.* is candidate - champion whatever the goal
        ("delta.accuracy >= 0.003", "maximize", 0.003, "pass"),
        ("delta.accuracy > 0.003", "minimize", 0.003, "fail"),
        ("delta.latency_p99_ms <= -0.3", "maximize", -0.3, "pass"),
        ("delta.latency_p99_ms > 0", "maximize", -0.3, "fail"),
        ("delta.accuracy[region=eu] >= 0.003", "maximize", 0.003, "pass"),
        ("regression_delta[region=eu] < 0", "maximize", -0.003, "pass"),
    ],
)
def test_derived_metrics(gate: str, goal: str, value: float, verdict: str) -> None:
    row = only_row(evaluate(policy(gate, primary_metric_goal=goal), evidence()))
    assert row.value == value
    assert row.verdict == verdict
    assert row.reason.startswith(f"{gate.split()[0]} = ")


def test_row_carries_candidate_champion_and_delta() -> None:
    row = only_row(evaluate(policy("regression_delta < 0.01"), evidence()))
    assert (row.metric, row.op, row.threshold) == ("regression_delta", "<", 0.01)
    # The delta of a regression row is the regression gated (champion − candidate when the
    # goal is maximize), not candidate − champion: the row shows what was compared.
    assert (row.candidate, row.champion, row.delta) == (0.951, 0.948, -0.003)
    assert row.expression == "regression_delta < 0.01"


@pytest.mark.parametrize(
    ("gate", "goal", "metrics", "value", "derivation", "reason"),
    [
        # the report a new user could not read: a worse candidate, "-0.02 < 0.01 → FAIL"
        (
            "regression_delta < 0.01",
            "maximize",
            {"accuracy": 0.93},
            0.02,
            "champion − candidate accuracy: 0.95 − 0.93",
            "regression_delta = 0.02, needs < 0.01 (champion − candidate accuracy: 0.95 − 0.93)",
        ),
        (
            "regression_delta < 0.01",
            "maximize",
            {"accuracy": 0.951},
            -0.001,
            "champion − candidate accuracy: 0.95 − 0.951",
            "regression_delta = -0.001 < 0.01 (champion − candidate accuracy: 0.95 − 0.951)",
        ),
        (
            "regression_delta <= 0",
            "minimize",
            {"accuracy": 0.93},
            -0.02,
            "candidate − champion accuracy: 0.93 − 0.95",
            "regression_delta = -0.02 <= 0 (candidate − champion accuracy: 0.93 − 0.95)",
        ),
        (
            "delta.accuracy >= 0",
            "maximize",
            {"accuracy": 0.93},
            -0.02,
            "candidate − champion accuracy: 0.93 − 0.95",
            "delta.accuracy = -0.02, needs >= 0 (candidate − champion accuracy: 0.93 − 0.95)",
        ),
        (
            "regression_delta[region=eu] < 0.01",
            "maximize",
            {"accuracy": 0.93},
            0.004,
            "champion − candidate accuracy[region=eu]: 0.944 − 0.94",
            "regression_delta[region=eu] = 0.004 < 0.01 "
            "(champion − candidate accuracy[region=eu]: 0.944 − 0.94)",
        ),
    ],
)
def test_derived_rows_show_the_value_gated_and_how_it_was_derived(
    gate: str,
    goal: str,
    metrics: dict[str, float | None],
    value: float,
    derivation: str,
    reason: str,
) -> None:
    ev = evidence(
        metrics,
        champion={
            "version": "6",
            "metrics": {"accuracy": 0.95},
            "slices": {"region=eu": {"accuracy": 0.944}},
        },
        slices={"region=eu": {"accuracy": 0.94}},
    )
    row = only_row(evaluate(policy(gate, primary_metric_goal=goal), ev))
    assert row.value == value
    assert row.delta == value  # the delta column is the value compared with the threshold
    assert row.derivation == derivation
    assert row.reason == reason
    # the raw underlying metric stays in the candidate and champion columns
    assert row.champion is not None and row.candidate is not None


def test_plain_rows_are_not_derived() -> None:
    row = only_row(evaluate(policy("accuracy[region=eu] > 0.9"), evidence()))
    assert (row.value, row.candidate, row.delta, row.derivation) == (0.947, 0.947, 0.003, None)


@pytest.mark.parametrize(
    ("champion", "derivation"),
    [
        (None, None),
        ({"version": "6", "metrics": {}}, "champion − candidate accuracy"),
    ],
)
def test_derived_rows_without_values_name_the_formula_only(
    champion: dict[str, Any] | None, derivation: str | None
) -> None:
    row = only_row(evaluate(policy("regression_delta < 0.01"), evidence(champion=champion)))
    assert (row.value, row.delta, row.derivation) == (None, None, derivation)


@pytest.mark.parametrize(
    ("gate", "verdict", "candidate", "reason"),
    [
        ("accuracy[region=eu] >= 0.94", "pass", 0.947, "0.947 >= 0.94"),
        ("accuracy[region=eu] >= 0.95", "fail", 0.947, "0.947, needs >= 0.95"),
        ("accuracy[region=eu,device=ios] > 0.85", "pass", 0.9, "0.9 > 0.85"),
        ("accuracy[region=us] > 0.9", "fail", None, "slice region=us missing from evidence"),
        ("recall[region=eu] > 0.9", "fail", None, "recall[region=eu] missing from evidence"),
        (
            "delta.accuracy[region=eu,device=ios] > 0",
            "fail",
            0.9,
            "slice region=eu,device=ios missing from champion",
        ),
    ],
)
def test_slices(gate: str, verdict: str, candidate: float | None, reason: str) -> None:
    row = only_row(evaluate(policy(gate), evidence()))
    assert (row.verdict, row.candidate, row.reason) == (verdict, candidate, reason)


@pytest.mark.parametrize(
    ("metrics", "gate", "reason"),
    [
        ({}, "accuracy > 0.9", "accuracy missing from evidence"),
        ({"accuracy": None}, "accuracy > 0.9", "accuracy has no value in evidence"),
        ({"accuracy": math.nan}, "accuracy > 0.9", "accuracy is NaN in evidence"),
        ({"accuracy": math.inf}, "accuracy < 2", "accuracy is infinite in evidence"),
        ({"accuracy": -math.inf}, "accuracy < 2", "accuracy is infinite in evidence"),
        ({"accuracy": math.nan}, "accuracy != 0", "accuracy is NaN in evidence"),
        ({}, "regression_delta < 0.01", "accuracy missing from evidence"),
        ({"accuracy": math.nan}, "delta.accuracy > 0", "accuracy is NaN in evidence"),
        ({"accuracy": 0.9}, "delta.latency_p99_ms < 1", "latency_p99_ms missing from evidence"),
    ],
)
def test_missing_nan_and_infinite_fail(
    metrics: dict[str, float | None], gate: str, reason: str
) -> None:
    decision = evaluate(policy(gate), evidence(metrics))
    row = only_row(decision)
    assert (row.verdict, row.reason) == ("fail", reason)
    assert not decision.passed


@pytest.mark.parametrize(
    ("champion_metrics", "gate", "reason"),
    [
        ({}, "regression_delta < 0.01", "accuracy missing from champion"),
        ({"accuracy": math.nan}, "regression_delta < 0.01", "accuracy is NaN in champion"),
        ({"accuracy": None}, "delta.accuracy > 0", "accuracy has no value in champion"),
    ],
)
def test_champion_without_the_metric_fails_derived_gates(
    champion_metrics: dict[str, float | None], gate: str, reason: str
) -> None:
    ev = evidence(champion={"version": "6", "metrics": champion_metrics})
    row = only_row(evaluate(policy(gate), ev))
    assert (row.verdict, row.reason) == ("fail", reason)


@pytest.mark.parametrize(
    "gate",
    ["regression_delta < 0.01", "regression_delta < -1", "delta.accuracy > 1", "delta.x[a=b] > 0"],
)
def test_no_champion_passes_derived_gates(gate: str) -> None:
    decision = evaluate(policy(gate), evidence(champion=None))
    row = only_row(decision)
    assert (row.verdict, row.reason) == ("pass", NO_CHAMPION)
    assert decision.passed and decision.champion_version is None


def test_no_champion_still_judges_plain_metrics() -> None:
    decision = evaluate(policy("accuracy > 0.96"), evidence(champion=None))
    row = only_row(decision)
    assert (row.verdict, row.champion, row.delta) == ("fail", None, None)


def test_decision_fields_and_environment_override() -> None:
    pol = policy(
        "accuracy > 0.99",
        environments={"staging": {"gates": [{"metric": "accuracy > 0.9"}]}},
        on_fail="block",
    )
    prod = evaluate(pol, evidence(), "production", policy_source="policies/p.yaml")
    assert not prod.passed and prod.verdict == "fail"
    assert (prod.environment, prod.policy, prod.environment_override) == (
        "production",
        "policies/p.yaml",
        False,
    )
    assert (prod.model, prod.version, prod.champion_version, prod.on_fail) == (
        "fraud-detector",
        "7",
        "6",
        "block",
    )
    staging = evaluate(pol, evidence(), "staging")
    assert staging.passed and staging.environment_override
    assert [r.expression for r in staging.rows] == ["accuracy > 0.9"]
    assert evaluate(pol, evidence()).rows == prod.rows


def test_all_gates_reported_and_failed_rows() -> None:
    decision = evaluate(policy("accuracy > 0.99", "latency_p99_ms < 10", "missing > 0"), evidence())
    assert [r.verdict for r in decision.rows] == ["fail", "pass", "fail"]
    assert [r.metric for r in decision.failed_rows] == ["accuracy", "missing"]


def test_policy_without_gates_passes() -> None:
    decision = evaluate(policy(), evidence())
    assert decision.passed and decision.rows == ()


def test_decision_to_dict_is_json_safe() -> None:
    decision = evaluate(policy("accuracy > 0.9"), evidence({"accuracy": math.nan}))
    data = decision.to_dict()
    assert data["verdict"] == "fail"
    row = data["rows"][0]  # type: ignore[index]
    assert row["candidate"] == "NaN"


def test_evaluate_is_pure() -> None:
    pol, ev = policy("accuracy > 0.9", "regression_delta < 0.01"), evidence()
    assert evaluate(pol, ev, "x") == evaluate(pol, ev, "x")


@pytest.mark.parametrize(
    ("text", "kind", "metric", "slice_"),
    [
        ("accuracy", "metric", "accuracy", None),
        ("accuracy[region=eu]", "metric", "accuracy", "region=eu"),
        ("delta.recall", "delta", "recall", None),
        ("delta.recall[a=1,b=2]", "delta", "recall", "a=1,b=2"),
        ("regression_delta", "regression_delta", "accuracy", None),
        ("regression_delta[region=eu]", "regression_delta", "accuracy", "region=eu"),
        ("deltas.x", "metric", "deltas.x", None),
    ],
)
def test_parse_operand(text: str, kind: str, metric: str, slice_: str | None) -> None:
    operand = parse_operand(text, "accuracy")
    assert (operand.kind, operand.metric, operand.slice) == (kind, metric, slice_)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (0.951, 0.948, 0.003),
        (8.1, 8.4, -0.3),
        (1.0, 1.0, 0.0),
        (1e-20, 0.0, 1e-20),
        (5e-324, 0.0, 5e-324),
        (1e300, -1e300, 2e300),
        (3e9, 1.5, 2999999998.5),
    ],
)
def test_difference_drops_binary_noise(a: float, b: float, expected: float) -> None:
    assert difference(a, b) == expected


# --- significance ----------------------------------------------------------------------------


def scored(cand: list[float], champ: list[float], metric: str = "accuracy", **kw: Any) -> Evidence:
    return evidence(
        champion={"version": "6", "metrics": {"accuracy": 0.948}, "scores": {metric: champ}},
        scores={metric: cand},
        **kw,
    )


BETTER = ([1.0] * 60 + [0.0] * 40, [1.0] * 30 + [0.0] * 70)


@pytest.mark.parametrize(
    ("goal", "scores", "required", "verdict", "significant", "passed"),
    [
        ("maximize", BETTER, True, "pass", True, True),
        ("maximize", BETTER[::-1], True, "fail", False, False),
        ("minimize", BETTER[::-1], True, "pass", True, True),
        ("maximize", BETTER[::-1], False, "pass", False, True),
        ("maximize", (BETTER[0], BETTER[0]), True, "fail", False, False),
    ],
)
def test_significance(
    goal: str,
    scores: tuple[list[float], list[float]],
    required: bool,
    verdict: str,
    significant: bool,
    passed: bool,
) -> None:
    pol = policy(
        "accuracy > 0", primary_metric_goal=goal, significance={"required": required, "seed": 3}
    )
    decision = evaluate(pol, scored(*scores))
    result = decision.significance
    assert result is not None
    assert (result.verdict, result.significant, decision.passed) == (verdict, significant, passed)
    assert result.n == 100 and result.interval is not None and result.estimate is not None
    assert result.interval[0] <= result.estimate <= result.interval[1]
    if not required:
        assert "advisory" in result.reason


def test_significance_goal_and_metric_override() -> None:
    pol = policy(
        primary_metric_goal="maximize",
        significance={"metric": "log_loss", "goal": "minimize"},
    )
    cand, champ = BETTER[1], BETTER[0]  # lower log loss is better
    result = evaluate(pol, scored(cand, champ, metric="log_loss")).significance
    assert result is not None and result.metric == "log_loss" and result.verdict == "pass"


@pytest.mark.parametrize(("required", "verdict"), [(True, "fail"), (False, "pass")])
def test_significance_without_scores(required: bool, verdict: str) -> None:
    pol = policy(significance={"required": required})
    result = evaluate(pol, evidence()).significance
    assert result is not None and result.verdict == verdict
    assert (
        "no per-example scores (scores.accuracy and champion.scores.accuracy missing)"
        in result.reason
    )


def test_significance_without_champion_passes() -> None:
    result = evaluate(policy(significance={}), evidence(champion=None)).significance
    assert result is not None and (result.verdict, result.reason) == ("pass", NO_CHAMPION)


@pytest.mark.parametrize(
    ("cand", "champ", "why"),
    [
        ([1.0], [0.0], "need at least 2 paired examples"),
        ([1.0, math.nan], [0.0, 1.0], "scores contain NaN or infinite values"),
    ],
)
def test_significance_cannot_bootstrap(cand: list[float], champ: list[float], why: str) -> None:
    result = evaluate(policy(significance={}), scored(cand, champ)).significance
    assert result is not None and result.verdict == "fail" and why in result.reason


def test_significance_length_mismatch_is_a_usage_error() -> None:
    with pytest.raises(InvalidInput) as info:
        evaluate(policy(significance={}), scored([1.0, 0.0, 1.0], [1.0, 0.0]))
    assert "champion.scores.accuracy: has 2 scores but scores.accuracy has 3" in str(info.value)


def test_no_significance_section_without_policy() -> None:
    assert evaluate(policy(), scored(*BETTER)).significance is None


def test_gate_summary_is_one_line_with_the_counts_and_the_policy() -> None:
    from bot.core.gate import gate_summary

    passed = evaluate(policy("accuracy > 0.94", "latency_p99_ms < 5"), evidence())
    assert gate_summary(passed) == "FAIL 1/2 gates"
    named = evaluate(policy("accuracy > 0.94"), evidence(), policy_source="policies/default.yaml")
    assert gate_summary(named) == "PASS 1/1 gates (policy policies/default.yaml)"
