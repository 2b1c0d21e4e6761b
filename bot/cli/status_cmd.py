"""`model-bot status`: every model in every environment, at a glance."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import click

from bot.cli.common import github_options, github_token, write_outputs

FORMATS = ("text", "json", "markdown")


@click.command("status")
@github_options
@click.option("--environment", help="Only this environment. [default: every environment]")
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Policy whose analysis window makes a fresh promotion a canary. "
    "[default: the analysis defaults, 5 x 1m]",
)
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text")
def status(
    env_repo: str,
    base: str | None,
    github_api_url: str | None,
    environment: str | None,
    policy_path: Path | None,
    output_format: str,
) -> None:
    """Every model x environment: the version it runs and since when, its open promotion or
    rollback pull requests, versions held by a rollback, and `canary` while the latest
    promotion is younger than the policy's analysis window. The `canaries` output (and the
    JSON's `canaries` key) is a GitHub Actions matrix of the live canaries. Writes nothing.
    """
    from bot.cli.session import session_opener
    from bot.cli.targets import parse_env_repo
    from bot.core.names import require_environment
    from bot.core.policy import load_policy
    from bot.core.status import canary_matrix, deployed_matrix
    from bot.flows.status import StatusOptions
    from bot.flows.status import status as run_status
    from bot.text import ledger as text

    if environment is not None:
        require_environment(environment)
    target = parse_env_repo(env_repo, github_api_url)
    policy = load_policy(policy_path) if policy_path is not None else None
    result = run_status(
        StatusOptions(environment=environment),
        policy,
        session_opener(target, base=base, token=github_token(), read_only=True),
        datetime.now(timezone.utc),
    )
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    matrix = canary_matrix(result.rows)
    deployed = deployed_matrix(result.rows)
    write_outputs(
        {
            "canaries": json.dumps(matrix, separators=(",", ":")),
            "canary-count": len(matrix["include"]),
            "deployed": json.dumps(deployed, separators=(",", ":")),
            "deployed-count": len(deployed["include"]),
        }
    )
    if output_format == "json":
        click.echo(json.dumps(text.status_json(result.rows), indent=2))
    elif output_format == "markdown":
        click.echo(text.status_markdown(result.rows), nl=False)
    else:
        click.echo(text.status_text(result.rows), nl=False)
