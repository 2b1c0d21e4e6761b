"""The gate and condition parser: every operator, every error, and a round-trip property."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.expressions import (
    OPERATORS,
    Comparison,
    ExpressionError,
    argo_condition,
    format_condition,
    format_number,
    parse_condition,
    parse_gate,
    result_index,
)


@pytest.mark.parametrize(
    ("text", "operand", "op", "threshold"),
    [
        ("accuracy > 0.94", "accuracy", ">", 0.94),
        ("accuracy >= 0.94", "accuracy", ">=", 0.94),
        ("latency_p99_ms < 10", "latency_p99_ms", "<", 10.0),
        ("latency_p99_ms <= 10", "latency_p99_ms", "<=", 10.0),
        ("safety_violations == 0", "safety_violations", "==", 0.0),
        ("safety_violations != 1", "safety_violations", "!=", 1.0),
        ("regression_delta<0.01", "regression_delta", "<", 0.01),
        ("  delta.accuracy   >=   -0.001 ", "delta.accuracy", ">=", -0.001),
        ("accuracy[region=eu] >= 0.9", "accuracy[region=eu]", ">=", 0.9),
        ("accuracy[region=eu,device=ios] > .5", "accuracy[region=eu,device=ios]", ">", 0.5),
        ("delta.recall[region=us-east] > +1e-3", "delta.recall[region=us-east]", ">", 0.001),
        ("eval/f1:macro > 0.8", "eval/f1:macro", ">", 0.8),
        ("loss < 1E2", "loss", "<", 100.0),
    ],
)
def test_parse_gate(text: str, operand: str, op: str, threshold: float) -> None:
    assert parse_gate(text) == Comparison(operand, op, threshold)


@pytest.mark.parametrize(
    ("op", "value", "threshold", "expected"),
    [
        (">", 1.0, 0.5, True),
        (">", 0.5, 0.5, False),
        (">=", 0.5, 0.5, True),
        (">=", 0.4, 0.5, False),
        ("<", 0.4, 0.5, True),
        ("<", 0.5, 0.5, False),
        ("<=", 0.5, 0.5, True),
        ("<=", 0.6, 0.5, False),
        ("==", 0.0, 0.0, True),
        ("==", 1.0, 0.0, False),
        ("!=", 1.0, 0.0, True),
        ("!=", 0.0, 0.0, False),
    ],
)
def test_every_operator_holds(op: str, value: float, threshold: float, expected: bool) -> None:
    assert set(OPERATORS) == {">", ">=", "<", "<=", "==", "!="}
    assert Comparison("m", op, threshold).holds(value) is expected


@pytest.mark.parametrize("op", sorted(OPERATORS))
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_unmeasurable_values_never_hold(op: str, value: float) -> None:
    assert Comparison("m", op, 0.0).holds(value) is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty gate"),
        ("   ", "empty gate"),
        ("accuracy 0.94", "no comparison operator"),
        ("accuracy => 0.94", "unknown operator '=>' (use >=)"),
        ("accuracy =< 0.94", "unknown operator '=<' (use <=)"),
        ("accuracy = 0.94", "unknown operator '=' (use ==)"),
        ("accuracy <> 0.94", "unknown operator '<>' (use !=)"),
        ("accuracy ~= 0.94", "unknown operator '~=' (use one of > >= < <= == !=)"),
        ("0.9 < accuracy < 1", "more than one operator"),
        ("accuracy > high", "right side of 'accuracy > high' must be a number"),
        ("accuracy > 1e999", "out of range"),
        ("accuracy > nan", "must be a number"),
        ("1accuracy > 0.9", "bad metric name '1accuracy'"),
        ("acc uracy > 0.9", "bad metric name"),
        ("accuracy[region] > 0.9", "bad metric name"),
        ("> 0.9", "bad metric name ''"),
    ],
)
def test_parse_gate_errors(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=None) as info:
        parse_gate(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("result < 0.01", "result < 0.01"),
        ("result[0] >= 0.9 && result[0] < 2", "result[0] >= 0.9 && result[0] < 2"),
        ("result[1] > 1 and result < 5", "result[1] > 1 && result < 5"),
    ],
)
def test_parse_condition(text: str, expected: str) -> None:
    assert format_condition(parse_condition(text)) == expected


def test_argo_condition_always_indexes() -> None:
    assert argo_condition(parse_condition("result < 0.01")) == "result[0] < 0.01"
    assert result_index(Comparison("result[3]", "<", 1)) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty condition"),
        ("accuracy < 1", "condition must compare result"),
        ("result => 1", "use >="),
    ],
)
def test_parse_condition_errors(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_condition(text)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("value", "text"),
    [(10.0, "10"), (0.01, "0.01"), (1e-9, "1e-09"), (-3.0, "-3"), (1e20, "1e+20")],
)
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text
    assert float(text) == value


# --- properties -------------------------------------------------------------------------------

_name = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}(?:[.:/-][A-Za-z0-9_]{1,5}){0,2}", fullmatch=True)
_slice = st.from_regex(
    r"[a-z_]{1,5}=[a-z0-9_.-]{1,5}(?:,[a-z_]{1,5}=[a-z0-9_.-]{1,5}){0,2}", fullmatch=True
)
_operand = st.one_of(
    _name,
    st.builds(lambda n, s: f"{n}[{s}]", _name, _slice),
    st.builds(lambda n: f"delta.{n}", _name),
    st.just("regression_delta"),
)
_threshold = st.floats(allow_nan=False, allow_infinity=False, width=64)
_spaces = st.sampled_from(["", " ", "  ", "\t"])


@settings(max_examples=300, deadline=None)
@given(_operand, st.sampled_from(sorted(OPERATORS)), _threshold, _spaces, _spaces)
def test_gate_round_trips(operand: str, op: str, threshold: float, a: str, b: str) -> None:
    text = f"{operand}{a}{op}{b}{threshold!r}"
    parsed = parse_gate(text)
    assert parse_gate(str(parsed)) == parsed
    assert parsed.threshold == threshold


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_parses_or_raises_expression_error(text: str) -> None:
    try:
        parsed = parse_gate(text)
    except ExpressionError as error:
        assert str(error)
        assert "\n" not in str(error).strip() or "\n" in text
    else:
        assert parse_gate(str(parsed)) == parsed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "accuracy > " + "1" * 101,
            "threshold in 'accuracy > " + "1" * 26 + "...' has 101 digits, "
            "more than 100 (write e.g. 1.5e30)",
        ),
        ("a < 0." + "0" * 200 + "1", "has 202 digits, more than 100"),
    ],
)
def test_thresholds_have_at_most_100_digits(text: str, message: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_gate(text)
    assert message in str(info.value)


def test_a_100_digit_threshold_parses() -> None:
    assert parse_gate("a < " + "9" * 100).threshold == float("9" * 100)
