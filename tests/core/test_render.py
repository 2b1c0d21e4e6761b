"""bot.core.render: golden renders, file ownership, overrides, kustomize folders, idempotence.

Golden files live in tests/golden/render/; the committed bytes are the truth. After an
intended template change regenerate them with `UPDATE_GOLDEN=1 pytest tests/core/test_render.py`
and review the diff.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bot.core import resources
from bot.core.config import DEFAULT_CONFIG, BotConfig
from bot.core.errors import InvalidInput
from bot.core.manifests import validate_file
from bot.core.policy import Policy
from bot.core.queries import QueryContext, effective_query
from bot.core.render import (
    HEADER,
    ChangeSet,
    CurrentVersion,
    RenderRequest,
    candidate_paths,
    declares_model_version,
    is_bot_owned,
    needs_whole_folder,
    query_context,
    read_current_version,
    recorded_versions,
    render_change,
)
from bot.core.resources import bundled_templates, templates_dir
from tests.core.test_yamledit import NEW, OLD, changed_lines, diff_lines

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "render"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
IMAGE = "ghcr.io/acme/fraud-detector"
FOLDER = "environments/prod/fraud-detector"
VALUES = f"{FOLDER}/values.yaml"
ROLLOUT = f"{FOLDER}/rollout.yaml"
ANALYSIS = f"{FOLDER}/analysis-template.yaml"

POLICY: dict[str, Any] = {
    "apiVersion": "model-bot/v1",
    "kind": "PromotionPolicy",
    "primary_metric": "accuracy",
    "gates": [{"metric": "accuracy > 0.94"}],
    "rollout": {"strategy": "canary", "steps": [5, 25, 75, 100], "pause": "10m"},
    "analysis": {
        "interval": "1m",
        "count": 5,
        "failure_limit": 1,
        "initial_delay": "30s",
        "metrics": [
            {
                "name": "error-rate",
                "query": 'sum(rate(http_requests_total{app="{{ model }}",role="canary",'
                'code=~"5.."}[2m])) / sum(rate(http_requests_total{app="{{ model }}",'
                'role="canary"}[2m]))',
                "success": "result < 0.01",
            },
            {
                "name": "latency-ratio",
                "query": 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="{{ model }}",role="canary",namespace="{{ namespace }}"}[2m])))',
                "baseline_query": 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{app="{{ model }}",role="stable",namespace="{{ namespace }}"}[2m])))',
                "success": "result <= 1.5",
                "interval": "2m",
                "count": 3,
                "failure_limit": 0,
            },
        ],
    },
}

CONFIG: dict[str, Any] = {
    "environments": {
        "staging": {},
        "prod": {
            "namespace": "ml-prod",
            "prometheus_address": "http://prometheus.prod.svc:9090",
            "values": {
                "replicaCount": 3,
                "resources": {"limits": {"cpu": "2", "memory": "2Gi"}},
                "podAnnotations": {"prometheus.io/scrape": "true"},
            },
        },
    }
}


def make_policy(**changes: Any) -> Policy:
    data = {**POLICY, **changes}
    return Policy.model_validate(data)


def make_request(
    *,
    policy: Policy | None = None,
    config: BotConfig | None = None,
    **fields: Any,
) -> RenderRequest:
    base: dict[str, Any] = {
        "model": "fraud-detector",
        "version": "7",
        "environment": "prod",
        "image_repository": IMAGE,
        "image_tag": "7-3f2a1c9",
    }
    base.update(fields)
    return RenderRequest(
        policy=policy or make_policy(),
        config=config if config is not None else BotConfig(),
        **base,
    )


def load(data: bytes) -> Any:
    return YAML(typ="safe", pure=True).load(data.decode())


def assert_golden(name: str, data: bytes) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    expected = path.read_bytes()
    if data != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.decode().splitlines(keepends=True),
                data.decode().splitlines(keepends=True),
                f"golden/{name}",
                "rendered",
            )
        )
        pytest.fail(f"{name} differs from the golden file:\n{diff}")


# --- golden ---------------------------------------------------------------------------------


def test_canary_golden() -> None:
    change = render_change(make_request(config=BotConfig.model_validate(CONFIG)), {})
    assert list(change.files) == [VALUES, ROLLOUT, ANALYSIS]
    assert change.changed == (VALUES, ROLLOUT, ANALYSIS)
    for path, data in change.files.items():
        assert_golden(f"canary/{Path(path).name}", data)
        assert validate_file(data, path) == []


def test_blue_green_golden() -> None:
    policy = make_policy(
        rollout={
            "strategy": "blueGreen",
            "auto_promotion": True,
            "scale_down_delay_seconds": 60,
            "replicas": 3,
            "rollback_window": 0,
        }
    )
    change = render_change(make_request(policy=policy, model_uri="s3://models/fraud/7"), {})
    for path, data in change.files.items():
        assert_golden(f"blue-green/{Path(path).name}", data)
        assert validate_file(data, path) == []


def test_hand_written_golden() -> None:
    """A person's values and Rollout: the bot changes the tag lines and nothing else."""
    before = {
        VALUES: (GOLDEN / "hand-written" / "values.before.yaml").read_bytes(),
        ROLLOUT: (GOLDEN / "hand-written" / "rollout.before.yaml").read_bytes(),
    }
    change = render_change(make_request(), before)
    assert_golden("hand-written/values.after.yaml", change.files[VALUES])
    assert_golden("hand-written/rollout.after.yaml", change.files[ROLLOUT])
    assert changed_lines(before[VALUES], change.files[VALUES]) == [
        ('  tag: "6-9e8d7c6"  # set by model-bot\n', '  tag: "7-3f2a1c9"  # set by model-bot\n'),
        ("  version: 6\n", "  version: 7\n"),
    ]
    assert len(changed_lines(before[ROLLOUT], change.files[ROLLOUT])) == 1
    # The person's Rollout references no `fraud-detector-analysis`: a bot-owned template
    # beside it would be a file the cluster never runs (it used to be added all the same).
    assert ANALYSIS not in change.files


def test_a_hand_written_rollout_that_names_the_template_gets_it() -> None:
    rollout = (GOLDEN / "hand-written" / "rollout.before.yaml").read_bytes()
    step = b"        - pause: {duration: 1h}   # long soak, on purpose\n"
    assert step in rollout
    naming = rollout.replace(
        step, step + b"        - analysis: {templates: [{templateName: fraud-detector-analysis}]}\n"
    )
    before = {
        VALUES: (GOLDEN / "hand-written" / "values.before.yaml").read_bytes(),
        ROLLOUT: naming,
    }
    change = render_change(make_request(), before)
    assert is_bot_owned(change.files[ANALYSIS])


# --- content --------------------------------------------------------------------------------


def rendered(request: RenderRequest | None = None, **existing: bytes) -> ChangeSet:
    return render_change(request or make_request(), dict(existing))


def test_every_file_starts_with_the_header_and_ends_with_one_newline() -> None:
    for data in rendered().files.values():
        assert data.startswith(HEADER.encode() + b"\n")
        assert data.endswith(b"\n") and not data.endswith(b"\n\n")


def test_values_hold_the_promoted_image_and_model() -> None:
    values = load(rendered().files[VALUES])
    assert values["image"] == {
        "repository": IMAGE,
        "tag": "7-3f2a1c9",
        "pullPolicy": "IfNotPresent",
    }
    assert values["model"] == {
        "name": "fraud-detector",
        "version": "7",
        "uri": "models:/fraud-detector/7",
    }


def test_environment_values_merge_deeply_and_promoted_keys_win() -> None:
    config = BotConfig.model_validate(CONFIG)
    values = load(rendered(make_request(config=config)).files[VALUES])
    assert values["replicaCount"] == 3
    assert values["resources"] == {
        "requests": {"cpu": "500m", "memory": "1Gi"},
        "limits": {"cpu": "2", "memory": "2Gi"},
    }
    assert values["podAnnotations"] == {"prometheus.io/scrape": "true"}


def test_environment_values_may_not_set_promoted_keys() -> None:
    config = BotConfig.model_validate(
        {"environments": {"prod": {"values": {"image": {"tag": "latest"}}}}}
    )
    with pytest.raises(InvalidInput, match=r"environments\.prod\.values\.image\.tag: the bot sets"):
        rendered(make_request(config=config))


def test_custom_value_keys_are_set_in_rendered_values() -> None:
    config = BotConfig.model_validate(
        {
            "value_keys": {
                "image_tag": "app.image.tag",
                "model_version": "app.model.version",
                "extra": {
                    "app.modelUri": "models:/{model}/{version}",
                    "build": "{tag}-{environment}",
                },
            }
        }
    )
    values = load(rendered(make_request(config=config)).files[VALUES])
    assert values["app"] == {
        "image": {"tag": "7-3f2a1c9"},
        "model": {"version": "7"},
        "modelUri": "models:/fraud-detector/7",
    }
    assert values["build"] == "7-3f2a1c9-prod"
    assert values["image"]["tag"] == "7-3f2a1c9"


def test_unknown_placeholder_in_value_keys_extra() -> None:
    config = BotConfig.model_validate({"value_keys": {"extra": {"x": "{nope}"}}})
    with pytest.raises(InvalidInput, match=r"value_keys\.extra\.x: unknown placeholder \{nope\}"):
        rendered(make_request(config=config))


def canary_steps(change: ChangeSet) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = load(change.files[ROLLOUT])["spec"]["strategy"]["canary"]["steps"]
    return steps


def test_canary_steps_follow_the_policy() -> None:
    analysis = {"analysis": {"templates": [{"templateName": "fraud-detector-analysis"}]}}
    pause = {"pause": {"duration": "10m"}}
    assert canary_steps(rendered()) == [
        {"setWeight": 5},
        pause,
        analysis,
        {"setWeight": 25},
        pause,
        analysis,
        {"setWeight": 75},
        pause,
        analysis,
        {"setWeight": 100},
    ]


def test_analysis_from_step_and_a_last_weight_below_100() -> None:
    policy = make_policy(
        rollout={"steps": [10, 50], "pause": "5m", "analysis_from_step": 2},
    )
    assert canary_steps(rendered(make_request(policy=policy))) == [
        {"setWeight": 10},
        {"pause": {"duration": "5m"}},
        {"setWeight": 50},
        {"pause": {"duration": "5m"}},
        {"analysis": {"templates": [{"templateName": "fraud-detector-analysis"}]}},
    ]


def test_rollback_window() -> None:
    spec = load(rendered().files[ROLLOUT])["spec"]
    assert spec["rollbackWindow"] == {"revisions": 3}
    assert spec["revisionHistoryLimit"] == 10
    wide = make_policy(rollout={"rollback_window": 20})
    spec = load(rendered(make_request(policy=wide)).files[ROLLOUT])["spec"]
    assert spec["rollbackWindow"] == {"revisions": 20}
    assert spec["revisionHistoryLimit"] == 20
    off = make_policy(rollout={"rollback_window": 0})
    assert "rollbackWindow" not in load(rendered(make_request(policy=off)).files[ROLLOUT])["spec"]


def test_labels() -> None:
    change = rendered()
    for path in (ROLLOUT, ANALYSIS):
        assert load(change.files[path])["metadata"]["labels"] == {
            "app.kubernetes.io/name": "fraud-detector",
            "app.kubernetes.io/managed-by": "model-bot",
            "app.kubernetes.io/version": "7",
        }


def test_analysis_template_uses_the_very_queries_analyze_runs() -> None:
    request = make_request(config=BotConfig.model_validate(CONFIG))
    template = load(rendered(request).files[ANALYSIS])
    policy = request.policy
    context = QueryContext("fraud-detector", "prod", "ml-prod")
    metrics = template["spec"]["metrics"]
    assert [m["provider"]["prometheus"]["query"] for m in metrics] == [
        effective_query(m, context) for m in policy.analysis.metrics
    ]
    assert metrics[0]["successCondition"] == "result[0] < 0.01"
    assert metrics[1]["successCondition"] == "result[0] <= 1.5"
    assert metrics[1]["interval"] == "2m" and metrics[1]["count"] == 3
    assert metrics[0]["initialDelay"] == "30s"
    assert {m["provider"]["prometheus"]["address"] for m in metrics} == {
        "http://prometheus.prod.svc:9090"
    }


def test_namespace_is_left_out_unless_configured() -> None:
    change = rendered()
    assert "namespace" not in load(change.files[ROLLOUT])["metadata"]
    query = load(change.files[ANALYSIS])["spec"]["metrics"][1]["provider"]["prometheus"]["query"]
    assert 'namespace="prod"' in query  # queries fall back to the environment name
    given = rendered(make_request(namespace="models"))
    assert load(given.files[ROLLOUT])["metadata"]["namespace"] == "models"


def test_no_metrics_no_analysis() -> None:
    policy = make_policy(analysis={"metrics": []})
    change = rendered(make_request(policy=policy))
    assert ANALYSIS not in change.files
    assert all("analysis" not in step for step in canary_steps(change))
    previous = rendered().files[ANALYSIS]
    again = render_change(make_request(policy=policy), {ANALYSIS: previous})
    assert again.deleted == (ANALYSIS,) and again.outcome == "changed"
    blue = make_policy(analysis={"metrics": []}, rollout={"strategy": "blueGreen"})
    strategy = load(rendered(make_request(policy=blue)).files[ROLLOUT])["spec"]["strategy"]
    assert "prePromotionAnalysis" not in strategy["blueGreen"]


def test_custom_paths() -> None:
    config = BotConfig.model_validate(
        {
            "paths": {
                "model_dir": "apps/{model}/{environment}",
                "values": "helm/values-prod.yaml",
                "rollout": "ro.yaml",
                "analysis_template": "at.yaml",
            }
        }
    )
    change = rendered(make_request(config=config))
    assert list(change.files) == [
        "apps/fraud-detector/prod/helm/values-prod.yaml",
        "apps/fraud-detector/prod/ro.yaml",
        "apps/fraud-detector/prod/at.yaml",
    ]
    assert change.model_dir == "apps/fraud-detector/prod"
    assert candidate_paths(config, "prod", "fraud-detector", "7")[:3] == list(change.files)


# --- ownership, idempotence -----------------------------------------------------------------


def test_same_input_same_bytes_and_a_second_run_is_unchanged() -> None:
    first = rendered()
    assert render_change(make_request(), {}) == first
    second = render_change(make_request(), dict(first.files))
    assert second.outcome == "unchanged"
    assert second.changed == () and second.unchanged == (VALUES, ROLLOUT, ANALYSIS)
    assert second.files == first.files
    assert dict(second.changes) == {}


def test_new_version_rewrites_bot_owned_files() -> None:
    first = rendered()
    second = render_change(make_request(version="8", image_tag="8-0a1b2c3"), dict(first.files))
    assert second.changed == (VALUES, ROLLOUT, ANALYSIS)
    pairs = changed_lines(first.files[VALUES], second.files[VALUES])
    assert pairs == [
        ('  tag: "7-3f2a1c9"\n', '  tag: "8-0a1b2c3"\n'),
        ('  version: "7"\n', '  version: "8"\n'),
        ('  uri: "models:/fraud-detector/7"\n', '  uri: "models:/fraud-detector/8"\n'),
    ]


def test_a_bot_owned_file_edited_by_hand_is_rendered_whole_again() -> None:
    first = rendered()
    edited = first.files[ROLLOUT].replace(b"replicas: 20", b"replicas: 9")
    again = render_change(make_request(), {**first.files, ROLLOUT: edited})
    assert again.changed == (ROLLOUT,)
    assert again.files[ROLLOUT] == first.files[ROLLOUT]


def test_hand_written_analysis_template_is_left_alone() -> None:
    mine = b"# my own analysis\nkind: AnalysisTemplate\n"
    change = render_change(make_request(), {ANALYSIS: mine})
    assert change.files[ANALYSIS] == mine
    assert ANALYSIS in change.unchanged


def test_hand_written_values_missing_a_key() -> None:
    with pytest.raises(InvalidInput) as caught:
        render_change(make_request(), {VALUES: b"image:\n  tag: v1\n"})
    assert str(caught.value) == (
        f"{VALUES}: model.version: no key model (add the key to the file, or set value_keys "
        "in .model-bot.yaml to the key it uses)"
    )


def test_hand_written_rollout_without_the_image() -> None:
    rollout = (GOLDEN / "hand-written" / "rollout.before.yaml").read_bytes()
    with pytest.raises(
        InvalidInput, match=r"no Rollout container runs image 'ghcr\.io/acme/other'"
    ):
        render_change(make_request(image_repository="ghcr.io/acme/other"), {ROLLOUT: rollout})


def test_image_repository_is_needed_to_render() -> None:
    with pytest.raises(InvalidInput, match=r"^--image: no image repository to render"):
        render_change(make_request(image_repository=None), {})
    config = BotConfig.model_validate({"image_repository": IMAGE})
    change = render_change(make_request(image_repository=None, config=config), {})
    assert load(change.files[VALUES])["image"]["repository"] == IMAGE


def test_defaults_tag_is_version_and_uri_is_mlflow() -> None:
    values = load(render_change(make_request(image_tag=None), {}).files[VALUES])
    assert values["image"]["tag"] == "7"
    assert values["model"]["uri"] == "models:/fraud-detector/7"


def test_unknown_environment() -> None:
    config = BotConfig.model_validate(CONFIG)
    with pytest.raises(InvalidInput) as caught:
        render_change(make_request(environment="qa", config=config), {})
    assert str(caught.value) == (
        "--environment: unknown environment 'qa' (known: prod, staging; add it under "
        "environments in .model-bot.yaml)"
    )


def test_every_bad_input_is_reported_at_once() -> None:
    with pytest.raises(InvalidInput) as caught:
        render_change(
            make_request(
                model="Bad_Name",
                version="7..1",
                image_tag="a b",
                image_repository="GHCR.io/Acme/X:7",
                namespace="NS",
                prometheus_address="ftp://x",
            ),
            {},
        )
    fields = [p.source for p in caught.value.problems]
    assert fields == [
        "--model",
        "--version",
        "--tag",
        "--image",
        "--namespace",
        "--prometheus-address",
    ]


# --- kustomize ------------------------------------------------------------------------------

KUSTOMIZATION = b"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - rollout.yaml
images:
  - name: ghcr.io/acme/fraud-detector
    newTag: "6"   # model-bot bumps this
"""


def test_kustomize_folder_bumps_only_the_image() -> None:
    kustomization = f"{FOLDER}/kustomization.yaml"
    rollout = b"# my rollout\nkind: Rollout\n"
    change = render_change(make_request(), {kustomization: KUSTOMIZATION, ROLLOUT: rollout})
    assert change.mode == "kustomize"
    assert list(change.files) == [kustomization]
    assert changed_lines(KUSTOMIZATION, change.files[kustomization]) == [
        (
            '    newTag: "6"   # model-bot bumps this\n',
            '    newTag: "7-3f2a1c9"   # model-bot bumps this\n',
        )
    ]
    again = render_change(make_request(), {kustomization: change.files[kustomization]})
    assert again.outcome == "unchanged"


def test_kustomize_image_name_and_new_name_from_config() -> None:
    kustomization = f"{FOLDER}/Kustomization"
    data = b"images:\n- name: fraud\n  newName: old.registry/fraud\n  newTag: v1\n"
    config = BotConfig.model_validate({"kustomize": {"image": "fraud", "set_new_name": True}})
    change = render_change(make_request(config=config), {kustomization: data})
    assert load(change.files[kustomization]) == {
        "images": [{"name": "fraud", "newName": IMAGE, "newTag": "7-3f2a1c9"}]
    }


def test_kustomize_without_a_matching_entry_gets_one() -> None:
    kustomization = f"{FOLDER}/kustomization.yml"
    change = render_change(make_request(), {kustomization: b"images:\n- name: x\n  newTag: v\n"})
    assert change.files[kustomization] == (
        b"images:\n- name: x\n  newTag: v\n- name: ghcr.io/acme/fraud-detector\n"
        b"  newTag: 7-3f2a1c9\n"
    )


# --- current version ------------------------------------------------------------------------


def test_read_current_version_from_each_kind_of_folder() -> None:
    assert read_current_version({}) is None
    assert read_current_version(dict(rendered().files)) == CurrentVersion("7", "7-3f2a1c9")
    hand = (GOLDEN / "hand-written" / "values.before.yaml").read_bytes()
    assert read_current_version({VALUES: hand}) == ("6", "6-9e8d7c6")
    kustomization = {f"{FOLDER}/kustomization.yaml": KUSTOMIZATION, VALUES: hand}
    assert read_current_version(kustomization, image_repository=IMAGE) == ("6", "6")
    assert read_current_version(kustomization) == ("6", "6")  # the only entry
    assert read_current_version({VALUES: b"image:\n  tag: v3\n"}) == ("v3", "v3")
    assert read_current_version({VALUES: b"image: {}\n"}) is None
    custom = BotConfig.model_validate({"value_keys": {"image_tag": "app.tag"}})
    assert read_current_version({VALUES: b"app:\n  tag: 9\n"}, custom) == ("9", "9")


# --- templates ------------------------------------------------------------------------------

_EXPRESSION = re.compile(r"\{\{-?(.*?)-?\}\}", re.S)


@pytest.mark.parametrize("name", sorted(bundled_templates()))
def test_bundled_templates_filter_every_value(name: str) -> None:
    text = (templates_dir() / name).read_text()
    expressions = _EXPRESSION.findall(text)
    assert expressions
    for expression in expressions:
        assert re.search(r"\|\s*yaml_(scalar|key|block)(\([^)]*\))?\s*$", expression), expression


def test_an_unfiltered_value_in_an_override_is_refused() -> None:
    override = (
        (templates_dir() / "rollout.yaml.j2")
        .read_text()
        .replace("image: {{ image.ref | yaml_scalar }}", "image: {{ image.ref }}")
    )
    with pytest.raises(InvalidInput) as caught:
        render_change(make_request(), {}, {"rollout.yaml.j2": override})
    message = str(caught.value)
    assert message.startswith(".model-bot/templates/rollout.yaml.j2: line ")
    assert "without a YAML filter" in message
    line = int(message.split("line ")[1].split(":")[0])
    assert "{{ image.ref }}" in override.splitlines()[line - 1]


def test_override_wins_file_by_file() -> None:
    override = (
        (templates_dir() / "rollout.yaml.j2")
        .read_text()
        .replace(
            "  replicas: {{ rollout.replicas | yaml_scalar }}", "  replicas: {{ 5 | yaml_scalar }}"
        )
    )
    change = render_change(make_request(), {}, {"rollout.yaml.j2": override})
    assert load(change.files[ROLLOUT])["spec"]["replicas"] == 5
    assert change.files[VALUES] == rendered().files[VALUES]
    assert change.files[ANALYSIS] == rendered().files[ANALYSIS]
    assert validate_file(change.files[ROLLOUT], ROLLOUT) == []


@pytest.mark.parametrize(
    ("templates", "message"),
    [
        ({"rolout.yaml.j2": "x"}, "rolout.yaml.j2: not a template the bot renders"),
        ({"rollout.yaml.j2": "{% if %}"}, r"rollout.yaml.j2: line 1: template error"),
        ({"rollout.yaml.j2": "a: {{ nope | yaml_scalar }}"}, "'nope' is undefined"),
        ({"rollout.yaml.j2": "a: {{ model.__class__ | yaml_scalar }}"}, "template error"),
        (
            {"rollout.yaml.j2": "a: {{ ''.__class__.__mro__[1].__subclasses__() | yaml_scalar }}"},
            "template error",
        ),
        ({"rollout.yaml.j2": "a: [{{ 1 | yaml_scalar }}\n"}, "renders invalid YAML"),
        (
            {"rollout.yaml.j2": "{{ environment_values.update({'x': 1}) | yaml_scalar }}"},
            "template error: access to attribute 'update' of 'dict' object is unsafe",
        ),
        ({"values.yaml.j2": "image: {}\n"}, "must set image.tag to the promoted value"),
    ],
)
def test_bad_override_templates(templates: Mapping[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        render_change(make_request(), {}, templates)


def test_query_context_is_the_one_the_analysis_template_uses() -> None:
    config = BotConfig.model_validate(CONFIG)
    assert query_context(config, "m", "prod") == QueryContext("m", "prod", "ml-prod")
    assert query_context(config, "m", "staging") == QueryContext("m", "staging", "staging")
    assert query_context(config, "m", "prod", "given") == QueryContext("m", "prod", "given")


# --- bundled data ---------------------------------------------------------------------------


def test_bundled_data_from_the_source_tree() -> None:
    root = Path(__file__).resolve().parents[2]
    assert templates_dir() == root / "templates"
    assert resources.policies_dir() == root / "policies"
    assert set(bundled_templates()) >= {
        "values.yaml.j2",
        "rollout.yaml.j2",
        "analysis-template.yaml.j2",
    }


def test_bundled_data_from_an_installed_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site-packages" / "bot"
    (package / "_data" / "templates").mkdir(parents=True)
    (package / "_data" / "policies").mkdir()
    (tmp_path / "site-packages" / "templates").mkdir()  # someone else's folder: never used
    monkeypatch.setattr(resources, "PACKAGE_DIR", package)
    assert resources.templates_dir() == package / "_data" / "templates"
    assert resources.policies_dir() == package / "_data" / "policies"


def test_missing_bundled_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "PACKAGE_DIR", tmp_path / "bot")
    with pytest.raises(resources.MissingResource, match="reinstall"):
        resources.templates_dir()
    with pytest.raises(resources.MissingResource, match="reinstall"):
        resources.crd_path("Rollout")


# --- layouts real repositories use ------------------------------------------------------------


DEPLOYMENT = f"{FOLDER}/deployment.yaml"
KUSTOMIZE = f"{FOLDER}/kustomization.yaml"

HAND_VALUES_NO_VERSION = b"""\
# chart values, written by the team
image:
  repository: ghcr.io/acme/fraud-detector   # pushed by CI
  tag: "6-9e8d7c6"
replicaCount: 2
"""


def no_version_key() -> BotConfig:
    return BotConfig.model_validate({"value_keys": {"model_version": None}})


def test_model_version_key_switched_off_edits_only_the_tag() -> None:
    change = render_change(make_request(config=no_version_key()), {VALUES: HAND_VALUES_NO_VERSION})
    assert diff_lines(HAND_VALUES_NO_VERSION, change.files[VALUES]) == [
        '-  tag: "6-9e8d7c6"\n',
        '+  tag: "7-3f2a1c9"\n',
    ]
    rendered_values = load(render_change(make_request(config=no_version_key()), {}).files[VALUES])
    assert rendered_values["image"]["tag"] == "7-3f2a1c9"
    assert rendered_values["model"]["version"] == "7"  # the chart default, not a promoted key


def test_the_image_repository_is_read_from_a_hand_written_values_file() -> None:
    """No --image, no image_repository: the values file names the image (item 2)."""
    request = make_request(image_repository=None, config=no_version_key())
    change = render_change(request, {VALUES: HAND_VALUES_NO_VERSION})
    rollout = load(change.files[ROLLOUT])
    assert rollout["spec"]["template"]["spec"]["containers"][0]["image"] == f"{IMAGE}:7-3f2a1c9"
    custom = BotConfig.model_validate(
        {"value_keys": {"model_version": None, "image_repository": "app.image"}}
    )
    values = b"app:\n  image: ghcr.io/acme/other\nimage:\n  tag: v1\n"
    change = render_change(make_request(image_repository=None, config=custom), {VALUES: values})
    assert "ghcr.io/acme/other:7-3f2a1c9" in change.files[ROLLOUT].decode()


def test_the_image_repository_is_read_from_a_hand_written_rollout() -> None:
    rollout = (GOLDEN / "hand-written" / "rollout.before.yaml").read_bytes()
    hand = (GOLDEN / "hand-written" / "values.before.yaml").read_bytes()
    given = render_change(make_request(), {VALUES: hand, ROLLOUT: rollout})
    inferred = render_change(make_request(image_repository=None), {VALUES: hand, ROLLOUT: rollout})
    assert inferred.files[ROLLOUT] == given.files[ROLLOUT]


def test_a_bot_owned_file_is_no_source_of_the_image() -> None:
    with pytest.raises(InvalidInput, match=r"^--image: no image repository to render"):
        render_change(make_request(image_repository=None), dict(rendered().files))


MANIFEST_ROLLOUT = b"""\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: fraud-detector
spec:
  template:
    spec:
      containers:
        - name: model
          image: ghcr.io/acme/fraud-detector:6-9e8d7c6
  strategy:
    canary:
      steps:
        - setWeight: 20
        - analysis: {templates: [{templateName: success-rate}]}
"""


def test_a_folder_of_hand_written_manifests_gets_no_helm_values() -> None:
    """A person's Rollout and no values file: the bot edits the image line only."""
    change = render_change(make_request(), {ROLLOUT: MANIFEST_ROLLOUT})
    assert change.changed == (ROLLOUT,)
    assert VALUES not in change.files and ANALYSIS not in change.files
    assert diff_lines(MANIFEST_ROLLOUT, change.files[ROLLOUT]) == [
        "-          image: ghcr.io/acme/fraud-detector:6-9e8d7c6\n",
        "+          image: ghcr.io/acme/fraud-detector:7-3f2a1c9\n",
    ]
    referring = MANIFEST_ROLLOUT.replace(b"success-rate", b"fraud-detector-analysis")
    change = render_change(make_request(), {ROLLOUT: referring})
    assert change.changed == (ROLLOUT, ANALYSIS)  # the Rollout names the bot's template
    assert read_current_version(dict(change.files)) == ("7-3f2a1c9", "7-3f2a1c9")


WORKLOAD_ROLLOUT = b"""\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: fraud-detector
spec:
  workloadRef:
    apiVersion: apps/v1
    kind: Deployment
    name: fraud-detector
  strategy:
    canary:
      steps: [{setWeight: 50}]
"""

WORKLOAD_DEPLOYMENT = b"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: fraud-detector
spec:
  replicas: 0
  template:
    spec:
      containers:
        - name: model
          image: ghcr.io/acme/fraud-detector:6-9e8d7c6   # the model server
"""


def test_a_rollout_with_a_workload_ref_edits_the_referenced_deployment() -> None:
    existing = {ROLLOUT: WORKLOAD_ROLLOUT, DEPLOYMENT: WORKLOAD_DEPLOYMENT}
    change = render_change(make_request(), existing)
    assert change.changed == (DEPLOYMENT,)
    assert diff_lines(WORKLOAD_DEPLOYMENT, change.files[DEPLOYMENT]) == [
        "-          image: ghcr.io/acme/fraud-detector:6-9e8d7c6   # the model server\n",
        "+          image: ghcr.io/acme/fraud-detector:7-3f2a1c9   # the model server\n",
    ]
    assert read_current_version(existing) == ("6-9e8d7c6", "6-9e8d7c6")
    inferred = render_change(make_request(image_repository=None), existing)
    assert inferred.files == change.files
    # The Deployment in the Rollout's own file.
    both = WORKLOAD_ROLLOUT + b"---\n" + WORKLOAD_DEPLOYMENT
    change = render_change(make_request(), {ROLLOUT: both})
    assert change.changed == (ROLLOUT,)
    assert len(diff_lines(both, change.files[ROLLOUT])) == 2


def test_a_workload_ref_to_nothing_in_the_folder() -> None:
    with pytest.raises(InvalidInput) as caught:
        render_change(make_request(), {ROLLOUT: WORKLOAD_ROLLOUT})
    assert str(caught.value) == (
        f"{ROLLOUT}: spec.workloadRef: Rollout fraud-detector refers to Deployment "
        f"fraud-detector, which no YAML file in {FOLDER} holds (put it in the folder, or "
        "let the Rollout hold the pod template)"
    )


def test_needs_the_whole_folder() -> None:
    assert not needs_whole_folder({ROLLOUT: MANIFEST_ROLLOUT, VALUES: b"a: 1\n"})
    assert needs_whole_folder({ROLLOUT: WORKLOAD_ROLLOUT})
    assert needs_whole_folder({KUSTOMIZE: KUSTOMIZATION})
    assert not needs_whole_folder(dict(rendered().files))


def test_digest_from_the_evidence() -> None:
    pinned = MANIFEST_ROLLOUT.replace(b":6-9e8d7c6", f":6-9e8d7c6@{OLD}".encode())
    change = render_change(make_request(), {ROLLOUT: pinned})
    assert f"image: {IMAGE}:7-3f2a1c9\n".encode() in change.files[ROLLOUT]  # stale digest dropped
    by_tag = render_change(make_request(image_tag=f"7-3f2a1c9@{NEW}"), {ROLLOUT: pinned})
    by_image = render_change(make_request(image_repository=f"{IMAGE}@{NEW}"), {ROLLOUT: pinned})
    assert f"image: {IMAGE}:7-3f2a1c9@{NEW}\n".encode() in by_tag.files[ROLLOUT]
    assert by_image.files == by_tag.files
    fresh = load(render_change(make_request(image_tag=f"7-3f2a1c9@{NEW}"), {}).files[ROLLOUT])
    assert fresh["spec"]["template"]["spec"]["containers"][0]["image"] == f"{IMAGE}:7-3f2a1c9@{NEW}"
    assert read_current_version(dict(by_tag.files)) == ("7-3f2a1c9", "7-3f2a1c9")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"image_tag": "7@sha256:abc"}, "--tag: bad image digest 'sha256:abc'"),
        (
            {"image_tag": f"7@{NEW}", "image_repository": f"{IMAGE}@{OLD}"},
            "--image: names digest " + OLD,
        ),
    ],
)
def test_bad_digests(fields: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        render_change(make_request(**fields), {})


def test_kustomize_adds_a_missing_images_entry_spelled_as_the_manifests_do() -> None:
    kustomization = b"resources:\n  - rollout.yaml\n"
    rollout = MANIFEST_ROLLOUT.replace(b"ghcr.io/acme/fraud-detector", b"argoproj/rollouts-demo")
    request = make_request(image_repository="docker.io/argoproj/rollouts-demo")
    change = render_change(request, {KUSTOMIZE: kustomization, ROLLOUT: rollout})
    assert change.changed == (KUSTOMIZE,)
    assert change.files[KUSTOMIZE] == (
        b"resources:\n  - rollout.yaml\nimages:\n  - name: argoproj/rollouts-demo\n"
        b"    newTag: 7-3f2a1c9\n"
    )
    again = render_change(request, {KUSTOMIZE: change.files[KUSTOMIZE], ROLLOUT: rollout})
    assert again.outcome == "unchanged"


def test_kustomize_digest_entry() -> None:
    data = f'images:\n- name: {IMAGE}\n  newTag: "6"\n  digest: {OLD}\n'.encode()
    dropped = render_change(make_request(), {KUSTOMIZE: data}).files[KUSTOMIZE]
    assert dropped == f'images:\n- name: {IMAGE}\n  newTag: "7-3f2a1c9"\n'.encode()
    pinned = render_change(make_request(image_tag=f"7-3f2a1c9@{NEW}"), {KUSTOMIZE: data})
    assert pinned.files[KUSTOMIZE] == (
        f'images:\n- name: {IMAGE}\n  newTag: "7-3f2a1c9"\n  digest: {NEW}\n'.encode()
    )


def test_recorded_versions_read_the_bot_trailers() -> None:
    commits = [
        {
            "Model": "m",
            "Environment": "prod",
            "Action": "rollback",
            "Model-Version": "6",
            "Image-Tag": "v0.0.6",
        },
        {
            "Model": "m",
            "Environment": "prod",
            "Action": "promote",
            "Model-Version": "7",
            "Image-Tag": "v0.0.7",
        },
        {
            "Model": "m",
            "Environment": "prod",
            "Action": "promote",
            "Model-Version": "5",
            "Image-Tag": "v0.0.6",
        },  # older: the newer record of the tag wins
        {
            "Model": "other",
            "Environment": "prod",
            "Action": "promote",
            "Model-Version": "9",
            "Image-Tag": "v9",
        },
        {"Model": "m", "Environment": "prod", "Action": "promote", "Model-Version": "4"},
    ]
    assert recorded_versions(commits, "m", "prod") == {"v0.0.6": "6", "v0.0.7": "7"}


def test_the_version_of_a_folder_that_names_only_a_tag_is_the_recorded_one() -> None:
    kustomization = {KUSTOMIZE: KUSTOMIZATION}
    assert read_current_version(kustomization) == ("6", "6")
    assert read_current_version(kustomization, recorded={"6": "41"}) == ("41", "6")
    assert read_current_version(kustomization, recorded={"5": "40"}) == ("6", "6")
    values = {VALUES: HAND_VALUES_NO_VERSION}
    assert read_current_version(values, no_version_key()) == ("6-9e8d7c6", "6-9e8d7c6")
    assert read_current_version(values, no_version_key(), recorded={"6-9e8d7c6": "6"}) == (
        "6",
        "6-9e8d7c6",
    )
    declared = {VALUES: (GOLDEN / "hand-written" / "values.before.yaml").read_bytes()}
    assert read_current_version(declared, recorded={"6-9e8d7c6": "99"}) == ("6", "6-9e8d7c6")
    assert declares_model_version(declared, DEFAULT_CONFIG)
    assert not declares_model_version(values, no_version_key())
    assert not declares_model_version(kustomization, DEFAULT_CONFIG)
    assert not declares_model_version({ROLLOUT: MANIFEST_ROLLOUT}, DEFAULT_CONFIG)
    assert read_current_version({ROLLOUT: MANIFEST_ROLLOUT}, recorded={"6-9e8d7c6": "6"}) == (
        "6",
        "6-9e8d7c6",
    )
    tabbed = {VALUES: b"image:\n  tag: v3\t# tab\nmodel:\n  version: '3'\t# tab\n"}
    assert read_current_version(tabbed) == ("3", "v3")


def test_a_values_digest_key_is_set_or_emptied() -> None:
    config = BotConfig.model_validate({"value_keys": {"image_digest": "image.digest"}})
    values = f'image:\n  tag: "6"\n  digest: "{OLD}"   # set by CI\nmodel:\n  version: 6\n'.encode()
    pinned = render_change(make_request(config=config, image_tag=f"7@{NEW}"), {VALUES: values})
    assert diff_lines(values, pinned.files[VALUES]) == [
        '-  tag: "6"\n',
        f'-  digest: "{OLD}"   # set by CI\n',
        '+  tag: "7"\n',
        f'+  digest: "{NEW}"   # set by CI\n',
        "-  version: 6\n",
        "+  version: 7\n",
    ]
    emptied = render_change(make_request(config=config, image_tag="7"), {VALUES: values})
    assert load(emptied.files[VALUES])["image"]["digest"] == ""  # a stale digest would pin 6
    assert load(render_change(make_request(config=config), {}).files[VALUES])["image"] == {
        "repository": IMAGE,
        "tag": "7-3f2a1c9",
        "digest": "",
        "pullPolicy": "IfNotPresent",
    }


def test_a_kustomize_folder_without_an_entry_declares_the_manifests_tag() -> None:
    existing = {KUSTOMIZE: b"resources: [rollout.yaml]\n", ROLLOUT: MANIFEST_ROLLOUT}
    assert needs_whole_folder(existing)
    assert read_current_version(existing) == ("6-9e8d7c6", "6-9e8d7c6")
    assert read_current_version(existing, image_repository=IMAGE, recorded={"6-9e8d7c6": "6"}) == (
        "6",
        "6-9e8d7c6",
    )
    change = render_change(make_request(image_repository=None), existing)
    assert change.image_repository == IMAGE  # the one image the manifests run
    assert change.files[KUSTOMIZE].endswith(
        f"images:\n- name: {IMAGE}\n  newTag: 7-3f2a1c9\n".encode()
    )


def test_reading_follows_custom_paths() -> None:
    config = BotConfig.model_validate(
        {"paths": {"values": "helm/values-prod.yaml", "rollout": "k8s/rollout.yaml"}}
    )
    values = {"apps/m/helm/values-prod.yaml": b"image:\n  tag: v3\nmodel:\n  version: 3\n"}
    assert read_current_version(values, config) == ("3", "v3")
    assert declares_model_version(values, config)
    rollout = {"apps/m/k8s/rollout.yaml": MANIFEST_ROLLOUT}
    assert read_current_version(rollout, config) == ("6-9e8d7c6", "6-9e8d7c6")


def test_a_workload_that_does_not_run_the_image() -> None:
    existing = {ROLLOUT: WORKLOAD_ROLLOUT, DEPLOYMENT: WORKLOAD_DEPLOYMENT}
    with pytest.raises(InvalidInput) as caught:
        render_change(make_request(image_repository="ghcr.io/acme/other"), existing)
    assert str(caught.value) == (
        f"{ROLLOUT}: spec.workloadRef: no container of the workload the Rollout names runs "
        "image 'ghcr.io/acme/other' (set its image to ghcr.io/acme/other:<tag>, or pass the "
        "image the file uses with --image)"
    )
