"""The real pod split of a canary without traffic routing, and the first-step policy error,
for replicas 1 to 10 and every weight."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from bot.core.errors import InvalidInput
from bot.core.plan import rollout_plan
from bot.core.policy import Policy, load_policy, pod_split_problem
from bot.core.queries import QueryContext
from bot.core.traffic import first_step_problem, pod_split
from bot.text.proposal import rollout_plan_section

REPLICAS = range(1, 11)
CONTEXT = QueryContext("fraud-detector", "prod", "ml-prod")


@pytest.mark.parametrize(
    ("replicas", "weight", "canary", "stable"),
    [
        # Argo Rollouts' docs (docs/features/canary.md): 10 replicas at 10 % is 1 and 9;
        # at 15 % the canary rounds up to 2 and the stable stays at 9 (one pod of surge).
        (10, 10, 1, 9),
        (10, 15, 2, 9),
        # The case: the default 2 replicas at 5 % is a third of the requests.
        (2, 5, 1, 2),
        (1, 5, 1, 1),
        (3, 50, 2, 2),  # floor and ceiling tie: the larger canary, with surge
        (4, 25, 1, 3),
        (20, 5, 1, 19),
    ],
)
def test_pod_split_follows_argo_rollouts(
    replicas: int, weight: int, canary: int, stable: int
) -> None:
    split = pod_split(replicas, weight)
    assert (split.canary, split.stable) == (canary, stable)


@pytest.mark.parametrize("replicas", REPLICAS)
def test_every_partial_weight_runs_a_canary_and_a_stable_pod(replicas: int) -> None:
    for weight in range(1, 100):
        split = pod_split(replicas, weight)
        assert split.canary >= 1 and split.stable >= 1
        assert replicas <= split.canary + split.stable <= replicas + 1  # at most one surge pod
        # no whole-pod split of replicas or replicas + 1 pods comes closer to the weight
        best = (
            min(
                abs(Fraction(c * 100, t) - weight)
                for t in (replicas, replicas + 1)
                for c in range(1, t)
            )
            if replicas > 1
            else abs(Fraction(50) - weight)
        )
        assert abs(split.share - weight) == best
    assert pod_split(replicas, 100) == pod_split(replicas, 100)
    assert pod_split(replicas, 100).stable == 0


@pytest.mark.parametrize("replicas", REPLICAS)
def test_without_surge_the_pods_stay_within_replicas(replicas: int) -> None:
    for weight in range(1, 100):
        split = pod_split(replicas, weight, max_surge=0)
        assert split.canary + split.stable == replicas


@pytest.mark.parametrize("replicas", REPLICAS)
def test_first_step_below_one_pods_share_is_an_error_naming_the_fix(replicas: int) -> None:
    for first in range(1, 101):
        problem = first_step_problem(replicas, (first, 100) if first < 100 else (100,))
        if first * replicas < 100:
            assert problem is not None, (replicas, first)
            assert f"first step {first}%" in problem
            split = pod_split(replicas, first)
            assert f"runs {split.canary} canary and {split.stable} stable" in problem
            needed = -(-100 // first)
            assert f"Set replicas to at least {needed}" in problem
            assert needed * first >= 100 > (needed - 1) * first  # the smallest count that works
            assert "traffic_routing" in problem
            assert f"start at {-(-100 // replicas)}% or more" in problem
        else:
            assert problem is None, (replicas, first)


@pytest.mark.parametrize("replicas", REPLICAS)
def test_plan_states_the_real_pod_split_of_every_step(replicas: int) -> None:
    steps = [5, 10, 25, 50, 100]  # the plan states the split even where load_policy refuses
    policy = Policy.model_validate(_policy(replicas=replicas, steps=steps))
    text = rollout_plan_section(rollout_plan(policy, CONTEXT))
    plural = "replica" if replicas == 1 else "replicas"
    assert f"({replicas} {plural} behind one Service)" in text
    for weight in steps[:-1]:
        split = pod_split(replicas, weight)
        pods = f"{split.canary} canary + {split.stable} stable pod"
        assert f"{weight}% → {pods}" in text
        if split.exact:
            assert f"(exactly {weight}%)" in text
        else:
            assert f"of requests, not {weight}%)" in text
    assert "100% →" not in text


def test_with_a_router_the_plan_says_weights_are_exact_and_no_pod_split() -> None:
    policy = Policy.model_validate(
        _policy(replicas=2, steps=[5, 100], traffic_routing={"provider": "istio"})
    )
    assert pod_split_problem(policy.rollout) is None
    text = rollout_plan_section(rollout_plan(policy, CONTEXT))
    assert "Traffic routing: Istio sets each weight exactly." in text
    assert "canary +" not in text


def test_load_policy_refuses_the_first_step_in_the_policy_and_each_override(
    tmp_path: Path,
) -> None:
    from ruamel.yaml import YAML

    data = _policy(replicas=2, steps=[5, 25, 100])
    data["environments"] = {"staging": {"rollout": {"steps": [10, 100], "replicas": 4}}}
    path = tmp_path / "policy.yaml"
    with path.open("w") as stream:
        YAML().dump(data, stream)
    with pytest.raises(InvalidInput) as caught:
        load_policy(path)
    fields = [p.field for p in caught.value.problems]
    assert fields == ["rollout.steps", "environments.staging.rollout.steps"]
    assert "Set replicas to at least 20" in caught.value.problems[0].message
    assert "Set replicas to at least 10" in caught.value.problems[1].message


@pytest.mark.parametrize("name", ["default", "production", "staging"])
def test_bundled_policies_start_at_a_whole_pod(name: str) -> None:
    root = Path(__file__).resolve().parents[2]
    policy = load_policy(root / "policies" / f"{name}.yaml")
    assert pod_split_problem(policy.rollout) is None


def _policy(**rollout: Any) -> dict[str, Any]:
    return {
        "apiVersion": "model-bot/v1",
        "kind": "PromotionPolicy",
        "primary_metric": "accuracy",
        "gates": [{"metric": "accuracy > 0.9"}],
        "rollout": {"strategy": "canary", **rollout},
    }
