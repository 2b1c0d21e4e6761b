"""`model-bot gate`: judge a candidate model by a promotion policy.

Exit 0 when every gate (and a required significance test) passes, 1 when not, 2 for bad
input. Heavy modules (pydantic models, mlflow) load inside the command, not at import.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from bot.cli.common import (
    evidence_options,
    load_policy_and_evidence,
    summary_file_option,
    workspace_path,
)
from bot.core.errors import EXIT_NO

FORMATS = ("text", "json", "markdown")


@click.command("gate")
@evidence_options
@click.option(
    "--policy",
    "policy_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Promotion policy YAML (see `model-bot schema policy`).",
)
@click.option(
    "--environment", help="Apply the policy's `environments.<name>` override, if it has one."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="How to print the decision.",
)
@summary_file_option("the markdown report")
@click.pass_context
def gate(
    ctx: click.Context,
    results: Path | None,
    mlflow_model: str | None,
    mlflow_version: str | None,
    tracking_uri: str | None,
    champion_alias: str,
    mlflow_timeout: float,
    policy_path: Path,
    environment: str | None,
    output_format: str,
    summary_file: Path | None,
) -> None:
    """Decide whether a candidate model may be promoted.

    Reads the candidate and its champion from a gate results file or the MLflow registry,
    judges them by the policy's gates (and significance test) and prints one row per gate.
    A candidate read from MLflow is tagged with the answer (`model_bot.gate`,
    `ready_for_deployment`, `model_bot.gate.summary`; best effort: a failure is a warning).
    Exit 0 pass, 1 fail, 2 bad input. With $GITHUB_OUTPUT set, writes output
    decision=pass|fail.
    """
    from bot.core.gate import evaluate
    from bot.core.names import require_environment
    from bot.text.report import decision_json, decision_text, gate_report_markdown

    if environment is not None:
        require_environment(environment)
    policy, evidence = load_policy_and_evidence(
        policy_path,
        results,
        mlflow_model,
        mlflow_version,
        tracking_uri,
        champion_alias,
        mlflow_timeout,
    )
    decision = evaluate(policy, evidence, environment, policy_source=workspace_path(policy_path))

    if output_format == "json":
        click.echo(decision_json(decision), nl=False)
    elif output_format == "markdown":
        click.echo(gate_report_markdown(evidence, decision), nl=False)
    else:
        click.echo(decision_text(decision), nl=False)

    if summary_file is not None or os.environ.get("GITHUB_OUTPUT"):
        from bot.cli.outputs import append_summary, write_github_outputs

        if summary_file is not None:
            append_summary(summary_file, gate_report_markdown(evidence, decision))
        github_output = os.environ.get("GITHUB_OUTPUT")
        if github_output:
            write_github_outputs(github_output, {"decision": decision.verdict})
    if mlflow_model is not None:
        from bot.cli.registry_cmd import tag_gate_decision

        warning = tag_gate_decision(tracking_uri, evidence, decision, mlflow_timeout)
        if warning is not None:
            click.echo(f"warning: {warning}", err=True)
    if not decision.passed:
        ctx.exit(EXIT_NO)
