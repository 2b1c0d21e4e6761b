"""`model-bot rollback`: open the pull request that rolls a model back."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.commit_mode import commit_mode_option
from bot.cli.common import (
    append_summary,
    echo_proposal,
    github_options,
    github_token,
    summary_file_option,
    write_outputs,
)
from bot.core.errors import EXIT_NO


@click.command("rollback")
@click.option("--model", required=True, help="The deployed model to roll back.")
@click.option("--environment", required=True, help="Environment it runs in (e.g. production).")
@github_options
@commit_mode_option
@click.option(
    "--to",
    "to_version",
    metavar="VERSION",
    help="Version to go back to. [default: the promotion's Previous-Version]",
)
@click.option("--reason", default="", help="Why; goes into the commit and the pull request.")
@click.option(
    "--dry-run", is_flag=True, help="Print the diff and PR body; change nothing anywhere."
)
@click.option("--auto-merge", is_flag=True, help="Merge the revert pull request at once.")
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Promotion policy; `on_regression: rollback_and_merge` implies --auto-merge.",
)
@summary_file_option("the pull request body")
def rollback(
    model: str,
    environment: str,
    env_repo: str,
    base: str | None,
    github_api_url: str | None,
    to_version: str | None,
    reason: str,
    dry_run: bool,
    auto_merge: bool,
    policy_path: Path | None,
    summary_file: Path | None,
) -> None:
    """Roll MODEL in ENVIRONMENT back to the version before its last promotion (or --to).

    Reverts the promotion's merge commit when that applies cleanly, else restores the model's
    folder as it was; other models and the evaluation reports are untouched. Opens (or
    updates) the revert PR on model-bot/rollback/<env>/<model>; a local --env-repo gets the
    branch pushed instead. Outcome: created | updated | unchanged | blocked (exit 1: the
    --auto-merge was refused by a branch protection rule; the PR stays open).
    """
    from bot.cli.session import session_opener
    from bot.cli.targets import parse_env_repo
    from bot.core.names import require_environment, require_model, require_version
    from bot.core.policy import load_policy
    from bot.core.rollback import RollbackOptions
    from bot.flows.rollback import rollback as run_rollback

    require_model(model)
    require_environment(environment)
    if to_version is not None:
        require_version(to_version, "--to")
    target = parse_env_repo(env_repo, github_api_url)
    policy = load_policy(policy_path) if policy_path is not None else None
    options = RollbackOptions(
        model=model,
        environment=environment,
        base=base,
        to_version=to_version,
        reason=reason,
        dry_run=dry_run,
        auto_merge=auto_merge,
    )
    opener = session_opener(target, base=base, token=github_token(), api_reads=False)
    result = run_rollback(options, opener, policy=policy)

    echo_proposal(
        result,
        show=result.local or result.dry_run,
        why="dry run" if result.dry_run else "local mode",
    )
    if result.from_version and result.to_version and result.method != "none":
        click.echo(f"rollback: {result.from_version} -> {result.to_version} ({result.method})")
    click.echo(f"branch: {result.branch}")
    pr = result.pull_request
    if pr is not None:
        click.echo(f"pull request: #{pr.number} {pr.url}" + (" (merged)" if result.merged else ""))
    if result.body:
        append_summary(summary_file, result.body)
    write_outputs(
        {
            "outcome": result.outcome,
            "pull-request-number": pr.number if pr else None,
            "pull-request-url": pr.url if pr else None,
        }
    )
    if result.outcome == "blocked":  # --auto-merge refused by a rule of the repository
        click.get_current_context().exit(EXIT_NO)
