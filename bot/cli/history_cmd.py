"""`model-bot history`: what ran where, since when, and why (the deployment ledger)."""

from __future__ import annotations

import json

import click

from bot.cli.common import github_options, github_token, parse_moment, write_outputs

FORMATS = ("text", "json", "markdown")


@click.command("history")
@click.option("--model", required=True, help="The model whose deployments to show.")
@click.option("--environment", required=True, help="Environment (e.g. production).")
@github_options
@click.option(
    "--at",
    "at",
    metavar="TIME",
    help="Which version served at TIME (unix seconds or e.g. 2026-01-31T12:00:00Z).",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
    help="Entries shown (newest first); each may cost forge requests (who merged, approved).",
)
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text")
def history(
    model: str,
    environment: str,
    env_repo: str,
    base: str | None,
    github_api_url: str | None,
    at: str | None,
    limit: int,
    output_format: str,
) -> None:
    """The deployments of MODEL in ENVIRONMENT, newest first: version, previous version, how
    it got there (promote, rollback, or a manual edit of the folder), when it reached the
    base branch, its pull request, who merged and approved it, the gate decision, a
    rollback's reason, and the versions held by a rollback. Read from the env repo's
    history (and, on GitHub, its pull requests); writes nothing.
    """
    from bot.cli.session import session_opener
    from bot.cli.targets import parse_env_repo
    from bot.core.names import require_environment, require_model
    from bot.flows.history import HistoryOptions
    from bot.flows.history import history as run_history
    from bot.text import ledger as text

    require_model(model)
    require_environment(environment)
    when = parse_moment(at) if at else None
    target = parse_env_repo(env_repo, github_api_url)
    result = run_history(
        HistoryOptions(model=model, environment=environment, limit=limit, at=when),
        session_opener(target, base=base, token=github_token(), read_only=True),
    )
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    current = result.ledger.current
    if when is not None:
        entry = result.at_entry
        write_outputs({"version": entry.version if entry else None})
        if output_format == "json":
            click.echo(json.dumps(text.at_json(model, environment, when, entry), indent=2))
        else:
            click.echo(text.at_text(model, environment, when, entry), nl=False)
        return
    write_outputs({"version": current.version if current else None})
    if output_format == "json":
        click.echo(json.dumps(text.history_json(result.ledger, result.holds, limit), indent=2))
    elif output_format == "markdown":
        click.echo(text.history_markdown(result.ledger, result.holds, limit), nl=False)
    else:
        click.echo(text.history_text(result.ledger, result.holds, limit), nl=False)
