"""`model-bot chatops`: answer `/rollback` and `/help` comments of an `issue_comment` event."""

from __future__ import annotations

import os
from pathlib import Path

import click

from bot.cli.commit_mode import commit_mode_option
from bot.cli.common import (
    event_path_option,
    github_api_url_option,
    github_token,
    read_event_file,
    write_outputs,
)
from bot.core.permissions import REQUIRED_ROLES

_LEVELS = REQUIRED_ROLES


@click.command("chatops")
@event_path_option("an issue_comment event")
@click.option(
    "--env-repo",
    metavar="OWNER/NAME",
    help="The environment repo. [default: the event's repository]",
)
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Promotion policy YAML, passed on to the rollback.",
)
@github_api_url_option
@commit_mode_option
@click.option(
    "--bot-login",
    envvar="MODEL_BOT_LOGIN",
    default="github-actions[bot]",
    show_default=True,
    help="The bot's own login, whose comments are ignored. [env: MODEL_BOT_LOGIN]",
)
@click.option(
    "--min-permission",
    type=click.Choice(_LEVELS, case_sensitive=False),
    help="Least repository permission a commenter needs for /rollback. "
    "[default: chatops.permission in .model-bot.yaml, else write]",
)
@click.pass_context
def chatops(
    ctx: click.Context,
    event_path: Path,
    env_repo: str | None,
    policy_path: Path | None,
    github_api_url: str | None,
    bot_login: str,
    min_permission: str | None,
) -> None:
    """Handle one issue_comment event: `/rollback [reason]` on a merged promotion pull
    request, `/rollback <model> <environment> [reason]` anywhere in the environment repo,
    `/help`.

    Commands count at the start of a line, outside quotes and code. Edited or deleted
    comments, bots, comments on other repositories and on closed pull requests (other than
    merged promotion pull requests) are ignored: exit 0, nothing written. The commenter needs
    at least --min-permission on the repository (read through the REST API); a refusal is
    answered with a reply and a 😕 reaction and exits 0. A failed rollback is answered the same
    way and exits with its error's code.
    """
    from bot.cli.session import github_forge, session_opener
    from bot.cli.targets import parse_env_repo
    from bot.core.chatops import load_event
    from bot.core.errors import InvalidInput
    from bot.core.policy import Policy
    from bot.core.rollback import RollbackOptions, RollbackResult
    from bot.core.target import EnvRepoTarget, api_url_for_host
    from bot.flows.chatops import ChatOpsOptions, handle_event
    from bot.flows.rollback import rollback
    from bot.ports import Forge

    event = load_event(read_event_file(event_path, "issue_comment"), str(event_path))
    if env_repo:
        target = parse_env_repo(env_repo, github_api_url)
        if target.is_local:
            raise InvalidInput.one(
                "--env-repo", "", "chatops needs a GitHub repository (OWNER/NAME), not a local path"
            )
    else:
        target = EnvRepoTarget(
            "github", event.repository, github_api_url or api_url_for_host("github.com")
        )
    if os.environ.get("GITHUB_EVENT_NAME", "issue_comment") != "issue_comment":
        raise InvalidInput.one(
            "--event-path",
            "",
            f"this run's event is {os.environ['GITHUB_EVENT_NAME']!r}: chatops handles "
            "issue_comment events",
        )
    policy = None
    if policy_path is not None:
        from bot.core.policy import load_policy

        policy = load_policy(policy_path)
    token = github_token()
    options = ChatOpsOptions(
        repository=target.repo,
        secrets=(token,) if token else (),
        bot_login=bot_login,
        min_permission=min_permission.lower() if min_permission else None,
    )

    def open_forge() -> Forge:
        if not token:
            raise InvalidInput.one(
                "GITHUB_TOKEN", "", "not set: chatops needs a token to read, react and reply"
            )
        return github_forge(target.repo, token, target.api_url)

    def run_rollback(request: RollbackOptions, policy: Policy | None) -> RollbackResult:
        opener = session_opener(target, base=request.base, token=token, api_reads=False)
        return rollback(request, opener, policy=policy)

    outcome = handle_event(
        event, options, open_forge=open_forge, run_rollback=run_rollback, policy=policy
    )

    if outcome.error is None:  # a failure is printed once, as the error line below
        click.echo(f"chatops: {outcome.status}: {outcome.message}")
    result = outcome.result
    if result is not None:
        pr = result.pull_request
        click.echo(f"outcome: {result.outcome}" + (f" ({result.reason})" if result.reason else ""))
        if result.branch:
            click.echo(f"branch: {result.branch}")
        if pr is not None:
            click.echo(f"pull request: #{pr.number} {pr.url}")
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        write_outputs(
            {
                "outcome": result.outcome,
                "pull-request-number": pr.number if pr else None,
                "pull-request-url": pr.url if pr else None,
            }
        )
    if outcome.error is not None:
        raise outcome.error
    ctx.exit(0)
