"""`model-bot analyze` judges what the cluster runs: the committed AnalysisTemplate the
model folder's Rollout references (its queries, conditions, count, interval, failure
limit), naming every difference from the policy; the policy only where the folder holds no
such template. Pure: `analysis_basis` and `judge_specs` on hand-made files and results."""

from __future__ import annotations

import pytest

from bot.core.analysis import (
    QueryResult,
    analysis_basis,
    judge_specs,
    plan_spec_queries,
    spec_differences,
)
from bot.core.argo import parse_argo_condition
from bot.core.expressions import ExpressionError
from bot.core.policy import Analysis, AnalysisMetric
from tests.core.test_analysis import CONTEXT, NOW, series

DIR = "environments/prod/fraud-detector"
POLICY = Analysis(
    interval="1m",
    count=5,
    failure_limit=1,
    metrics=(
        AnalysisMetric(name="error-rate", query="err{app='{{ model }}'}", success="result < 0.01"),
    ),
)

ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: fraud-detector}
spec:
  strategy:
    canary:
      steps:
        - setWeight: 10
        - analysis: {templates: [{templateName: fraud-detector-analysis}]}
"""


def template(query: str, success: str, *, extra: str = "", count: int = 5) -> str:
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {{name: fraud-detector-analysis}}
spec:
  metrics:
    - name: error-rate
      interval: 1m
      count: {count}
      failureLimit: 1
      successCondition: {success!r}
{extra}      provider:
        prometheus:
          address: http://prometheus:9090
          query: {query!r}
"""


def folder(template_text: str | None, rollout: str = ROLLOUT) -> dict[str, bytes]:
    files = {f"{DIR}/rollout.yaml": rollout.encode()}
    if template_text is not None:
        files[f"{DIR}/analysis-template.yaml"] = template_text.encode()
    return files


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("result[0] < 0.01", "result[0] < 0.01"),  # what the bot renders
        ("result < 0.01", "result < 0.01"),
        ("asFloat(result[0]) <= 0.05", "result[0] <= 0.05"),
        ("0.95 <= result[0]", "result[0] >= 0.95"),
        ("(result[0] >= 0.9) && (result[0] < 2)", "result[0] >= 0.9 && result[0] < 2"),
        ("result[1] > 1 and result[0] < 5", "result[1] > 1 && result[0] < 5"),
    ],
)
def test_argo_conditions_the_bot_reads(text: str, expected: str) -> None:
    assert " && ".join(str(c) for c in parse_argo_condition(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "len(result) > 0 && result[0] < 1",
        "result[0] < 1 || result[0] > 5",
        "!isNaN(result[0])",
        "all(result, {# < 1})",
        "",
    ],
)
def test_argo_conditions_the_bot_cannot_read_say_so(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_argo_condition(text)


def test_the_committed_template_is_judged_and_every_difference_named() -> None:
    files = folder(template("sum(errors_total)", "result[0] < 0.05", count=3))
    basis = analysis_basis(POLICY, CONTEXT, files)
    assert basis.source == "template"
    assert basis.templates == (f"fraud-detector-analysis ({DIR}/analysis-template.yaml)",)
    [spec] = basis.specs
    assert (spec.query, spec.schedule.count, spec.schedule.interval) == ("sum(errors_total)", 3, 60)
    assert basis.differences == (
        "metric error-rate: the committed template queries 'sum(errors_total)', the policy "
        "\"err{app='fraud-detector'}\": judged with the template",
        "metric error-rate: the committed template's condition is 'result[0] < 0.05', the "
        "policy's 'result < 0.01': judged with the template",
        "metric error-rate: the committed template's count is 3, the policy's 5: judged with "
        "the template",
    )
    assert plan_spec_queries(basis.specs, NOW)["error-rate"].query == "sum(errors_total)"
    # 0.03 breaks the policy's 0.01 but meets the template's 0.05: the template decides.
    verdict = judge_specs(basis.specs, {"error-rate": QueryResult("q", (series([0.03] * 3),))}, NOW)
    assert verdict.phase == "pass"


def test_the_bots_own_template_matches_the_policy_with_no_differences() -> None:
    files = folder(template("err{app='fraud-detector'}", "result[0] < 0.01"))
    basis = analysis_basis(POLICY, CONTEXT, files)
    assert (basis.source, basis.differences) == ("template", ())


def test_an_unreadable_condition_makes_that_metric_inconclusive_not_a_crash() -> None:
    files = folder(template("err", "len(result) > 0 && result[0] < 0.01"))
    basis = analysis_basis(POLICY, CONTEXT, files)
    assert "error-rate" not in plan_spec_queries(basis.specs, NOW)
    verdict = judge_specs(basis.specs, {}, NOW)
    assert verdict.phase == "inconclusive"
    assert "cannot judge: cannot read its successCondition" in verdict.measurements[0].reason


def test_a_failure_condition_is_judged_as_argo_does() -> None:
    text = template("err", "result[0] < 0.01", extra="      failureCondition: result[0] > 0.1\n")
    basis = analysis_basis(POLICY, CONTEXT, folder(text))
    observed = {"error-rate": QueryResult("q", (series([0.5, 0.5, 0.05, 0.001, 0.001]),))}
    verdict = judge_specs(basis.specs, observed, NOW)
    outcomes = [p.outcome for p in verdict.measurements[0].points]
    assert outcomes == ["fail", "fail", "error", "pass", "pass"]  # 0.05: neither holds
    assert verdict.phase == "fail"  # 2 failed > failure limit 1
    assert any("condition is" in line for line in basis.differences)


def test_no_template_in_the_folder_falls_back_to_the_policy_and_says_so() -> None:
    basis = analysis_basis(POLICY, CONTEXT, folder(None))
    assert basis.source == "policy" and [s.name for s in basis.specs] == ["error-rate"]
    assert basis.differences == (
        "the committed Rollout references AnalysisTemplate fraud-detector-analysis (step 2), "
        "which is not in the model folder: its metrics are not judged",
        "no referenced template is in the folder: judged with the policy's metrics",
    )
    assert analysis_basis(POLICY, CONTEXT, {}).differences == ()  # no Rollout: the policy


def test_metrics_only_in_one_of_them_are_named() -> None:
    committed = analysis_basis(POLICY, CONTEXT, folder(template("err", "result[0] < 0.01"))).specs
    renamed = [s.__class__(**{**s.__dict__, "name": "errors"}) for s in committed]
    policy = analysis_basis(POLICY, CONTEXT, {}).specs
    lines = spec_differences(policy, renamed)
    assert any(line.startswith("metric errors: in the committed template only") for line in lines)
    assert any(line.startswith("metric error-rate: in the policy only") for line in lines)
