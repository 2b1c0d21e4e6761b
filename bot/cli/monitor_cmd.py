"""`model-bot monitor`: watch deployed models for drift and decay; start retraining once."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from bot.cli.common import (
    append_summary,
    github_options,
    github_token,
    parse_moment,
    summary_file_option,
    write_outputs,
)
from bot.cli.prometheus_opts import prometheus_options
from bot.core.errors import EXIT_INCONCLUSIVE, EXIT_NO

#: A token for the training repository, when the env repo's cannot dispatch there.
TRAINING_TOKEN_ENV = "MODEL_BOT_TRAINING_TOKEN"  # noqa: S105 - a variable's name


@click.command("monitor")
@github_options
@click.option("--model", help="Only this model. [default: every deployed model]")
@click.option("--environment", help="Only this environment. [default: every environment]")
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("policies/default.yaml"),
    show_default=True,
    help="Policy whose monitoring: section says what to watch and whom to dispatch.",
)
@prometheus_options
@click.option(
    "--at",
    "at",
    metavar="TIME",
    help="Judge as of TIME (unix seconds or e.g. 2025-01-31T12:00:00Z) instead of now.",
)
@click.option(
    "--dry-run", is_flag=True, help="Judge, and say what would happen; open and dispatch nothing."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@summary_file_option("the evidence")
@click.pass_context
def monitor(
    ctx: click.Context,
    env_repo: str,
    base: str | None,
    github_api_url: str | None,
    model: str | None,
    environment: str | None,
    policy_path: Path,
    prometheus_url: str | None,
    prometheus_headers: tuple[str, ...],
    prometheus_ca: Path | None,
    prometheus_insecure: bool,
    prometheus_timeout: float,
    at: str | None,
    dry_run: bool,
    output_format: str,
    summary_file: Path | None,
) -> None:
    """Judge every deployed model (or one) with the policy's monitoring signals, over the
    samples since its version was deployed (the ledger), and its age.

    Exit 0 when healthy; 1 when drifted (on GitHub: one tracking issue per model and
    environment, and retraining dispatched once per episode: within the cooldown a new
    breach only adds its evidence to the issue); 3 when inconclusive (no data, Prometheus
    unreachable): nothing is dispatched then; 2 for bad input (including a training
    workflow that does not exist or lacks a workflow_dispatch trigger).
    """
    from bot.cli.prometheus_opts import metric_source_factory
    from bot.cli.session import forge_opener, session_opener
    from bot.cli.targets import parse_env_repo
    from bot.core.names import require_environment, require_model
    from bot.core.policy import load_policy
    from bot.flows.monitor import MonitorOptions
    from bot.flows.monitor import monitor as run_monitor
    from bot.text.monitor import evidence_markdown, verdict_json, verdict_text

    if model is not None:
        require_model(model)
    if environment is not None:
        require_environment(environment)
    now = parse_moment(at) if at else None
    target = parse_env_repo(env_repo, github_api_url)
    policy = load_policy(policy_path)
    token = github_token()
    result = run_monitor(
        policy,
        MonitorOptions(
            model=model,
            environment=environment,
            prometheus_url=prometheus_url or None,
            dry_run=dry_run,
            now=now,
        ),
        session_opener(target, base=base, token=token, read_only=True),
        metric_source_factory(
            prometheus_headers, prometheus_ca, prometheus_insecure, prometheus_timeout
        ),
        forge_opener(os.environ.get(TRAINING_TOKEN_ENV) or token, target.api_url),
    )
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if output_format == "json":
        data = {
            "health": result.health,
            "models": [
                {
                    **verdict_json(w.verdict),
                    "step": w.step,
                    "outcome": w.outcome,
                    "reason": w.reason,
                    "issue_number": w.issue_number,
                    "issue_url": w.issue_url,
                    "dispatched": w.dispatched,
                    "inputs": dict(w.inputs) if w.inputs is not None else None,
                }
                for w in result.watched
            ],
        }
        click.echo(json.dumps(data, indent=2))
    else:
        for w in result.watched:
            click.echo(verdict_text(w.verdict), nl=False)
            click.echo(f"  outcome: {w.outcome} ({w.reason})")
        click.echo(f"health: {result.health}")
    append_summary(summary_file, "\n".join(evidence_markdown(w.verdict) for w in result.watched))
    drifted = [w for w in result.watched if w.verdict.health == "drifted"]
    write_outputs(
        {
            "health": result.health,
            "drifted": json.dumps(
                [f"{w.verdict.model}/{w.verdict.environment}" for w in drifted],
                separators=(",", ":"),
            ),
            "issue-numbers": ",".join(str(w.issue_number) for w in drifted if w.issue_number),
            "dispatched": sum(1 for w in result.watched if w.dispatched),
        }
    )
    if result.health == "drifted":
        ctx.exit(EXIT_NO)
    if result.health == "inconclusive":
        ctx.exit(EXIT_INCONCLUSIVE)
