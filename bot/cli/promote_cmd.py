"""`model-bot promote`: gate, render and propose a model version as a pull request."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.commit_mode import commit_mode_option
from bot.cli.common import (
    append_summary,
    echo_proposal,
    evidence_options,
    github_options,
    github_token,
    load_policy_and_evidence,
    summary_file_option,
    workspace_path,
    write_outputs,
)
from bot.core.errors import EXIT_NO

if TYPE_CHECKING:
    from bot.core.evidence import Champion, Evidence


@click.command("promote")
@evidence_options
@click.option(
    "--policy",
    "policy_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Promotion policy YAML.",
)
@click.option("--environment", required=True, help="Environment to promote into (e.g. production).")
@github_options
@commit_mode_option
@click.option("--image", metavar="REPO", help="Image repository when the evidence names none.")
@click.option(
    "--dry-run", is_flag=True, help="Print the diff and PR body; change nothing anywhere."
)
@click.option("--no-pr", is_flag=True, help="Push the branch but open no pull request.")
@click.option(
    "--notify", metavar="OWNER/REPO#N", help="On a failed gate, comment the decision there."
)
@click.option(
    "--lift-hold",
    metavar="REASON",
    help="Promote a version that was rolled back in this environment again; the reason is "
    "recorded in the commit's Hold-Lifted trailer and the PR body.",
)
@click.option(
    "--drift-issue",
    type=click.IntRange(1),
    envvar="MODEL_BOT_DRIFT_ISSUE",
    metavar="N",
    help="The drift issue (of `model-bot monitor`) this retrained version answers: recorded "
    "in the Drift-Issue trailer and the PR body; merging the promotion closes it. "
    "[default: $MODEL_BOT_DRIFT_ISSUE]",
)
@click.option(
    "--reopen",
    is_flag=True,
    help="Propose again a version whose promotion PR was closed without merging.",
)
@click.option(
    "--skip-ladder",
    metavar="REASON",
    help="Promote a version that did not soak in the environment this one requires "
    "(`requires` in .model-bot.yaml); recorded in the Ladder-Skipped trailer and the PR body.",
)
@summary_file_option("the report")
@click.pass_context
def promote(
    ctx: click.Context,
    results: Path | None,
    mlflow_model: str | None,
    mlflow_version: str | None,
    tracking_uri: str | None,
    champion_alias: str,
    mlflow_timeout: float,
    policy_path: Path,
    environment: str,
    env_repo: str,
    base: str | None,
    github_api_url: str | None,
    image: str | None,
    dry_run: bool,
    no_pr: bool,
    notify: str | None,
    lift_hold: str | None,
    drift_issue: int | None,
    reopen: bool,
    skip_ladder: str | None,
    summary_file: Path | None,
) -> None:
    """Gate a candidate and open (or update) the pull request that promotes it.

    The PR bumps the model in ENVIRONMENT's folder of the env repo, carries the evaluation
    report in its body and commits it at reports/<environment>/<model>/<version>.md. A failed gate opens
    nothing and exits 1, as does a version rolled back in ENVIRONMENT (held: --lift-hold) or
    whose promotion PR was closed without merging (--reopen). Outcome: created | updated |
    unchanged | blocked. A candidate read from MLflow is tagged with the gate's answer (not
    in a dry run; best effort: a failure is a warning).
    """
    from bot.cli.session import forge_opener, session_opener
    from bot.cli.targets import parse_env_repo, parse_notify_target
    from bot.core.names import require_environment
    from bot.flows.promote import PromoteOptions
    from bot.flows.promote import promote as run_promote
    from bot.text.report import decision_text, gate_report_markdown

    require_environment(environment)
    target = parse_env_repo(env_repo, github_api_url)
    policy, evidence = load_policy_and_evidence(
        policy_path,
        results,
        mlflow_model,
        mlflow_version,
        tracking_uri,
        champion_alias,
        mlflow_timeout,
    )
    token = github_token()
    notify_target = parse_notify_target(notify, token) if notify else None
    options = PromoteOptions(
        environment=environment,
        dry_run=dry_run,
        no_pr=no_pr,
        image=image,
        policy_source=workspace_path(policy_path),
        local=target.is_local,
        env_repo=None if target.is_local else target.repo,
        notify=notify_target,
        lift_hold=None if lift_hold is None else _reason(lift_hold, "--lift-hold"),
        reopen=reopen,
        skip_ladder=None if skip_ladder is None else _reason(skip_ladder, "--skip-ladder"),
        drift_issue=drift_issue,
    )
    result = run_promote(
        evidence,
        policy,
        options,
        session_opener(target, base=base, token=token),
        forge_for=forge_opener(token, github_api_url or target.api_url),
        champions=None
        if mlflow_model is None
        else _Registry(tracking_uri, evidence, mlflow_timeout),
    )

    click.echo(decision_text(result.decision), nl=False)
    if mlflow_model is not None and not dry_run:
        from bot.cli.registry_cmd import tag_gate_decision

        warning = tag_gate_decision(tracking_uri, evidence, result.decision, mlflow_timeout)
        if warning is not None:
            click.echo(f"warning: {warning}", err=True)
    if result.outcome == "blocked":
        if not result.decision.passed:
            append_summary(summary_file, gate_report_markdown(evidence, result.decision))
        write_outputs({"decision": result.decision.verdict, "outcome": "blocked"})
        click.echo(f"outcome: blocked ({result.reason})")
        if result.notified:
            click.echo(f"notified: {result.notified}")
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        ctx.exit(EXIT_NO)

    pr = result.pull_request
    echo_proposal(
        result,
        show=result.local or result.dry_run or no_pr,
        why="dry run" if result.dry_run else "local mode" if result.local else "--no-pr",
    )
    if result.branch:
        click.echo(f"branch: {result.branch}")
    if result.merged:
        click.echo(f"merged: {result.merged} (auto_merge, local mode)")
    if pr is not None:
        click.echo(f"pull request: #{pr.number} {pr.url}")
    if result.report_path:
        click.echo(f"report: {result.report_path}")
    if result.body:
        append_summary(summary_file, result.body)
    write_outputs(
        {
            "decision": "pass",
            "outcome": result.outcome,
            "pull-request-number": pr.number if pr else None,
            "pull-request-url": pr.url if pr else None,
            "report-path": result.report_path,
        }
    )


def _reason(text: str, flag: str) -> str:
    """`--lift-hold REASON`, `--skip-ladder REASON`: one printable line written on purpose."""
    from bot.core.errors import InvalidInput
    from bot.core.trailers import trailer_value

    reason = trailer_value(text)
    if not reason:
        raise InvalidInput.one(flag, "", "give the reason (one line)")
    return reason


class _Registry:
    """The `ChampionSource` of an MLflow candidate: a version of the same registered model."""

    def __init__(self, tracking_uri: str | None, evidence: Evidence, timeout: float) -> None:
        self._uri, self._model, self._timeout = tracking_uri, evidence.model.name, timeout

    def champion(self, version: str) -> Champion:
        from bot.adapters.mlflow import champion_from_mlflow

        return champion_from_mlflow(self._uri, self._model, version, self._timeout)
