"""Render a model's files in an environment repo: Helm values, Argo Rollout, AnalysisTemplate.

Pure: `render_change` takes the request, the current bytes of the model's folder and any
override templates, and returns a `ChangeSet`; it reads no files and no clock, and the same
input always gives byte-identical output.

Which file is treated how (in the model's folder, `paths.model_dir` of .model-bot.yaml):

* **Kustomize folder.** When the folder holds a `kustomization.yaml` (or `.yml`, or
  `Kustomization`), the image is what kustomize sets: the bot updates `newTag` (and
  `newName` with `kustomize.set_new_name`) of the matching `images` entry in place and
  leaves every other file of the folder untouched. Its Rollout and values then belong to
  whoever wrote the kustomization; rendering them too would fight kustomize's own image
  override. The entry matches by `name` (`kustomize.image`, else the model's image
  repository), or, with no such name and no `kustomize.image`, by `newName`; names compare
  as Docker resolves them (`argoproj/x` is `docker.io/argoproj/x`). With no matching entry
  one is added, as `kustomize edit set image` would, named as the folder's manifests spell
  the image. An entry's `digest` is set to the evidence's digest, or removed (it would
  win over the new tag).

* **Files the bot owns** start with the `HEADER` comment. They are rendered whole from the
  templates each time, so local edits there are overwritten (the header says so). A file
  that does not exist yet is rendered and gets the header.

* **Files a person wrote** (no header) are edited in place by `bot.core.yamledit`, byte for byte
  except the values the bot must change: in the values file the key paths of `value_keys`
  (image tag, model version unless `model_version: null`, digest when configured, and the
  `extra` ones; a missing key is an error, never added), in the Rollout only the tag of
  the containers that run the model's image, or, for a Rollout with `spec.workloadRef`, of
  the workload it names (a Deployment, ReplicaSet or PodTemplate in a YAML file next to
  the Rollout). A reference `repo:tag@sha256:...` gets the evidence's digest or loses its
  stale one. A person's AnalysisTemplate is left as it is. A person's Rollout without a
  values file is a folder of plain manifests: no values file is added, and the bot's
  AnalysisTemplate only when the Rollout names it (`<model>-analysis`).

* **The image** is the request's (the evidence's), else `image_repository` of the config,
  else what the folder's hand-written files name (`value_keys.image_repository` of the
  values file, the one image of the Rollout's containers, the kustomization's only entry).

* **The version a folder declares** (`read_current_version`) is the values file's model
  version; a folder that names only an image tag stands for the model version the bot
  recorded with that tag in its commits' trailers (`recorded_versions`).

With no analysis metrics in the policy the Rollout has no analysis steps and no
AnalysisTemplate is rendered; a bot-owned one left from an earlier render is deleted.

Templates are Jinja2 in one `SandboxedEnvironment` (`StrictUndefined`, no autoescape). Each
`{{ }}` must end in `yaml_scalar`, `yaml_key` or `yaml_block`, which write values as quoted
YAML; an unfiltered value is an error, so no name, tag or query can add a key or break a
file. Override templates from the env repo's `templates_dir` win file by file.
"""

from __future__ import annotations

import posixpath
import re
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bot.core.config import DEFAULT_CONFIG, BotConfig
from bot.core.errors import InvalidInput, Problem
from bot.core.expressions import argo_condition
from bot.core.names import check_dns_label, check_version, fill_path
from bot.core.plan import rollout_plan
from bot.core.policy import Policy
from bot.core.queries import QueryContext
from bot.core.resources import bundled_templates
from bot.core.routing import ROUTER_FILES, TrafficRouting, routing_context, service_names
from bot.core.trailers import IMAGE, IMAGE_TAG, PREVIOUS_IMAGE_TAG, read_bot_commit
from bot.core.yamledit import (
    POD_SPEC_PATHS,
    YamlValueError,
    edit_images_in_bytes,
    image_reference,
    load_all,
    normalize_image_name,
    parse_key_path,
    same_image,
    set_kustomize_image_in_bytes,
    set_values_in_bytes,
    split_image,
    yaml_block,
    yaml_key,
    yaml_scalar,
)

HEADER = (
    "# Managed by model-bot: edits here are overwritten. Change templates/ or the policy instead."
)
MARKER = "# Managed by model-bot"
MANAGED_BY = "model-bot"
VALUES_TEMPLATE = "values.yaml.j2"
ROLLOUT_TEMPLATE = "rollout.yaml.j2"
ANALYSIS_TEMPLATE = "analysis-template.yaml.j2"
SERVICES_TEMPLATE = "services.yaml.j2"
ROUTING_TEMPLATE = "routing.yaml.j2"
KUSTOMIZATION_TEMPLATE = "kustomization.yaml.j2"
TEMPLATE_NAMES = (
    VALUES_TEMPLATE,
    ROLLOUT_TEMPLATE,
    ANALYSIS_TEMPLATE,
    SERVICES_TEMPLATE,
    ROUTING_TEMPLATE,
    KUSTOMIZATION_TEMPLATE,
)
SERVICES_FILE = "services.yaml"  # manifests mode, or a policy with traffic routing
ROUTING_FILE = "routing.yaml"  # the router's objects (Istio, NGINX, Gateway API)
KUSTOMIZATION_FILE = "kustomization.yaml"  # manifests mode
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
CONFIG_SOURCE = ".model-bot.yaml"

_LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?\Z")
_DNS_1035 = re.compile(r"^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?\Z")
_DOMAIN = (
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_REPOSITORY = re.compile(rf"^(?:{_DOMAIN}(?::[0-9]+)?/)?{_PATH_PART}(?:/{_PATH_PART})*\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ADDRESS = re.compile(r"^https?://[^\s\x00-\x1f\x7f]+\Z")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_DIGEST = re.compile(r"^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})\Z")
_YAML_SUFFIXES = (".yaml", ".yml")


# --------------------------------------------------------------------------------------------
# Values in and out
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderRequest:
    """What to render: one model version in one environment.

    Optional fields fall back to `config`: the image repository to `image_repository`, the
    namespace and Prometheus address to `environments.<env>` and then the top level. The
    image tag defaults to the version and the model URI to `models:/<model>/<version>`.
    A namespace that is neither given nor configured is left out of the manifests (the
    Argo CD Application's destination decides); queries then use the environment name.
    """

    model: str
    version: str
    environment: str
    policy: Policy
    config: BotConfig = DEFAULT_CONFIG
    image_repository: str | None = None
    image_tag: str | None = None
    model_uri: str | None = None
    namespace: str | None = None
    prometheus_address: str | None = None
    image_digest: str | None = None


@dataclass(frozen=True)
class ChangeSet:
    """The intended content of a model's files and how it differs from what is there.

    `files` holds every file the bot looked after, in a fixed order (values, rollout,
    analysis template; or the kustomization), including those that stay as they are.
    """

    files: Mapping[str, bytes]
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]
    deleted: tuple[str, ...] = ()
    mode: Literal["render", "kustomize"] = "render"
    model_dir: str = ""
    image_repository: str | None = None  # the image the change is about (given or read)

    @property
    def changes(self) -> Mapping[str, bytes]:
        """Path -> new bytes of the files to write (new or different)."""
        return types.MappingProxyType({path: self.files[path] for path in self.changed})

    @property
    def outcome(self) -> Literal["changed", "unchanged"]:
        return "changed" if self.changed or self.deleted else "unchanged"


class CurrentVersion(NamedTuple):
    version: str
    tag: str


@dataclass(frozen=True)
class _Resolved:
    """A validated request with every default filled in."""

    model: str
    version: str
    environment: str
    tag: str
    digest: str | None
    repository: str | None
    uri: str
    namespace: str | None
    query_namespace: str
    prometheus_address: str
    policy: Policy
    config: BotConfig
    promoted: Mapping[str, str]


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _check(problems: list[Problem], field_name: str, check: Any, *args: Any) -> Any:
    try:
        return check(*args)
    except ValueError as error:
        problems.append(Problem(field_name, "", str(error)))
        return None


def _label_version(value: str) -> str:
    check_version(value)
    if not _LABEL_VALUE.match(value):
        raise ValueError(
            f"bad version {value!r}: it becomes the label app.kubernetes.io/version, so at most "
            "63 characters, starting and ending with a letter or digit"
        )
    return value


def _image_repository(value: str) -> str:
    if len(value) > 255 or not _IMAGE_REPOSITORY.match(value):
        raise ValueError(
            f"bad image repository {value!r}: use [registry[:port]/]path with lowercase "
            "path parts, no tag (e.g. ghcr.io/acme/fraud-detector)"
        )
    return value


def _digest(value: str) -> str:
    if not _DIGEST.match(value):
        raise ValueError(
            f"bad image digest {value!r}: use sha256: and 64 lowercase hex digits (or "
            "sha512: and 128)"
        )
    return value


def _split_digest(value: str | None) -> tuple[str | None, str | None]:
    """`text@algo:hex` -> (text, digest); anything else is left whole for its own check."""
    if value is None:
        return None, None
    text, at, digest = value.partition("@")
    return (text, digest) if at and ":" in digest else (value, None)


def _resolve_digest(
    request: RenderRequest, problems: list[Problem]
) -> tuple[str | None, str | None, str | None]:
    """The image tag, repository and digest: `--tag TAG@sha256:...`, `--image
    REPO@sha256:...` (the evidence's `model.tag` or `model.image`) or `image_digest`, which
    must agree."""
    tag, tag_digest = _split_digest(request.image_tag)
    repository, repository_digest = _split_digest(request.image_repository)
    found = [
        (origin, value)
        for origin, value in (
            ("--tag", tag_digest),
            ("--image", repository_digest),
            ("image digest", request.image_digest),
        )
        if value is not None
    ]
    digest: tuple[str, str] | None = None
    for origin, value in found:
        if _check(problems, origin, _digest, value) is None:
            continue
        if digest is not None and value != digest[1]:
            problems.append(
                Problem(
                    origin,
                    "",
                    f"names digest {value}, but {digest[0]} names {digest[1]} (give one)",
                )
            )
            continue
        digest = (origin, value)
    return tag, repository, digest[1] if digest else None


def _free_text(value: str, what: str) -> str:
    if not value or len(value) > 2048 or _CONTROL.search(value):
        raise ValueError(f"bad {what} {value!r}: one line of at most 2048 characters")
    return value


def _address(value: str) -> str:
    if len(value) > 2048 or not _ADDRESS.match(value):
        raise ValueError(
            f"bad Prometheus address {value!r}: use an http:// or https:// URL without spaces"
        )
    return value


def _fill_extra(template: str, names: Mapping[str, str], field_name: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            raise InvalidInput.one(
                CONFIG_SOURCE,
                field_name,
                f"unknown placeholder {match.group()} (use {{version}}, {{tag}}, {{model}} "
                "or {environment})",
            )
        return names[match.group(1)]

    return _PLACEHOLDER.sub(replace, template)


def _promoted_values(
    config: BotConfig, names: Mapping[str, str], problems: list[Problem], digest: str | None
) -> dict[str, str]:
    """Key path -> value of every key the bot sets on a promotion (value_keys)."""
    keys = config.value_keys
    wanted = [("value_keys.image_tag", keys.image_tag, names["tag"])]
    if keys.model_version is not None:
        wanted.append(("value_keys.model_version", keys.model_version, names["version"]))
    if keys.image_digest is not None:
        wanted.append(("value_keys.image_digest", keys.image_digest, digest or ""))
    for path, template in keys.extra.items():
        try:
            field_name = f"value_keys.extra.{path}"
            wanted.append((field_name, path, _fill_extra(template, names, field_name)))
        except InvalidInput as error:
            problems.extend(error.problems)
    promoted: dict[str, str] = {}
    for field_name, path, value in wanted:
        try:
            parts = parse_key_path(path)
        except ValueError as error:
            problems.append(Problem(CONFIG_SOURCE, field_name, str(error)))
            continue
        if any(isinstance(part, int) for part in parts):
            problems.append(
                Problem(CONFIG_SOURCE, field_name, "list indexes are not supported here")
            )
            continue
        if path in promoted and promoted[path] != value:
            problems.append(Problem(CONFIG_SOURCE, field_name, f"{path} is named twice"))
            continue
        promoted[path] = value
    return promoted


def query_context(
    config: BotConfig, model: str, environment: str, namespace: str | None = None
) -> QueryContext:
    """What `{{ namespace }}` and friends mean in a policy query, as the AnalysisTemplate has it.

    The namespace is the one given, else `environments.<env>.namespace`, else the
    environment's name; `model-bot analyze` must judge with this same context.
    """
    if namespace is None:
        namespace = config.environment(environment).namespace
    return QueryContext(model, environment, namespace or environment)


def resolve(request: RenderRequest) -> _Resolved:
    """Validate the request and fill in defaults; `InvalidInput` lists every problem."""
    problems: list[Problem] = []
    config = request.config
    model = _check(problems, "--model", check_dns_label, request.model, "model")
    version = _check(problems, "--version", _label_version, request.version)
    environment = _check(
        problems, "--environment", check_dns_label, request.environment, "environment"
    )
    if environment is not None:
        problems.extend(_unknown_environment(config, environment))
    tag_text, given_repository, digest = _resolve_digest(request, problems)
    if tag_text is not None:
        tag = _check(problems, "--tag", check_version, tag_text, "image tag")
    else:
        tag = version  # the version is a valid tag
    repository = given_repository if given_repository is not None else config.image_repository
    if repository is not None:
        repository = _check(problems, "--image", _image_repository, repository)
    uri = request.model_uri
    if uri is not None:
        uri = _check(problems, "--model-uri", _free_text, uri, "model URI")
    env_config = config.environment(request.environment)
    namespace = request.namespace if request.namespace is not None else env_config.namespace
    if namespace is not None:
        namespace = _check(problems, "--namespace", check_dns_label, namespace, "namespace")
    address = request.prometheus_address
    if address is None:
        address = env_config.prometheus_address or config.prometheus_address
    origin = (
        "--prometheus-address"
        if request.prometheus_address is not None
        else (
            f"{CONFIG_SOURCE}: environments.{request.environment}.prometheus_address"
            if env_config.prometheus_address
            else f"{CONFIG_SOURCE}: prometheus_address"
        )
    )
    address = _check(problems, origin, _address, address)
    if model is not None and request.policy.rollout.strategy == "blueGreen":
        problems.extend(_blue_green_names(model))
    elif model is not None and (
        config.render.mode == "manifests" or request.policy.rollout.traffic_routing is not None
    ):
        problems.extend(_service_names(model))
    if problems:
        raise InvalidInput(problems)
    names = {"version": version, "tag": tag, "model": model, "environment": environment}
    promoted = _promoted_values(config, names, problems, digest)
    problems.extend(_colliding_values(env_config.values, promoted, environment))
    if problems:
        raise InvalidInput(problems)
    return _Resolved(
        model=model,
        version=version,
        environment=environment,
        tag=tag,
        digest=digest,
        repository=repository,
        uri=uri if uri is not None else f"models:/{model}/{version}",
        namespace=namespace,
        query_namespace=query_context(config, model, environment, namespace).namespace,
        prometheus_address=address,
        policy=request.policy,
        config=config,
        promoted=promoted,
    )


def value_at(document: object, path: str) -> object:
    """The value at a dotted key path of plain data, or None where the path leads nowhere."""
    node = document
    for part in parse_key_path(path):
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and (isinstance(part, int) or str(part).isdigit()):
            index = int(part)
            node = node[index] if index < len(node) else None
        else:
            return None
    return node


def _unknown_environment(config: BotConfig, environment: str) -> list[Problem]:
    if config.environments is None or environment in config.environments:
        return []
    known = ", ".join(sorted(config.environments)) or "none"
    return [
        Problem(
            "--environment",
            "",
            f"unknown environment {environment!r} (known: {known}; add it under "
            "environments in .model-bot.yaml)",
        )
    ]


def _blue_green_names(model: str) -> list[Problem]:
    preview = f"{model}-preview"
    if _DNS_1035.match(preview):
        return []
    return [
        Problem(
            "--model",
            "",
            f"blueGreen needs the Services {model!r} and {preview!r}, so the model name "
            "must start with a letter and have at most 55 characters",
        )
    ]


def _service_names(model: str) -> list[Problem]:
    names = service_names(model, "canary", TrafficRouting(provider="smi"))
    if all(_DNS_1035.match(name) for name in names):
        return []
    return [
        Problem(
            "--model",
            "",
            f"the bot renders the Services {', '.join(repr(n) for n in names)}, so the model "
            "name must start with a letter and have at most 56 characters",
        )
    ]


def _colliding_values(
    values: Mapping[str, object], promoted: Mapping[str, str], environment: str
) -> list[Problem]:
    return [
        Problem(
            CONFIG_SOURCE,
            f"environments.{environment}.values.{path}",
            "the bot sets this key on each promotion (remove it here; value_keys "
            "names the keys the bot sets)",
        )
        for path in promoted
        if value_at(values, path) is not None
    ]


# --------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------


class YamlText(str):
    """Text a YAML filter wrote; the only thing a template may output through `{{ }}`."""

    __slots__ = ()


class UnquotedValue(TemplateError):
    """A template wrote a value without `| yaml_scalar` (or `yaml_key` / `yaml_block`)."""


def _finalize(value: object) -> object:
    if isinstance(value, YamlText):
        return value
    _defined(value)
    raise UnquotedValue(
        f"{{{{ }}}} writes {str(value)[:40]!r} without a YAML filter (end it with "
        "| yaml_scalar, or | yaml_key / | yaml_block)"
    )


def _defined(value: object) -> object:
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises the usual "is undefined" error
    return value


def _yaml_scalar_filter(value: object) -> YamlText:
    return YamlText(yaml_scalar(_defined(value)))


def _yaml_key_filter(value: object) -> YamlText:
    return YamlText(yaml_key(_defined(value)))


def _yaml_block_filter(value: object, indent: int = 0) -> YamlText:
    return YamlText(yaml_block(_defined(value), indent))


def merge_values(base: object, extra: object) -> object:
    """Deep merge: mappings merge key by key, anything else in `extra` replaces `base`."""
    if isinstance(base, Mapping) and isinstance(extra, Mapping):
        merged = dict(base)
        for key, value in extra.items():
            merged[key] = merge_values(merged[key], value) if key in merged else value
        return merged
    return extra


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    """The one Jinja environment every render template is compiled in.

    Sandboxed and immutable: a template cannot reach Python internals, and cannot change
    the lists and mappings it is given (config values are shared between renders).
    """
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters.update(
        yaml_scalar=_yaml_scalar_filter,
        yaml_key=_yaml_key_filter,
        yaml_block=_yaml_block_filter,
        merge_values=merge_values,
    )
    return env


def _template_error(error: Exception, source: str) -> InvalidInput:
    line = getattr(error, "lineno", None)
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == source:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return InvalidInput.one(
        source, f"line {line}" if line else "", f"template error: {' '.join(message.split())}"
    )


@lru_cache(maxsize=64)
def compile_template(text: str, source: str) -> Template:
    """Compile once per (text, source): rendering many models reuses the compiled code."""
    env = environment()
    try:
        code = env.compile(text, name=source, filename=source)
    except TemplateSyntaxError as error:
        raise _template_error(error, source) from None
    return env.template_class.from_code(env, code, env.make_globals(None), None)


def _render_template(text: str, source: str, context: Mapping[str, object]) -> str:
    template = compile_template(text, source)
    try:
        return template.render(context)
    except (TemplateError, YamlValueError, TypeError, ValueError) as error:
        raise _template_error(error, source) from None


def _templates(
    overrides: Mapping[str, str] | None, config: BotConfig
) -> dict[str, tuple[str, str, bool]]:
    """Template name -> (text, source shown in errors, is an override)."""
    bundled = bundled_templates()
    chosen = {name: (bundled[name], f"templates/{name}", False) for name in TEMPLATE_NAMES}
    unknown = sorted(set(overrides or {}) - set(TEMPLATE_NAMES))
    if unknown:
        raise InvalidInput.one(
            f"{config.templates_dir}/{unknown[0]}",
            "",
            f"not a template the bot renders (name it one of {', '.join(TEMPLATE_NAMES)})",
        )
    for name, text in (overrides or {}).items():
        chosen[name] = (text, f"{config.templates_dir}/{name}", True)
    return chosen


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def analysis_template_name(model: str) -> str:
    return f"{model}-analysis"


def _context(r: _Resolved) -> dict[str, object]:
    rollout = r.policy.rollout
    plan = rollout_plan(r.policy, QueryContext(r.model, r.environment, r.query_namespace))
    enabled = bool(plan.metrics)
    steps = [
        {"weight": step.weight, "pause": step.pause, "analysis": step.analysis}
        for step in plan.steps
    ]
    metrics = [
        {
            "name": metric.name,
            "interval": metric.interval,
            "count": metric.count,
            "failure_limit": metric.failure_limit,
            "initial_delay": metric.initial_delay,
            "success_condition": argo_condition(metric.condition),
            "address": r.prometheus_address,
            "query": metric.query,
        }
        for metric in plan.metrics
    ]
    labels = {
        "app.kubernetes.io/name": r.model,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "app.kubernetes.io/version": r.version,
    }
    promoted: dict[str, object] = {}
    for path, value in r.promoted.items():
        promoted = merge_values(promoted, _nested(path, value))  # type: ignore[assignment]
    return {
        "model": {"name": r.model, "version": r.version, "uri": r.uri},
        "image": {
            "repository": r.repository,
            "tag": r.tag,
            "digest": r.digest,
            "ref": image_reference(str(r.repository), r.tag, r.digest),
        },
        "environment": r.environment,
        "namespace": r.namespace,
        "labels": labels,
        # Services and routers: no version label, so a promotion leaves them as they are
        "object_labels": {
            "app.kubernetes.io/name": r.model,
            "app.kubernetes.io/managed-by": MANAGED_BY,
        },
        "selector_labels": {"app.kubernetes.io/name": r.model},
        "pod_labels": {
            "app.kubernetes.io/name": r.model,
            "app.kubernetes.io/version": r.version,
            "app": r.model,
        },
        "rollout": {
            "strategy": rollout.strategy,
            "replicas": rollout.replicas,
            "rollback_window": rollout.rollback_window,
            "revision_history_limit": max(10, rollout.rollback_window),
            "canary_steps": steps,
            "weights": list(rollout.steps),
            "pause": rollout.pause,
            "active_service": r.model,
            "preview_service": f"{r.model}-preview",
            "auto_promotion": rollout.auto_promotion,
            "scale_down_delay_seconds": rollout.scale_down_delay_seconds,
        },
        "analysis": {
            "enabled": enabled,
            "template_name": analysis_template_name(r.model),
            "metrics": metrics,
        },
        "routing": routing_context(
            r.model,
            rollout.strategy,
            rollout.traffic_routing,
            r.config.render.port,
            r.config.render.target_port,
        ),
        "shadow": (
            {
                "percentage": rollout.shadow.percentage,
                "duration": rollout.shadow.duration,
                "analysis": rollout.shadow.analysis and enabled,
                "scale_weight": rollout.shadow.scale_weight,
            }
            if rollout.shadow is not None and rollout.strategy == "canary"
            else None
        ),
        "kustomization": {"resources": []},
        "environment_values": dict(r.config.environment(r.environment).values),
        "promoted_values": promoted,
    }


def _nested(path: str, value: str) -> dict[str, object]:
    nested: object = value
    for part in reversed(parse_key_path(path)):
        nested = {part: nested}
    assert isinstance(nested, dict)
    return nested


def is_bot_owned(data: bytes) -> bool:
    """A file whose first line is the bot's header comment (after an optional BOM)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.startswith(MARKER.encode())


def _render_file(
    name: str, templates: Mapping[str, tuple[str, str, bool]], context: Mapping[str, object]
) -> bytes:
    text, source, _ = templates[name]
    body = _render_template(text, source, context)
    if not body.endswith("\n"):
        body += "\n"
    return f"{HEADER}\n{body}".encode()


def _check_override(
    name: str, data: bytes, templates: Mapping[str, tuple[str, str, bool]], r: _Resolved
) -> None:
    """An override template's output must parse; a values file must hold the promoted keys."""
    _, source, override = templates[name]
    if not override:
        return
    try:
        docs = load_all(data, f"{source} (rendered)")
    except InvalidInput as error:
        raise InvalidInput.one(
            source, "", f"renders invalid YAML: {error} (fix the template)"
        ) from None
    if name != VALUES_TEMPLATE:
        return
    document = docs[0] if len(docs) == 1 else None
    for path, value in r.promoted.items():
        if value_at(document, path) != value:
            raise InvalidInput.one(
                source,
                "",
                f"must set {path} to the promoted value (merge promoted_values, as the "
                "bundled values.yaml.j2 does)",
            )


def model_dir(config: BotConfig, environment: str, model: str, version: str) -> str:
    return fill_path(config.paths.model_dir, environment=environment, model=model, version=version)


def candidate_paths(config: BotConfig, environment: str, model: str, version: str) -> list[str]:
    """Every repo-relative path `render_change` may read: the caller passes those that exist."""
    folder = model_dir(config, environment, model, version)
    paths = config.paths
    names = (
        paths.values,
        paths.rollout,
        paths.analysis_template,
        SERVICES_FILE,
        ROUTING_FILE,
        *KUSTOMIZATION_NAMES,
    )
    return [f"{folder}/{name}" for name in names]


def _need_repository(r: _Resolved, path: str) -> str:
    if r.repository is None:
        raise InvalidInput.one(
            "--image",
            "",
            f"no image repository to render {path} (pass --image or set image_repository "
            "in .model-bot.yaml)",
        )
    return r.repository


def render_change(
    request: RenderRequest,
    existing: Mapping[str, bytes],
    templates: Mapping[str, str] | None = None,
) -> ChangeSet:
    """The files of `request.model` in `request.environment` after promoting its version.

    `existing` maps repo-relative paths to the current bytes of the model's files (see
    `candidate_paths`; with `needs_whole_folder`, every file of the folder); `templates`
    maps template file names (`rollout.yaml.j2`...) to override texts from the env repo,
    which win over the bundled ones file by file.
    """
    r = resolve(request)
    folder = model_dir(r.config, r.environment, r.model, r.version)
    mode = r.config.render.mode
    if mode == "values":
        return _values_change(r, existing, folder)
    kustomization = next(
        (
            f"{folder}/{n}"
            for n in KUSTOMIZATION_NAMES
            if f"{folder}/{n}" in existing and not is_bot_owned(existing[f"{folder}/{n}"])
        ),
        None,
    )
    if kustomization is not None:  # a person's kustomization: only its image entry changes
        return _kustomize_change(r, kustomization, existing, folder)

    chosen = _templates(templates, r.config)
    paths = r.config.paths
    values_path = f"{folder}/{paths.values}"
    rollout_path = f"{folder}/{paths.rollout}"
    analysis_path = f"{folder}/{paths.analysis_template}"
    if r.repository is None:
        r = replace(r, repository=_folder_repository(r.config, existing, folder))
    files: dict[str, bytes] = {}
    deleted: list[str] = []
    context: dict[str, object] | None = None

    def rendered(name: str, path: str) -> bytes:
        nonlocal context
        _need_repository(r, path)
        if context is None:
            context = _context(r)
        data = _render_file(name, chosen, context)
        _check_override(name, data, chosen, r)
        return data

    old_rollout = existing.get(rollout_path)
    hand_rollout = old_rollout is not None and not is_bot_owned(old_rollout)
    # A person's Rollout and no values file: a folder of plain manifests, no Helm values.
    manifests = hand_rollout and values_path not in existing

    old = existing.get(values_path)
    if old is None or is_bot_owned(old):
        if mode == "manifests" and old is not None:
            deleted.append(values_path)  # a complete folder of manifests has no Helm values
        elif not manifests and mode != "manifests":
            files[values_path] = rendered(VALUES_TEMPLATE, values_path)
    else:
        files[values_path] = set_values_in_bytes(old, r.promoted, values_path)

    if old_rollout is None or not hand_rollout:
        files[rollout_path] = rendered(ROLLOUT_TEMPLATE, rollout_path)
    else:
        skip = {values_path, analysis_path}
        files.update(_edit_manifests(r, rollout_path, existing, skip))

    old = existing.get(analysis_path)
    if old is not None and not is_bot_owned(old):
        files[analysis_path] = old
    elif r.policy.analysis.metrics and (
        # beside a person's Rollout, only the template that Rollout names (it would be an
        # unreferenced file the cluster never runs)
        not hand_rollout or old is not None or _names_template(existing[rollout_path], r.model)
    ):
        files[analysis_path] = rendered(ANALYSIS_TEMPLATE, analysis_path)
    elif old is not None:
        deleted.append(analysis_path)

    if not hand_rollout:
        owned = _owned_objects(r, folder, mode)
        for name, path in owned:
            old = existing.get(path)
            if old is not None and not is_bot_owned(old):
                raise InvalidInput.one(
                    path,
                    "",
                    "the bot renders this file here (render.mode manifests, or traffic "
                    "routing), and a person wrote it: move it, or leave render.mode unset",
                )
            if name == KUSTOMIZATION_TEMPLATE:
                listed = (p for p in (*files, *(q for _, q in owned)) if p != values_path)
                resources = [posixpath.basename(p) for p in listed]
                assert context is not None  # the Rollout was rendered above
                context["kustomization"] = {
                    "resources": [n for n in dict.fromkeys(resources) if n != KUSTOMIZATION_FILE]
                }
            files[path] = rendered(name, path)
        wanted = {path for _, path in owned}
        for name in (SERVICES_FILE, ROUTING_FILE, KUSTOMIZATION_FILE):
            path = f"{folder}/{name}"
            old = existing.get(path)
            if path not in wanted and old is not None and is_bot_owned(old):
                deleted.append(path)  # the policy or mode no longer asks for it

    return _change_set(files, existing, deleted, "render", folder, r.repository)


def _owned_objects(r: _Resolved, folder: str, mode: str | None) -> list[tuple[str, str]]:
    """(template, path) of the files beside the Rollout the bot renders: in manifests mode
    the Services, the router's objects and the kustomization; otherwise (values beside the
    Rollout, as before) the Services and router objects only when the policy routes traffic,
    as the Rollout then names them."""
    rollout = r.policy.rollout
    routing = rollout.traffic_routing if rollout.strategy == "canary" else None
    owned: list[tuple[str, str]] = []
    if mode == "manifests" or routing is not None:
        owned.append((SERVICES_TEMPLATE, f"{folder}/{SERVICES_FILE}"))
    if routing is not None and routing.provider in ROUTER_FILES:
        owned.append((ROUTING_TEMPLATE, f"{folder}/{ROUTING_FILE}"))
    if mode == "manifests":
        owned.append((KUSTOMIZATION_TEMPLATE, f"{folder}/{KUSTOMIZATION_FILE}"))
    return owned


def _values_change(r: _Resolved, existing: Mapping[str, bytes], folder: str) -> ChangeSet:
    """render.mode values: the user's chart renders the workload; only the declared keys of
    the values file change, and nothing is added beside it."""
    path = f"{folder}/{r.config.paths.values}"
    old = existing.get(path)
    if old is None:
        raise InvalidInput.one(
            path,
            "",
            "render.mode is values, and the folder has no values file: commit your chart's "
            "values file there first (or set render.mode to manifests)",
        )
    new = set_values_in_bytes(old, r.promoted, path)
    return _change_set({path: new}, existing, [], "render", folder, r.repository)


def _folder_yaml(
    existing: Mapping[str, bytes], folder: str, skip: Iterable[str] = ()
) -> dict[str, bytes]:
    """The YAML files directly in `folder` a person wrote (not the bot), but `skip`."""
    skipped = set(skip)
    return {
        path: data
        for path, data in existing.items()
        if posixpath.dirname(path) == folder
        and path.endswith(_YAML_SUFFIXES)
        and path not in skipped
        and posixpath.basename(path) not in KUSTOMIZATION_NAMES
        and not is_bot_owned(data)
    }


def _mappings(data: bytes, source: str) -> list[Mapping[str, Any]]:
    return [doc for doc in load_all(data, source) if isinstance(doc, Mapping)]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _workload_refs(docs: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """(kind, name, Rollout name) of every Rollout's `spec.workloadRef`."""
    refs = []
    for doc in docs:
        spec = doc.get("spec")
        ref = (
            spec.get("workloadRef")
            if doc.get("kind") == "Rollout" and isinstance(spec, Mapping)
            else None
        )
        if isinstance(ref, Mapping):
            metadata = doc.get("metadata")
            rollout = _text(metadata.get("name")) if isinstance(metadata, Mapping) else None
            refs.append((str(ref.get("kind") or ""), str(ref.get("name") or ""), rollout or "?"))
    return refs


def _identity(doc: Mapping[str, Any]) -> tuple[str, str]:
    metadata = doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    return str(doc.get("kind")), str(name)


def _pod_images(doc: Mapping[str, Any]) -> list[str]:
    """The container images of a document that has a pod template (see POD_SPEC_PATHS)."""
    path = POD_SPEC_PATHS.get(str(doc.get("kind")))
    if path is None:
        return []
    node: object = doc
    for part in (*path, "containers"):
        node = node.get(part) if isinstance(node, Mapping) else None
    if not isinstance(node, list):
        return []
    return [i for c in node if isinstance(c, Mapping) and (i := _text(c.get("image")))]


def _rollout_images(existing: Mapping[str, bytes], rollout_path: str) -> list[str]:
    """The images the Rollouts of `rollout_path` run: their own containers', or those of
    the workloads their `workloadRef` names (in YAML files of the same folder)."""
    docs = _mappings(existing[rollout_path], rollout_path)
    refs = {(kind, name) for kind, name, _ in _workload_refs(docs)}
    images = [i for doc in docs if doc.get("kind") == "Rollout" for i in _pod_images(doc)]
    if refs:
        folder = posixpath.dirname(rollout_path)
        for path, data in sorted(_folder_yaml(existing, folder).items()):
            try:
                others = docs if path == rollout_path else _mappings(data, path)
            except InvalidInput:
                continue  # not the workload's file, whatever it is
            images += [i for doc in others if _identity(doc) in refs for i in _pod_images(doc)]
    return images


def _all_container_images(files: Mapping[str, bytes]) -> list[str]:
    """Every `image` of every `containers`/`initContainers` list in `files` (unreadable files
    are skipped): what kustomize's image transformer would look at."""
    images: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key in ("containers", "initContainers") and isinstance(value, list):
                    images.extend(
                        image
                        for item in value
                        if isinstance(item, Mapping) and (image := _text(item.get("image")))
                    )
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path, data in sorted(files.items()):
        try:
            walk(load_all(data, path))
        except InvalidInput:
            continue
    return images


def _the_image(images: Sequence[str], name: str | None) -> str | None:
    """The image running `name` (Docker Hub names normalised); without a name, the one
    image when every container runs the same repository."""
    if name is not None:
        return next((i for i in images if same_image(split_image(i).repository, name)), None)
    repositories = {normalize_image_name(split_image(i).repository) for i in images}
    return images[0] if len(repositories) == 1 else None


def _valid_repository(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return _image_repository(value)
    except ValueError:
        return None


def _folder_repository(config: BotConfig, existing: Mapping[str, bytes], folder: str) -> str | None:
    """The image repository the folder's hand-written files name, when neither the request
    nor the config does: the values file's `value_keys.image_repository`, else the one
    repository its Rollout's containers (or its workload's) run. Bot-owned files are no
    source: they only repeat what an earlier request said."""
    values = existing.get(f"{folder}/{config.paths.values}")
    key = config.value_keys.image_repository
    if values is not None and not is_bot_owned(values) and key is not None:
        docs = load_all(values, f"{folder}/{config.paths.values}")
        found = _valid_repository(value_at(docs[0] if docs else None, key))
        if found is not None:
            return found
    rollout_path = f"{folder}/{config.paths.rollout}"
    rollout = existing.get(rollout_path)
    if rollout is not None and not is_bot_owned(rollout):
        image = _the_image(_rollout_images(existing, rollout_path), None)
        if image is not None:
            return _valid_repository(split_image(image).repository)
    return None


def _names_template(rollout: bytes, model: str) -> bool:
    """A Rollout document of the file refers to the bot's AnalysisTemplate by name."""
    wanted = analysis_template_name(model)

    def refers(node: object) -> bool:
        if isinstance(node, Mapping):
            return node.get("templateName") == wanted or any(refers(v) for v in node.values())
        return isinstance(node, list) and any(refers(v) for v in node)

    return any(
        doc.get("kind") == "Rollout" and refers(doc) for doc in _mappings(rollout, "rollout")
    )


def _edit_manifests(
    r: _Resolved, rollout_path: str, existing: Mapping[str, bytes], skip: set[str]
) -> dict[str, bytes]:
    """A person's Rollout: the tag of the model's containers, in the Rollout, or, for a
    Rollout with `spec.workloadRef`, in the workload it names (a file of the folder)."""
    repository = _need_repository(r, rollout_path)
    data = existing[rollout_path]
    refs = _workload_refs(_mappings(data, rollout_path)) if b"workloadRef" in data else []
    wanted = {(kind, name) for kind, name, _ in refs}
    candidates = {rollout_path: data}
    folder = posixpath.dirname(rollout_path)  # the workload sits next to the Rollout
    if refs:
        candidates.update(_folder_yaml(existing, folder, skip))
    files = {rollout_path: data}
    found: set[tuple[str, str]] = set()
    matched = 0
    for path, old in candidates.items():
        if refs:
            found |= {_identity(doc) for doc in _mappings(old, path)} & wanted
        new, count = edit_images_in_bytes(
            old,
            repository,
            r.tag,
            path,
            digest=r.digest,
            workloads=wanted,
            rollouts=path == rollout_path,
        )
        if count:
            files[path] = new
            matched += count
    for kind, name, rollout in refs:
        if (kind, name) not in found:
            raise InvalidInput.one(
                rollout_path,
                "spec.workloadRef",
                f"Rollout {rollout} refers to {kind} {name}, which no YAML file in {folder} "
                "holds (put it in the folder, or let the Rollout hold the pod template)",
            )
    if not matched:
        where = "spec.workloadRef" if refs else "spec.template.spec.containers"
        what = "container of the workload the Rollout names" if refs else "Rollout container"
        raise InvalidInput.one(
            rollout_path,
            where,
            f"no {what} runs image {repository!r} (set its image to {repository}:<tag>, "
            "or pass the image the file uses with --image)",
        )
    return files


def _kustomize_change(
    r: _Resolved, path: str, existing: Mapping[str, bytes], folder: str
) -> ChangeSet:
    settings = r.config.kustomize
    data = existing[path]
    manifests = _folder_yaml(existing, folder)
    name = settings.image or r.repository or _kustomize_image(data, path, manifests)
    if name is None:
        raise InvalidInput.one(
            "--image",
            "",
            f"no image to find in {path} (pass --image, or set kustomize.image or "
            "image_repository in .model-bot.yaml)",
        )
    new_name = None
    if settings.set_new_name:
        new_name = _need_repository(r, path)
    fallback = r.repository if settings.image is None else None
    add_name = name
    if settings.image is None:  # spell a new entry the way the manifests spell the image
        image = _the_image(_all_container_images(manifests), name)
        add_name = split_image(image).repository if image is not None else name
    new = set_kustomize_image_in_bytes(
        data,
        name,
        r.tag,
        path,
        new_name=new_name,
        fallback_new_name=fallback,
        digest=r.digest,
        add_name=add_name,
    )
    return _change_set({path: new}, {path: data}, [], "kustomize", folder, r.repository or name)


def _kustomize_image(data: bytes, path: str, manifests: Mapping[str, bytes]) -> str | None:
    """No image given or configured: the kustomization's only `images` entry, else the one
    image the folder's manifests run."""
    entries = _kustomize_entries(data, path)
    if len(entries) == 1:
        return _valid_repository(entries[0].get("name"))
    if entries:
        return None
    image = _the_image(_all_container_images(manifests), None)
    return _valid_repository(split_image(image).repository) if image is not None else None


def _kustomize_entries(data: bytes, path: str) -> list[Mapping[str, Any]]:
    docs = load_all(data, path)
    images = docs[0].get("images") if docs and isinstance(docs[0], Mapping) else None
    return [e for e in images or [] if isinstance(e, Mapping)] if isinstance(images, list) else []


def _change_set(
    files: Mapping[str, bytes],
    existing: Mapping[str, bytes],
    deleted: Sequence[str],
    mode: Literal["render", "kustomize"],
    folder: str,
    image_repository: str | None = None,
) -> ChangeSet:
    changed = tuple(path for path, data in files.items() if existing.get(path) != data)
    unchanged = tuple(path for path, data in files.items() if existing.get(path) == data)
    return ChangeSet(
        files=types.MappingProxyType(dict(files)),
        changed=changed,
        unchanged=unchanged,
        deleted=tuple(deleted),
        mode=mode,
        model_dir=folder,
        image_repository=image_repository,
    )


def needs_whole_folder(existing: Mapping[str, bytes]) -> bool:
    """Whether rendering or reading the folder needs its other YAML files, beyond
    `candidate_paths`: a kustomization (a new `images` entry is spelled as the manifests
    spell the image; without an entry the version is the manifests' tag), or a person's
    Rollout whose `spec.workloadRef` names a workload in another file."""
    for path, data in existing.items():
        if posixpath.basename(path) in KUSTOMIZATION_NAMES:
            return True
        if b"workloadRef" in data and path.endswith(_YAML_SUFFIXES) and not is_bot_owned(data):
            try:
                if _workload_refs(_mappings(data, path)):
                    return True
            except InvalidInput:
                continue
    return False


# --------------------------------------------------------------------------------------------
# Reading what a folder declares
# --------------------------------------------------------------------------------------------


def _shortest(paths: Sequence[str]) -> str | None:
    return min(paths, key=lambda p: (p.count("/"), p)) if paths else None


def _scalar_text(value: object) -> str | None:
    if isinstance(value, bool) or value is None or isinstance(value, Mapping | list):
        return None
    return str(value)


def _tag_text(value: object) -> str | None:
    """A tag as a file holds it; a `tag@sha256:...` is the tag."""
    text = _scalar_text(value)
    return text.partition("@")[0] or None if text else None


def _named(existing: Mapping[str, bytes], names: Iterable[str]) -> str | None:
    """The shortest path of `existing` that is, or ends in `/`, one of `names`."""
    wanted = tuple(names)
    return _shortest([p for p in existing if any(p == n or p.endswith(f"/{n}") for n in wanted)])


def _declared(
    existing: Mapping[str, bytes], config: BotConfig, image_repository: str | None
) -> tuple[str, str | None] | None:
    """(image tag, model version or None when the folder names none) of a model's folder."""
    repository = image_repository or config.image_repository
    path = _named(existing, KUSTOMIZATION_NAMES)
    if path is not None and not is_bot_owned(existing[path]):  # the bot's lists its files
        entries = _kustomize_entries(existing[path], path)
        name = config.kustomize.image or repository
        chosen = [e for e in entries if name is not None and _matches(e.get("name"), name)]
        if not chosen and config.kustomize.image is None and repository is not None:
            chosen = [e for e in entries if _matches(e.get("newName"), repository)]
        if not chosen and name is None and len(entries) == 1:
            chosen = entries
        if chosen:
            tag = _tag_text(chosen[0].get("newTag"))
            return (tag, None) if tag else None
        if entries and name is None:
            return None
        # No entry for the image: kustomize leaves the manifests' own tag.
        manifests = _folder_yaml(existing, posixpath.dirname(path))
        image = _the_image(_all_container_images(manifests), name)
        tag = split_image(image).tag if image is not None else None
        return (tag, None) if tag else None

    path = _named(existing, [config.paths.values])
    if path is not None:
        docs = load_all(existing[path], path)
        document = docs[0] if docs else None
        tag = _tag_text(value_at(document, config.value_keys.image_tag))
        key = config.value_keys.model_version
        version = _scalar_text(value_at(document, key)) if key is not None else None
        return (tag, version or None) if tag else None

    path = _named(existing, [config.paths.rollout])
    if path is not None:
        image = _the_image(_rollout_images(existing, path), repository)
        tag = split_image(image).tag if image is not None else None
        return (tag, None) if tag else None
    return None


def _matches(value: object, name: str) -> bool:
    return isinstance(value, str) and same_image(value, name)


def read_current_version(
    existing: Mapping[str, bytes],
    config: BotConfig = DEFAULT_CONFIG,
    *,
    image_repository: str | None = None,
    recorded: Mapping[str, str] | None = None,
) -> CurrentVersion | None:
    """The (version, tag) a model's folder declares now, or None when it declares none.

    The tag: with a kustomization (see the module docstring), the `newTag` of the `images`
    entry `render_change` would update (named `kustomize.image`, else the image
    repository, else the only entry), or without such an entry the tag the folder's
    manifests give the image; else the values file's `value_keys.image_tag`; else, in a
    folder of plain manifests, the tag of the model's container in the Rollout (or in the
    workload its `workloadRef` names). Image names match as Docker resolves them.

    The version: the values file's `value_keys.model_version` when the folder has one.
    A folder that names only a tag (kustomize, `model_version: null`, plain manifests)
    stands for the model version the bot recorded with that tag: `recorded` maps image tags
    to model versions (`recorded_versions` of the bot's commits); a tag the bot never
    recorded is its own version. `existing` is the folder's files by repo-relative path,
    as for `render_change`; the shortest matching path wins.
    """
    found = _declared(existing, config, image_repository)
    if found is None:
        return None
    tag, version = found
    if version is None:
        version = (recorded or {}).get(tag, tag)
    return CurrentVersion(version, tag)


def declares_model_version(existing: Mapping[str, bytes], config: BotConfig) -> bool:
    """Whether the folder names the model version itself (a values file with
    `value_keys.model_version`), rather than only an image tag standing for it."""
    kustomization = _named(existing, KUSTOMIZATION_NAMES)
    if kustomization is not None and not is_bot_owned(existing[kustomization]):
        return False
    if _named(existing, [config.paths.values]) is None:
        return False
    found = _declared(existing, config, None)
    return found is not None and found[1] is not None


def recorded_versions(
    commits: Iterable[Mapping[str, str]], model: str, environment: str
) -> dict[str, str]:
    """Image tag -> model version, from the trailers of the bot's commits (newest first) about
    `model` in `environment`: `Image-Tag` names `Model-Version`, `Previous-Image-Tag` names
    `Previous-Version`. The newest record of a tag wins."""
    versions: dict[str, str] = {}
    for trailers in commits:
        claim = read_bot_commit(trailers)
        if claim is None or not claim.concerns(model, environment):
            continue
        tag = trailers.get(IMAGE_TAG, "").strip()
        if tag and claim.version:
            versions.setdefault(tag, claim.version)
        previous = trailers.get(PREVIOUS_IMAGE_TAG, "").strip()
        if previous and claim.previous_version:
            versions.setdefault(previous, claim.previous_version)
    return versions


def recorded_image(
    commits: Iterable[Mapping[str, str]], model: str, environment: str
) -> str | None:
    """The image repository the bot recorded last (the newest `Image` trailer of its commits
    about `model` in `environment`), or None."""
    for trailers in commits:
        claim = read_bot_commit(trailers)
        if claim is not None and claim.concerns(model, environment):
            image = _valid_repository(trailers.get(IMAGE, "").strip())
            if image is not None:
                return image
    return None


__all__ = [
    "HEADER",
    "KUSTOMIZATION_NAMES",
    "TEMPLATE_NAMES",
    "ChangeSet",
    "CurrentVersion",
    "RenderRequest",
    "candidate_paths",
    "compile_template",
    "declares_model_version",
    "environment",
    "is_bot_owned",
    "merge_values",
    "model_dir",
    "needs_whole_folder",
    "query_context",
    "read_current_version",
    "recorded_image",
    "recorded_versions",
    "render_change",
    "resolve",
    "value_at",
]
