"""Judge a candidate against a policy: one row per gate, an optional significance test, and a
`Decision`. Pure: values in, a value out; nothing here reads files, the clock or the network.

Gate operands (`<operand> <op> <number>`):

* `accuracy`: the candidate's metric;
* `accuracy[region=eu]`: the candidate's metric on slice `region=eu` (`evidence.slices`);
  several keys (`accuracy[region=eu,device=ios]`) name the slice `region=eu,device=ios`;
* `delta.accuracy`: candidate minus champion;
* `regression_delta`: how much worse the candidate is on `primary_metric`: champion minus
  candidate when the goal is `maximize`, candidate minus champion when it is `minimize`.

`delta.*` and `regression_delta` take a slice too. Derived names win over a metric that
happens to be called `delta.x` or `regression_delta`. Without a champion (a first promotion)
the derived gates pass with reason "no champion". A missing, null, NaN or infinite value fails
its gate with that reason; so does a champion that lacks the metric a derived gate needs.

Every row shows the value compared with the threshold: a plain metric's in the candidate
column, a derived one's in the delta column (for `regression_delta` the regression itself,
signed so that positive is worse), with `derivation` saying how it was computed
(`champion − candidate accuracy: 0.948 − 0.951`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal

from bot.core.errors import InvalidInput
from bot.core.evidence import Evidence, pairing_problems
from bot.core.expressions import Comparison
from bot.core.policy import Gate, Policy

Verdict = Literal["pass", "fail"]
OperandKind = Literal["metric", "delta", "regression_delta"]

NO_CHAMPION = "no champion (first promotion)"
_SLICED = re.compile(r"(?P<base>[^\[]+)(?:\[(?P<slice>[^\]]*)\])?")


@dataclass(frozen=True)
class Operand:
    """What a gate's left side refers to."""

    kind: OperandKind
    metric: str  # the underlying metric: for regression_delta, the policy's primary metric
    slice: str | None = None

    @property
    def label(self) -> str:
        return self.metric if self.slice is None else f"{self.metric}[{self.slice}]"


def parse_operand(text: str, primary_metric: str) -> Operand:
    match = _SLICED.fullmatch(text)
    base, slice_name = (match.group("base"), match.group("slice")) if match else (text, None)
    if base == "regression_delta":
        return Operand("regression_delta", primary_metric, slice_name)
    if base.startswith("delta.") and len(base) > len("delta."):
        return Operand("delta", base[len("delta.") :], slice_name)
    return Operand("metric", base, slice_name)


@dataclass(frozen=True)
class GateRow:
    """One gate's outcome.

    `candidate` and `champion` are the underlying metric (for `regression_delta`, the primary
    metric) on each side; `value` is what the comparison tested. `delta` is the change the
    row is about: for a derived gate the value gated (`delta.*`: candidate − champion;
    `regression_delta`: the regression, champion − candidate when the goal is maximize), for
    a plain metric candidate − champion; None without both values. `derivation` says how a
    derived value was computed (`champion − candidate accuracy: 0.948 − 0.951`, or the
    formula alone when a value is missing); None for a plain metric or without a champion.
    """

    expression: str
    metric: str
    op: str
    threshold: float
    candidate: float | None
    champion: float | None
    delta: float | None
    value: float | None
    derivation: str | None
    verdict: Verdict
    reason: str
    description: str | None  # the policy's words for the gate, shown beside it

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"


@dataclass(frozen=True)
class SignificanceResult:
    """The paired bootstrap's outcome. `verdict` is "fail" only when the test is required and
    the interval does not lie wholly on the improving side of zero (or cannot be computed)."""

    metric: str
    goal: Literal["maximize", "minimize"]
    required: bool
    confidence: float
    resamples: int
    seed: int
    n: int
    estimate: float | None
    interval: tuple[float, float] | None
    significant: bool | None
    verdict: Verdict
    reason: str


@dataclass(frozen=True)
class Decision:
    """Whether a candidate may be promoted, and why. A blocked promotion is a Decision, not
    an exception."""

    passed: bool
    rows: tuple[GateRow, ...]
    significance: SignificanceResult | None
    environment: str | None
    policy: str | None
    model: str
    version: str
    champion_version: str | None
    primary_metric: str
    primary_metric_goal: Literal["maximize", "minimize"]
    on_fail: str
    environment_override: bool = False

    @property
    def verdict(self) -> Verdict:
        return "pass" if self.passed else "fail"

    @property
    def failed_rows(self) -> tuple[GateRow, ...]:
        return tuple(row for row in self.rows if not row.passed)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready data (non-finite floats become strings "NaN", "Infinity")."""
        data = asdict(self)
        data["verdict"] = self.verdict
        return {k: _json_safe(v) for k, v in data.items()}


def gate_summary(decision: Decision) -> str:
    """The decision on one line, for the `Gate` trailer: `PASS 5/5 gates, significance pass
    (policy policies/default.yaml)`."""
    passed = sum(1 for row in decision.rows if row.passed)
    text = f"{decision.verdict.upper()} {passed}/{len(decision.rows)} gates"
    if decision.significance is not None:
        text += f", significance {decision.significance.verdict}"
    if decision.policy:
        text += f" (policy {decision.policy})"
    return text


def _json_safe(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def fmt(value: float | None, signed: bool = False) -> str:
    """A number for people: 6 significant digits, `NaN`, `inf`, or `—` for none."""
    if value is None:
        return "—"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return ("+inf" if signed else "inf") if value > 0 else "-inf"
    return f"{value:+.6g}" if signed else f"{value:.6g}"


def difference(a: float, b: float) -> float:
    """`a − b` without binary noise: rounded at 12 significant digits of the operands, so
    `0.951 − 0.948` is `0.003` and a gate `delta.accuracy <= 0.003` does what it says."""
    diff = a - b
    magnitude = max(abs(a), abs(b))
    if diff == 0 or not math.isfinite(diff) or magnitude == 0:
        return diff
    decimals = 11 - math.floor(math.log10(magnitude))
    return diff if decimals > 300 else round(diff, decimals)


def _unmeasurable(value: float | None, present: bool, label: str, whose: str) -> str | None:
    """Why `value` cannot be judged, or None if it can."""
    if not present:
        return f"{label} missing from {whose}"
    if value is None:
        return f"{label} has no value in {whose}"
    if math.isnan(value):
        return f"{label} is NaN in {whose}"
    if math.isinf(value):
        return f"{label} is infinite in {whose}"
    return None


def _lookup(
    metrics: Mapping[str, float | None],
    slices: Mapping[str, Mapping[str, float | None]],
    operand: Operand,
    whose: str,
) -> tuple[float | None, str | None]:
    """The value of `operand.metric` (on its slice) and why it is unusable, if it is."""
    if operand.slice is None:
        table: Mapping[str, float | None] = metrics
    elif operand.slice in slices:
        table = slices[operand.slice]
    else:
        return None, f"slice {operand.slice} missing from {whose}"
    value = table.get(operand.metric)
    return value, _unmeasurable(value, operand.metric in table, operand.label, whose)


def _judge(
    comparison: Comparison,
    value: float | None,
    why_not: str | None,
    label: str = "",
    derivation: str | None = None,
) -> tuple[Verdict, str]:
    if why_not is not None:
        return "fail", why_not
    assert value is not None
    shown = f"{label} = {fmt(value)}" if label else fmt(value)
    how = f" ({derivation})" if derivation else ""
    if comparison.holds(value):
        return "pass", f"{shown} {comparison.op} {fmt(comparison.threshold)}{how}"
    return "fail", f"{shown}, needs {comparison.op} {fmt(comparison.threshold)}{how}"


def _formula(operand: Operand, goal: Literal["maximize", "minimize"]) -> tuple[str, bool]:
    """How a derived operand is computed, and whether it is champion − candidate."""
    flipped = operand.kind == "regression_delta" and goal == "maximize"
    sides = "champion − candidate" if flipped else "candidate − champion"
    return f"{sides} {operand.label}", flipped


def evaluate_gate(gate: Gate, policy: Policy, evidence: Evidence) -> GateRow:
    comparison = gate.comparison
    operand = parse_operand(comparison.operand, policy.primary_metric)
    cand, cand_why = _lookup(evidence.metrics, evidence.slices, operand, "evidence")
    champion = evidence.champion
    champ: float | None = None
    champ_why: str | None = "no champion"
    if champion is not None:
        champ, champ_why = _lookup(champion.metrics, champion.slices, operand, "champion")
    delta = (
        difference(cand, champ)
        if cand is not None and champ is not None and cand_why is None and champ_why is None
        else None
    )

    def row(
        value: float | None,
        verdict: Verdict,
        reason: str,
        *,
        shown_delta: float | None = delta,
        derivation: str | None = None,
    ) -> GateRow:
        return GateRow(
            expression=str(comparison),
            metric=comparison.operand,
            op=comparison.op,
            threshold=comparison.threshold,
            candidate=cand,
            champion=champ,
            delta=shown_delta,
            value=value,
            derivation=derivation,
            verdict=verdict,
            reason=reason,
            description=gate.description,
        )

    if operand.kind == "metric":
        return row(cand, *_judge(comparison, cand, cand_why))
    if champion is None:
        return row(None, "pass", NO_CHAMPION)
    formula, flipped = _formula(operand, policy.primary_metric_goal)
    if cand_why is not None or champ_why is not None:
        return row(None, "fail", cand_why or champ_why or "", derivation=formula)
    assert cand is not None and champ is not None
    first, second = (champ, cand) if flipped else (cand, champ)
    value = difference(first, second) + 0.0  # + 0.0: no "-0"
    derivation = f"{formula}: {fmt(first)} − {fmt(second)}"
    verdict, reason = _judge(comparison, value, None, comparison.operand, derivation)
    return row(value, verdict, reason, shown_delta=value, derivation=derivation)


def evaluate_significance(policy: Policy, evidence: Evidence) -> SignificanceResult | None:
    """Run the policy's significance test, if it has one. Raises `InvalidInput` when the
    candidate's and champion's scores differ in length (they are paired by index)."""
    spec = policy.significance
    if spec is None:
        return None
    from bot.core.significance import ScoresError, paired_bootstrap

    metric = spec.metric or policy.primary_metric
    goal = spec.goal or policy.primary_metric_goal

    def result(
        verdict: Verdict,
        reason: str,
        *,
        n: int = 0,
        estimate: float | None = None,
        interval: tuple[float, float] | None = None,
        significant: bool | None = None,
    ) -> SignificanceResult:
        return SignificanceResult(
            metric=metric,
            goal=goal,
            required=spec.required,
            confidence=spec.confidence,
            resamples=spec.resamples,
            seed=spec.seed,
            n=n,
            estimate=estimate,
            interval=interval,
            significant=significant,
            verdict=verdict,
            reason=reason,
        )

    unmet: Verdict = "fail" if spec.required else "pass"
    advisory = "" if spec.required else " (advisory: significance.required is false)"
    if evidence.champion is None:
        return result("pass", NO_CHAMPION)
    candidate = evidence.scores.get(metric)
    champion = evidence.champion.scores.get(metric)
    if candidate is None or champion is None:
        missing = [
            field
            for field, scores in (
                (f"scores.{metric}", candidate),
                (f"champion.scores.{metric}", champion),
            )
            if scores is None
        ]
        return result(unmet, f"no per-example scores ({' and '.join(missing)} missing){advisory}")
    try:
        boot = paired_bootstrap(
            candidate,
            champion,
            goal=goal,
            confidence=spec.confidence,
            resamples=spec.resamples,
            seed=spec.seed,
        )
    except ScoresError:
        raise InvalidInput(pairing_problems(evidence, "gate results")) from None
    except ValueError as error:
        return result(unmet, f"cannot bootstrap {metric}: {error}{advisory}", n=len(candidate))
    level = f"{spec.confidence * 100:g}%"
    interval = f"[{fmt(boot.low, signed=True)}, {fmt(boot.high, signed=True)}]"
    if boot.improved:
        reason = (
            f"improvement {fmt(boot.estimate, signed=True)}, {level} interval {interval} excludes 0"
        )
        return result(
            "pass",
            reason,
            n=boot.n,
            estimate=boot.estimate,
            interval=boot.interval,
            significant=True,
        )
    reason = (
        f"improvement {fmt(boot.estimate, signed=True)}, {level} interval {interval} "
        f"does not exclude 0 on the improving side{advisory}"
    )
    return result(
        unmet, reason, n=boot.n, estimate=boot.estimate, interval=boot.interval, significant=False
    )


def evaluate(
    policy: Policy,
    evidence: Evidence,
    environment: str | None = None,
    *,
    policy_source: str | None = None,
) -> Decision:
    """Judge `evidence` by `policy` as it applies to `environment` (its override, if any)."""
    effective = policy.for_environment(environment)
    rows = tuple(evaluate_gate(gate, effective, evidence) for gate in effective.gates)
    significance = evaluate_significance(effective, evidence)
    passed = all(row.passed for row in rows) and (
        significance is None or significance.verdict == "pass"
    )
    return Decision(
        passed=passed,
        rows=rows,
        significance=significance,
        environment=environment,
        policy=policy_source,
        model=evidence.model.name,
        version=evidence.model.version,
        champion_version=evidence.champion.version if evidence.champion else None,
        primary_metric=effective.primary_metric,
        primary_metric_goal=effective.primary_metric_goal,
        on_fail=effective.on_fail,
        environment_override=environment is not None and environment in policy.environments,
    )


__all__ = [
    "NO_CHAMPION",
    "Decision",
    "GateRow",
    "Operand",
    "SignificanceResult",
    "difference",
    "evaluate",
    "evaluate_gate",
    "evaluate_significance",
    "fmt",
    "gate_summary",
    "parse_operand",
]
