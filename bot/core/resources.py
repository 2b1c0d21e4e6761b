"""Where the bot's bundled data lives: templates, policies and the Argo Rollouts CRDs.

From a source checkout (or an editable install) `templates/` and `policies/` sit next to the
`bot/` package; an installed wheel carries them as `bot/_data/templates` and
`bot/_data/policies` (see `force-include` in pyproject.toml). The CRD schemas are package
data in `bot/schemas/` either way. The installed location wins, so a stray top-level
`templates/` folder in site-packages is never picked up.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import bot
from bot.core.errors import BotError

PACKAGE_DIR = Path(bot.__file__).resolve().parent
TEMPLATE_SUFFIX = ".j2"


class MissingResource(BotError):
    """The installation is broken: bundled data the bot needs is not there."""


def data_dir(name: str) -> Path:
    """`templates` or `policies`: the installed copy, else the source tree's."""
    for candidate in (PACKAGE_DIR / "_data" / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise MissingResource(
        f"bundled {name}/ folder not found next to {PACKAGE_DIR} (reinstall model-promotion-bot)"
    )


def templates_dir() -> Path:
    return data_dir("templates")


def policies_dir() -> Path:
    return data_dir("policies")


def workflows_dir() -> Path:
    """The GitHub workflows we give users (`docs/workflows/` of the source tree, installed as
    `bot/_data/workflows`): `model-bot init` writes them into a new environment repo."""
    for candidate in (
        PACKAGE_DIR / "_data" / "workflows",
        PACKAGE_DIR.parent / "docs" / "workflows",
    ):
        if candidate.is_dir():
            return candidate
    raise MissingResource(
        f"bundled workflows/ folder not found next to {PACKAGE_DIR} (reinstall model-promotion-bot)"
    )


def schemas_dir() -> Path:
    return PACKAGE_DIR / "schemas"


CRD_FILES = {
    "Rollout": "argo-rollouts/rollout-crd.yaml",
    "AnalysisTemplate": "argo-rollouts/analysis-template-crd.yaml",
    "ApplicationSet": "argo-cd/applicationset-crd.yaml",
    "VirtualService": "istio/customresourcedefinitions.gen.yaml",
    "DestinationRule": "istio/customresourcedefinitions.gen.yaml",
    "HTTPRoute": "gateway-api/gateway.networking.k8s.io_httproutes.yaml",
}


def crd_path(kind: str) -> Path:
    """The bundled CRD file of a kind (`Rollout`, `AnalysisTemplate`, `ApplicationSet`,
    `VirtualService`, `DestinationRule`, `HTTPRoute`; see each folder's SOURCES.md)."""
    path = schemas_dir() / CRD_FILES[kind]
    if not path.is_file():
        raise MissingResource(f"bundled CRD {path} not found (reinstall model-promotion-bot)")
    return path


@lru_cache(maxsize=1)
def bundled_templates() -> Mapping[str, str]:
    """Every bundled `*.j2` template by file name; read once per process."""
    folder = templates_dir()
    return types.MappingProxyType(
        {
            path.name: path.read_text(encoding="utf-8")
            for path in sorted(folder.glob(f"*{TEMPLATE_SUFFIX}"))
            if path.is_file()
        }
    )


__all__ = [
    "MissingResource",
    "bundled_templates",
    "crd_path",
    "data_dir",
    "policies_dir",
    "schemas_dir",
    "templates_dir",
    "workflows_dir",
]
