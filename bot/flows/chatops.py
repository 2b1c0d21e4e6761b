"""ChatOps: answer `/rollback` and `/help` in the comments of an `issue_comment` event.

The rules are pure (`bot.core.commands` finds the commands, `bot.core.chatops` triages the
event and reads the request) and the replies are text (`bot.text.chatops`); this flow reads
the pull request and the commenter's permission through the forge, reacts and replies, and
runs the rollback the CLI hands in. The comment body is data: it is never evaluated and
never reaches a shell.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from bot.core.chatops import (
    BOT_LOGIN,
    CommentEvent,
    Ignore,
    Promotion,
    Rejection,
    RollbackRequest,
    closed_pull_ignore,
    promotion_of,
    rollback_request,
    triage,
)
from bot.core.commands import Command
from bot.core.config import CONFIG_FILE, config_from_bytes
from bot.core.errors import BotError, UsageError
from bot.core.permissions import permission_allows
from bot.core.policy import Policy
from bot.core.rollback import RollbackOptions, RollbackResult
from bot.ports import Forge
from bot.text.chatops import (
    error_line,
    error_reply,
    help_reply,
    refusal_reply,
    rejection_reply,
    result_reply,
    unknown_target_reply,
)

Status = Literal["ignored", "help", "refused", "rejected", "done", "failed"]
Reaction = Literal["eyes", "rocket", "confused"]
RollbackRunner = Callable[[RollbackOptions, "Policy | None"], RollbackResult]


@dataclass(frozen=True)
class ChatOpsOptions:
    repository: str  # OWNER/NAME: the repository whose comments are handled
    secrets: tuple[str, ...] = field(default=(), repr=False)  # never echoed in a reply
    bot_login: str = BOT_LOGIN
    min_permission: str | None = None  # None: `chatops.permission` of .model-bot.yaml


@dataclass(frozen=True)
class ChatOpsOutcome:
    status: Status
    message: str  # one line for the log
    command: Command | None = None
    reply: str | None = None
    request: RollbackRequest | None = None
    result: RollbackResult | None = None
    error: BotError | None = None  # set when status is failed: the CLI exits with it


def handle_event(
    event: CommentEvent,
    options: ChatOpsOptions,
    *,
    open_forge: Callable[[], Forge],
    run_rollback: RollbackRunner,
    policy: Policy | None = None,
) -> ChatOpsOutcome:
    """Answer one comment: ignore it (no API writes, no forge opened), or react 👀, check,
    act, reply and react 🚀 (done) or 😕 (refused, rejected, failed)."""
    first = triage(event, repository=options.repository, bot_login=options.bot_login)
    if isinstance(first, Ignore):
        return ChatOpsOutcome("ignored", first.reason)
    command = first
    forge = open_forge()
    secrets = options.secrets
    session = _Replies(forge, event)
    try:
        promotion: Promotion | None = None
        mismatch: Rejection | None = None
        if event.is_pull_request and (event.state == "closed" or command.name == "rollback"):
            pull = forge.get_pull(event.number)
            found = promotion_of(pull)
            promotion = found if isinstance(found, Promotion) else None
            mismatch = found if isinstance(found, Rejection) else None
            ignore = closed_pull_ignore(pull, is_promotion=found is not None)
            if ignore is not None:
                return ChatOpsOutcome("ignored", ignore.reason, command)
        session.best_effort_react("eyes")  # a reaction is a courtesy: never a reason to stop
        if command.name == "help":
            return session.finish("help", command, help_reply(), "replied with the command list")
        need = options.min_permission or configured_permission(forge)
        have = forge.permission(event.author)
        if not permission_allows(have, need):
            reply = refusal_reply(event.author, need, have)
            return session.finish(
                "refused",
                command,
                reply,
                f"{event.author} has {have or 'no'} permission; /rollback needs {need}",
            )
        request = mismatch or rollback_request(command, promotion)
        if isinstance(request, Rejection):
            return session.finish("rejected", command, rejection_reply(event.author, request))
        result = run_rollback(_rollback_options(request, event, forge), policy)
        return session.finish(
            "done",
            command,
            result_reply(event.author, request, result),
            f"{result.outcome}: {request.model} in {request.environment}",
            request=request,
            result=result,
        )
    except UsageError as error:  # the command asked for something that does not exist
        reply = unknown_target_reply(event.author, str(error), secrets)
        return session.finish("rejected", command, reply, error_line(str(error), secrets))
    except BotError as error:
        reply = error_reply(event.author, str(error), secrets)
        return session.finish(
            "failed", command, reply, error_line(str(error), secrets), error=error
        )
    except Exception:
        session.best_effort(error_reply(event.author, "internal error (see the workflow log)"))
        raise


def configured_permission(forge: Forge) -> str:
    """`chatops.permission` of the env repo's `.model-bot.yaml` (default branch), or `write`.

    One contents-API read, no clone: the permission check comes before any real work.
    """
    return config_from_bytes(forge.read_file(CONFIG_FILE)).chatops.permission


def _rollback_options(
    request: RollbackRequest, event: CommentEvent, forge: Forge
) -> RollbackOptions:
    comment_url = f"{forge.web_root}/issues/{event.number}#issuecomment-{event.comment_id}"
    return RollbackOptions(
        model=request.model,
        environment=request.environment,
        base=request.base,
        to_version=request.to_version,
        reason=request.reason,
        evidence_markdown=(
            f"Requested with `/rollback` in [a comment on #{event.number}]({comment_url})."
        ),
        requested_by=event.author,
    )


class _Replies:
    """Reactions and the reply on the triggering comment."""

    def __init__(self, forge: Forge, event: CommentEvent) -> None:
        self.forge = forge
        self.event = event
        self.reacted: set[str] = set()
        self.replied = False

    def react(self, content: Reaction) -> None:
        if content not in self.reacted:
            self.forge.react(self.event.comment_id, content)
            self.reacted.add(content)

    def finish(
        self,
        status: Status,
        command: Command,
        reply: str,
        message: str | None = None,
        *,
        request: RollbackRequest | None = None,
        result: RollbackResult | None = None,
        error: BotError | None = None,
    ) -> ChatOpsOutcome:
        if "eyes" not in self.reacted:
            self.best_effort_react("eyes")
        if error is None:
            self.forge.comment(self.event.number, reply)
            self.replied = True
            self.best_effort_react("rocket" if status in ("done", "help") else "confused")
        else:
            self.best_effort(reply)
        return ChatOpsOutcome(
            status,
            message or status,
            command=command,
            reply=reply,
            request=request,
            result=result,
            error=error,
        )

    def best_effort_react(self, content: Reaction) -> None:
        with contextlib.suppress(BotError):
            self.react(content)

    def best_effort(self, reply: str) -> None:
        """After a failure: say so on the comment if GitHub still answers."""
        try:
            if not self.replied:
                self.forge.comment(self.event.number, reply)
                self.replied = True
        except BotError:
            pass
        self.best_effort_react("confused")


__all__ = ["ChatOpsOptions", "ChatOpsOutcome", "configured_permission", "handle_event"]
