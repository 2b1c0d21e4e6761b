"""bot.core.config: `.model-bot.yaml`, its defaults, its validators and its JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from bot.core.config import (
    CONFIG_FILE,
    DEFAULT_CONFIG,
    BotConfig,
    ChatOps,
    EnvironmentConfig,
    Paths,
    config_from_bytes,
    config_json_schema,
    load_config,
    parse_config,
)
from bot.core.errors import InvalidInput

DNS_HINT = (
    "use a DNS-1123 label (lowercase letters, digits and '-', "
    "starting and ending with a letter or digit, at most 63 characters)"
)


def refused(text: str) -> list[tuple[str, str, str]]:
    with pytest.raises(InvalidInput) as caught:
        parse_config(text)
    return [(p.source, p.field, p.message) for p in caught.value.problems]


# --- defaults -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ("api_version", "model-bot/v1"),
        ("kind", "BotConfig"),
        ("environments", None),
        ("paths.model_dir", "environments/{environment}/{model}"),
        ("paths.values", "values.yaml"),
        ("paths.rollout", "rollout.yaml"),
        ("paths.analysis_template", "analysis-template.yaml"),
        ("paths.report", "reports/{environment}/{model}/{version}.md"),
        ("value_keys.image_tag", "image.tag"),
        ("value_keys.model_version", "model.version"),
        ("value_keys.image_repository", "image.repository"),
        ("value_keys.image_digest", None),
        ("value_keys.extra", {}),
        ("kustomize.image", None),
        ("kustomize.set_new_name", False),
        ("render.mode", None),
        ("render.port", 80),
        ("render.target_port", 8080),
        ("image_repository", None),
        ("prometheus_address", "http://prometheus.monitoring.svc:9090"),
        ("templates_dir", ".model-bot/templates"),
        ("labels", ("model-promotion",)),
        ("rollback_labels", ("rollback",)),
        ("reviewers", ()),
        ("team_reviewers", ()),
        ("commit_author.name", "model-bot"),
        ("commit_author.email", "model-bot@users.noreply.github.com"),
        ("chatops.permission", "write"),
        ("commit_mode", "git"),
        ("registry", None),
    ],
)
def test_every_default(attribute: str, expected: object) -> None:
    value: object = DEFAULT_CONFIG
    for part in attribute.split("."):
        value = getattr(value, part)
    assert value == expected


def test_every_field_has_a_default_checked_above() -> None:
    assert set(BotConfig.model_fields) == {
        "api_version",
        "kind",
        "environments",
        "paths",
        "value_keys",
        "kustomize",
        "render",
        "image_repository",
        "prometheus_address",
        "templates_dir",
        "labels",
        "rollback_labels",
        "reviewers",
        "team_reviewers",
        "commit_author",
        "chatops",
        "commit_mode",
        "registry",
    }


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ("namespace", None),
        ("prometheus_address", None),
        ("values", {}),
        ("reviewers", None),
        ("team_reviewers", None),
    ],
)
def test_environment_config_defaults(attribute: str, expected: object) -> None:
    assert getattr(EnvironmentConfig(), attribute) == expected


def test_config_is_frozen() -> None:
    with pytest.raises(ValidationError):
        DEFAULT_CONFIG.labels = ("x",)  # type: ignore[misc]
    with pytest.raises(ValidationError):
        DEFAULT_CONFIG.paths.values = "x.yaml"  # type: ignore[misc]


# --- parse_config ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n", "# no settings yet\n", "---\n"])
def test_empty_config_is_the_default(text: str) -> None:
    assert parse_config(text) is DEFAULT_CONFIG


def test_empty_mapping_equals_the_default() -> None:
    assert parse_config("{}\n") == DEFAULT_CONFIG


@pytest.mark.parametrize("key", ["apiVersion", "api_version"])
def test_api_version_by_alias_or_name(key: str) -> None:
    assert parse_config(f"{key}: model-bot/v1\n").api_version == "model-bot/v1"


def test_full_config() -> None:
    config = parse_config(
        """
apiVersion: model-bot/v1
kind: BotConfig
environments:
  prod:
    namespace: ml-prod
    prometheus_address: http://prom.prod:9090
    values: {replicas: 3, resources: {cpu: "2"}}
    reviewers: [alice]
    team_reviewers: [org/ml]
  staging: {}
paths:
  model_dir: deploy/{environment}/{model}
  values: helm-values.yaml
  rollout: k8s/rollout.yaml
  analysis_template: k8s/analysis.yaml
  report: docs/{environment}/{model}-{version}.md
value_keys:
  image_tag: app.image.tag
  model_version: app.model
  extra: {app.labels.version: "{version}"}
kustomize: {image: ghcr.io/acme/fraud, set_new_name: true}
image_repository: ghcr.io/acme/fraud
prometheus_address: http://prom:9090
templates_dir: ci/templates
labels: [a, b]
rollback_labels: []
reviewers: [bob]
team_reviewers: [acme/ml]
commit_author: {name: Bot, email: bot@example.com}
chatops: {permission: maintain}
"""
    )
    prod = config.environment("prod")
    assert prod == EnvironmentConfig(
        namespace="ml-prod",
        prometheus_address="http://prom.prod:9090",
        values={"replicas": 3, "resources": {"cpu": "2"}},
        reviewers=("alice",),
        team_reviewers=("org/ml",),
    )
    assert config.environment("staging") == EnvironmentConfig()
    assert config.paths == Paths(
        model_dir="deploy/{environment}/{model}",
        values="helm-values.yaml",
        rollout="k8s/rollout.yaml",
        analysis_template="k8s/analysis.yaml",
        report="docs/{environment}/{model}-{version}.md",
    )
    assert config.value_keys.extra == {"app.labels.version": "{version}"}
    assert (config.kustomize.image, config.kustomize.set_new_name) == ("ghcr.io/acme/fraud", True)
    assert config.image_repository == "ghcr.io/acme/fraud"
    assert config.templates_dir == "ci/templates"
    assert (config.labels, config.rollback_labels) == (("a", "b"), ())
    assert (config.reviewers, config.team_reviewers) == (("bob",), ("acme/ml",))
    assert (config.commit_author.name, config.commit_author.email) == ("Bot", "bot@example.com")
    assert config.chatops.permission == "maintain"


def test_value_keys_can_be_switched_off() -> None:
    config = parse_config(
        "value_keys: {model_version: null, image_repository: null, image_digest: image.digest}\n"
    )
    assert config.value_keys.model_version is None
    assert config.value_keys.image_repository is None
    assert config.value_keys.image_digest == "image.digest"
    schema = config_json_schema()
    jsonschema.validate({"value_keys": {"model_version": None}}, schema)
    with pytest.raises(InvalidInput, match=r"value_keys\.image_tag"):
        parse_config("value_keys: {image_tag: null}\n")


# --- environment() --------------------------------------------------------------------------


def test_environment_of_a_configured_name() -> None:
    config = parse_config("environments: {prod: {namespace: ml-prod}}\n")
    assert config.environment("prod").namespace == "ml-prod"


@pytest.mark.parametrize(
    "text", ["", "environments: null\n", "environments: {}\n", "environments: {prod: {}}\n"]
)
def test_environment_of_an_unlisted_name_is_the_default(text: str) -> None:
    assert parse_config(text).environment("staging") == EnvironmentConfig()


# --- unknown keys and bad values: the field path is named -------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("bogus: 1\n", "bogus"),
        ("apiversion: model-bot/v1\n", "apiversion"),
        ("paths: {bogus: 1}\n", "paths.bogus"),
        ("value_keys: {imageTag: x}\n", "value_keys.imageTag"),
        ("kustomize: {setNewName: true}\n", "kustomize.setNewName"),
        ("commit_author: {mail: a@b}\n", "commit_author.mail"),
        ("chatops: {permissions: admin}\n", "chatops.permissions"),
        ("environments: {prod: {bogus: 1}}\n", "environments.prod.bogus"),
        ("environments: {prod: {namespaces: x}}\n", "environments.prod.namespaces"),
    ],
)
def test_unknown_key_is_refused_with_its_path(text: str, field: str) -> None:
    assert refused(text) == [(CONFIG_FILE, field, "unknown field (remove it or fix its spelling)")]


def test_every_unknown_key_at_once() -> None:
    assert [field for _, field, _ in refused("a: 1\npaths: {b: 2}\nc: 3\n")] == [
        "paths.b",
        "a",
        "c",
    ]


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (
            "apiVersion: model-bot/v2\n",
            "apiVersion",
            "got \"model-bot/v2\", use one of 'model-bot/v1'",
        ),
        ("kind: PromotionPolicy\n", "kind", "got \"PromotionPolicy\", use one of 'BotConfig'"),
        (
            "chatops: {permission: owner}\n",
            "chatops.permission",
            "got \"owner\", use one of 'read', 'triage', 'write', 'maintain' or 'admin'",
        ),
        ("labels: foo\n", "labels", 'expected a list, got "foo"'),
        ("reviewers: [1]\n", "reviewers[0]", "expected a string, got 1"),
        ("prometheus_address: 5\n", "prometheus_address", "expected a string, got 5"),
        (
            "kustomize: {set_new_name: maybe}\n",
            "kustomize.set_new_name",
            'expected true or false, got "maybe"',
        ),
        ("paths: []\n", "paths", "expected a mapping, got []"),
        ("environments: [prod]\n", "environments", 'expected a mapping, got ["prod"]'),
        ("environments: {prod: 1}\n", "environments.prod", "expected a mapping, got 1"),
        ("value_keys: {extra: {a: 1}}\n", "value_keys.extra.a", "expected a string, got 1"),
        ("- a\n", "(top level)", 'expected a mapping, got ["a"]'),
        ("3\n", "(top level)", "expected a mapping, got 3"),
    ],
)
def test_bad_value_names_the_field(text: str, field: str, message: str) -> None:
    assert refused(text) == [(CONFIG_FILE, field, message)]


def test_parse_config_names_the_given_source() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_config("bogus: 1\n", "repo/.model-bot.yaml")
    assert str(caught.value) == (
        "repo/.model-bot.yaml: bogus: unknown field (remove it or fix its spelling)"
    )


def test_yaml_errors_are_refused() -> None:
    assert refused("labels: [a\n") == [
        (
            CONFIG_FILE,
            "line 2",
            "invalid YAML: expected ',' or ']', but got '<stream end>' (fix the syntax)",
        )
    ]
    assert refused("image_repository: a\nimage_repository: b\n") == [
        (
            CONFIG_FILE,
            "line 2",
            'invalid YAML: found duplicate key "image_repository" with value "b" '
            '(original value: "a") (fix the syntax)',
        )
    ]


# --- validators -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["prod", "staging-eu", "a", "e2e"])
def test_environment_names_are_dns_labels(name: str) -> None:
    assert parse_config(f"environments: {{{name}: {{}}}}\n").environments == {
        name: EnvironmentConfig()
    }


@pytest.mark.parametrize("name", ["Prod", "prod_eu", "-prod", "prod.eu", "a" * 64])
def test_bad_environment_name(name: str) -> None:
    assert refused(f"environments: {{'{name}': {{}}}}\n") == [
        (CONFIG_FILE, "environments", f"bad environment name {name!r}: {DNS_HINT}")
    ]


def test_environment_name_with_a_newline_is_refused() -> None:
    assert refused('environments: {"prod\\n": {}}\n') == [
        (CONFIG_FILE, "environments", f"bad environment name 'prod\\n': {DNS_HINT}")
    ]


def test_environment_name_that_is_not_a_string() -> None:
    assert refused("environments: {1: {}}\n") == [
        (CONFIG_FILE, "environments[1].[key]", "expected a string, got 1")
    ]


@pytest.mark.parametrize("namespace", ["ml-prod", "default", "a"])
def test_namespace_ok(namespace: str) -> None:
    assert EnvironmentConfig(namespace=namespace).namespace == namespace


@pytest.mark.parametrize("namespace", ["ML", "ml_prod", "", "ml.prod", "ns\n"])
def test_bad_namespace(namespace: str) -> None:
    text = json.dumps({"environments": {"prod": {"namespace": namespace}}})  # JSON is YAML
    assert refused(text) == [
        (
            CONFIG_FILE,
            "environments.prod.namespace",
            f"bad namespace name {namespace!r}: {DNS_HINT}",
        )
    ]


@pytest.mark.parametrize("permission", ["read", "triage", "write", "maintain", "admin"])
def test_chatops_permissions(permission: str) -> None:
    assert ChatOps(permission=permission).permission == permission  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (
            "paths: {model_dir: '/abs/{model}'}\n",
            "paths.model_dir",
            "bad path '/abs/{model}': use a relative path with '/' separators",
        ),
        (
            "paths: {model_dir: 'a/{name}'}\n",
            "paths.model_dir",
            "bad path template 'a/{name}': only {environment}, {model} and {version} may be filled in",
        ),
        (
            "paths: {report: '{model}/../{version}.md'}\n",
            "paths.report",
            "bad path '{model}/../{version}.md': no empty, '.' or '..' parts",
        ),
        (
            "paths: {report: '.git/{model}'}\n",
            "paths.report",
            "bad path '.git/{model}': must not point into .git",
        ),
        (
            "paths: {values: '../values.yaml'}\n",
            "paths.values",
            "bad path '../values.yaml': no empty, '.' or '..' parts",
        ),
        (
            "paths: {rollout: '/rollout.yaml'}\n",
            "paths.rollout",
            "bad path '/rollout.yaml': use a relative path with '/' separators",
        ),
        (
            "paths: {analysis_template: 'a\\b.yaml'}\n",
            "paths.analysis_template",
            "bad path 'a\\\\b.yaml': use a relative path with '/' separators",
        ),
        (
            "templates_dir: ''\n",
            "templates_dir",
            "bad path '': use a relative path with '/' separators",
        ),
        (
            "templates_dir: .git/templates\n",
            "templates_dir",
            "bad path '.git/templates': must not point into .git",
        ),
        (
            "templates_dir: 'a//b'\n",
            "templates_dir",
            "bad path 'a//b': no empty, '.' or '..' parts",
        ),
    ],
)
def test_bad_paths_name_the_field(text: str, field: str, message: str) -> None:
    assert refused(text) == [(CONFIG_FILE, field, message)]


def test_a_template_part_that_a_name_could_make_dot_git_is_refused() -> None:
    assert refused("paths: {model_dir: '.{model}'}\n") == [
        (
            CONFIG_FILE,
            "paths.model_dir",
            "bad path template '.{model}': the part '.{model}' starts with '.' and holds a "
            "placeholder, so a name such as 'git' would make it '.git' (drop the leading '.')",
        )
    ]


def test_every_bad_path_at_once() -> None:
    found = refused("paths: {values: ../v.yaml, rollout: .git/x}\n")
    assert [field for _, field, _ in found] == ["paths.values", "paths.rollout"]


def test_file_paths_are_not_templates() -> None:
    # `values`, `rollout` and `analysis_template` are checked as relative paths only.
    assert Paths(values="{model}.yaml").values == "{model}.yaml"


# --- load_config ------------------------------------------------------------------------------


def test_load_config_without_a_file_is_the_default(tmp_path: Path) -> None:
    assert load_config(tmp_path) is DEFAULT_CONFIG


def test_load_config_reads_the_file(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text("labels: [ship-it]\n", encoding="utf-8")
    assert load_config(tmp_path).labels == ("ship-it",)


def test_load_config_of_an_empty_file_is_the_default(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text("", encoding="utf-8")
    assert load_config(tmp_path) is DEFAULT_CONFIG


def test_load_config_names_the_file_relative_to_the_repo(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text("paths: {bogus: 1}\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        load_config(tmp_path)
    assert str(caught.value) == (
        ".model-bot.yaml: paths.bogus: unknown field (remove it or fix its spelling)"
    )


def test_load_config_of_a_non_utf8_file_is_invalid_input(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_bytes(b"labels: [\xff]\n")
    with pytest.raises(InvalidInput) as caught:
        load_config(tmp_path)
    assert str(caught.value) == ".model-bot.yaml: config file is not UTF-8 text"


def test_one_reader_serves_every_source_of_the_config_bytes() -> None:
    """A clone, the contents API and a folder all hand their bytes to config_from_bytes."""
    assert config_from_bytes(None) == DEFAULT_CONFIG
    assert config_from_bytes(b"labels: [promo]\n").labels == ("promo",)
    with pytest.raises(InvalidInput, match=r"^\.model-bot\.yaml: config file is not UTF-8 text$"):
        config_from_bytes(b"labels: [\xff]\n")


# --- config_json_schema -----------------------------------------------------------------------


def test_schema_header() -> None:
    schema = config_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "model-bot BotConfig v1 (.model-bot.yaml)"
    assert schema["additionalProperties"] is False
    jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_uses_the_yaml_key_names() -> None:
    properties = config_json_schema()["properties"]
    assert isinstance(properties, dict)
    assert "apiVersion" in properties
    assert "api_version" not in properties
    assert set(properties) == (set(BotConfig.model_fields) - {"api_version"}) | {"apiVersion"}


def test_schema_accepts_the_defaults() -> None:
    data = DEFAULT_CONFIG.model_dump(by_alias=True, mode="json")
    jsonschema.validate(data, config_json_schema())


@pytest.mark.parametrize(
    "data",
    [
        {"bogus": 1},
        {"paths": {"bogus": 1}},
        {"environments": {"prod": {"bogus": 1}}},
        {"apiVersion": "model-bot/v2"},
        {"chatops": {"permission": "owner"}},
        {"labels": "foo"},
    ],
)
def test_schema_refuses_what_parse_config_refuses(data: dict[str, object]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, config_json_schema())
    with pytest.raises(InvalidInput):
        parse_config(json.dumps(data))  # JSON is YAML


def test_schema_is_a_fresh_copy() -> None:
    first = config_json_schema()
    first["title"] = "changed"
    assert config_json_schema()["title"] == "model-bot BotConfig v1 (.model-bot.yaml)"


@pytest.mark.parametrize("mode", ["git", "api"])
def test_commit_mode_is_git_or_api(mode: str) -> None:
    assert config_from_bytes(f"commit_mode: {mode}\n".encode()).commit_mode == mode


def test_an_unknown_commit_mode_names_the_field() -> None:
    with pytest.raises(InvalidInput, match="commit_mode"):
        config_from_bytes(b"commit_mode: svn\n")
