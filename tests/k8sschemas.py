"""Validate every Kubernetes object a test renders: kinds with a bundled CRD (Argo Rollouts,
Argo CD, Istio, Gateway API) against that CRD's schema (`bot.core.manifests`), built-in
kinds (Service, Ingress...) against Kubernetes' own JSON schemas with `kubernetes-validate`
(offline, strict: an unknown field is an error)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kubernetes_validate
from ruamel.yaml import YAML

from bot.core.manifests import KINDS, validate_manifest

KUBERNETES_VERSION = kubernetes_validate.latest_version()
NOT_OBJECTS = ("Kustomization",)  # kustomize's own file, not sent to the API server


def object_problems(doc: Mapping[str, Any]) -> list[str]:
    kind = doc.get("kind")
    if kind in KINDS:
        return validate_manifest(dict(doc))
    try:
        kubernetes_validate.validate(dict(doc), KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{kind} {doc.get('metadata', {}).get('name')}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [f"{kind}: no schema ({error})"]
    return []


def file_problems(data: bytes, source: str) -> list[str]:
    """Problems of every object in a YAML file; `kind` of each document is required."""
    problems: list[str] = []
    for doc in YAML(typ="safe", pure=True).load_all(data.decode()):
        if doc is None:
            continue
        if not isinstance(doc, Mapping) or "kind" not in doc:
            problems.append(f"{source}: a document without kind")
            continue
        if doc["kind"] in NOT_OBJECTS:
            continue
        problems += [f"{source}: {p}" for p in object_problems(doc)]
    return problems


def kinds(data: bytes) -> list[str]:
    return [
        str(doc["kind"])
        for doc in YAML(typ="safe", pure=True).load_all(data.decode())
        if isinstance(doc, Mapping)
    ]
