"""Validate Argo Rollouts, Argo CD, Istio and Gateway API manifests against the CRDs' own
OpenAPI v3 schemas.

The schemas are the `openAPIV3Schema` of the version the bot writes (`API_VERSIONS`) of the
CRDs bundled in `bot/schemas/` (copied byte for byte, see each folder's SOURCES.md), checked with
`jsonschema` and read the way the Kubernetes API server reads a structural schema:

* `x-kubernetes-int-or-string` fields (pause durations, counts, maxSurge) take an integer
  or a string; the CRDs spell that as `anyOf: [integer, string]`, kept as is.
* A field the schema does not know is an error (as with `kubectl apply
  --validate=strict`), except under `x-kubernetes-preserve-unknown-fields`.
* `x-kubernetes-list-type: map` lists may not repeat their `x-kubernetes-list-map-keys`
  (two containers with one name), `set` lists may not repeat an item.
* `metadata` is checked as Kubernetes ObjectMeta: a DNS-1123 name, a namespace label,
  label keys and values as Kubernetes accepts them, string annotations.
* A Rollout's `selector.matchLabels` must be among its pod template's labels (the
  controller refuses a Rollout whose selector does not select its own pods).

CEL rules (`x-kubernetes-validations`) need the old object and are not checked.
"""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from jsonschema import Draft7Validator, ValidationError, validators
from jsonschema.protocols import Validator

from bot.core.loading import field_path
from bot.core.names import DNS_LABEL
from bot.core.resources import crd_path
from bot.core.yamledit import load_all

API_VERSION = "argoproj.io/v1alpha1"
API_VERSIONS = {  # the version of each kind the bot writes: the CRD's storage version
    "Rollout": API_VERSION,
    "AnalysisTemplate": API_VERSION,
    "ApplicationSet": API_VERSION,
    "VirtualService": "networking.istio.io/v1",
    "DestinationRule": "networking.istio.io/v1",
    "HTTPRoute": "gateway.networking.k8s.io/v1",
}
KINDS = tuple(API_VERSIONS)

_DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z"
_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_LABEL_KEY = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?" + _LABEL_NAME + r"\Z"
)
_LABEL_VALUE = r"^(" + _LABEL_NAME + r")?\Z"

_PATTERN_HINTS = {
    _DNS_SUBDOMAIN: "use lowercase letters, digits, '-' and '.' (a DNS-1123 subdomain)",
    DNS_LABEL: "use lowercase letters, digits and '-' (a DNS-1123 label)",
    _LABEL_KEY: "use an optional DNS prefix and '/', then up to 63 letters, digits, '-', '_', '.'",
    _LABEL_VALUE: "use up to 63 letters, digits, '-', '_', '.', starting and ending alphanumeric",
}

OBJECT_META: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "maxLength": 253, "pattern": _DNS_SUBDOMAIN},
        "namespace": {"type": "string", "pattern": DNS_LABEL},
        "labels": {
            "type": "object",
            "propertyNames": {"maxLength": 317, "pattern": _LABEL_KEY},
            "additionalProperties": {"type": "string", "maxLength": 63, "pattern": _LABEL_VALUE},
        },
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def _list_type(
    validator: Validator, list_type: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not isinstance(instance, list):
        return
    if list_type == "set":
        seen: list[Any] = []
        for item in instance:
            if item in seen:
                yield ValidationError(f"{item!r} is listed twice (list-type set)")
            seen.append(item)
    elif list_type == "map":
        keys = schema.get("x-kubernetes-list-map-keys") or []
        seen_keys: set[str] = set()
        for item in instance:
            if not isinstance(item, Mapping):
                continue
            key = json.dumps([item.get(k) for k in keys], sort_keys=True, default=str)
            if key in seen_keys:
                named = ", ".join(f"{k}={item.get(k)!r}" for k in keys)
                yield ValidationError(f"two items with {named} (they must be unique)")
            seen_keys.add(key)


_K8sValidator: Any = validators.extend(  # type: ignore[no-untyped-call]
    Draft7Validator, {"x-kubernetes-list-type": _list_type}
)


def _strict(schema: Any) -> Any:
    """Forbid unknown fields wherever a schema lists its properties (structural schema)."""
    if isinstance(schema, dict):
        for value in schema.values():
            _strict(value)
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        for item in schema:
            _strict(item)
    return schema


@cache
def crd_schema(kind: str) -> dict[str, Any]:
    """The CRD's openAPIV3Schema as shipped (parsed once per process)."""
    path = crd_path(kind)
    data = path.read_bytes()
    try:  # PyYAML's C loader reads the 600 kB CRDs in a tenth of the time, when present
        yaml: Any = importlib.import_module("yaml")
        documents = list(yaml.load_all(data, Loader=yaml.CSafeLoader))
    except (ImportError, AttributeError):
        documents = load_all(data, str(path))
    # A bundle (Istio's) holds many CRDs: the one whose names.kind is `kind`.
    document = next(
        d for d in documents if isinstance(d, Mapping) and d["spec"]["names"]["kind"] == kind
    )
    version = API_VERSIONS[kind].rpartition("/")[2]
    served = {v["name"]: v for v in document["spec"]["versions"]}
    schema = served[version]["schema"]["openAPIV3Schema"]
    assert isinstance(schema, dict)
    return schema


@cache
def _validator(kind: str) -> Validator:
    schema = _strict(copy.deepcopy(crd_schema(kind)))
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
    schema["properties"]["apiVersion"] = {"enum": [API_VERSIONS[kind]]}
    schema["properties"]["kind"] = {"enum": [kind]}
    schema["properties"]["metadata"] = OBJECT_META
    validator: Validator = _K8sValidator(schema)
    return validator


def _path(error: ValidationError) -> str:
    return field_path(tuple(error.absolute_path)) or "(top level)"


def _message(error: ValidationError) -> str:
    if error.validator == "additionalProperties" and error.validator_value is False:
        known = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        extra = sorted(str(k) for k in instance if k not in known)
        names = ", ".join(repr(k) for k in extra)
        return f"unknown field {names} (remove it or fix its spelling)"
    if error.validator == "pattern" and error.validator_value in _PATTERN_HINTS:
        return f"{error.instance!r} is not allowed: {_PATTERN_HINTS[error.validator_value]}"
    return error.message


def _selector_problems(doc: Mapping[str, Any]) -> list[str]:
    spec = doc.get("spec")
    if not isinstance(spec, Mapping) or "workloadRef" in spec:
        return []
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not isinstance(selector, Mapping) or not isinstance(labels, Mapping):
        return []
    return [
        f"spec.selector.matchLabels.{key}: {value!r} does not select the pod template "
        "(add the label to spec.template.metadata.labels)"
        for key, value in selector.items()
        if labels.get(key) != value
    ]


def validate_manifest(doc: dict[str, Any]) -> list[str]:
    """Problems of one manifest of a kind with a bundled CRD (`KINDS`); empty when valid.

    Each problem reads `<Kind> <name>: <field path>: <what is wrong>`. A document of any
    other kind is one problem (there is no bundled schema for it).
    """
    if not isinstance(doc, Mapping):
        return [f"expected a mapping, got {type(doc).__name__}"]
    kind = doc.get("kind")
    metadata = doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    label = f"{kind} {name}" if name else str(kind)
    if kind not in KINDS:
        return [f"{label}: kind: no bundled schema (validates {' and '.join(KINDS)})"]
    errors = sorted(_validator(kind).iter_errors(doc), key=lambda e: (_path(e), str(e.message)))
    problems = [f"{label}: {_path(e)}: {_message(e)}" for e in errors]
    if kind == "Rollout":
        problems += [f"{label}: {p}" for p in _selector_problems(doc)]
    return problems


def validate_file(data: bytes, source: str) -> list[str]:
    """Problems of every document of a kind with a bundled CRD (`KINDS`) in a YAML file.

    Documents of other kinds (a Service next to a Rollout) are skipped; a file that does not
    parse raises `InvalidInput`.
    """
    problems = []
    for doc in load_all(data, source):
        if isinstance(doc, Mapping) and doc.get("kind") in KINDS:
            problems += [f"{source}: {p}" for p in validate_manifest(dict(doc))]
    return problems


__all__ = ["KINDS", "crd_schema", "validate_file", "validate_manifest"]
