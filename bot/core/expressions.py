"""The one safe expression language of gates and analysis conditions: parsed, never eval-ed.

A comparison is `<operand> <op> <number>` with `op` one of `> >= < <= == !=`. Gates compare a
metric name (`accuracy`, `delta.accuracy`, `accuracy[region=eu]`); analysis conditions compare
Argo Rollouts' `result` or `result[N]` and may join comparisons with `&&` / `and`.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_SUGGESTIONS = {"=>": ">=", "=<": "<=", "=": "==", "<>": "!=", "=!": "!=", "!": "!=", "===": "=="}
_OPERATOR_CHARS = re.compile(r"[<>=!~]+")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
METRIC_NAME = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]*(?:[.:/-][A-Za-z0-9_]+)*"
    r"(?:\[[A-Za-z0-9_.-]+=[A-Za-z0-9_.:/ -]+(?:,[A-Za-z0-9_.-]+=[A-Za-z0-9_.:/ -]+)*\])?"
)
_RESULT = re.compile(r"result(?:\[(\d{1,3})\])?")


class ExpressionError(ValueError):
    """The expression does not parse; the message says how to write it."""


def format_number(value: float) -> str:
    """Shortest text that parses back to the same float (`10`, `0.01`, `1e-09`)."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def nonfinite_text(value: float) -> str | None:
    """`NaN`, `+Inf` or `-Inf` (as Prometheus writes them) for a non-finite value, else None."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return None


@dataclass(frozen=True)
class Comparison:
    """`operand op threshold`: the operand is a metric name or `result` / `result[N]`."""

    operand: str
    op: str
    threshold: float

    def holds(self, value: float) -> bool:
        """False for NaN and infinities: an unmeasurable value never passes."""
        if math.isnan(value) or math.isinf(value):
            return False
        return OPERATORS[self.op](value, self.threshold)

    def __str__(self) -> str:
        return f"{self.operand} {self.op} {format_number(self.threshold)}"


def _split(text: str) -> tuple[str, str, str]:
    # A slice selector (`accuracy[region=eu]`) holds '=', which is not an operator.
    masked = re.sub(r"\[[^\]]*\]", lambda m: "_" * len(m.group()), text)
    found = list(_OPERATOR_CHARS.finditer(masked))
    if not found:
        raise ExpressionError(
            f"no comparison operator in {text.strip()!r} (write '<metric> <op> <number>', "
            "op one of > >= < <= == !=)"
        )
    if len(found) > 1:
        raise ExpressionError(
            f"more than one operator in {text.strip()!r} (write one comparison: "
            "'<metric> <op> <number>')"
        )
    match = found[0]
    op = match.group()
    if op not in OPERATORS:
        hint = _SUGGESTIONS.get(op)
        fix = f"use {hint}" if hint else "use one of > >= < <= == !="
        raise ExpressionError(f"unknown operator {op!r} ({fix})")
    return text[: match.start()].strip(), op, text[match.end() :].strip()


MAX_DIGITS = 100  # as for numbers in input files (bot.core.loading)


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _number(text: str, whole: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise ExpressionError(
            f"right side of {whole.strip()!r} must be a number, got {text!r} (e.g. 0.94, 10, 1e-3)"
        )
    digits = sum(ch.isdigit() for ch in re.split("[eE]", text)[0])
    if digits > MAX_DIGITS:
        raise ExpressionError(
            f"threshold in {_clip(whole.strip())!r} has {digits} digits, more than "
            f"{MAX_DIGITS} (write e.g. 1.5e30)"
        )
    value = float(text)
    if math.isinf(value):
        raise ExpressionError(f"threshold in {whole.strip()!r} is out of range")
    return value


def parse_gate(text: str) -> Comparison:
    """Parse `<metric> <op> <number>`."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("empty gate (write '<metric> <op> <number>', e.g. 'accuracy > 0.94')")
    left, op, right = _split(text)
    if not METRIC_NAME.fullmatch(left):
        raise ExpressionError(
            f"bad metric name {left!r} (letters, digits, _ . : / -, optionally a slice "
            "like accuracy[region=eu])"
        )
    return Comparison(left, op, _number(right, text))


def parse_condition(text: str) -> tuple[Comparison, ...]:
    """Parse an analysis condition: `result < 0.01`, `result[0] >= 0.9 && result[0] < 2`."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("empty condition (write e.g. 'result < 0.01')")
    return _parse_condition(text)


@functools.lru_cache(maxsize=1024)
def _parse_condition(text: str) -> tuple[Comparison, ...]:
    """The parse itself, once per text: a judge reads a signal's condition per sample."""
    parts = re.split(r"\s*(?:&&|\band\b)\s*", text.strip())
    comparisons = []
    for part in parts:
        left, op, right = _split(part)
        match = _RESULT.fullmatch(left)
        if not match:
            raise ExpressionError(
                f"condition must compare result or result[N], got {left!r} (e.g. 'result < 0.01')"
            )
        operand = "result" if match.group(1) is None else f"result[{int(match.group(1))}]"
        comparisons.append(Comparison(operand, op, _number(right, part)))
    return tuple(comparisons)


def result_index(comparison: Comparison) -> int:
    """Which element of a Prometheus vector the comparison reads (`result` is the first)."""
    match = _RESULT.fullmatch(comparison.operand)
    return int(match.group(1)) if match and match.group(1) else 0


def format_condition(comparisons: tuple[Comparison, ...]) -> str:
    return " && ".join(str(c) for c in comparisons)


def argo_condition(comparisons: tuple[Comparison, ...]) -> str:
    """The same condition in Argo Rollouts' expr syntax, always indexing the vector."""
    return " && ".join(
        f"result[{result_index(c)}] {c.op} {format_number(c.threshold)}" for c in comparisons
    )
