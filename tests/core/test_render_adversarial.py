"""Hostile names, tags and values: each is refused (exit 2) or lands in YAML exactly as given."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from bot.core.config import BotConfig
from bot.core.errors import InvalidInput
from bot.core.manifests import validate_file
from bot.core.policy import Policy
from bot.core.queries import QueryContext, effective_query
from bot.core.render import render_change
from tests.core.test_render import ANALYSIS, POLICY, ROLLOUT, VALUES, make_policy, make_request

HOSTILE = [
    "a: b",
    "a\nb: c",
    "line\r\nbreak",
    "# comment",
    "x #y",
    "{{ model }}",
    "{% raw %}",
    '"quoted"',
    "'single'",
    "ünïcødé",
    "😀",
    "../etc",
    "a/../b",
    "..",
    "-leading",
    "trailing-",
    "with space",
    "*alias",
    "&anchor",
    "!tag",
    "%directive",
    "@at",
    "`tick`",
    "tab\there",
    "nul\x00",
    "\u2028",
    "",
    "x" * 300,
    "UPPER",
]


def load(data: bytes) -> Any:
    return YAML(typ="safe", pure=True).load(data.decode())


def all_valid(change: Any) -> None:
    for path, data in change.files.items():
        load(data)
        assert validate_file(data, path) == []


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize(
    ("field", "flag"),
    [
        ("model", "--model"),
        ("environment", "--environment"),
        ("namespace", "--namespace"),
        ("image_repository", "--image"),
    ],
)
def test_hostile_names_are_refused(field: str, flag: str, text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        render_change(make_request(**{field: text}), {})
    assert [p.source for p in caught.value.problems] == [flag]
    assert "\n" not in str(caught.value).replace("\\n", "")


@pytest.mark.parametrize("text", [t for t in HOSTILE if t not in ("UPPER", "trailing-")])
def test_hostile_versions_and_tags_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        render_change(make_request(version=text, image_tag=text), {})
    assert [p.source for p in caught.value.problems] == ["--version", "--tag"]


def test_versions_that_are_tags_but_not_label_values_are_refused() -> None:
    for version in ("7_", "_7", "7.", "v" * 64):
        with pytest.raises(InvalidInput, match=r"app\.kubernetes\.io/version"):
            render_change(make_request(version=version), {})
    render_change(make_request(image_tag="7_"), {})  # fine as an image tag


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_model_uri_is_refused_or_exact(text: str) -> None:
    try:
        change = render_change(make_request(model_uri=text), {})
    except InvalidInput as error:
        assert [p.source for p in error.problems] == ["--model-uri"]
        assert any(ord(c) < 0x20 for c in text) or text in ("", "\u2028") or len(text) > 2048
        return
    assert load(change.files[VALUES])["model"]["uri"] == text
    env = load(change.files[ROLLOUT])["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "MODEL_URI", "value": text} in env
    all_valid(change)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_environment_values_land_exactly(text: str) -> None:
    extra = {text or "empty": {text: [text, {"k": text}]}, "n": text}
    config = BotConfig.model_validate({"environments": {"prod": {"values": extra}}})
    values = load(render_change(make_request(config=config), {}).files[VALUES])
    for key, value in extra.items():
        assert values[key] == value


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_prometheus_address_is_refused_or_exact(text: str) -> None:
    address = f"http://prometheus:9090/{text}"
    try:
        change = render_change(make_request(prometheus_address=address), {})
    except InvalidInput as error:
        assert [p.source for p in error.problems] == ["--prometheus-address"]
        return
    metrics = load(change.files[ANALYSIS])["spec"]["metrics"]
    assert {m["provider"]["prometheus"]["address"] for m in metrics} == {address}
    all_valid(change)


@pytest.mark.parametrize(
    "query",
    [
        'sum(rate(x{a="b: c # d"}[1m]))',
        "sum(x)\n  / sum(y)  # a comment-looking part",
        "rate(x{path=~\"/api/.*\", who='me'}[5m]) — ünï 😀",
        '{{ "{{" }} not a value {{ "}}" }}',
        "x\\y\ttab",
    ],
)
def test_hostile_queries_land_exactly(query: str) -> None:
    policy = make_policy(
        analysis={"metrics": [{"name": "m", "query": query, "success": "result < 1"}]}
    )
    change = render_change(make_request(policy=policy), {})
    metric = load(change.files[ANALYSIS])["spec"]["metrics"][0]
    expected = effective_query(
        policy.analysis.metrics[0], QueryContext("fraud-detector", "prod", "prod")
    )
    assert metric["provider"]["prometheus"]["query"] == expected
    all_valid(change)


# --- property: any valid input renders files that parse and validate -----------------------

dns_label = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
version = st.from_regex(r"\A[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?\Z").filter(
    lambda v: ".." not in v
)
tag = st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z").filter(lambda v: ".." not in v)
path_part = st.from_regex(r"\A[a-z0-9]+([._-][a-z0-9]+)*\Z")
repository = st.builds(
    lambda host, parts: "/".join([*([host] if host else []), *parts]),
    st.sampled_from(["", "ghcr.io", "localhost:5000", "registry.example.com:443"]),
    st.lists(path_part, min_size=1, max_size=3),
).filter(lambda r: len(r) <= 255)  # the Docker limit, which the bot enforces
weights = st.lists(st.integers(1, 100), min_size=1, max_size=6, unique=True).map(sorted)


@given(
    model=dns_label,
    environment=dns_label,
    version=version,
    tag=tag,
    image=repository,
    steps=weights,
    analysis_from=st.integers(1, 7),
    blue_green=st.booleans(),
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_valid_input_renders_valid_manifests(
    model: str,
    environment: str,
    version: str,
    tag: str,
    image: str,
    steps: list[int],
    analysis_from: int,
    blue_green: bool,
) -> None:
    rollout = {"steps": steps, "analysis_from_step": analysis_from}
    if blue_green:
        rollout["strategy"] = "blueGreen"  # type: ignore[assignment]
    policy = Policy.model_validate({**POLICY, "rollout": rollout})
    request = make_request(
        model=model,
        environment=environment,
        version=version,
        image_tag=tag,
        image_repository=image,
        policy=policy,
    )
    try:
        change = render_change(request, {})
    except InvalidInput as error:  # blueGreen Service names need a leading letter
        assert blue_green and [p.source for p in error.problems] == ["--model"]
        return
    all_valid(change)
    files = {path.rsplit("/", 1)[1]: data for path, data in change.files.items()}
    values = load(files["values.yaml"])
    assert values["image"] == {"repository": image, "tag": tag, "pullPolicy": "IfNotPresent"}
    assert values["model"]["version"] == version
    manifest = load(files["rollout.yaml"])
    assert manifest["metadata"]["name"] == model
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"{image}:{tag}"
    assert render_change(request, dict(change.files)).outcome == "unchanged"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1))
@settings(max_examples=150, deadline=None)
def test_any_one_line_model_uri_lands_exactly(uri: str) -> None:
    change = render_change(make_request(model_uri=uri), {})
    assert load(change.files[VALUES])["model"]["uri"] == uri
