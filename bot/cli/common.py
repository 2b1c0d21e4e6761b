"""Options and output helpers shared by the commands."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import click

from bot.core.errors import InvalidInput, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from bot.core.evidence import Evidence
    from bot.core.policy import Policy

F = TypeVar("F", bound=Callable[..., Any])


def evidence_options(command: F) -> F:
    """`--results FILE` or the MLflow options: where the candidate's evidence comes from."""
    options = [
        click.option(
            "--results",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Gate results JSON written by the evaluation step (see `model-bot schema gate-results`).",
        ),
        click.option(
            "--mlflow-model",
            metavar="NAME|models:/NAME/N",
            help="Registered MLflow model (candidate); a models:/ URI may carry the version or @alias.",
        ),
        click.option("--mlflow-version", metavar="N", help="Candidate version of --mlflow-model."),
        click.option(
            "--tracking-uri",
            envvar="MLFLOW_TRACKING_URI",
            metavar="URI",
            help="MLflow tracking server. [default: $MLFLOW_TRACKING_URI]",
        ),
        click.option(
            "--champion-alias",
            default="champion",
            show_default=True,
            help="Registry alias of the version to compare against.",
        ),
        click.option(
            "--mlflow-timeout",
            type=click.FloatRange(1, 600),
            default=10.0,
            show_default=True,
            help="Give up on an unresponsive MLflow after about this many seconds.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


github_api_url_option = click.option(
    "--github-api-url",
    envvar="GITHUB_API_URL",
    metavar="URL",
    help="GitHub API URL; GitHub Enterprise Server: https://HOST/api/v3. [default: $GITHUB_API_URL or api.github.com]",
)


def summary_file_option(what: str) -> Callable[[F], F]:
    """`--summary-file`: markdown appended for people, e.g. $GITHUB_STEP_SUMMARY."""
    return click.option(
        "--summary-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"Append {what} here (e.g. $GITHUB_STEP_SUMMARY).",
    )


def github_options(command: F) -> F:
    options = [
        click.option(
            "--env-repo",
            required=True,
            metavar="OWNER/NAME|URL|PATH",
            help="The environment repo: a GitHub repository, or a local path / file:// URL "
            "(local mode: no GitHub, the branch is pushed to that repo).",
        ),
        click.option(
            "--base",
            metavar="BRANCH",
            help="Base branch. [default: the repo's default branch; main for local repos]",
        ),
        github_api_url_option,
    ]
    for option in reversed(options):
        command = option(command)
    return command


def github_token() -> str | None:
    """The token, from the environment only: a flag would show in process lists."""
    return os.environ.get("GITHUB_TOKEN") or os.environ.get("MODEL_BOT_GITHUB_TOKEN") or None


def write_outputs(values: Mapping[str, str | int | None]) -> None:
    """Step outputs for GitHub Actions, when running as one."""
    path = os.environ.get("GITHUB_OUTPUT")
    if not path:
        return
    from bot.cli.outputs import write_github_outputs

    write_github_outputs(path, {k: "" if v is None else str(v) for k, v in values.items()})


def append_summary(summary_file: Path | None, markdown: str) -> None:
    if summary_file is None:
        return
    from bot.cli.outputs import append_summary as append

    append(summary_file, markdown)


def load_evidence_from_options(
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
        from bot.core.evidence import load_evidence

        return load_evidence(results)
    from bot.adapters.mlflow import evidence_from_mlflow

    assert mlflow_model is not None
    return evidence_from_mlflow(
        tracking_uri, mlflow_model, mlflow_version, champion_alias=champion_alias, timeout=timeout
    )


def load_policy_and_evidence(
    policy_path: Path,
    results: Path | None,
    mlflow_model: str | None,
    mlflow_version: str | None,
    tracking_uri: str | None,
    champion_alias: str,
    timeout: float,
) -> tuple[Policy, Evidence]:
    """The policy (which must have gates) and the evidence. With a results file, the
    problems of both files are reported at once; MLflow is asked only once the policy is
    known to be valid."""
    from bot.core.policy import load_policy

    def evidence() -> Evidence:
        return load_evidence_from_options(
            results, mlflow_model, mlflow_version, tracking_uri, champion_alias, timeout
        )

    if mlflow_model is not None:
        return load_policy(policy_path, require_gates=True), evidence()
    errors: list[InvalidInput] = []
    try:
        policy = load_policy(policy_path, require_gates=True)
    except InvalidInput as error:
        errors.append(error)
    try:
        loaded = evidence()
    except InvalidInput as error:
        errors.append(error)
    if errors:
        raise InvalidInput.merge(errors)
    return policy, loaded


def workspace_path(path: Path) -> str:
    """How reports name an input file: relative to the workspace (`$GITHUB_WORKSPACE`, else
    the current directory) when it lies inside it, else its file name alone, so that a PR
    body never shows the runner's layout (`/home/runner/work/x/x/policies/prod.yaml`)."""
    root = Path(os.environ.get("GITHUB_WORKSPACE") or os.getcwd())
    # As written (`..` folded, symlinks kept), else with symlinks resolved on both sides
    # (a workspace reached through a symlink, /tmp -> /private/tmp).
    shown = _relative(Path(os.path.abspath(path)), Path(os.path.abspath(root)))
    if shown is None:
        try:
            shown = _relative(path.resolve(), root.resolve())
        except (OSError, RuntimeError):  # a symlink loop
            shown = None
    return shown or path.name


def _relative(path: Path, root: Path) -> str | None:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None


class Proposal(Protocol):
    """What `PromoteResult` and `RollbackResult` share for printing."""

    @property
    def diff(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def body(self) -> str | None: ...
    @property
    def warnings(self) -> tuple[str, ...]: ...
    @property
    def outcome(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def dry_run(self) -> bool: ...


def echo_proposal(result: Proposal, *, show: bool, why: str) -> None:
    """What a promotion or rollback did: the diff and the PR it would open (when nothing
    was opened: local mode, dry run, --no-pr), warnings, and the outcome line."""
    show = show and result.outcome != "unchanged"
    if result.diff and show:
        click.echo("\n--- diff " + "-" * 60)
        click.echo(result.diff, nl=False)
    if result.body and show:
        click.echo(f"\n--- pull request ({why}: not opened) " + "-" * 40)
        click.echo(f"title: {result.title}\n")
        click.echo(result.body, nl=False)
        click.echo("-" * 70)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    suffix = " (dry run)" if result.dry_run else ""
    reason = f" ({result.reason})" if result.reason else ""
    click.echo(f"outcome: {result.outcome}{suffix}{reason}")


def parse_moment(text: str) -> datetime:
    """`--at`: unix seconds or an ISO 8601 / RFC 3339 time with a zone."""
    value = text.strip()
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput.one(
            "--at",
            "",
            f"expected unix seconds or a time with a zone (e.g. 2025-01-31T12:00:00Z), got {text!r}",
        )
    return moment


def read_event_file(path: Path, kind: str) -> str:
    """The event file's text, refused unread when it is larger than any GitHub event;
    `kind` names the event the command expects, for the fix."""
    from bot.core.errors import InvalidInput
    from bot.core.loading import MIB

    limit = 25 * MIB  # GitHub caps webhook payloads at 25 MB
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > limit:
                raise InvalidInput.one(
                    "--event-path",
                    "",
                    f"{path} is {size:,} bytes, over the 25 MiB a GitHub event can be (give the "
                    f"{kind} event payload)",
                )
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise InvalidInput.one("--event-path", "", f"{path} holds more than 25 MiB")
        return data.decode("utf-8")
    except FileNotFoundError:
        raise InvalidInput.one(
            "--event-path", "", f"{path} does not exist (give the {kind} event payload)"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise InvalidInput.one("--event-path", "", f"cannot read {path}: {reason}") from None


def event_path_option(kind: str) -> Callable[[F], F]:
    """`--event-path FILE` (default `$GITHUB_EVENT_PATH`): the JSON payload of a `kind`
    event, read with `read_event_file`."""
    return click.option(
        "--event-path",
        envvar="GITHUB_EVENT_PATH",
        required=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"The event payload (JSON) of {kind}. [default: $GITHUB_EVENT_PATH]",
    )
