"""ChatOps: `/rollback` and `/help` in the comments of an `issue_comment` event.

Pure parts (no I/O): `parse_event` checks the payload's shape, `parse_commands` finds the
commands in a comment body the way a reader of the rendered markdown would, `triage` drops
events the bot must not answer, `rollback_request` turns a command and the pull request it
was made on into what to roll back, and the `*_reply` functions write the answers.

`handle_event` is the thin orchestration around them: it reads the pull request and the
commenter's permission through `Forge`, reacts and replies, and calls `bot.flows.rollback`.

The comment body is data. It is never evaluated, never reaches a shell, and every piece of it
that is echoed back (the reason, an error message) goes through `bot.text.report.escape`.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from bot.adapters.github import Forge, ForgeSettings, PullRequestInfo
from bot.core.errors import BotError, InvalidInput, UsageError
from bot.core.names import check_dns_label
from bot.text.proposal import read_marker
from bot.text.report import code, escape

if TYPE_CHECKING:
    from bot.core.policy import Policy
    from bot.core.target import EnvRepoTarget
    from bot.flows.rollback import RollbackResult

EVENT_FIELD = "--event-path"
COMMANDS = ("rollback", "help")
ARGUMENT_LIMIT = 1000  # characters of a command's argument text kept at all
REASON_LIMIT = 300  # characters of the reason passed on and echoed
ERROR_LIMIT = 300  # characters of an error message echoed in a reply
BOT_LOGIN = "github-actions[bot]"
PERMISSIONS = ("none", "read", "triage", "write", "maintain", "admin")

CommandName = Literal["rollback", "help"]
Reaction = Literal["eyes", "rocket", "confused"]


# --- the comment body ------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One command line: its name, the rest of the line (one line of printable text, capped)
    and its 1-based line number in the comment."""

    name: CommandName
    argument: str = ""
    line: int = 1

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.argument.split())


_COMMAND = re.compile(r"/(rollback|help)(?=\s|$)(.*)", re.DOTALL)
_FENCE = re.compile(r"(`{3,}|~{3,})(.*)")
_LIST_MARKER = re.compile(r"(?:[-+*]|\d{1,9}[.)])(?: {1,4}|\t|$)")
_HTML_BLOCK = re.compile(r"<(pre|script|style|textarea)(?:[\s>]|$)", re.IGNORECASE)
_BACKTICKS = re.compile(r"`+")
_INLINE_CODE = re.compile(r"<code\b[^>]*>.*?</code\s*>", re.IGNORECASE | re.DOTALL)
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def _indent(line: str) -> tuple[int, str]:
    """Columns of leading whitespace (a tab reaches the next multiple of 4) and the rest."""
    column = 0
    for index, char in enumerate(line):
        if char == " ":
            column += 1
        elif char == "\t":
            column += 4 - column % 4
        else:
            return column, line[index:]
    return column, ""


def clean_text(text: str) -> str:
    """One line of printable text: control characters, line breaks and bidirectional
    overrides become spaces, lone surrogates U+FFFD, runs of whitespace one space."""
    out = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cs":
            out.append("\ufffd")
        elif category in ("Cc", "Zl", "Zp") or _BIDI.match(char):
            out.append(" ")
        else:
            out.append(char)
    return " ".join("".join(out).split())


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass
class _Fence:
    char: str
    length: int
    indent: int  # column of the opening fence: a closing fence may sit up to 3 further in

    def closes(self, line: str) -> bool:
        column, rest = _indent(line)
        if column > self.indent + 3:
            return False
        run = len(rest) - len(rest.lstrip(self.char))
        return run >= self.length and not rest[run:].strip()


def _open_fence(rest: str, column: int) -> _Fence | None:
    match = _FENCE.match(rest)
    if match is None:
        return None
    marks, info = match.groups()
    if marks[0] == "`" and "`" in info:
        return None  # ``` with a backtick in its info string is inline code, not a fence
    return _Fence(marks[0], len(marks), column)


def _hidden_ranges(text: str) -> list[tuple[int, int]]:
    """Merged, sorted [start, end) ranges of a paragraph that render as code or not at all:
    code spans, `<code>` elements and HTML comments. Where these overlap in ways CommonMark
    resolves differently, the range only grows: in doubt, a line is not a command."""
    spans = _code_spans(text)
    found = sorted(spans + _other_hidden(text))
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _code_spans(text: str) -> list[tuple[int, int]]:
    """Code span contents: a backtick run opens a span closed by the next run of the same
    length (CommonMark); a backslash before a run makes its first backtick literal."""
    runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(text)]
    starts: dict[int, list[int]] = {}
    ends: dict[int, int] = {}
    for start, end in runs:
        starts.setdefault(end - start, []).append(start)
        ends[start] = end
    spans: list[tuple[int, int]] = []
    position = 0
    for start, end in runs:
        if start < position:
            continue
        opener = start + 1 if _escaped(text, start) else start
        same = starts.get(end - opener, [])
        index = bisect.bisect_left(same, end)
        if end > opener and index < len(same):
            spans.append((end, same[index]))
            position = ends[same[index]]
    return spans


def _escaped(text: str, at: int) -> bool:
    count = 0
    while at - count - 1 >= 0 and text[at - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _other_hidden(text: str) -> list[tuple[int, int]]:
    found = [(m.start(), m.end()) for m in _INLINE_CODE.finditer(text)]
    start = text.find("<!--")
    while start >= 0:
        end = text.find("-->", start + 4)
        if end < 0:
            break
        found.append((start, end + 3))
        start = text.find("<!--", end + 3)
    return found


def _inside(ranges: list[tuple[int, int]], offset: int) -> bool:
    """`offset` lies in one of the merged, sorted `ranges`."""
    index = bisect.bisect_right(ranges, (offset, 1 << 62)) - 1
    return index >= 0 and ranges[index][0] <= offset < ranges[index][1]


@dataclass
class _Paragraph:
    lines: list[str] = field(default_factory=list)
    # (line number, offset in the joined text, text after the indentation) of command candidates
    candidates: list[tuple[int, int, str]] = field(default_factory=list)
    length: int = 0

    def add(self, number: int, line: str, candidate: str | None) -> None:
        offset = self.length + (1 if self.lines else 0)
        if candidate is not None:
            self.candidates.append((number, offset, candidate))
        self.lines.append(line)
        self.length = offset + len(line)

    def commands(self) -> list[Command]:
        if not self.candidates:
            return []
        hidden = _hidden_ranges("\n".join(self.lines))
        found = []
        for number, offset, text in self.candidates:
            if _inside(hidden, offset):
                continue
            match = _COMMAND.match(text)
            if match is not None:
                name: CommandName = "rollback" if match.group(1) == "rollback" else "help"
                argument = _cap(clean_text(match.group(2)[: ARGUMENT_LIMIT * 4]), ARGUMENT_LIMIT)
                found.append(Command(name, argument, number))
        return found


def parse_commands(body: str) -> list[Command]:
    """The commands of a comment, in order. A command is `/rollback` or `/help` at the start
    of a line (after at most three spaces), followed by whitespace or the end of the line,
    and not inside a block quote (or its lazy continuation lines), a fenced code block
    (``` or ~~~, any length, also as a list item), an indented code block, a code span, a
    `<pre>`/`<code>` element or an HTML comment. Case-sensitive. Never raises."""
    text = str(body).replace("\r\n", "\n").replace("\r", "\n")
    commands: list[Command] = []
    paragraph = _Paragraph()
    fence: _Fence | None = None
    html_end: str | None = None  # the end marker of an open HTML block
    quoted = False

    def flush() -> None:
        nonlocal paragraph
        commands.extend(paragraph.commands())
        paragraph = _Paragraph()

    for number, line in enumerate(text.split("\n"), start=1):
        if fence is not None:
            if fence.closes(line):
                fence = None
            continue
        if html_end is not None:
            if html_end in line.lower():
                html_end = None
            continue
        column, rest = _indent(line)
        if not rest:
            flush()
            quoted = False
            continue
        if column < 4:
            inner, inner_column = rest, column
            marker = _LIST_MARKER.match(rest)
            if marker is not None:
                inner_column, inner = _indent(rest[marker.end() :])
                inner_column += column + marker.end()
            opened = _open_fence(inner, inner_column)
            if opened is not None:
                flush()
                fence, quoted = opened, False
                continue
            if inner.startswith(">"):
                flush()
                quoted = True
                continue
            if quoted:
                continue  # a lazy continuation line belongs to the quote above
            if rest.startswith("<!--"):
                flush()
                if "-->" not in rest[4:]:
                    html_end = "-->"
                continue
            block = _HTML_BLOCK.match(rest)
            if block is not None:
                flush()
                closing = f"</{block.group(1).lower()}>"
                if closing not in rest.lower():
                    html_end = closing
                continue
        elif quoted:
            continue
        paragraph.add(number, line, rest if column < 4 else None)
    flush()
    return commands


# --- the event ----------------------------------------------------------------------------------


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


_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?\Z")
_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}\Z")


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
    if isinstance(repository, str) and not _REPO.match(repository):
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
            EVENT_FIELD, "", f"{source} is not JSON ({_one_line(str(error))})"
        ) from None
    try:
        return parse_event(data)
    except InvalidInput as error:
        raise InvalidInput.one(EVENT_FIELD, "", f"{source}: {error.problems[0].message}") from None


def _one_line(text: str) -> str:
    return " ".join(text.split())


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


_PROMOTE_BRANCH = re.compile(r"^model-bot/promote/([a-z0-9-]{1,63})/([a-z0-9-]{1,63})\Z")


def promotion_of(pull: PullRequestInfo) -> Promotion | Rejection | None:
    """The promotion `pull` is, None when it is none, a Rejection when its branch and its
    marker name different models or environments."""
    branch = _PROMOTE_BRANCH.match(pull.head_ref)
    from_branch = (branch.group(2), branch.group(1)) if branch else None
    if from_branch and not all(_dns(name) for name in from_branch):
        from_branch = None
    marker = read_marker(pull.body)
    if marker is not None and (
        marker.action != "promote" or not _dns(marker.model) or not _dns(marker.environment)
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
            f"this pull request's branch ({code(pull.head_ref, in_table=False)}) and its "
            "model-bot marker name different models or environments: use " + USAGE
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


def _dns(value: str) -> bool:
    try:
        check_dns_label(value, "name")
    except ValueError:
        return False
    return True


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
    """The command cannot be carried out as written; `message` is markdown for the reply."""

    message: str


USAGE = "`/rollback <model> <environment> [reason]`"


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
    problems = [
        f"{code(value, in_table=False)} is not a valid {what} name (lowercase letters, digits "
        "and '-')"
        for value, what in ((model, "model"), (environment, "environment"))
        if not _dns(value)
    ]
    if problems:
        return Rejection("; ".join(problems) + ": " + USAGE)
    return RollbackRequest(model=model, environment=environment, reason=_reason(words[2:]))


def _reason(words: list[str]) -> str:
    return _cap(clean_text(" ".join(words)), REASON_LIMIT)


def permission_rank(permission: str) -> int:
    """Order of GitHub repository roles. The REST permission endpoint reports `maintain` as
    `write` and `triage` as `read`, so a reported level is a lower bound: a `write` user is
    not taken for a maintainer."""
    value = permission.strip().lower()
    return PERMISSIONS.index(value) if value in PERMISSIONS else 0


def permission_allows(have: str, need: str) -> bool:
    return permission_rank(have) >= permission_rank(need)


# --- replies (markdown; everything from the comment or from errors escaped) -------------------


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
    return f"@{login}" if _LOGIN.match(login) else code(login, in_table=False)


def refusal_reply(login: str, need: str, have: str) -> str:
    return (
        f"Sorry {_mention(login)}, `/rollback` needs **{escape(need)}** permission on this "
        f"repository and yours is **{escape(have or 'none')}**. Please ask someone with "
        f"{escape(need)} access to comment it."
    )


def rejection_reply(login: str, rejection: Rejection) -> str:
    return f"{_mention(login)}, I did not roll anything back: {rejection.message.rstrip('.')}."


def error_reply(login: str, message: str, secrets: tuple[str, ...] = ()) -> str:
    return (
        f"{_mention(login)}, the rollback failed: {escape(error_line(message, secrets))}\n\n"
        "The workflow run's log has the details."
    )


def error_line(message: str, secrets: tuple[str, ...] = ()) -> str:
    """An error message as one capped line with every secret blanked out."""
    text = str(message)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "REDACTED")
    return _cap(clean_text(text), ERROR_LIMIT)


def _version(value: str | None) -> str:
    return code(value, in_table=False) if value else "the previous version"


def result_reply(login: str, request: RollbackRequest, result: RollbackResult) -> str:
    what = f"**{request.model}** in **{request.environment}**"
    if result.from_version or result.to_version:
        what += f" from {_version(result.from_version)} to {_version(result.to_version)}"
    pull = result.pull_request
    if pull is not None and result.outcome == "created":
        head = f"{_mention(login)}, opened [#{pull.number}]({pull.url}) to roll back {what}."
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


# --- the orchestration ------------------------------------------------------------------------

Status = Literal["ignored", "help", "refused", "rejected", "done", "failed"]
ForgeFactory = Callable[[ForgeSettings], Forge]
RollbackFunction = Callable[..., "RollbackResult"]


@dataclass(frozen=True)
class ChatOpsOptions:
    target: EnvRepoTarget  # GitHub: the repository whose comments are handled
    token: str | None = field(default=None, repr=False)
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
    policy: Policy | None = None,
    forge_factory: ForgeFactory = Forge,
    rollback_function: RollbackFunction | None = None,
) -> ChatOpsOutcome:
    """Answer one comment: ignore it (no API writes), or react 👀, check, act, reply and
    react 🚀 (done) or 😕 (refused, rejected, failed)."""
    first = triage(event, repository=options.target.repo, bot_login=options.bot_login)
    if isinstance(first, Ignore):
        return ChatOpsOutcome("ignored", first.reason)
    command = first
    if not options.token:
        raise InvalidInput.one(
            "GITHUB_TOKEN", "", "not set: chatops needs a token to read, react and reply"
        )
    settings = ForgeSettings.from_env(options.target.repo, options.token, options.target.api_url)
    forge = forge_factory(settings)
    secrets = (options.token,)
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
        session.react("eyes")
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
        result = _rollback(request, event, options, policy, forge_factory, rollback_function)
        return session.finish(
            "done",
            command,
            result_reply(event.author, request, result),
            f"{result.outcome}: {request.model} in {request.environment}",
            request=request,
            result=result,
        )
    except UsageError as error:  # the command asked for something that does not exist
        line = error_line(str(error), secrets)
        reply = rejection_reply(event.author, Rejection(escape(line)))
        return session.finish("rejected", command, reply, line)
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
    from bot.core.config import CONFIG_FILE, parse_config

    data = forge.read_file(CONFIG_FILE)
    if data is None:
        return "write"
    return parse_config(data.decode("utf-8", errors="replace"), CONFIG_FILE).chatops.permission


def _rollback(
    request: RollbackRequest,
    event: CommentEvent,
    options: ChatOpsOptions,
    policy: Policy | None,
    forge_factory: ForgeFactory,
    rollback_function: RollbackFunction | None,
) -> RollbackResult:
    from bot.flows.promote import html_root
    from bot.flows.rollback import RollbackOptions, rollback

    web = html_root(options.target.api_url or "https://api.github.com")
    comment_url = f"{web}/{event.repository}/issues/{event.number}#issuecomment-{event.comment_id}"
    evidence = f"Requested with `/rollback` in [a comment on #{event.number}]({comment_url})."
    rollback_options = RollbackOptions(
        model=request.model,
        environment=request.environment,
        target=options.target,
        base=request.base,
        to_version=request.to_version,
        reason=request.reason,
        token=options.token,
        evidence_markdown=evidence,
        requested_by=event.author,
    )
    run = rollback_function or rollback
    return run(rollback_options, policy=policy, forge_factory=forge_factory)


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
            self.react("rocket" if status in ("done", "help") else "confused")
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


__all__ = [
    "BOT_LOGIN",
    "COMMANDS",
    "PERMISSIONS",
    "REASON_LIMIT",
    "ChatOpsOptions",
    "ChatOpsOutcome",
    "Command",
    "CommentEvent",
    "Ignore",
    "Promotion",
    "Rejection",
    "RollbackRequest",
    "clean_text",
    "closed_pull_ignore",
    "error_line",
    "handle_event",
    "help_reply",
    "load_event",
    "parse_commands",
    "parse_event",
    "permission_allows",
    "promotion_of",
    "refusal_reply",
    "rollback_request",
    "triage",
]
