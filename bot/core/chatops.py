"""ChatOps rules: the `issue_comment` event checked, which comments the bot answers, what a
promotion pull request is, and what `/rollback` asks for. Pure; the event is untrusted."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.core.commands import Command, parse_commands
from bot.core.errors import InvalidInput
from bot.core.marker import read_marker
from bot.core.names import is_dns_label, parse_bot_branch
from bot.core.pulls import PullRequestInfo
from bot.core.target import OWNER_NAME
from bot.core.untrusted import one_line, truncate

EVENT_FIELD = "--event-path"
REASON_LIMIT = 300  # characters of the reason passed on and echoed
BOT_LOGIN = "github-actions[bot]"
USAGE = "`/rollback <model> <environment> [reason]`"


@dataclass(frozen=True)
class CommentEvent:
    """What the bot needs of an `issue_comment` event."""

    action: str
    repository: str  # OWNER/NAME
    number: int
    is_pull_request: bool
    state: str  # open | closed
    comment_id: int
    body: str
    author: str
    author_type: str  # User | Bot | Organization | ...


LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?\Z")


def parse_event(data: object) -> CommentEvent:
    """Check that `data` is an `issue_comment` payload; every problem at once."""
    problems: list[str] = []

    def get(path: str, kind: type | tuple[type, ...], optional: bool = False) -> object:
        value: object = data
        for part in path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                if not optional:
                    problems.append(f"{path} is missing")
                return None
            value = value[part]
        if value is None and optional:
            return None
        if not isinstance(value, kind) or isinstance(value, bool):
            problems.append(f"{path} is not {_kind_name(kind)}")
            return None
        return value

    if not isinstance(data, Mapping):
        raise InvalidInput.one(EVENT_FIELD, "", "is not an issue_comment event (not a JSON object)")
    if "comment" not in data or "issue" not in data:
        raise InvalidInput.one(
            EVENT_FIELD,
            "",
            "is not an issue_comment event (no `comment` and `issue`): run chatops on "
            "`on: issue_comment`",
        )
    action = get("action", str)
    repository = get("repository.full_name", str)
    number = get("issue.number", int)
    state = get("issue.state", str, optional=True)
    pull = get("issue.pull_request", Mapping, optional=True)
    comment_id = get("comment.id", int)
    body = get("comment.body", str, optional=True)
    author = get("comment.user.login", str)
    author_type = get("comment.user.type", str, optional=True)
    if isinstance(repository, str) and not OWNER_NAME.match(repository):
        problems.append(f"repository.full_name {repository[:100]!r} is not OWNER/NAME")
    if problems:
        raise InvalidInput.one(EVENT_FIELD, "", "bad issue_comment event: " + "; ".join(problems))
    assert isinstance(action, str) and isinstance(repository, str)
    assert isinstance(number, int) and isinstance(comment_id, int) and isinstance(author, str)
    return CommentEvent(
        action=action,
        repository=repository,
        number=number,
        is_pull_request=pull is not None,
        state=state if isinstance(state, str) else "open",
        comment_id=comment_id,
        body=body if isinstance(body, str) else "",
        author=author,
        author_type=author_type if isinstance(author_type, str) else "User",
    )


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer"}
    if isinstance(kind, tuple):
        return " or ".join(names.get(k, "an object") for k in kind)
    return names.get(kind, "an object")


def load_event(text: str, source: str) -> CommentEvent:
    """Parse the event file's text (`source` names the file in errors)."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise InvalidInput.one(
            EVENT_FIELD, "", f"{source} is not JSON ({one_line(str(error))})"
        ) from None
    try:
        return parse_event(data)
    except InvalidInput as error:
        raise InvalidInput.one(EVENT_FIELD, "", f"{source}: {error.problems[0].message}") from None


# --- what to do with it -------------------------------------------------------------------------


@dataclass(frozen=True)
class Ignore:
    """The event is not for the bot; `reason` says why (printed, never posted)."""

    reason: str


def is_bot(login: str, user_type: str, bot_login: str) -> bool:
    return (
        user_type == "Bot"
        or login.lower().endswith("[bot]")
        or login.lower() == bot_login.strip().lower()
    )


def triage(event: CommentEvent, *, repository: str, bot_login: str) -> Command | Ignore:
    """The command to act on, or why the event is ignored. Needs no API call."""
    if event.action != "created":
        return Ignore(f"the comment was {event.action}, not created: only new comments count")
    if is_bot(event.author, event.author_type, bot_login):
        return Ignore(f"the comment is by a bot ({event.author})")
    if event.repository.lower() != repository.lower():
        return Ignore(
            f"the comment is in {event.repository}, not in the environment repository {repository}"
        )
    commands = parse_commands(event.body)
    if not commands:
        return Ignore("the comment holds no command (/rollback, /help) at the start of a line")
    return commands[0]  # one comment, one action: the first command wins


@dataclass(frozen=True)
class Promotion:
    """A promotion pull request, as read from its head branch and its hidden marker."""

    number: int
    model: str
    environment: str
    version: str | None
    previous_version: str | None
    merged: bool
    state: str
    base: str


def promotion_of(pull: PullRequestInfo) -> Promotion | Rejection | None:
    """The promotion `pull` is, None when it is none, a Rejection when its branch and its
    marker name different models or environments."""
    branch = parse_bot_branch(pull.head_ref)
    from_branch = (
        (branch.model, branch.environment) if branch and branch.kind == "promote" else None
    )
    marker = read_marker(pull.body)
    if marker is not None and (
        marker.action != "promote"
        or not is_dns_label(marker.model)
        or not is_dns_label(marker.environment)
    ):
        marker = None
    if from_branch is None and marker is None:
        return None
    if (
        marker is not None
        and from_branch is not None
        and (marker.model, marker.environment) != from_branch
    ):
        return Rejection(
            "this pull request's branch ({0}) and its model-bot marker name different models "
            "or environments: use " + USAGE,
            (pull.head_ref,),
        )
    model, environment = (
        (marker.model, marker.environment) if marker is not None else from_branch or ("", "")
    )
    return Promotion(
        number=pull.number,
        model=model,
        environment=environment,
        version=marker.version if marker else None,
        previous_version=marker.previous_version if marker else None,
        merged=pull.merged,
        state=pull.state,
        base=pull.base_ref,
    )


def closed_pull_ignore(pull: PullRequestInfo, *, is_promotion: bool) -> Ignore | None:
    """Comments on closed pull requests count only on merged promotion pull requests."""
    if pull.state != "closed":
        return None
    if not is_promotion:
        return Ignore(f"#{pull.number} is a closed pull request that promoted no model")
    if not pull.merged:
        return Ignore(f"#{pull.number} is a promotion pull request closed without merging")
    return None


@dataclass(frozen=True)
class RollbackRequest:
    """What `/rollback` asks for, checked: names are DNS labels, the reason is one capped line."""

    model: str
    environment: str
    reason: str
    to_version: str | None = None
    base: str | None = None
    promotion: int | None = None  # the promotion pull request it was made on


@dataclass(frozen=True)
class Rejection:
    """The command cannot be carried out as written. `message` is our markdown for the
    reply, with `{0}`, `{1}`... where the untrusted `values` go (as code spans)."""

    message: str
    values: tuple[str, ...] = ()


def rollback_request(command: Command, promotion: Promotion | None) -> RollbackRequest | Rejection:
    """`/rollback [reason]` on a promotion pull request rolls that promotion back (to the
    version it replaced, as its body promises); anywhere else the command names the model and
    environment. On a promotion pull request, a reason that starts with its own model and
    environment has them dropped (so the long form works there too)."""
    words = list(command.words)
    if promotion is not None:
        if promotion.state == "open" and not promotion.merged:
            return Rejection(
                f"#{promotion.number} is not merged yet, so it has not deployed anything to roll "
                "back: close it instead (or name what to roll back: " + USAGE + ")"
            )
        if words[:2] == [promotion.model, promotion.environment]:
            words = words[2:]
        return RollbackRequest(
            model=promotion.model,
            environment=promotion.environment,
            reason=_reason(words),
            to_version=promotion.previous_version,
            base=promotion.base,
            promotion=promotion.number,
        )
    if len(words) < 2:
        return Rejection(
            "`/rollback` needs the model and the environment here (this is not a promotion pull "
            "request): " + USAGE
        )
    model, environment = words[0], words[1]
    bad = [
        (value, what)
        for value, what in ((model, "model"), (environment, "environment"))
        if not is_dns_label(value)
    ]
    if bad:
        problems = [
            f"{{{index}}} is not a valid {what} name (lowercase letters, digits and '-')"
            for index, (_, what) in enumerate(bad)
        ]
        return Rejection("; ".join(problems) + ": " + USAGE, tuple(value for value, _ in bad))
    return RollbackRequest(model=model, environment=environment, reason=_reason(words[2:]))


def _reason(words: list[str]) -> str:
    return truncate(one_line(" ".join(words)), REASON_LIMIT)


__all__ = [
    "BOT_LOGIN",
    "LOGIN",
    "REASON_LIMIT",
    "USAGE",
    "CommentEvent",
    "Ignore",
    "Promotion",
    "Rejection",
    "RollbackRequest",
    "closed_pull_ignore",
    "is_bot",
    "load_event",
    "parse_event",
    "promotion_of",
    "rollback_request",
    "triage",
]
