"""Traffic routing, the shadow phase and the two render modes: golden folders, every object
valid (CRDs and Kubernetes' own schemas), exact weights, and the plan read back from them.

Regenerate the golden folders after an intended template change with
`UPDATE_GOLDEN=1 pytest tests/core/test_render_routing.py` and review the diff.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.core.config import BotConfig
from bot.core.errors import InvalidInput
from bot.core.plan import plan_from_manifests
from bot.core.policy import Policy, pod_split_problem
from bot.core.render import is_bot_owned, read_current_version, render_change
from bot.text.proposal import rollout_plan_section
from tests.core.test_render import (
    CONFIG,
    FOLDER,
    POLICY,
    ROLLOUT,
    VALUES,
    assert_golden,
    load,
    make_policy,
    make_request,
)
from tests.k8sschemas import file_problems, kinds

SERVICES = f"{FOLDER}/services.yaml"
ROUTING = f"{FOLDER}/routing.yaml"
KUSTOMIZATION = f"{FOLDER}/kustomization.yaml"
ANALYSIS = f"{FOLDER}/analysis-template.yaml"
STEPS = [5, 25, 75, 100]

# Golden folder -> (rollout section of the policy, render.mode)
CASES: dict[str, tuple[dict[str, Any], str | None]] = {
    "canary-istio": ({"traffic_routing": {"provider": "istio"}}, "manifests"),
    "canary-istio-subsets": (
        {
            "traffic_routing": {
                "provider": "istio",
                "destination_rule": True,
                "gateways": ["ml-gateway"],
                "host": "fraud.example.com",
                "routes": ["primary", "secondary"],
            }
        },
        "manifests",
    ),
    "canary-nginx": (
        {"traffic_routing": {"provider": "nginx", "host": "fraud.example.com"}},
        "manifests",
    ),
    "canary-gatewayapi": (
        {"traffic_routing": {"provider": "gatewayapi", "gateway": "ml-gateway"}},
        "manifests",
    ),
    "canary-smi": ({"traffic_routing": {"provider": "smi"}}, "manifests"),
    "canary-pods": ({"replicas": 20}, "manifests"),
    "blue-green-manifests": (
        {"strategy": "blueGreen", "auto_promotion": False, "replicas": 3},
        "manifests",
    ),
    "shadow-canary-istio": (
        {
            "traffic_routing": {"provider": "istio"},
            "shadow": {"percentage": 20, "duration": "30m", "analysis": True},
        },
        "manifests",
    ),
    "shadow-canary-gatewayapi": (
        {
            "traffic_routing": {"provider": "gatewayapi", "gateway": "ml-gateway"},
            "shadow": {"percentage": 100, "duration": "1h", "canary_weight": 10},
        },
        "manifests",
    ),
}


def policy_with(rollout: dict[str, Any]) -> Policy:
    return make_policy(rollout={"strategy": "canary", "steps": STEPS, "pause": "10m", **rollout})


def config_with(mode: str | None, **extra: Any) -> BotConfig:
    return BotConfig.model_validate({**CONFIG, "render": {"mode": mode}, **extra})


def render_case(name: str) -> dict[str, bytes]:
    rollout, mode = CASES[name]
    change = render_change(make_request(policy=policy_with(rollout), config=config_with(mode)), {})
    return dict(change.files)


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_folders_hold_only_valid_objects(name: str) -> None:
    files = render_case(name)
    for path, data in files.items():
        assert_golden(f"{name}/{Path(path).name}", data)
        assert is_bot_owned(data)
        assert file_problems(data, path) == []
    golden = sorted(p.name for p in (Path(__file__).parents[1] / "golden/render" / name).iterdir())
    assert golden == sorted(Path(p).name for p in files)  # no stale golden file


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_kustomization_lists_every_file_of_the_folder(name: str) -> None:
    files = render_case(name)
    assert VALUES not in files  # manifests mode: no Helm values beside the manifests
    resources = load(files[KUSTOMIZATION])["resources"]
    assert sorted(resources) == sorted(Path(p).name for p in files if p != KUSTOMIZATION)


@pytest.mark.parametrize(
    ("provider", "services", "router_kinds"),
    [
        ("istio", ["fraud-detector", "fraud-detector-stable", "fraud-detector-canary"], ["VirtualService"]),
        ("nginx", ["fraud-detector", "fraud-detector-stable", "fraud-detector-canary"], ["Ingress"]),
        ("gatewayapi", ["fraud-detector", "fraud-detector-stable", "fraud-detector-canary"], ["HTTPRoute"]),
        ("smi", ["fraud-detector", "fraud-detector-stable", "fraud-detector-canary"], None),
    ],
)  # fmt: skip
def test_each_router_gets_its_services_and_objects(
    provider: str, services: list[str], router_kinds: list[str] | None
) -> None:
    name = f"canary-{provider}"
    files = render_case(name)
    rendered = [d["metadata"]["name"] for d in _docs(files[SERVICES])]
    assert rendered == services
    if router_kinds is None:
        assert ROUTING not in files  # Argo Rollouts creates SMI's TrafficSplit itself
    else:
        assert kinds(files[ROUTING]) == router_kinds
    canary = load(files[ROLLOUT])["spec"]["strategy"]["canary"]
    assert canary["stableService"] == "fraud-detector-stable"
    assert canary["canaryService"] == "fraud-detector-canary"
    # weights exact: the router sets each policy weight, nothing approximates them with pods
    weights = [s["setWeight"] for s in canary["steps"] if "setWeight" in s]
    assert weights == STEPS
    assert plan_from_manifests(files).traffic_router == provider  # type: ignore[union-attr]


def test_istio_routes_start_all_stable_and_name_the_services_or_subsets() -> None:
    hosts = _docs(render_case("canary-istio")[ROUTING])[0]["spec"]
    assert hosts["hosts"] == ["fraud-detector"]
    route = hosts["http"][0]
    assert route["name"] == "primary"
    assert [(d["destination"]["host"], d["weight"]) for d in route["route"]] == [
        ("fraud-detector-stable", 100),
        ("fraud-detector-canary", 0),
    ]

    files = render_case("canary-istio-subsets")
    service, rule = _docs(files[ROUTING])
    assert service["spec"]["gateways"] == ["ml-gateway"]
    assert service["spec"]["hosts"] == ["fraud.example.com"]
    assert [r["name"] for r in service["spec"]["http"]] == ["primary", "secondary"]
    for route in service["spec"]["http"]:
        assert [d["destination"].get("subset") for d in route["route"]] == ["stable", "canary"]
    assert rule["kind"] == "DestinationRule"
    assert [s["name"] for s in rule["spec"]["subsets"]] == ["stable", "canary"]
    istio = load(files[ROLLOUT])["spec"]["strategy"]["canary"]["trafficRouting"]["istio"]
    assert istio["destinationRule"] == {
        "name": "fraud-detector",
        "canarySubsetName": "canary",
        "stableSubsetName": "stable",
    }
    assert istio["virtualService"]["routes"] == ["primary", "secondary"]
    assert [d["metadata"]["name"] for d in _docs(files[SERVICES])] == ["fraud-detector"]


def test_blue_green_renders_the_active_and_preview_services_it_names() -> None:
    files = render_case("blue-green-manifests")
    blue_green = load(files[ROLLOUT])["spec"]["strategy"]["blueGreen"]
    services = [d["metadata"]["name"] for d in _docs(files[SERVICES])]
    assert services == [blue_green["activeService"], blue_green["previewService"]]


def test_shadow_mirrors_on_a_managed_route_then_removes_it_before_the_weights() -> None:
    files = render_case("shadow-canary-istio")
    canary = load(files[ROLLOUT])["spec"]["strategy"]["canary"]
    assert canary["trafficRouting"]["managedRoutes"] == [{"name": "mirror-shadow"}]
    steps = canary["steps"]
    assert steps[:6] == [
        {"setCanaryScale": {"weight": 20}},
        {
            "setMirrorRoute": {
                "name": "mirror-shadow",
                "percentage": 20,
                "match": [{"path": {"prefix": "/"}}],
            }
        },
        {"pause": {"duration": "30m"}},
        {"analysis": {"templates": [{"templateName": "fraud-detector-analysis"}]}},
        {"setMirrorRoute": {"name": "mirror-shadow"}},
        {"setCanaryScale": {"matchTrafficWeight": True}},
    ]
    assert steps[6] == {"setWeight": 5}
    plan = plan_from_manifests(files)
    assert plan is not None and plan.shadow is not None
    assert (plan.shadow.percentage, plan.shadow.duration, plan.shadow.analysis) == (20, "30m", True)
    assert plan.weights == tuple(STEPS)
    text = rollout_plan_section(plan)
    assert "Shadow first: 20% of the live requests are mirrored to the canary for 30m" in text
    assert "No user sees the shadow's answers" in text
    assert "compares the canary with the stable version on the mirrored requests" in text
    assert "Traffic routing: Istio sets each weight exactly." in text
    assert "Canary (Argo Rollouts): 5%, pause 10m, analysis → 25%" in text  # no shadow steps


def test_shadow_without_analysis_says_so() -> None:
    rollout = {
        "traffic_routing": {"provider": "gatewayapi", "gateway": "gw"},
        "shadow": {"percentage": 5, "duration": "10m", "analysis": False},
    }
    files = render_change(make_request(policy=policy_with(rollout), config=config_with(None)), {})
    plan = plan_from_manifests(dict(files.files))
    assert plan is not None and plan.shadow is not None and not plan.shadow.analysis
    text = rollout_plan_section(plan)
    assert "mirrored to the canary for 10m. No user sees" in text


@pytest.mark.parametrize(
    ("rollout", "message"),
    [
        ({"shadow": {}}, "needs traffic_routing with provider istio or gatewayapi"),
        (
            {"traffic_routing": {"provider": "nginx"}, "shadow": {}},
            "NGINX Ingress cannot mirror requests",
        ),
        ({"traffic_routing": {"provider": "smi"}, "shadow": {}}, "SMI cannot mirror requests"),
        (
            {"strategy": "blueGreen", "traffic_routing": {"provider": "istio"}},
            "traffic_routing and shadow are for strategy canary",
        ),
        ({"traffic_routing": {"provider": "gatewayapi"}}, "needs the Gateway's name"),
        (
            {"traffic_routing": {"provider": "nginx", "destination_rule": True}},
            "destination_rule is for provider istio, not nginx",
        ),
        (
            {"traffic_routing": {"provider": "istio"}, "shadow": {"duration": "soon"}},
            "shadow.duration: bad duration",
        ),
        ({"traffic_routing": {"provider": "consul"}}, "provider"),
    ],
)
def test_routing_and_shadow_policy_errors_are_clear(rollout: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Policy.model_validate({**POLICY, "rollout": {"strategy": "canary", **rollout}})
    assert message in str(caught.value)


def test_a_router_lifts_the_first_step_rule() -> None:
    policy = policy_with({"replicas": 2, "traffic_routing": {"provider": "smi"}})
    assert pod_split_problem(policy.rollout) is None
    assert pod_split_problem(policy_with({"replicas": 2}).rollout) is not None


def test_legacy_mode_adds_services_and_router_only_when_the_policy_routes() -> None:
    plain = render_change(make_request(config=config_with(None)), {})
    assert list(plain.files) == [VALUES, ROLLOUT, ANALYSIS]  # as before render.mode
    routed = render_change(
        make_request(policy=policy_with(CASES["canary-istio"][0]), config=config_with(None)), {}
    )
    assert list(routed.files) == [VALUES, ROLLOUT, ANALYSIS, SERVICES, ROUTING]


def test_switching_to_manifests_mode_deletes_the_bots_values_and_is_idempotent() -> None:
    legacy = render_change(make_request(config=config_with(None)), {})
    manifests = render_change(make_request(config=config_with("manifests")), dict(legacy.files))
    assert manifests.deleted == (VALUES,)
    assert set(manifests.changed) == {SERVICES, KUSTOMIZATION}  # the Rollout is the same
    after = {p: d for p, d in {**legacy.files, **manifests.changes}.items() if p != VALUES}
    again = render_change(make_request(config=config_with("manifests")), after)
    assert again.outcome == "unchanged"
    # dropping the router deletes the bot's routing.yaml
    routed = render_change(
        make_request(policy=policy_with(CASES["canary-istio"][0]), config=config_with("manifests")),
        {},
    )
    plain = render_change(make_request(config=config_with("manifests")), dict(routed.files))
    assert plain.deleted == (ROUTING,)


def test_a_persons_file_where_the_bot_renders_one_is_refused() -> None:
    mine = b"apiVersion: v1\nkind: Service\nmetadata: {name: mine}\n"
    with pytest.raises(InvalidInput) as caught:
        render_change(make_request(config=config_with("manifests")), {SERVICES: mine})
    assert "a person wrote it" in str(caught.value)


def test_manifests_folder_reads_back_the_version_it_declares() -> None:
    files = dict(render_change(make_request(config=config_with("manifests")), {}).files)
    assert read_current_version(files, config_with("manifests")) == ("7-3f2a1c9", "7-3f2a1c9")
    promoted = render_change(
        make_request(config=config_with("manifests"), version="8", image_tag="8-0a1b2c3"), files
    )
    assert promoted.changed == (ROLLOUT, ANALYSIS)  # both carry the version label
    assert SERVICES in promoted.unchanged and KUSTOMIZATION in promoted.unchanged


HAND_VALUES = b"""\
# Values of our own chart: model-bot only bumps the keys named in value_keys.
replicaCount: 4
image:
  repository: ghcr.io/acme/fraud-detector   # the registry
  tag: "7-3f2a1c9"
  pullPolicy: IfNotPresent
model:
  version: "7"
ingress: {enabled: true, host: fraud.example.com}
"""


def test_values_mode_changes_only_the_declared_keys_and_adds_nothing() -> None:
    existing = {VALUES: HAND_VALUES, f"{FOLDER}/Chart.yaml": b"name: fraud\n"}
    config = config_with("values")
    change = render_change(
        make_request(
            config=config,
            version="8",
            image_tag="8-0a1b2c3",
            policy=policy_with(CASES["shadow-canary-istio"][0]),
        ),
        existing,
    )
    assert list(change.files) == [VALUES] and change.changed == (VALUES,)
    assert change.deleted == ()
    before = HAND_VALUES.decode().splitlines()
    after = change.files[VALUES].decode().splitlines()
    differing = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert differing == [
        ('  tag: "7-3f2a1c9"', '  tag: "8-0a1b2c3"'),
        ('  version: "7"', '  version: "8"'),
    ]


def test_values_mode_without_a_values_file_names_the_fix() -> None:
    with pytest.raises(InvalidInput) as caught:
        render_change(make_request(config=config_with("values")), {})
    assert "commit your chart's values file there first" in str(caught.value)


# --- every valid policy renders valid manifests -----------------------------------------------

routers = st.one_of(
    st.none(),
    st.builds(lambda: {"provider": "istio"}),
    st.builds(
        lambda gateways, subsets: {
            "provider": "istio",
            "gateways": gateways,
            "destination_rule": subsets,
            "host": "m.example.com",
        },
        st.lists(st.sampled_from(["gw-a", "gw-b"]), unique=True, max_size=2),
        st.booleans(),
    ),
    st.builds(lambda: {"provider": "nginx"}),
    st.builds(lambda: {"provider": "gatewayapi", "gateway": "gw"}),
    st.builds(lambda: {"provider": "smi"}),
)


@st.composite
def rollouts(draw: st.DrawFn) -> dict[str, Any]:
    strategy = draw(st.sampled_from(["canary", "blueGreen"]))
    steps = sorted(draw(st.sets(st.integers(1, 100), min_size=1, max_size=5)))
    rollout: dict[str, Any] = {
        "strategy": strategy,
        "steps": steps,
        "replicas": draw(st.integers(1, 30)),
        "rollback_window": draw(st.integers(0, 5)),
    }
    if strategy == "canary":
        router = draw(routers)
        if router is not None:
            rollout["traffic_routing"] = router
            if router["provider"] in ("istio", "gatewayapi") and draw(st.booleans()):
                rollout["shadow"] = {
                    "percentage": draw(st.integers(1, 100)),
                    "duration": draw(st.sampled_from(["30s", "5m", "2h"])),
                    "analysis": draw(st.booleans()),
                }
    return rollout


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rollout=rollouts(),
    mode=st.sampled_from([None, "manifests"]),
    metrics=st.booleans(),
    namespace=st.sampled_from([None, "ml-prod"]),
)
def test_every_valid_policy_renders_valid_manifests(
    rollout: dict[str, Any], mode: str | None, metrics: bool, namespace: str | None
) -> None:
    policy = make_policy(rollout=rollout, **({} if metrics else {"analysis": {"metrics": []}}))
    if pod_split_problem(policy.rollout) is not None:
        return  # load_policy refuses it: not a valid policy
    environments = {"prod": {"namespace": namespace}} if namespace else {"prod": {}}
    config = BotConfig.model_validate({"environments": environments, "render": {"mode": mode}})
    change = render_change(make_request(policy=policy, config=config), {})
    for path, data in change.files.items():
        if path != VALUES:  # Helm values, not an object
            assert file_problems(data, path) == []
    plan = plan_from_manifests(dict(change.files))
    assert plan is not None
    if rollout["strategy"] == "canary":
        assert plan.weights == tuple(rollout["steps"])
        assert plan.traffic_router == (rollout.get("traffic_routing") or {}).get("provider")
        assert (plan.shadow is not None) == ("shadow" in rollout)
    again = render_change(make_request(policy=policy, config=config), dict(change.files))
    assert again.outcome == "unchanged"


def _docs(data: bytes) -> list[dict[str, Any]]:
    from ruamel.yaml import YAML

    return [d for d in YAML(typ="safe", pure=True).load_all(data.decode()) if d]


def test_the_validators_can_fail() -> None:
    """The schema checks above are real: a wrong field in each kind is caught."""
    files = render_case("canary-istio-subsets")
    broken_route = files[ROUTING].replace(b'    - name: "primary"\n', b'    - nome: "primary"\n')
    assert any("unknown field 'nome'" in p for p in file_problems(broken_route, ROUTING))
    broken_service = files[SERVICES].replace(b"targetPort:", b"targetPorts:")
    assert any("targetPorts" in p for p in file_problems(broken_service, SERVICES))
    ingress = render_case("canary-nginx")[ROUTING].replace(b'pathType: "Prefix"', b"pathType: 7")
    assert file_problems(ingress, ROUTING) != []
    route = render_case("canary-gatewayapi")[ROUTING].replace(b"parentRefs:", b"parentRefz:")
    assert file_problems(route, ROUTING) != []


def test_a_persons_values_file_in_a_manifests_folder_is_edited_not_listed() -> None:
    """Helm values are not an object: the kustomization never lists them."""
    from tests.core.test_render import GOLDEN

    mine = (GOLDEN / "hand-written" / "values.before.yaml").read_bytes()
    change = render_change(make_request(config=config_with("manifests")), {VALUES: mine})
    assert VALUES in change.files and not is_bot_owned(change.files[VALUES])
    assert "values.yaml" not in load(change.files[KUSTOMIZATION])["resources"]
