"""`model-bot gate`: judge a candidate model by a promotion policy.

Exit 0 when every gate (and a required significance test) passes, 1 when not, 2 for bad
input. Heavy modules (pydantic models, mlflow) load inside the command, not at import.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.errors import EXIT_NO, InvalidInput, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from bot.evidence import Evidence
    from bot.policy import Policy

FORMATS = ("text", "json", "markdown")


def _evidence(
    results: Path | None,
    mlflow_model: str | None,
    mlflow_version: str | None,
    tracking_uri: str | None,
    champion_alias: str,
    timeout: float,
) -> Evidence:
    if (results is None) == (mlflow_model is None):
        raise UsageError(
            "give either --results FILE or --mlflow-model NAME (with --mlflow-version N), "
            "not both and not neither"
        )
    if results is not None:
        if mlflow_version is not None:
            raise UsageError("--mlflow-version goes with --mlflow-model, not --results")
        from bot.evidence import load_evidence

        return load_evidence(results)
    from bot.mlflow_source import evidence_from_mlflow

    assert mlflow_model is not None
    return evidence_from_mlflow(
        tracking_uri, mlflow_model, mlflow_version, champion_alias=champion_alias, timeout=timeout
    )


def _inputs(
    policy_path: Path,
    results: Path | None,
    mlflow_model: str | None,
    mlflow_version: str | None,
    tracking_uri: str | None,
    champion_alias: str,
    timeout: float,
) -> tuple[Policy, Evidence]:
    """The policy and the evidence. With a results file, the problems of both files are
    reported at once; MLflow is asked only once the policy is known to be valid."""
    from bot.policy import load_policy

    def evidence() -> Evidence:
        return _evidence(
            results, mlflow_model, mlflow_version, tracking_uri, champion_alias, timeout
        )

    if mlflow_model is not None:
        return load_policy(policy_path), evidence()
    errors: list[InvalidInput] = []
    try:
        policy = load_policy(policy_path)
    except InvalidInput as error:
        errors.append(error)
    try:
        loaded = evidence()
    except InvalidInput as error:
        errors.append(error)
    if errors:
        raise InvalidInput.merge(errors)
    return policy, loaded


@click.command("gate")
@click.option(
    "--results",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Gate results JSON written by the evaluation step (see `model-bot schema gate-results`).",
)
@click.option(
    "--mlflow-model",
    metavar="NAME|models:/NAME/N",
    help="Registered MLflow model (candidate); a models:/ URI may carry the version or @alias.",
)
@click.option("--mlflow-version", metavar="N", help="Candidate version of --mlflow-model.")
@click.option(
    "--tracking-uri",
    envvar="MLFLOW_TRACKING_URI",
    metavar="URI",
    help="MLflow tracking server. [default: $MLFLOW_TRACKING_URI]",
)
@click.option(
    "--champion-alias",
    default="champion",
    show_default=True,
    help="Registry alias of the version to compare against.",
)
@click.option(
    "--mlflow-timeout",
    type=click.FloatRange(1, 600),
    default=10.0,
    show_default=True,
    help="Give up on an unresponsive MLflow after about this many seconds.",
)
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
@click.option(
    "--summary-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append the markdown report here (e.g. $GITHUB_STEP_SUMMARY).",
)
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
    Exit 0 pass, 1 fail, 2 bad input. With $GITHUB_OUTPUT set, writes output
    decision=pass|fail.
    """
    from bot.gate import evaluate
    from bot.names import require_environment
    from bot.report import decision_json, decision_text, gate_report_markdown

    if environment is not None:
        require_environment(environment)
    policy, evidence = _inputs(
        policy_path,
        results,
        mlflow_model,
        mlflow_version,
        tracking_uri,
        champion_alias,
        mlflow_timeout,
    )
    decision = evaluate(policy, evidence, environment, policy_source=str(policy_path))

    if output_format == "json":
        click.echo(decision_json(decision), nl=False)
    elif output_format == "markdown":
        click.echo(gate_report_markdown(evidence, decision), nl=False)
    else:
        click.echo(decision_text(decision), nl=False)

    if summary_file is not None or os.environ.get("GITHUB_OUTPUT"):
        from bot.outputs import append_summary, write_github_outputs

        if summary_file is not None:
            append_summary(summary_file, gate_report_markdown(evidence, decision))
        github_output = os.environ.get("GITHUB_OUTPUT")
        if github_output:
            write_github_outputs(github_output, {"decision": decision.verdict})
    if not decision.passed:
        ctx.exit(EXIT_NO)
