"""`.model-bot.yaml`: how an environment repo is laid out and how the bot behaves in it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

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


class Render(Strict):
    """What the bot writes in a model's folder (`manifests` or `values`; unset: the values
    file beside the bot's Rollout and AnalysisTemplate, as before `mode` existed)."""

    mode: Literal["manifests", "values"] | None = Field(
        default=None,
        description="manifests: the bot owns a complete kustomize folder (Rollout, Services, "
        "routing, AnalysisTemplate, kustomization.yaml); values: only the values file's "
        "declared keys are edited, nothing is added",
    )
    port: int = Field(default=80, ge=1, le=65535, description="the rendered Services' port")
    target_port: int = Field(
        default=8080, ge=1, le=65535, description="the model server's container port"
    )


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


_HH_MM = re.compile(r"^([0-9]{2}):([0-9]{2})\Z")  # [0-9], not \d: no other scripts' digits
_DAY_MINUTES = 24 * 60
_NOT_ZONES = frozenset({"localtime"})


def check_timezone(name: str) -> str:
    """`name` when it is an IANA time zone the bot can load (`Europe/Berlin`, `UTC`), for
    config validation; `ValueError` otherwise (`localtime`, the machine's zone, included)."""
    if isinstance(name, str) and name not in _NOT_ZONES:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
        else:
            return name
    raise ValueError(
        f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin, "
        "America/New_York or UTC"
    )


def clock_minutes(value: str, field: str, *, end: bool) -> int:
    """`HH:MM` -> minutes after midnight; `24:00` (1440) only as an `end`."""
    match = _HH_MM.match(value) if isinstance(value, str) else None
    if match is not None:
        hours, minutes = int(match.group(1)), int(match.group(2))
        if hours < 24 and minutes < 60:
            return hours * 60 + minutes
        if end and (hours, minutes) == (24, 0):
            return _DAY_MINUTES
    allowed = "00:00 to 23:59, or 24:00 for the end of the day" if end else "00:00 to 23:59"
    raise ValueError(f"bad window {field} {value!r}: use HH:MM, {allowed}")


class PromotionWindow(Strict):
    """A recurring time in which promotions into the environment are allowed (`allow`, the
    default) or denied; `days` of the week and a `start`-`end` time of day in `timezone`
    (an IANA name). An `end` before `start` runs past midnight."""

    allow: bool = True
    days: tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...] = (
        "mon", "tue", "wed", "thu", "fri", "sat", "sun",
    )  # fmt: skip
    start: str = Field(default="00:00", description="HH:MM")
    end: str = Field(default="24:00", description="HH:MM; 24:00 is the end of the day")
    timezone: str = "UTC"

    @model_validator(mode="after")
    def _readable(self) -> PromotionWindow:
        start = clock_minutes(self.start, "start", end=False)
        if start == clock_minutes(self.end, "end", end=True):
            raise ValueError(
                f"bad window: start and end are both {self.start}, so it is empty "
                "(00:00-24:00 is the whole day)"
            )
        check_timezone(self.timezone)
        return self


class Freeze(Strict):
    """Stop the line: no promotion into the environment (rollbacks still go through)."""

    reason: str = Field(min_length=1, max_length=300)


class Soak(Strict):
    """What a version must show in this environment before `advance` moves it on."""

    duration: str = Field(default="24h", description="how long it runs first, e.g. 30m, 24h")
    analysis: bool = Field(default=True, description="the policy's analysis passes at its end")
    rollout_completed: bool = Field(
        default=False, description="the model-bot/rollout status says the rollout completed"
    )


class EnvironmentConfig(Strict):
    namespace: str | None = None
    prometheus_address: str | None = None
    values: dict[str, object] = Field(
        default={}, description="extra Helm values for this environment"
    )
    reviewers: tuple[str, ...] | None = None
    team_reviewers: tuple[str, ...] | None = None
    next: tuple[str, ...] = Field(
        default=(), description="environments `advance` promotes to after the soak"
    )
    soak: Soak = Soak()
    requires: str | None = Field(
        default=None,
        description="an environment the version must have run (and soaked) in first",
    )
    windows: tuple[PromotionWindow, ...] = Field(
        default=(), description="when promotions into it may land; none: any time"
    )
    frozen: Freeze | None = None
    auto_merge: bool = False

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        return None if value is None else check_dns_label(value, "namespace")


class ChatOps(Strict):
    permission: RequiredRole = "write"


RESERVED_ALIASES = ("latest",)  # MLflow's own; so are `v1`, `v2`, ... (version aliases)
_VERSION_ALIAS = re.compile(r"^[vV]\d+\Z")


def check_alias(value: str) -> str:
    """A registry alias the bot may move: a DNS-1123 label (MLflow allows letters, digits,
    `_` and `-`), not one MLflow reserves (`latest`, `v<N>`)."""
    check_dns_label(value, "registry alias")
    if value in RESERVED_ALIASES or _VERSION_ALIAS.match(value):
        raise ValueError(
            f"bad registry alias name {value!r}: MLflow reserves 'latest' and v<N> (version aliases)"
        )
    return value


def check_tracking_uri(value: str) -> str:
    """A tracking server a committed file may name: http(s) or databricks, and no secret in
    it (credentials come from the environment: MLFLOW_TRACKING_TOKEN, ..._USERNAME/PASSWORD)."""
    if value == "databricks" or value.startswith("databricks://"):
        return value
    if not value.startswith(("http://", "https://")):
        raise ValueError(
            f"bad tracking_uri {value!r}: use the http(s) address of an MLflow tracking server, "
            "or databricks"
        )
    parts = urlsplit(value)
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError(
            "bad tracking_uri: no credentials, query or fragment in a committed file (set "
            "MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD where the bot runs)"
        )
    if not parts.hostname:
        raise ValueError(f"bad tracking_uri {value!r}: no host")
    return value


class RegistryConfig(Strict):
    """The MLflow registry follows what is deployed: each environment's alias points at the
    version it runs, and versions are tagged when they are deployed or rolled back."""

    tracking_uri: str | None = Field(
        default=None, description="MLflow tracking server; default: $MLFLOW_TRACKING_URI"
    )
    aliases: dict[str, str] = Field(
        default={"production": "champion", "staging": "staging"},
        description="environment -> the registry alias that points at the version it runs",
    )
    move_on: Literal["merge", "complete"] = Field(
        default="merge",
        description="when a promotion moves the alias: its pull request merged, or the "
        "rollout completed (a rollback moves it when it merges)",
    )
    tag_versions: bool = Field(
        default=True, description="tag versions deployed and rolled back (model_bot.*)"
    )

    @field_validator("tracking_uri")
    @classmethod
    def _tracking_uri(cls, value: str | None) -> str | None:
        return None if value is None else check_tracking_uri(value)

    @field_validator("aliases")
    @classmethod
    def _aliases(cls, value: dict[str, str]) -> dict[str, str]:
        seen: dict[str, str] = {}
        for environment, alias in value.items():
            check_dns_label(environment, "environment")
            check_alias(alias)
            if alias in seen:
                raise ValueError(
                    f"alias {alias!r} is given to both {seen[alias]!r} and {environment!r} "
                    "(one alias points at one version)"
                )
            seen[alias] = environment
        return value


class BotConfig(Strict):
    api_version: Literal["model-bot/v1"] = Field(default="model-bot/v1", alias="apiVersion")
    kind: Literal["BotConfig"] = "BotConfig"
    environments: dict[str, EnvironmentConfig] | None = Field(
        default=None, description="allowed environments; default: the folders under environments/"
    )
    paths: Paths = Paths()
    value_keys: ValueKeys = ValueKeys()
    kustomize: Kustomize = Kustomize()
    render: Render = Render()
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
    commit_mode: Literal["git", "api"] = Field(
        default="git",
        description="how the bot's commits reach a GitHub env repo: git (push) or api (GitHub "
        "creates and signs them); a local env repo is always git",
    )
    registry: RegistryConfig | None = Field(
        default=None,
        description="move MLflow registry aliases (and tag versions) as deployments land; "
        "default: the registry is left alone",
    )

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("environments")
    @classmethod
    def _env_names(
        cls, value: dict[str, EnvironmentConfig] | None
    ) -> dict[str, EnvironmentConfig] | None:
        for name in value or {}:
            check_dns_label(name, "environment")
        return value

    @field_validator("registry")
    @classmethod
    def _alias_environments(
        cls, value: RegistryConfig | None, info: ValidationInfo
    ) -> RegistryConfig | None:
        environments = info.data.get("environments")
        # The default aliases name environments a repo may not have: only aliases written
        # in the file must name listed environments (a typo would never move).
        if value is None or environments is None or "aliases" not in value.model_fields_set:
            return value
        unknown = sorted(set(value.aliases) - set(environments))
        if unknown:
            raise ValueError(
                f"aliases name environments not listed under environments: {', '.join(unknown)}"
            )
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
    "RegistryConfig",
    "check_alias",
    "check_tracking_uri",
    "load_config",
    "parse_config",
]
