"""The monitoring judge, the policy's `monitoring:` section and the drift episode, directly."""

from __future__ import annotations

import itertools
import math
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from bot.core.analysis import QueryResult, RangeQuery, Sample, Series
from bot.core.drift import (
    DriftMarker,
    dispatch_inputs,
    next_step,
    read_drift_marker,
    replace_marker,
    tracking_issue,
)
from bot.core.errors import InvalidInput
from bot.core.monitor import Deployed, judge_model, plan_signals, signal_window, worst
from bot.core.monitoring import Monitoring, Retrain, Signal, monitor_duration_seconds
from bot.core.policy import Policy, policy_problems
from bot.core.queries import QueryContext

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
CONTEXT = QueryContext("fraud", "production", "prod")


def signal(**over: object) -> Signal:
    data: dict[str, object] = {
        "name": "psi",
        "query": 'max(psi{app="{{ model }}"})',
        "condition": "result < 0.2",
        "window": "1h",
        "step": "15m",
    }
    data.update(over)
    return Signal.model_validate(data)


def deployed(
    since: datetime | None = NOW - timedelta(days=3),
    version: str | None = "7",
    evidence: dict[str, float | None] | None = None,
) -> Deployed:
    return Deployed("fraud", "production", version, since, evidence)


def answer(plan: RangeQuery, values: list[float | None] | None) -> QueryResult:
    """A range query's answer: one series with `values` at the planned times (None: absent)."""
    if values is None:
        return QueryResult(plan.query, ())
    samples = [Sample(t, v) for t, v in zip(plan.times, values, strict=True) if v is not None]
    return QueryResult(plan.query, (Series.of({"app": "fraud"}, samples),), graph_url="http://g")


def judge(monitoring: Monitoring, dep: Deployed, values: dict[str, list[float | None] | None]):
    plans = plan_signals(monitoring, CONTEXT, dep.since, NOW)
    observed = {name: answer(plans[name], v) for name, v in values.items() if name in plans}
    return judge_model(monitoring, dep, plans, observed, NOW), plans


# --- the window -------------------------------------------------------------------------------


def test_the_window_ends_now_and_steps_back_over_the_whole_window() -> None:
    plan = signal_window(signal(), NOW - timedelta(days=1), NOW)
    assert plan is not None
    assert plan.end == NOW.timestamp()
    assert plan.times == tuple(NOW.timestamp() - k * 900 for k in (4, 3, 2, 1, 0))


def test_samples_before_the_deployment_do_not_count() -> None:
    plan = signal_window(signal(), NOW - timedelta(minutes=35), NOW)
    assert plan is not None
    assert plan.times == (NOW.timestamp() - 1800, NOW.timestamp() - 900, NOW.timestamp())
    assert min(plan.times) >= (NOW - timedelta(minutes=35)).timestamp()


def test_a_deployment_younger_than_a_step_has_one_sample_at_now() -> None:
    plan = signal_window(signal(), NOW - timedelta(minutes=1), NOW)
    assert plan is not None and plan.times == (NOW.timestamp(),)


def test_a_deployment_after_now_has_no_window() -> None:
    assert signal_window(signal(), NOW + timedelta(minutes=1), NOW) is None


def test_plan_fills_the_query_template() -> None:
    plans = plan_signals(Monitoring(signals=(signal(),)), CONTEXT, None, NOW)
    assert plans["psi"].query == 'max(psi{app="fraud"})'


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        signal_window(signal(), None, datetime(2026, 1, 1))


# --- one signal -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "phase"),
    [
        ([0.1] * 5, "ok"),
        ([0.1, 0.1, 0.1, 0.1, 0.3], "breached"),
        ([0.3] * 5, "breached"),
        ([None] * 5, "no-data"),
        (None, "no-data"),
        ([None, None, None, None, 0.1], "ok"),
        ([math.nan] * 5, "no-data"),
    ],
)
def test_signal_phases(values: list[float | None] | None, phase: str) -> None:
    verdict, _ = judge(Monitoring(signals=(signal(),)), deployed(), {"psi": values})
    assert verdict.signals[0].phase == phase


def test_failure_limit_tolerates_that_many_failed_samples() -> None:
    monitoring = Monitoring(signals=(signal(failure_limit=1),))
    one, _ = judge(monitoring, deployed(), {"psi": [0.3, 0.1, 0.1, 0.1, 0.1]})
    two, _ = judge(monitoring, deployed(), {"psi": [0.3, 0.3, 0.1, 0.1, 0.1]})
    assert (one.signals[0].phase, two.signals[0].phase) == ("ok", "breached")


def test_drift_that_started_before_the_deployment_does_not_count() -> None:
    """The samples before the deployment are not even asked for: the window starts at it."""
    dep = deployed(since=NOW - timedelta(minutes=20))
    verdict, plans = judge(Monitoring(signals=(signal(),)), dep, {"psi": [0.1, 0.1]})
    assert len(plans["psi"].times) == 2
    assert verdict.health == "healthy"


def test_a_query_error_is_an_error_and_the_verdict_is_inconclusive_even_beside_a_breach() -> None:
    monitoring = Monitoring(signals=(signal(), signal(name="acc")), max_age_days=1)
    plans = plan_signals(monitoring, CONTEXT, deployed().since, NOW)
    observed = {
        "psi": answer(plans["psi"], [0.9] * 5),
        "acc": QueryResult("q", (), "cannot connect to Prometheus"),
    }
    verdict = judge_model(monitoring, deployed(), plans, observed, NOW)
    assert verdict.signals[1].phase == "error"
    assert verdict.health == "inconclusive"
    assert "cannot connect" in verdict.summary


def test_an_unqueried_signal_is_an_error() -> None:
    monitoring = Monitoring(signals=(signal(),))
    plans = plan_signals(monitoring, CONTEXT, deployed().since, NOW)
    verdict = judge_model(monitoring, deployed(), plans, {}, NOW)
    assert verdict.signals[0].phase == "error" and verdict.health == "inconclusive"


# --- relative to the gate evidence ------------------------------------------------------------


def accuracy_signal() -> Signal:
    return signal(
        name="accuracy-drop",
        query="accuracy",
        condition="result >= 0.95",
        relative_to_evidence="accuracy",
    )


@pytest.mark.parametrize(
    ("live", "phase"),
    [(0.93, "ok"), (0.884, "ok"), (0.88, "breached"), (0.5, "breached"), (0.99, "ok")],
)
def test_dropped_by_more_than_5_percent_of_the_evidence(live: float, phase: str) -> None:
    dep = deployed(evidence={"accuracy": 0.93})
    verdict, _ = judge(Monitoring(signals=(accuracy_signal(),)), dep, {"accuracy-drop": [live] * 5})
    assert verdict.signals[0].phase == phase
    assert verdict.signals[0].baseline == 0.93
    assert verdict.signals[0].latest == pytest.approx(live / 0.93)


@pytest.mark.parametrize(
    ("evidence", "why"),
    [
        (None, "no gate evidence committed"),
        ({"f1": 0.9}, "no usable accuracy"),
        ({"accuracy": None}, "no usable accuracy"),
        ({"accuracy": math.nan}, "no usable accuracy"),
        ({"accuracy": 0.0}, "is 0"),
    ],
)
def test_without_usable_evidence_a_relative_signal_has_no_data(
    evidence: dict[str, float | None] | None, why: str
) -> None:
    verdict, _ = judge(
        Monitoring(signals=(accuracy_signal(),)),
        deployed(evidence=evidence),
        {"accuracy-drop": [0.1] * 5},
    )
    assert verdict.signals[0].phase == "no-data"
    assert why in verdict.signals[0].reason
    assert verdict.health == "inconclusive"


# --- the verdict ------------------------------------------------------------------------------


def test_every_combination_of_signal_phases_and_age() -> None:
    """The rule, exhaustively: error -> inconclusive; else breach or age -> drifted; else
    no data -> inconclusive; else healthy."""
    values = {"ok": [0.1] * 5, "breached": [0.9] * 5, "no-data": None}
    names = ("a", "b")
    for phases in itertools.product((*values, "error"), repeat=2):
        for old in (False, True):
            monitoring = Monitoring(signals=tuple(signal(name=n) for n in names), max_age_days=2)
            dep = deployed(since=NOW - timedelta(days=3 if old else 1))
            plans = plan_signals(monitoring, CONTEXT, dep.since, NOW)
            observed = {
                n: QueryResult("q", (), "down") if p == "error" else answer(plans[n], values[p])
                for n, p in zip(names, phases, strict=True)
            }
            verdict = judge_model(monitoring, dep, plans, observed, NOW)
            if "error" in phases:
                expected = "inconclusive"
            elif "breached" in phases or old:
                expected = "drifted"
            elif "no-data" in phases:
                expected = "inconclusive"
            else:
                expected = "healthy"
            assert verdict.health == expected, (phases, old)
            assert verdict.age_exceeded is old


def test_age_over_the_maximum_is_drift_with_that_reason() -> None:
    monitoring = Monitoring(max_age_days=30)
    verdict, _ = judge(monitoring, deployed(since=NOW - timedelta(days=31)), {})
    assert verdict.health == "drifted"
    assert verdict.reasons == ("model age 31 days over max_age_days 30",)
    assert verdict.breached == ()


def test_age_exactly_at_the_maximum_is_not_drift() -> None:
    verdict, _ = judge(Monitoring(max_age_days=30), deployed(since=NOW - timedelta(days=30)), {})
    assert verdict.health == "healthy"


def test_nothing_to_watch_is_inconclusive() -> None:
    verdict, _ = judge(Monitoring(), deployed(), {})
    assert verdict.health == "inconclusive" and "no signals" in verdict.summary


def test_nothing_deployed_is_inconclusive() -> None:
    verdict, _ = judge(Monitoring(max_age_days=1), deployed(version=None, since=None), {})
    assert verdict.health == "inconclusive" and "nothing deployed" in verdict.summary


def test_breached_signals_are_the_reasons() -> None:
    monitoring = Monitoring(signals=(signal(), signal(name="psi-b")))
    verdict, _ = judge(monitoring, deployed(), {"psi": [0.9] * 5, "psi-b": [0.1] * 5})
    assert verdict.reasons == ("signal psi breached",)


@pytest.mark.parametrize(
    ("healths", "expected"),
    [
        ((), "inconclusive"),
        (("healthy",), "healthy"),
        (("healthy", "inconclusive"), "inconclusive"),
        (("inconclusive", "drifted"), "drifted"),
        (("healthy", "drifted"), "drifted"),
    ],
)
def test_worst_of_several_models(healths: tuple[str, ...], expected: str) -> None:
    assert worst(healths) == expected  # type: ignore[arg-type]


# --- the policy section -----------------------------------------------------------------------


def test_durations_include_days() -> None:
    assert [monitor_duration_seconds(t) for t in ("30s", "5m", "2h", "7d")] == [
        30,
        300,
        7200,
        604800,
    ]
    for bad in ("0h", "1w", "1.5h", "", "h"):
        with pytest.raises(ValueError, match="bad duration"):
            monitor_duration_seconds(bad)


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"name": "Bad_Name"}, "bad signal name"),
        ({"query": "  "}, "empty query"),
        ({"condition": "accuracy > 1"}, "result"),
        ({"window": "1w"}, "bad duration"),
        ({"step": "2h"}, "longer than window"),
        ({"window": "30d", "step": "1m"}, "11,000"),
        ({"relative_to_evidence": "no good"}, "bad evidence metric"),
        ({"failure_limit": -1}, "greater than or equal"),
        ({"extra": 1}, "Extra inputs"),
    ],
)
def test_bad_signals_are_refused(over: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        signal(**over)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"repository": "nope"}, "bad repository"),
        ({"repository": "a/b"}, "either workflow"),
        ({"repository": "a/b", "workflow": "t.yml", "event_type": "x"}, "either workflow"),
        ({"repository": "a/b", "workflow": "../t.yml"}, "bad workflow"),
        ({"repository": "a/b", "event_type": "a b"}, "bad event_type"),
        ({"repository": "a/b", "event_type": "x", "ref": "main"}, "bad ref"),
        ({"repository": "a/b", "workflow": "t.yml", "ref": "a..b"}, "bad ref"),
        ({"repository": "a/b", "workflow": "t.yml", "inputs": {"model": "x"}}, "passed by the bot"),
        ({"repository": "a/b", "workflow": "t.yml", "inputs": {"1x": "x"}}, "bad input name"),
        (
            {"repository": "a/b", "workflow": "t.yml", "inputs": {f"i{k}": "" for k in range(6)}},
            "at most 5",
        ),
        ({"repository": "a/b", "workflow": "t.yml", "inputs": {"n": 1}}, "string"),
    ],
)
def test_bad_retrain_targets_are_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Retrain.model_validate(data)


def test_a_good_retrain_target() -> None:
    retrain = Retrain.model_validate(
        {"repository": "acme/training", "workflow": "train.yaml", "ref": "release/v2"}
    )
    assert retrain.workflow == "train.yaml" and retrain.ref == "release/v2"


def test_signal_names_are_unique_and_the_label_is_sane() -> None:
    with pytest.raises(ValidationError, match="psi repeats"):
        Monitoring(signals=(signal(), signal()))
    with pytest.raises(ValidationError, match="no comma"):
        Monitoring(label="a,b")


def test_the_policy_carries_monitoring_and_environments_override_it() -> None:
    policy = Policy.model_validate(
        {
            "apiVersion": "model-bot/v1",
            "kind": "PromotionPolicy",
            "primary_metric": "accuracy",
            "monitoring": {"max_age_days": 30},
            "environments": {"staging": {"monitoring": {"max_age_days": 7}}},
        }
    )
    assert policy.monitoring is not None and policy.monitoring.max_age_days == 30
    staged = policy.for_environment("staging").monitoring
    assert staged is not None and staged.max_age_days == 7


def test_a_broken_signal_template_is_a_policy_problem_naming_its_field() -> None:
    policy = Policy.model_validate(
        {
            "apiVersion": "model-bot/v1",
            "kind": "PromotionPolicy",
            "primary_metric": "accuracy",
            "monitoring": {"signals": [signal(query="x{{ nope }}").model_dump()]},
        }
    )
    problems = policy_problems(policy, "p.yaml")
    assert [p.field for p in problems] == ["monitoring.signals[0].query"]


def test_plan_signals_raises_for_a_broken_template() -> None:
    with pytest.raises(InvalidInput, match=r"monitoring\.signals"):
        plan_signals(Monitoring(signals=(signal(query="{{ x }}"),)), CONTEXT, None, NOW)


# --- the episode ------------------------------------------------------------------------------


def drifted() -> object:
    verdict, _ = judge(Monitoring(signals=(signal(),)), deployed(), {"psi": [0.9] * 5})
    return verdict


def test_the_marker_reads_back_what_it_wrote() -> None:
    marker = DriftMarker("fraud", "production", "7", NOW)
    assert read_drift_marker(f"text\n{marker.text()}\n") == marker
    assert read_drift_marker(DriftMarker("fraud", "production", "7").text()) == DriftMarker(
        "fraud", "production", "7", None
    )


@pytest.mark.parametrize(
    "body",
    [
        "",
        "<!-- model-bot-drift: {} -->",
        "<!-- model-bot-drift: [] -->",
        "<!-- model-bot-drift: {",
        '<!-- model-bot-drift: {"model": "a", "environment": "b", "version": ""} -->',
        '<!-- model-bot-drift: {"model": "a", "environment": "b", "version": "1", '
        '"dispatched_at": 5} -->',
        '<!-- model-bot-drift: {"model": "a", "environment": "b", "version": "1", '
        '"dispatched_at": "yesterday"} -->',
        '<!-- model-bot: {"model": "a", "environment": "b", "version": "1"} -->',
    ],
)
def test_bad_markers_read_as_none(body: str) -> None:
    assert read_drift_marker(body) is None


def test_untrusted_text_cannot_close_the_marker() -> None:
    text = DriftMarker("fraud", "production", "7-->`<b>", None).text()
    assert text.count("-->") == 1 and "`" not in text and "<b>" not in text
    assert read_drift_marker(text) == DriftMarker("fraud", "production", "7-->`<b>", None)


def test_replace_marker_keeps_the_body_and_swaps_the_marker() -> None:
    old = DriftMarker("fraud", "production", "7", None)
    new = DriftMarker("fraud", "production", "7", NOW)
    body = f"evidence\n\n{old.text()}\n"
    assert replace_marker(body, new) == f"evidence\n\n{new.text()}\n"
    assert read_drift_marker(replace_marker("no marker", new)) == new


def test_next_step_for_every_state() -> None:
    verdict = drifted()
    hour = 3600
    marker = DriftMarker("fraud", "production", "7", NOW - timedelta(hours=1))
    assert next_step(verdict, None, NOW, hour * 24) == "open-and-dispatch"  # type: ignore[arg-type]
    assert next_step(verdict, marker, NOW, hour * 24) == "comment"  # type: ignore[arg-type]
    assert next_step(verdict, marker, NOW, hour) == "dispatch-and-comment"  # type: ignore[arg-type]
    undispatched = DriftMarker("fraud", "production", "7", None)
    assert next_step(verdict, undispatched, NOW, hour) == "dispatch-and-comment"  # type: ignore[arg-type]
    for health in ("healthy", "inconclusive"):
        other = type(verdict)(**{**verdict.__dict__, "health": health})  # type: ignore[attr-defined]
        assert next_step(other, None, NOW, hour) == "none"
        assert next_step(other, marker, NOW, hour) == "none"


def test_the_tracking_issue_is_found_by_marker_not_title() -> None:
    mine = DriftMarker("fraud", "production", "7").text()
    other = DriftMarker("fraud", "staging", "7").text()
    bodies = [(9, f"Drift: fraud in production\n{other}"), (4, f"renamed\n{mine}"), (12, mine)]
    found = tracking_issue(bodies, "fraud", "production")
    assert found is not None and found[0] == 4
    assert tracking_issue([(1, "Drift: fraud in production")], "fraud", "production") is None


def test_dispatch_inputs_are_strings_with_the_bot_inputs_last() -> None:
    retrain = Retrain.model_validate(
        {"repository": "a/b", "workflow": "t.yml", "inputs": {"dataset": "latest"}}
    )
    inputs = dispatch_inputs(drifted(), retrain, 12)  # type: ignore[arg-type]
    assert inputs == {
        "dataset": "latest",
        "model": "fraud",
        "environment": "production",
        "deployed_version": "7",
        "reason": "signal psi breached",
        "drift_issue": "12",
    }
