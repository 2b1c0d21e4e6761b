"""What share of the traffic a canary really gets. Pure.

Without `trafficRouting`, Argo Rollouts approximates a `setWeight` with pod counts behind one
Service (its "basic canary"): the canary and stable ReplicaSets are sized so that
canary / (canary + stable) comes as close to the weight as whole pods allow, and the users'
requests spread over all those pods. `pod_split` reproduces that arithmetic
(argoproj/argo-rollouts, utils/replicaset/canary.go, `approximateWeightedCanaryStableReplicaCounts`
and `floorCeilingTied`): with 2 replicas a 5 % step runs one canary pod beside two stable ones,
a third of the requests. With a traffic router the weight is exact and pods do not matter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

DEFAULT_MAX_SURGE = "25%"  # Argo Rollouts' default canary maxSurge


@dataclass(frozen=True)
class PodSplit:
    weight: int  # the setWeight asked for
    canary: int  # canary pods
    stable: int  # stable pods

    @property
    def share(self) -> Fraction:
        """The canary's actual share of the requests, in percent."""
        total = self.canary + self.stable
        return Fraction(self.canary * 100, total) if total else Fraction(0)

    @property
    def exact(self) -> bool:
        return self.share == self.weight


def max_surge_pods(replicas: int, max_surge: int | str = DEFAULT_MAX_SURGE) -> int:
    """maxSurge in pods: an integer, or a percentage of replicas rounded up (as Argo does)."""
    if isinstance(max_surge, int):
        return max_surge
    text = max_surge.strip()
    if text.endswith("%") and text[:-1].isdigit():
        return math.ceil(replicas * int(text[:-1]) / 100)
    return int(text) if text.isdigit() else 1


def _tied(weight: int, total: int) -> bool:
    return (total * weight) % 100 * 2 == 100  # floor and ceiling equally far from the weight


def pod_split(replicas: int, weight: int, max_surge: int | str = DEFAULT_MAX_SURGE) -> PodSplit:
    """The canary and stable pod counts Argo Rollouts runs for `weight` without traffic routing."""
    if replicas <= 0:
        return PodSplit(weight, 0, 0)
    surge = max_surge_pods(replicas, max_surge)
    ceil = math.ceil(replicas * weight / 100)
    floor = (replicas * weight) // 100
    zero_allowed = weight in (0, 100) or (replicas == 1 and surge == 0)
    options: list[tuple[int, int]] = []
    if ceil < replicas or zero_allowed:
        options.append((ceil, replicas))
    if not _tied(weight, replicas) and (floor != 0 or zero_allowed):
        options.append((floor, replicas))
    if surge > 0:
        options.append((ceil, replicas + 1))
        if not _tied(weight, replicas + 1) and (floor != 0 or zero_allowed):
            options.append((floor, replicas + 1))
    if not options:
        return PodSplit(weight, 0, replicas)

    def delta(option: tuple[int, int]) -> Fraction:
        return abs(Fraction(option[0] * 100, option[1]) - weight)

    best = options[0]
    for option in options[1:]:  # the first of equally close options wins, as in Argo
        if delta(option) < delta(best):
            best = option
    return PodSplit(weight, best[0], best[1] - best[0])


def one_pod_share(replicas: int) -> Fraction:
    """The share of the requests one pod serves when `replicas` pods serve them all."""
    return Fraction(100, replicas)


def percent(value: Fraction) -> str:
    """`33.3%`, `5%`: one decimal where the share is not whole."""
    return f"{int(value)}%" if value.denominator == 1 else f"{float(value):.1f}%"


def first_step_problem(replicas: int, steps: tuple[int, ...]) -> str | None:
    """Why a canary without traffic routing cannot start at `steps[0]`, or None.

    Below one pod's share the first step cannot be met with whole pods: Argo still starts a
    whole canary pod, so far more users than the policy says get the new model.
    """
    if not steps or steps[0] >= 100:
        return None
    first = steps[0]
    share = one_pod_share(replicas)
    if first >= share:
        return None
    split = pod_split(replicas, first)
    needed = math.ceil(100 / first)
    smallest = math.ceil(share)
    return (
        f"the first step {first}% is less than one pod's share with {replicas} "
        f"replica{'s' if replicas != 1 else ''} ({percent(share)}): without traffic routing "
        f"Argo Rollouts runs {split.canary} canary and {split.stable} stable pod"
        f"{'s' if split.stable != 1 else ''}, {percent(split.share)} of the requests. "
        f"Set replicas to at least {needed}, add a traffic_routing provider (istio, nginx, "
        f"gatewayapi, smi) for exact weights, or start at {smallest}% or more"
    )


__all__ = [
    "DEFAULT_MAX_SURGE",
    "PodSplit",
    "first_step_problem",
    "max_surge_pods",
    "one_pod_share",
    "percent",
    "pod_split",
]
