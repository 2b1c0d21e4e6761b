"""`model-bot registry sync`: the MLflow registry's aliases and tags follow what is deployed."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import click

from bot.cli.common import github_options, github_token, write_outputs

if TYPE_CHECKING:
    from bot.core.evidence import Evidence
    from bot.core.gate import Decision


@click.group("registry")
def registry() -> None:
    """Keep the MLflow model registry in line with what is deployed."""


@registry.command("sync", short_help="Move aliases and tag versions as the env repo deploys.")
@github_options
@click.option(
    "--environment",
    "environments",
    multiple=True,
    metavar="ENV",
    help="Only this environment (repeatable). [default: every environment of registry.aliases]",
)
@click.option(
    "--tracking-uri",
    metavar="URI",
    help="MLflow tracking server. [default: registry.tracking_uri of .model-bot.yaml, "
    "else $MLFLOW_TRACKING_URI]",
)
@click.option(
    "--mlflow-timeout",
    type=click.FloatRange(1, 600),
    default=10.0,
    show_default=True,
    help="Give up on an unresponsive MLflow after about this many seconds (per request).",
)
@click.option("--dry-run", is_flag=True, help="Read the registry; print what would change.")
def sync(
    env_repo: str,
    base: str | None,
    github_api_url: str | None,
    environments: tuple[str, ...],
    tracking_uri: str | None,
    mlflow_timeout: float,
    dry_run: bool,
) -> None:
    """Make the MLflow registry say what the env repo's base branch deploys.

    For every model in every environment of `registry.aliases` (`.model-bot.yaml`), the
    alias (e.g. `champion` for production) is moved to the version the deployment ledger
    says runs, and, with `registry.tag_versions`, that version is tagged
    `model_bot.deployed.<env>` (with `.commit`, `.pull_request`) and each version a rollback
    holds `model_bot.rolled_back.<env>` (with `.reason`). What the registry already says is
    left alone: one line per change, `unchanged` otherwise. Exit 0 done; 2 bad input, no
    `registry` section, or MLflow unreachable (one line naming the URI).
    """
    from bot.adapters.mlflow import MlflowRegistry
    from bot.cli.session import session_opener
    from bot.cli.targets import parse_env_repo
    from bot.core.names import require_environment
    from bot.flows.registry import registry_settings, sync_registry
    from bot.flows.session import read_config

    for name in environments:
        require_environment(name)
    target = parse_env_repo(env_repo, github_api_url)
    session = session_opener(target, base=base, token=github_token(), read_only=True)([])
    try:
        config = read_config(session.workspace)
        settings = registry_settings(config)
        uri = tracking_uri or settings.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
        lines = sync_registry(
            session,
            config,
            MlflowRegistry(uri, mlflow_timeout),
            environments=environments or None,
            dry_run=dry_run,
            on_line=lambda line: click.echo(str(line)),
        )
    finally:
        session.close()
    changed = [line for line in lines if line.changed]
    if not lines:
        click.echo("nothing deployed in the aliased environments")
    write_outputs(
        {
            "changed": len(changed),
            "changes": json.dumps([str(line) for line in changed]),
        }
    )


def tag_gate_decision(
    tracking_uri: str | None, evidence: Evidence, decision: Decision, timeout: float
) -> str | None:
    """Best effort: tag the MLflow candidate version with the gate's answer
    (`bot.core.registry.gate_tags`). The answer stands whatever happens here: a failure is
    the warning returned (None: tagged)."""
    from bot.adapters.mlflow import MlflowRegistry
    from bot.core.registry import gate_tags

    model, version = evidence.model.name, evidence.model.version
    try:
        MlflowRegistry(tracking_uri, timeout).set_version_tags(model, version, gate_tags(decision))
    except Exception as error:  # noqa: BLE001 - best effort: the decision is already made
        from bot.core.errors import BotError

        message = " ".join(str(error).split())
        if not isinstance(error, BotError):  # not ours: name what it was
            message = f"{type(error).__name__}: {message}".rstrip(": ")
        return f"the gate's answer was not tagged on {model} version {version} in MLflow: {message}"
    return None
