"""The MLflow registry follows what is deployed: which alias moves where, and the tags a
version gets. Pure: the flow (`bot.flows.registry`) reads the ledger and the registry and
applies what this module plans.

* the alias of an environment (`champion` for production) points at the version the ledger
  says runs there (`plan_alias`);
* the version deployed carries `model_bot.deployed.<environment>` (when it landed), `.commit`
  and `.pull_request` (`deployment_tags`);
* a version rolled back carries `model_bot.rolled_back.<environment>` and `.reason`
  (`rollback_tags`);
* a candidate the gate judged carries `model_bot.gate`, `ready_for_deployment` and
  `model_bot.gate.summary` (`gate_tags`).

Tag values are one printable line of at most `TAG_VALUE_LIMIT` bytes (UTF-8), and keys at
most `TAG_KEY_LIMIT` characters of what MLflow accepts: every MLflow store is guaranteed to
take those sizes (the open-source server takes more, Databricks' documented floor is this).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

from bot.core.gate import Decision, gate_summary
from bot.core.ledger import Entry, Ledger
from bot.core.trailers import NO_REASON
from bot.core.untrusted import ELLIPSIS, one_line

TAG_KEY_LIMIT = 250  # characters; MLflow's model registry limit
TAG_VALUE_LIMIT = 5000  # bytes (UTF-8): what every MLflow storage backend supports
PREFIX = "model_bot"
GATE_TAG = f"{PREFIX}.gate"
GATE_SUMMARY_TAG = f"{PREFIX}.gate.summary"
READY_TAG = "ready_for_deployment"
# What every MLflow store takes as a tag name (MLflow also allows non-ASCII letters, and `:`
# except on Windows): ASCII letters, digits, `_ . / -` and space.
_TAG_KEY = re.compile(r"^[A-Za-z0-9_./ -]+\Z")

ChangeKind = Literal["alias", "tags"]


@dataclass(frozen=True)
class RegistryChange:
    """One write to the registry: move `alias` of `model` to `version` (it pointed at
    `previous`, None: nowhere), or set `tags` on `version`."""

    kind: ChangeKind
    model: str
    alias: str | None
    version: str
    previous: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


def plan_alias(
    model: str,
    environment: str,
    alias: str,
    ledger: Ledger,
    current_alias_version: str | None,
) -> RegistryChange | None:
    """The move of `alias` to the version the ledger says runs in `environment` now; None
    when the alias already points there, or nothing is deployed (no entry, or the newest
    entry removed the model: an alias is never deleted on the ledger's word)."""
    if (ledger.model, ledger.environment) != (model, environment):
        raise ValueError(
            f"the ledger of {ledger.model} in {ledger.environment} is not about "
            f"{model} in {environment}"
        )
    current = ledger.current
    if current is None or current.version is None:
        return None
    if current_alias_version == current.version:
        return None
    return RegistryChange("alias", model, alias, current.version, previous=current_alias_version)


def iso_time(moment: datetime) -> str:
    """`2026-01-31T12:00:00Z`: UTC, whole seconds (a time without a zone is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def tag_key(key: str) -> str:
    """`key` when MLflow takes it as a tag key (and every store its length); ValueError."""
    if (
        not key
        or len(key) > TAG_KEY_LIMIT
        or not _TAG_KEY.match(key)
        or posixpath.normpath(key) != key
        or key.startswith(("/", "."))
    ):
        raise ValueError(f"bad registry tag key {key!r}")
    return key


def tag_value(text: str) -> str:
    """Untrusted text as one tag value: one printable line of at most `TAG_VALUE_LIMIT`
    bytes, cut with an ellipsis (never inside a character)."""
    value = one_line(text)
    if len(value.encode("utf-8")) <= TAG_VALUE_LIMIT:
        return value
    room = TAG_VALUE_LIMIT - len(ELLIPSIS.encode("utf-8"))
    cut = value.encode("utf-8")[:room].decode("utf-8", errors="ignore")
    return cut.rstrip() + ELLIPSIS


def _tags(pairs: Mapping[str, str | None]) -> dict[str, str]:
    """Checked keys, cleaned values; pairs without a value are left out."""
    out: dict[str, str] = {}
    for key, value in pairs.items():
        text = tag_value(value) if value is not None else ""
        if text:
            out[tag_key(key)] = text
    return out


def _environment_key(kind: str, environment: str) -> str:
    if not environment or "/" in environment or environment != one_line(environment):
        raise ValueError(f"bad environment {environment!r} for a registry tag")
    return tag_key(f"{PREFIX}.{kind}.{environment}")


def deployment_tags(entry: Entry, environment: str, pull_url: str | None = None) -> dict[str, str]:
    """The tags of the version `entry` deployed in `environment`: when it landed, the commit
    that brought it and its pull request (`pull_url`, else the entry's URL, else `#N`; left
    out when none is known, as in local mode)."""
    base = _environment_key("deployed", environment)
    pull = pull_url or entry.pull_url or (f"#{entry.pull_number}" if entry.pull_number else None)
    return _tags(
        {
            base: iso_time(entry.at),
            f"{base}.pull_request": pull,
            f"{base}.commit": entry.commit,
        }
    )


def rollback_tags(entry: Entry, environment: str) -> dict[str, str]:
    """The tags of the version a rollback (`entry`) took out of `environment` (the entry's
    `previous_version`): when, and why."""
    if entry.action != "rollback":
        raise ValueError(f"the entry of commit {entry.commit} is a {entry.action}, not a rollback")
    base = _environment_key("rolled_back", environment)
    return _tags({base: iso_time(entry.at), f"{base}.reason": entry.reason or NO_REASON})


def gate_tags(decision: Decision) -> dict[str, str]:
    """The gate's answer on the candidate version: `model_bot.gate` pass|fail,
    `ready_for_deployment` true|false and the one-line summary."""
    return _tags(
        {
            GATE_TAG: decision.verdict,
            READY_TAG: "true" if decision.passed else "false",
            GATE_SUMMARY_TAG: gate_summary(decision),
        }
    )


def missing_tags(wanted: Mapping[str, str], present: Mapping[str, str]) -> dict[str, str]:
    """The tags of `wanted` that `present` lacks or holds with another value."""
    return {key: value for key, value in wanted.items() if present.get(key) != value}


__all__ = [
    "GATE_SUMMARY_TAG",
    "GATE_TAG",
    "READY_TAG",
    "TAG_KEY_LIMIT",
    "TAG_VALUE_LIMIT",
    "ChangeKind",
    "RegistryChange",
    "deployment_tags",
    "gate_tags",
    "iso_time",
    "missing_tags",
    "plan_alias",
    "rollback_tags",
    "tag_key",
    "tag_value",
]
