"""`model-bot event`: Argo Rollouts notifications and merged pull requests drive the bot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.commit_mode import commit_mode_option
from bot.cli.common import (
    event_path_option,
    github_options,
    github_token,
    read_event_file,
    write_outputs,
)
from bot.core.errors import EXIT_USAGE

if TYPE_CHECKING:
    from bot.flows.event import FollowRegistry
    from bot.flows.registry import SyncLine
    from bot.ports import EnvSession

EVENTS = "repository_dispatch (model-bot-rollout) or pull_request (closed)"


@click.command("event")
@event_path_option("a repository_dispatch or pull_request event")
@click.option(
    "--event-name",
    envvar="GITHUB_EVENT_NAME",
    required=True,
    help="The event's name: repository_dispatch or pull_request. [default: $GITHUB_EVENT_NAME]",
)
@github_options
@commit_mode_option
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Promotion policy YAML, passed on to the rollback.",
)
@click.option(
    "--tracking-uri",
    envvar="MLFLOW_TRACKING_URI",
    help="MLflow for the registry. [default: registry.tracking_uri, else $MLFLOW_TRACKING_URI]",
)
@click.option("--mlflow-timeout", type=click.FloatRange(0.5, 600), default=10.0, show_default=True)
@click.option("--dry-run", is_flag=True, help="Decide and print; change nothing anywhere.")
@click.pass_context
def event(
    ctx: click.Context,
    event_path: Path,
    event_name: str,
    env_repo: str,
    base: str | None,
    github_api_url: str | None,
    policy_path: Path | None,
    tracking_uri: str | None,
    mlflow_timeout: float,
    dry_run: bool,
) -> None:
    """Handle one event of the environment repo's workflow.

    An Argo Rollouts notification (repository_dispatch `model-bot-rollout`): an aborted
    canary, or a failed analysis, opens the revert pull request at once with the cluster's
    message; a completed rollout comments on the promotion pull request and sets the
    `model-bot/rollout` commit status. A promotion or rollback pull request merged
    (pull_request closed): the MLflow registry follows, as `.model-bot.yaml` configures.
    Anything else is ignored with one line (exit 0). MLflow unreachable: the Git side is
    done, the registry is not, exit 2 (`model-bot registry sync` repairs it).
    """
    from bot.cli.session import session_opener
    from bot.cli.targets import parse_env_repo
    from bot.core.events import parse_event
    from bot.core.loading import parse_json
    from bot.core.policy import load_policy
    from bot.flows.event import EventOptions, handle_event
    from bot.flows.rollback import rollback_in_session

    data = parse_json(read_event_file(event_path, EVENTS), str(event_path))
    notice = parse_event(event_name, data)
    target = parse_env_repo(env_repo, github_api_url)
    policy = load_policy(policy_path) if policy_path is not None else None
    token = github_token()
    result = handle_event(
        notice,
        EventOptions(base=base, dry_run=dry_run),
        session_opener(target, base=base, token=token, api_reads=False),
        run_rollback=lambda session, request, policy, deployment: rollback_in_session(
            session, request, policy=policy, deployment=deployment
        ),
        follow_registry=_registry_follower(tracking_uri, mlflow_timeout),
        policy=policy,
    )
    click.echo(f"event: {result.handled}: {result.reason}")
    rolled = result.rollback
    pr = rolled.pull_request if rolled is not None else None
    if rolled is not None:
        click.echo(f"outcome: {rolled.outcome}")
        if pr is not None:
            click.echo(f"pull request: #{pr.number} {pr.url}")
        elif rolled.branch and rolled.outcome != "unchanged":
            click.echo(f"branch: {rolled.branch}")
    for line in result.registry:
        click.echo(f"registry: {line}")
    if result.drift is not None:
        click.echo(f"drift: {result.drift}")
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    write_outputs(
        {
            "handled": result.handled,
            "outcome": result.outcome,
            "pull-request-number": pr.number if pr else None,
            "pull-request-url": pr.url if pr else None,
            "registry": json.dumps(list(result.registry)),
        }
    )
    if result.registry_error is not None:
        click.echo(
            f"model-bot: error: the registry was not updated: {result.registry_error} "
            "(the Git side was done; run `model-bot registry sync` later)",
            err=True,
        )
        ctx.exit(EXIT_USAGE)


def _registry_follower(tracking_uri: str | None, timeout: float) -> FollowRegistry:
    """The registry runner the flow calls when a merge (or a completed rollout) moves what
    runs: built lazily, so events that move nothing never import MLflow. The tracking
    server: `--tracking-uri` (or $MLFLOW_TRACKING_URI), else `registry.tracking_uri`."""

    def follow(session: EnvSession, model: str, environment: str, action: str) -> list[SyncLine]:
        from bot.adapters.mlflow import MlflowRegistry
        from bot.flows.registry import follow_merge
        from bot.flows.session import read_config

        config = read_config(session.workspace)
        settings = config.registry
        uri = tracking_uri or (settings.tracking_uri if settings is not None else None)
        return follow_merge(session, MlflowRegistry(uri, timeout), config, model, environment)

    return follow
