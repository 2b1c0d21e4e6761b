"""ChatOps replies: markdown for the comment thread. Pure; everything from the comment or
from an error is escaped, and secrets are redacted."""

from __future__ import annotations

from bot.core.chatops import LOGIN, Rejection, RollbackRequest
from bot.core.rollback import RollbackResult
from bot.core.untrusted import one_line, truncate
from bot.text.markdown import code, escape
from bot.text.redact import redact

ERROR_LIMIT = 300  # characters of an error message echoed in a reply


def help_reply() -> str:
    return "\n".join(
        [
            "model-bot commands (at the start of a line of a new comment):",
            "",
            "| command | what it does |",
            "|---|---|",
            "| `/rollback [reason]` | on a merged promotion pull request: open a pull request "
            "that rolls that promotion back to the version it replaced |",
            "| `/rollback <model> <environment> [reason]` | anywhere in this repository: open a "
            "pull request that rolls the model back in that environment |",
            "| `/help` | show this list |",
            "",
            "The reason goes into the rollback pull request. Rolling back needs write access "
            "to this repository (or the level the workflow sets); the rollback pull request "
            "still needs a review and a merge before anything changes.",
        ]
    )


def _mention(login: str) -> str:
    return f"@{login}" if LOGIN.match(login) else code(login, in_table=False)


def refusal_reply(login: str, need: str, have: str) -> str:
    return (
        f"Sorry {_mention(login)}, `/rollback` needs **{escape(need)}** permission on this "
        f"repository and yours is **{escape(have or 'none')}**. Please ask someone with "
        f"{escape(need)} access to comment it."
    )


def rejection_reply(login: str, rejection: Rejection) -> str:
    message = rejection.message.format(*(code(v, in_table=False) for v in rejection.values))
    return f"{_mention(login)}, I did not roll anything back: {message.rstrip('.')}."


def unknown_target_reply(login: str, message: str, secrets: tuple[str, ...] = ()) -> str:
    """The command named something that does not exist (an unknown environment, version)."""
    line = escape(error_line(message, secrets))
    return f"{_mention(login)}, I did not roll anything back: {line.rstrip('.')}."


def error_reply(login: str, message: str, secrets: tuple[str, ...] = ()) -> str:
    return (
        f"{_mention(login)}, the rollback failed: {escape(error_line(message, secrets))}\n\n"
        "The workflow run's log has the details."
    )


def error_line(message: str, secrets: tuple[str, ...] = ()) -> str:
    """An error message as one capped line with every secret blanked out."""
    return truncate(one_line(redact(str(message), secrets)), ERROR_LIMIT)


def _version(value: str | None) -> str:
    return code(value, in_table=False) if value else "the previous version"


def result_reply(login: str, request: RollbackRequest, result: RollbackResult) -> str:
    what = f"**{request.model}** in **{request.environment}**"
    if result.from_version or result.to_version:
        what += f" from {_version(result.from_version)} to {_version(result.to_version)}"
    pull = result.pull_request
    if pull is not None and result.outcome == "created":
        head = f"{_mention(login)}, opened [#{pull.number}]({pull.url}) to roll back {what}."
    elif pull is not None and result.outcome == "blocked":
        head = (
            f"{_mention(login)}, [#{pull.number}]({pull.url}) rolls back {what}, but it was not "
            f"merged: {escape(error_line(result.reason))}."
        )
    elif pull is not None and result.outcome == "updated":
        head = f"{_mention(login)}, updated [#{pull.number}]({pull.url}), which rolls back {what}."
    elif pull is not None:
        head = f"{_mention(login)}, [#{pull.number}]({pull.url}) already rolls back {what}."
    else:
        why = escape(error_line(result.reason)) if result.reason else "it already runs that version"
        head = f"{_mention(login)}, nothing to roll back for {what}: {why}."
    lines = [head]
    if pull is not None and result.merged:
        lines.append("It was merged.")
    if request.reason:
        lines += ["", f"Reason: {escape(request.reason)}"]
    if result.warnings:
        lines += ["", *(f"- warning: {escape(error_line(w))}" for w in result.warnings)]
    return "\n".join(lines)


__all__ = [
    "error_line",
    "error_reply",
    "help_reply",
    "refusal_reply",
    "rejection_reply",
    "result_reply",
    "unknown_target_reply",
]
