"""`.model-bot.yaml`: how an environment repo is laid out and how the bot behaves in it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.core.errors import InvalidInput
from bot.core.loading import parse_yaml, validate_data
from bot.core.names import check_dns_label, check_path_template, check_relative_path
from bot.core.permissions import RequiredRole

CONFIG_FILE = ".model-bot.yaml"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Paths(Strict):
    """Where a model's files live; `{environment}`, `{model}` and `{version}` are filled in."""

    model_dir: str = "environments/{environment}/{model}"
    values: str = "values.yaml"
    rollout: str = "rollout.yaml"
    analysis_template: str = "analysis-template.yaml"
    report: str = "reports/{environment}/{model}/{version}.md"

    @field_validator("model_dir", "report")
    @classmethod
    def _template(cls, value: str) -> str:
        return check_path_template(value)

    @field_validator("values", "rollout", "analysis_template")
    @classmethod
    def _file(cls, value: str) -> str:
        return check_relative_path(value)


class Author(Strict):
    name: str = "model-bot"
    email: str = "model-bot@users.noreply.github.com"


class Kustomize(Strict):
    """How to bump the image in a `kustomization.yaml` that sits in the model's folder."""

    image: str | None = Field(
        default=None, description="images[].name to update; default the model image"
    )
    set_new_name: bool = False


class ValueKeys(Strict):
    """Dotted key paths the bot changes (or reads) in a values file a person wrote."""

    image_tag: str = "image.tag"
    model_version: str | None = Field(
        default="model.version",
        description="null: the values file holds no model version; only the tag is set",
    )
    image_repository: str | None = Field(
        default="image.repository",
        description="read, never written: the image when neither evidence nor config names it",
    )
    image_digest: str | None = Field(
        default=None,
        description="set to the evidence's digest, or emptied ('') when it gives none",
    )
    extra: dict[str, str] = Field(
        default={}, description="key path -> '{version}'/'{tag}'/'{model}' template"
    )


class EnvironmentConfig(Strict):
    namespace: str | None = None
    prometheus_address: str | None = None
    values: dict[str, object] = Field(
        default={}, description="extra Helm values for this environment"
    )
    reviewers: tuple[str, ...] | None = None
    team_reviewers: tuple[str, ...] | None = None

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        return None if value is None else check_dns_label(value, "namespace")


class ChatOps(Strict):
    permission: RequiredRole = "write"


class BotConfig(Strict):
    api_version: Literal["model-bot/v1"] = Field(default="model-bot/v1", alias="apiVersion")
    kind: Literal["BotConfig"] = "BotConfig"
    environments: dict[str, EnvironmentConfig] | None = Field(
        default=None, description="allowed environments; default: the folders under environments/"
    )
    paths: Paths = Paths()
    value_keys: ValueKeys = ValueKeys()
    kustomize: Kustomize = Kustomize()
    image_repository: str | None = Field(
        default=None, description="default image when evidence has none"
    )
    prometheus_address: str = "http://prometheus.monitoring.svc:9090"
    templates_dir: str = ".model-bot/templates"
    labels: tuple[str, ...] = ("model-promotion",)
    rollback_labels: tuple[str, ...] = ("rollback",)
    reviewers: tuple[str, ...] = ()
    team_reviewers: tuple[str, ...] = ()
    commit_author: Author = Author()
    chatops: ChatOps = ChatOps()

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("environments")
    @classmethod
    def _env_names(
        cls, value: dict[str, EnvironmentConfig] | None
    ) -> dict[str, EnvironmentConfig] | None:
        for name in value or {}:
            check_dns_label(name, "environment")
        return value

    @field_validator("templates_dir")
    @classmethod
    def _templates_dir(cls, value: str) -> str:
        return check_relative_path(value)

    def environment(self, name: str) -> EnvironmentConfig:
        return (self.environments or {}).get(name, EnvironmentConfig())


DEFAULT_CONFIG = BotConfig()


def parse_config(text: str, source: str = CONFIG_FILE) -> BotConfig:
    data = parse_yaml(text, source)
    if data is None:
        return DEFAULT_CONFIG
    return validate_data(data, BotConfig, source)


def config_from_bytes(data: bytes | None, source: str = CONFIG_FILE) -> BotConfig:
    """The one reader of `.model-bot.yaml`, however its bytes were fetched (a clone, the
    contents API, a folder): the defaults when there is none; not UTF-8 is refused."""
    if data is None:
        return DEFAULT_CONFIG
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput.one(source, "", "config file is not UTF-8 text") from None
    return parse_config(text, source)


def load_config(repo_root: Path) -> BotConfig:
    """The repo's `.model-bot.yaml`, or the defaults when it has none."""
    path = repo_root / CONFIG_FILE
    return config_from_bytes(path.read_bytes() if path.is_file() else None)


def config_json_schema() -> dict[str, object]:
    schema = BotConfig.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "model-bot BotConfig v1 (.model-bot.yaml)"
    return schema


__all__ = [
    "CONFIG_FILE",
    "DEFAULT_CONFIG",
    "BotConfig",
    "InvalidInput",
    "load_config",
    "parse_config",
]
