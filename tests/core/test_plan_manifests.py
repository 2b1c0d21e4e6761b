"""The PR's rollout plan describes the Rollout the change commits, not the policy: the
strategy, steps, services, analysis references and `rollbackWindow` as the files say, and
the metrics of the templates the Rollout references (`plan_from_manifests`)."""

from __future__ import annotations

from bot.core.config import BotConfig
from bot.core.expressions import argo_condition
from bot.core.plan import committed_plan, plan_from_manifests, rollout_plan
from bot.core.queries import QueryContext
from bot.core.render import query_context, render_change
from bot.text.proposal import rollout_plan_section
from tests.core.test_render import make_policy, make_request

CONTEXT = QueryContext("fraud-detector", "prod", "ml-prod")
DIR = "environments/prod/fraud-detector"

BLUE_GREEN = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: fraud-detector}
spec:
  replicas: 2
  strategy:
    blueGreen:
      activeService: fraud-detector
      previewService: fraud-detector-preview
      autoPromotionEnabled: false
      prePromotionAnalysis:
        templates: [{templateName: smoke}]
      postPromotionAnalysis:
        templates: [{templateName: soak, clusterScope: true}]
"""

SMOKE = """\
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: smoke}
spec:
  args: [{name: service, value: fraud-detector-preview}]
  metrics:
    - name: success-rate
      interval: 1m
      count: 3
      failureLimit: 1
      successCondition: result[0] >= 0.95
      provider:
        prometheus:
          address: http://prometheus:9090
          query: sum(rate(ok{service="{{args.service}}"}[1m]))
"""

CANARY = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: fraud-detector}
spec:
  rollbackWindow: {revisions: 4}
  strategy:
    canary:
      analysis:
        templates: [{templateName: background}]
      steps:
        - setWeight: 20
        - pause: {}
        - setWeight: 50
        - pause: {duration: 2m}
        - analysis: {templates: [{templateName: smoke}]}
        - setCanaryScale: {replicas: 2}
"""


def files(**by_name: str) -> dict[str, bytes]:
    return {f"{DIR}/{name}": text.encode() for name, text in by_name.items()}


def test_a_hand_written_blue_green_rollout_is_described_as_written() -> None:
    plan = plan_from_manifests(files(**{"rollout.yaml": BLUE_GREEN, "smoke.yaml": SMOKE}))
    assert plan is not None
    assert (plan.strategy, plan.auto_promotion, plan.rollback_window) == ("blueGreen", False, 0)
    assert (plan.active_service, plan.preview_service) == (
        "fraud-detector",
        "fraud-detector-preview",
    )
    assert (plan.pre_promotion, plan.post_promotion) == (("smoke",), ("soak",))
    assert [(u.name, u.cluster, u.path) for u in plan.templates] == [
        ("smoke", False, f"{DIR}/smoke.yaml"),
        ("soak", True, None),
    ]
    [metric] = plan.metrics
    assert metric.query == 'sum(rate(ok{service="fraud-detector-preview"}[1m]))'
    assert (metric.interval, metric.count, metric.failure_limit) == ("1m", 3, 1)
    text = rollout_plan_section(plan)
    assert "Canary" not in text and "skips the steps" not in text
    assert (
        "Blue-green (Argo Rollouts): active service `fraud-detector`, preview service "
        "`fraud-detector-preview`; pre-promotion analysis `smoke`, then manual promotion, then "
        "post-promotion analysis `soak`." in text
    )
    assert "The Rollout sets no `rollbackWindow`" in text
    assert (
        f"- AnalysisTemplate `smoke` (prePromotionAnalysis): in this folder (`{DIR}/smoke.yaml`)."
        in text
    )
    assert (
        "- ClusterAnalysisTemplate `soak` (postPromotionAnalysis): **not in this folder**" in text
    )
    assert "| `success-rate` |" in text and "`result[0] >= 0.95`" in text


def test_canary_steps_as_written_with_background_analysis_and_a_missing_template() -> None:
    plan = plan_from_manifests(files(**{"rollout.yaml": CANARY, "analysis.yaml": SMOKE}))
    assert plan is not None
    assert plan.stages == (
        "20%, pause until promoted",
        "50%, pause 2m, analysis, setCanaryScale",
    )
    assert plan.background == ("background",) and plan.rollback_window == 4
    text = rollout_plan_section(plan)
    assert (
        "Canary (Argo Rollouts): 20%, pause until promoted → 50%, pause 2m, analysis, "
        "setCanaryScale." in text
    )
    assert "Background analysis throughout: `background`." in text
    assert "- AnalysisTemplate `background` (background analysis): **not in this folder**" in text
    assert "A rollback to one of the last 4 revisions skips the steps" in text


def test_an_unreadable_condition_is_shown_and_flagged_not_a_crash() -> None:
    template = SMOKE.replace("result[0] >= 0.95", "len(result) > 0 || result[0] >= 0.95")
    plan = plan_from_manifests(files(**{"rollout.yaml": BLUE_GREEN, "smoke.yaml": template}))
    assert plan is not None
    assert plan.metrics[0].problem is not None
    assert "the bot cannot evaluate this" in rollout_plan_section(plan)


def test_the_bots_own_rollout_reads_back_as_the_policys_plan() -> None:
    policy = make_policy(rollout={"strategy": "canary", "steps": [10, 40, 100], "pause": "3m"})
    change = render_change(make_request(policy=policy), {}, {})
    plan = plan_from_manifests(dict(change.files))
    assert plan is not None
    expected = rollout_plan(policy, query_context(BotConfig(), "fraud-detector", "prod"))
    assert plan.stages == ("10%, pause 3m, analysis", "40%, pause 3m, analysis", "100%")
    assert [m.name for m in plan.metrics] == [m.name for m in expected.metrics]
    # The template writes Argo's `result[0]` where the policy says `result`: the same operand.
    assert [argo_condition(m.condition) for m in plan.metrics] == [
        argo_condition(m.condition) for m in expected.metrics
    ]
    assert [m.query for m in plan.metrics] == [m.query for m in expected.metrics]
    assert plan.rollback_window == expected.rollback_window
    text = rollout_plan_section(plan)
    assert (
        "Canary (Argo Rollouts): 10%, pause 3m, analysis → 40%, pause 3m, analysis → 100%." in text
    )


def test_committed_plan_reads_the_final_files_and_falls_back_to_the_policy() -> None:
    policy = make_policy()
    old = files(**{"rollout.yaml": BLUE_GREEN})
    # The change deletes the Rollout: no Rollout left, so the policy's plan.
    gone = committed_plan(policy, CONTEXT, old, {}, [f"{DIR}/rollout.yaml"])
    assert gone == rollout_plan(policy, CONTEXT)
    kept = committed_plan(policy, CONTEXT, old, files(**{"smoke.yaml": SMOKE}))
    assert kept.strategy == "blueGreen" and kept.source == f"{DIR}/rollout.yaml"
    assert [m.name for m in kept.metrics] == ["success-rate"]
    assert BotConfig().paths.rollout == "rollout.yaml"
