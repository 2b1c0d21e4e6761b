"""`model-bot analyze`: judge a canary from Prometheus; revert it on failure."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.common import (
    append_summary,
    github_options,
    github_token,
    parse_moment,
    summary_file_option,
    write_outputs,
)
from bot.core.errors import EXIT_INCONCLUSIVE, EXIT_NO

if TYPE_CHECKING:
    from bot.core.canary import AnalyzeResult

from bot.cli.prometheus_opts import PROMETHEUS_CREDENTIALS, prometheus_options

__all__ = ["PROMETHEUS_CREDENTIALS", "analyze"]


@click.command("analyze")
@click.option("--model", required=True, help="The deployed model whose canary to judge.")
@click.option("--environment", required=True, help="Environment it runs in (e.g. production).")
@click.option(
    "--policy",
    "policy_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Promotion policy YAML (its analysis metrics and on_regression).",
)
@github_options
@prometheus_options
@click.option(
    "--at",
    "at",
    metavar="TIME",
    help="Judge the canary as of TIME (unix seconds or e.g. 2025-01-31T12:00:00Z) instead "
    "of now, e.g. to re-judge a past rollout.",
)
@click.option("--no-revert", is_flag=True, help="On failure, revert nothing (just report).")
@click.option("--auto-merge", is_flag=True, help="Merge the revert pull request at once.")
@click.option("--dry-run", is_flag=True, help="Judge, but change nothing anywhere.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@summary_file_option("the evidence")
@click.pass_context
def analyze(
    ctx: click.Context,
    model: str,
    environment: str,
    policy_path: Path,
    env_repo: str,
    base: str | None,
    github_api_url: str | None,
    prometheus_url: str | None,
    prometheus_headers: tuple[str, ...],
    prometheus_ca: Path | None,
    prometheus_insecure: bool,
    prometheus_timeout: float,
    at: str | None,
    no_revert: bool,
    auto_merge: bool,
    dry_run: bool,
    output_format: str,
    summary_file: Path | None,
) -> None:
    """Judge MODEL's canary in ENVIRONMENT with the policy's Prometheus metrics.

    Exit 0 when it passes; 1 when it fails (and, unless --no-revert, the policy's
    on_regression acts: a revert PR, a merged revert PR, or a comment on the promotion PR);
    3 when it is inconclusive (no data, Prometheus unreachable): nothing is reverted then.
    """
    from bot.cli.prometheus_opts import metric_source_factory
    from bot.cli.session import session_opener
    from bot.cli.targets import parse_env_repo
    from bot.core.analysis import Verdict
    from bot.core.canary import Canary
    from bot.core.names import require_environment, require_model
    from bot.core.policy import load_policy
    from bot.flows.analyze import AnalyzeOptions
    from bot.flows.analyze import analyze as run_analyze
    from bot.flows.rollback import rollback_in_session
    from bot.text.analysis import result_json, verdict_text

    require_model(model)
    require_environment(environment)
    now = parse_moment(at) if at else None
    target = parse_env_repo(env_repo, github_api_url)
    policy = load_policy(policy_path)
    options = AnalyzeOptions(
        model=model,
        environment=environment,
        base=base,
        prometheus_url=prometheus_url or None,
        no_revert=no_revert,
        auto_merge=auto_merge,
        dry_run=dry_run,
        now=now,
    )
    metric_source = metric_source_factory(
        prometheus_headers, prometheus_ca, prometheus_insecure, prometheus_timeout
    )

    def show(canary: Canary, verdict: Verdict) -> None:
        if output_format == "text":
            click.echo(verdict_text(verdict, canary), nl=False)

    result = run_analyze(
        policy,
        options,
        session_opener(target, base=base, token=github_token()),
        metric_source,
        lambda session, rollback, policy, deployment: rollback_in_session(
            session, rollback, policy=policy, deployment=deployment
        ),
        on_verdict=show,
    )

    pr = result.pull_request
    if output_format == "json":
        click.echo(result_json(result), nl=False)
    else:
        _print_outcome(result)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    append_summary(summary_file, result.evidence)
    write_outputs(
        {
            "verdict": result.verdict.phase,
            "outcome": result.outcome,
            "pull-request-number": pr.number if pr else None,
            "pull-request-url": pr.url if pr else None,
        }
    )
    if result.verdict.phase == "fail":
        ctx.exit(EXIT_NO)
    if result.verdict.phase == "inconclusive":
        ctx.exit(EXIT_INCONCLUSIVE)


def _print_outcome(result: AnalyzeResult) -> None:
    rolled = result.rollback
    if (
        rolled is not None
        and rolled.body
        and (rolled.local or rolled.dry_run)
        and rolled.outcome != "unchanged"
    ):
        why = "dry run" if rolled.dry_run else "local mode"
        click.echo(f"\n--- revert pull request ({why}: not opened) " + "-" * 30)
        click.echo(f"title: {rolled.title}\n")
        click.echo(rolled.body, nl=False)
        click.echo("-" * 70)
    suffix = " (dry run)" if rolled is not None and rolled.dry_run else ""
    click.echo(
        f"outcome: {result.outcome}{suffix}" + (f" ({result.reason})" if result.reason else "")
    )
    pr = result.pull_request
    if pr is not None and result.action == "notify":
        click.echo(f"promotion pull request: #{pr.number} {pr.url}")
    elif pr is not None:
        merged = " (merged)" if rolled is not None and rolled.merged else ""
        click.echo(f"revert pull request: #{pr.number} {pr.url}{merged}")
