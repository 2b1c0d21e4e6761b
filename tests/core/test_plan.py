"""The rollout plan is computed once: the rendered manifests and the PR's plan section both
come from it, so the text cannot describe a plan the manifests do not carry."""

from __future__ import annotations

from typing import Any

import pytest
from ruamel.yaml import YAML

from bot.core.config import BotConfig
from bot.core.expressions import format_condition
from bot.core.plan import CanaryStep, rollout_plan
from bot.core.queries import QueryContext, effective_query
from bot.core.render import query_context, render_change
from bot.text.proposal import rollout_plan_section
from tests.core.test_render import ANALYSIS, ROLLOUT, make_policy, make_request

CONTEXT = QueryContext("fraud-detector", "prod", "ml-prod")


def test_default_steps_pause_between_and_analyse_each_partial_step() -> None:
    plan = rollout_plan(make_policy(), CONTEXT)
    assert plan.steps == (
        CanaryStep(5, "10m", True),
        CanaryStep(25, "10m", True),
        CanaryStep(75, "10m", True),
        CanaryStep(100, None, False),
    )


@pytest.mark.parametrize(
    ("rollout", "analysis", "expected"),
    [
        (
            {"steps": [10, 50, 100], "pause": "5m", "analysis_from_step": 2},
            None,
            [(10, "5m", False), (50, "5m", True), (100, None, False)],
        ),
        (
            {"steps": [20, 60], "pause": "1h"},
            None,
            [(20, "1h", True), (60, "1h", True)],
        ),
        (
            {"steps": [5, 100]},
            {"metrics": []},
            [(5, "10m", False), (100, None, False)],
        ),
    ],
)
def test_steps(
    rollout: dict[str, Any], analysis: dict[str, Any] | None, expected: list[tuple[Any, ...]]
) -> None:
    changes: dict[str, Any] = {"rollout": {"strategy": "canary", **rollout}}
    if analysis is not None:
        changes["analysis"] = analysis
    plan = rollout_plan(make_policy(**changes), CONTEXT)
    assert [(s.weight, s.pause, s.analysis) for s in plan.steps] == expected


def test_metric_settings_apply_the_analysis_defaults_once() -> None:
    policy = make_policy()
    plan = rollout_plan(policy, CONTEXT)
    error_rate, latency = plan.metrics
    assert (error_rate.interval, error_rate.count, error_rate.failure_limit) == ("1m", 5, 1)
    assert (latency.interval, latency.count, latency.failure_limit) == ("2m", 3, 0)
    assert error_rate.initial_delay == latency.initial_delay == "30s"
    assert latency.query == effective_query(policy.analysis.metrics[1], CONTEXT)
    assert latency.query.startswith("(") and ") / (" in latency.query


def test_the_manifests_and_the_pr_text_carry_the_same_plan() -> None:
    policy = make_policy(rollout={"strategy": "canary", "steps": [10, 40, 100], "pause": "3m"})
    change = render_change(make_request(policy=policy), {}, {})
    rollout = YAML(typ="safe").load(change.files[ROLLOUT])
    template = YAML(typ="safe").load(change.files[ANALYSIS])
    plan = rollout_plan(policy, query_context(BotConfig(), "fraud-detector", "prod"))

    rendered: list[tuple[int, str | None]] = []
    for step in rollout["spec"]["strategy"]["canary"]["steps"]:
        if "setWeight" in step:
            rendered.append((step["setWeight"], None))
        elif "pause" in step and rendered:
            rendered[-1] = (rendered[-1][0], step["pause"].get("duration"))
    assert rendered == [(s.weight, s.pause) for s in plan.steps]
    assert [m["name"] for m in template["spec"]["metrics"]] == [m.name for m in plan.metrics]
    assert [m["provider"]["prometheus"]["query"] for m in template["spec"]["metrics"]] == [
        m.query for m in plan.metrics
    ]

    text = rollout_plan_section(plan)
    assert (
        "Canary (Argo Rollouts): 10%, pause 3m, analysis → 40%, pause 3m, analysis → 100%." in text
    )
    for metric in plan.metrics:
        assert format_condition(metric.condition).replace("|", "\\|") in text
