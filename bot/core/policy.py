"""The promotion policy: a validated, immutable model of `policies/*.yaml`.

Evaluation lives in `bot.core.gate` (gates, significance) and `bot.core.analysis` (canary metrics);
this module only says what a valid policy is.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    field_validator,
    model_validator,
)

from bot.core.errors import InvalidInput, Problem
from bot.core.expressions import Comparison, ExpressionError, parse_condition, parse_gate
from bot.core.loading import load_file
from bot.core.monitoring import Monitoring
from bot.core.names import is_dns_label
from bot.core.queries import QueryContext, fill_query
from bot.core.routing import Shadow, TrafficRouting, shadow_problem
from bot.core.traffic import first_step_problem

_DURATION = re.compile(r"^([1-9]\d{0,5})(s|m|h)\Z")


def duration_seconds(text: str) -> int:
    """`30s` / `10m` / `1h` -> seconds (the Argo Rollouts duration forms we accept)."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"bad duration {text!r} (use a whole number with s, m or h, e.g. 10m)")
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]


def _check_duration(text: str) -> str:
    duration_seconds(text)
    return text


Duration = Annotated[str, AfterValidator(_check_duration)]


class Strict(BaseModel):
    """Unknown fields are errors; numbers and booleans are strict (`"0.95"`, `true` for a
    number, `"yes"` for a boolean are refused, not converted)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Gate(Strict):
    """One gate; `metric` holds the whole expression, as the seed articles write it."""

    metric: str
    description: str | None = None

    @field_validator("metric")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            parse_gate(value)
        except ExpressionError as error:
            raise ValueError(str(error)) from None
        return value

    @property
    def comparison(self) -> Comparison:
        return parse_gate(self.metric)


class Significance(Strict):
    """Paired bootstrap of the per-example improvement of candidate over champion."""

    metric: str | None = Field(
        default=None, description="per-example scores to compare; default primary_metric"
    )
    goal: Literal["maximize", "minimize"] | None = Field(
        default=None,
        description="which direction is better for metric; default primary_metric_goal",
    )
    confidence: StrictFloat = Field(default=0.95, gt=0.5, lt=1)
    resamples: StrictInt = Field(default=2000, ge=100, le=100_000)
    seed: StrictInt = Field(default=0, ge=0)
    required: StrictBool = Field(
        default=True, description="fail the decision unless the interval excludes zero"
    )

    @field_validator("metric")
    @classmethod
    def _metric_name(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_gate(f"{value} > 0")
            except ExpressionError:
                raise ValueError(f"bad metric name {value!r} (e.g. accuracy)") from None
        return value


class Rollout(Strict):
    strategy: Literal["canary", "blueGreen"] = "canary"
    steps: tuple[Annotated[StrictInt, Field(ge=1, le=100)], ...] = (5, 25, 75, 100)
    pause: Duration = "10m"
    analysis_from_step: StrictInt = Field(
        default=1, ge=1, description="first canary step (1-based) followed by analysis"
    )
    auto_promotion: StrictBool = Field(
        default=False, description="blueGreen: promote after pre-promotion analysis passes"
    )
    scale_down_delay_seconds: StrictInt = Field(default=30, ge=0)
    replicas: StrictInt = Field(
        default=20,
        ge=1,
        le=1000,
        description="pods of the model; without traffic_routing the first step must be at "
        "least one pod's share (5 % of 20 is one pod)",
    )
    rollback_window: StrictInt = Field(
        default=3,
        ge=0,
        le=100,
        description="Argo Rollouts rollbackWindow.revisions: going back to one of the last N "
        "revisions skips canary steps and analysis (the emergency path of a rollback)",
    )

    traffic_routing: TrafficRouting | None = Field(
        default=None,
        description="canary: the router that sets exact weights (istio, nginx, gatewayapi, "
        "smi); none: weights are approximated with pods",
    )
    shadow: Shadow | None = Field(
        default=None,
        description="canary: mirror live requests to the canary before the weighted steps "
        "(istio or gatewayapi)",
    )

    @field_validator("steps")
    @classmethod
    def _increasing(cls, steps: tuple[int, ...]) -> tuple[int, ...]:
        if not steps:
            raise ValueError("needs at least one weight (e.g. [5, 25, 75, 100])")
        if any(b <= a for a, b in itertools.pairwise(steps)):
            raise ValueError(f"weights must increase, got {list(steps)} (e.g. [5, 25, 75, 100])")
        return steps

    @model_validator(mode="after")
    def _routing(self) -> Rollout:
        routing = self.traffic_routing
        if self.strategy == "blueGreen" and (routing is not None or self.shadow is not None):
            raise ValueError(
                "traffic_routing and shadow are for strategy canary (blueGreen switches "
                "Services: remove them)"
            )
        for field, message in routing.problems() if routing is not None else []:
            raise ValueError(f"traffic_routing.{field} {message}")
        if self.shadow is not None:
            try:
                duration_seconds(self.shadow.duration)
            except ValueError as error:
                raise ValueError(f"shadow.duration: {error}") from None
        problem = shadow_problem(self.shadow, routing)
        if problem is not None:
            raise ValueError(f"shadow: {problem}")
        return self


class AnalysisMetric(Strict):
    """One Prometheus metric: the AnalysisTemplate and `model-bot analyze` both use it.

    With `baseline_query` the evaluated query is `(query) / (baseline_query)`, so `result`
    is the canary's value relative to the stable version's (e.g. `result <= 1.5`).
    """

    name: str
    query: str
    success: str
    baseline_query: str | None = None
    interval: Duration | None = None
    count: StrictInt | None = Field(default=None, ge=1, le=1000)
    failure_limit: StrictInt | None = Field(default=None, ge=0)

    @field_validator("name")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if not is_dns_label(value):
            raise ValueError(
                f"bad metric name {value!r} (lowercase letters, digits and '-', at most 63, e.g. error-rate)"
            )
        return value

    @field_validator("success")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            parse_condition(value)
        except ExpressionError as error:
            raise ValueError(str(error)) from None
        return value

    @field_validator("query", "baseline_query")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("empty query (write a PromQL expression)")
        return value

    @property
    def condition(self) -> tuple[Comparison, ...]:
        return parse_condition(self.success)


@dataclass(frozen=True)
class MetricSettings:
    """A metric's measurement settings with the analysis defaults applied."""

    interval: str
    count: int
    failure_limit: int
    initial_delay: str | None


class Analysis(Strict):
    interval: Duration = "1m"
    count: StrictInt = Field(default=5, ge=1, le=1000)
    failure_limit: StrictInt = Field(default=0, ge=0)
    initial_delay: Duration | None = None
    metrics: tuple[AnalysisMetric, ...] = ()

    @field_validator("metrics")
    @classmethod
    def _unique(cls, metrics: tuple[AnalysisMetric, ...]) -> tuple[AnalysisMetric, ...]:
        names = [m.name for m in metrics]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(
                f"metric names must be unique, {', '.join(dupes)} repeats (rename one)"
            )
        return metrics

    def settings(self, metric: AnalysisMetric) -> MetricSettings:
        """`metric`'s interval, count and failure limit, this analysis's where it sets none:
        the one place the defaults are applied (manifest, PR text and judgement alike)."""
        return MetricSettings(
            interval=metric.interval or self.interval,
            count=metric.count if metric.count is not None else self.count,
            failure_limit=(
                metric.failure_limit if metric.failure_limit is not None else self.failure_limit
            ),
            initial_delay=self.initial_delay,
        )


OnFail = Literal["block", "block_and_notify"]
OnRegression = Literal["notify", "rollback", "rollback_and_merge"]


class EnvironmentOverride(Strict):
    """Per-environment replacements: each field given replaces the policy's field whole."""

    gates: tuple[Gate, ...] | None = None
    significance: Significance | None = None
    rollout: Rollout | None = None
    analysis: Analysis | None = None
    on_fail: OnFail | None = None
    on_regression: OnRegression | None = None
    monitoring: Monitoring | None = None


class Policy(Strict):
    api_version: Literal["model-bot/v1"] = Field(alias="apiVersion")
    kind: Literal["PromotionPolicy"]
    primary_metric: str
    primary_metric_goal: Literal["maximize", "minimize"] = "maximize"
    gates: tuple[Gate, ...] = ()
    significance: Significance | None = None
    on_fail: OnFail = "block_and_notify"
    rollout: Rollout = Rollout()
    analysis: Analysis = Analysis()
    on_regression: OnRegression = "rollback"
    environments: dict[str, EnvironmentOverride] = {}
    monitoring: Monitoring | None = Field(
        default=None, description="what `model-bot monitor` watches after the canary"
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("primary_metric")
    @classmethod
    def _metric_name(cls, value: str) -> str:
        try:
            parse_gate(f"{value} > 0")
        except ExpressionError:
            raise ValueError(f"bad metric name {value!r} (e.g. accuracy)") from None
        return value

    @model_validator(mode="after")
    def _env_names(self) -> Policy:
        for name in self.environments:
            if not is_dns_label(name):
                raise ValueError(
                    f"bad environment name {name!r} in environments (lowercase DNS label)"
                )
        return self

    def for_environment(self, environment: str | None) -> Policy:
        """The policy with `environments[environment]` applied; unchanged if absent."""
        if environment is None or environment not in self.environments:
            return self
        override = self.environments[environment]
        changes = {k: v for k, v in override if v is not None}
        return self.model_copy(update=changes)


NO_GATES = "the policy has no gates: add at least one (e.g. - metric: accuracy > 0.9)"
NO_OVERRIDE_GATES = (
    "the override has no gates: add at least one (e.g. - metric: accuracy > 0.9), "
    "or leave gates out to keep the policy's"
)


def load_policy(path: Path, *, require_gates: bool = False) -> Policy:
    """Load and check a policy file; every problem names `path` and the field.

    Query templates are checked here too, so a broken one stops `gate` or `promote` before
    anything is rendered, with the file named, not first at render or analysis time.
    `require_gates` (gate, promote, policy check) refuses a policy, or an environment
    override, without gates: it would pass every model. Commands that only read the rollout,
    analysis or on_regression (render, analyze, rollback, chatops) do not ask for it.
    """
    policy = load_file(path, Policy, "policy")
    problems = gate_problems(policy, str(path)) if require_gates else []
    problems += policy_problems(policy, str(path))
    if problems:
        raise InvalidInput(problems)
    return policy


def gate_problems(policy: Policy, source: str) -> list[Problem]:
    """A policy that decides promotions needs gates, in every environment: with none, every
    candidate passes (`PASS (0/0)`)."""
    problems = [Problem(source, "gates", NO_GATES)] if not policy.gates else []
    problems += [
        Problem(source, f"environments.{name}.gates", NO_OVERRIDE_GATES)
        for name, override in policy.environments.items()
        if override.gates is not None and not override.gates
    ]
    return problems


def policy_problems(policy: Policy, source: str) -> list[Problem]:
    """What a valid-looking policy still gets wrong: analysis queries whose templates do not
    render (a Jinja syntax error or an unknown variable), and a canary without traffic
    routing whose first step is below one pod's share (`bot.core.traffic`)."""
    context = QueryContext(model="model", environment="environment", namespace="namespace")
    analyses = [("analysis", policy.analysis)] + [
        (f"environments.{name}.analysis", override.analysis)
        for name, override in policy.environments.items()
        if override.analysis is not None
    ]
    problems: list[Problem] = []
    rollouts = [("rollout", policy.rollout)] + [
        (f"environments.{name}.rollout", override.rollout)
        for name, override in policy.environments.items()
        if override.rollout is not None
    ]
    for prefix, rollout in rollouts:
        split = pod_split_problem(rollout)
        if split is not None:
            problems.append(Problem(source, f"{prefix}.steps", split))
    for prefix, analysis in analyses:
        for index, metric in enumerate(analysis.metrics):
            for field in ("query", "baseline_query"):
                query = getattr(metric, field)
                if query is None:
                    continue
                try:
                    fill_query(query, context)
                except InvalidInput as error:
                    problems += [
                        Problem(source, f"{prefix}.metrics[{index}].{field}", p.message)
                        for p in error.problems
                    ]
    return problems + _monitoring_problems(policy, source, context)


def _monitoring_problems(policy: Policy, source: str, context: QueryContext) -> list[Problem]:
    sections = [("monitoring", policy.monitoring)] + [
        (f"environments.{name}.monitoring", override.monitoring)
        for name, override in policy.environments.items()
    ]
    problems: list[Problem] = []
    for prefix, section in sections:
        for index, signal in enumerate(section.signals if section is not None else ()):
            try:
                fill_query(signal.query, context)
            except InvalidInput as error:
                problems += [
                    Problem(source, f"{prefix}.signals[{index}].query", p.message)
                    for p in error.problems
                ]
    return problems


def pod_split_problem(rollout: Rollout) -> str | None:
    """A canary without traffic routing whose first step is below one pod's share."""
    if rollout.strategy != "canary" or rollout.traffic_routing is not None:
        return None
    return first_step_problem(rollout.replicas, rollout.steps)


def policy_json_schema() -> dict[str, object]:
    schema = Policy.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "model-bot PromotionPolicy v1"
    return schema


__all__ = [
    "Analysis",
    "AnalysisMetric",
    "EnvironmentOverride",
    "Gate",
    "InvalidInput",
    "Policy",
    "Rollout",
    "Significance",
    "duration_seconds",
    "gate_problems",
    "load_policy",
    "pod_split_problem",
    "policy_json_schema",
    "policy_problems",
]
