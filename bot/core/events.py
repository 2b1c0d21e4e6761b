"""The GitHub Actions events that drive `model-bot event`: an Argo Rollouts notification sent
as a `repository_dispatch` (see docs/argo-rollouts-notifications.yaml), and a closed pull
request. Pure; the event is untrusted.

`parse_event` first decides whether the event is for the bot at all (its name, its `action`,
the notification's trigger, the pull request's head branch) and returns `Ignored` with a
one-line reason when it is not, checking no more than it needs to decide; an event that is for
the bot is then checked whole, and every bad field is reported at once (`InvalidInput`, each
problem naming its field path, e.g. `client_payload.images[1]`, and the fix).

A rollout notification (`repository_dispatch`, `event_type` `model-bot-rollout`, which GitHub
puts in the event's `action`) carries this `client_payload` (strict: any other key is refused,
except keys starting with `x-`, which are ignored):

    trigger    on-rollout-aborted | on-analysis-run-failed | on-rollout-completed
               (any other trigger is ignored)
    rollout    the Rollout's name (a DNS-1123 label)
    namespace  its namespace (a DNS-1123 label)
    revision   its `rollout.argoproj.io/revision` annotation: digits, or "" when unknown
    images     1 to 20 image references, `[registry/]repo[:tag][@sha256:<64 hex>]`
    message    free text (the Rollout's `status.message`), may be empty: kept as one
               printable line of at most 500 characters
    model, environment (optional) DNS-1123 labels, when the notification template knows them
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from bot.core.chatops import EVENT_FIELD
from bot.core.errors import InvalidInput
from bot.core.loading import parse_json, validate_data
from bot.core.marker import ProposalMeta, read_marker
from bot.core.names import BotBranch, check_dns_label, check_version, parse_bot_branch
from bot.core.untrusted import ELLIPSIS, one_line, truncate
from bot.core.yamledit import normalize_image_name, split_image

DISPATCH_EVENT = "repository_dispatch"
PULL_REQUEST_EVENT = "pull_request"
DISPATCH_EVENT_TYPE = "model-bot-rollout"  # the dispatch's event_type: the event's `action`
ABORTED_TRIGGERS = ("on-rollout-aborted", "on-analysis-run-failed")
COMPLETED_TRIGGERS = ("on-rollout-completed",)
TRIGGERS = (*ABORTED_TRIGGERS, *COMPLETED_TRIGGERS)
IGNORED_KEY_PREFIX = "x-"  # client_payload keys of this prefix are the sender's, not ours
MESSAGE_LIMIT = 500  # characters of the notification's message kept
TITLE_LIMIT = 300  # characters of a pull request's title kept
MAX_IMAGES = 20
IMAGE_LIMIT = 512  # characters of one image reference
MAX_PAYLOAD_KEYS = 100  # GitHub allows 10 top-level client_payload keys
MAX_EVENT_BYTES = 16 * 1024 * 1024  # a pull_request event with a 65,536-character body: < 1 MiB
NOT_A_BOT_PULL_REQUEST = "not a model-bot pull request"

_SHOWN = 100  # characters of an untrusted value quoted in a reason or a problem
_MESSAGE_SCAN = MESSAGE_LIMIT * 8  # characters of a message read: the rest is cut unread

# Docker's reference grammar (distribution/reference): [domain[:port]/]path[:tag][@digest],
# path parts lower-case alphanumerics joined by '.', '_', '__' or '-'s.
_DOMAIN = (
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
)
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(
    rf"^(?:{_DOMAIN}(?::[0-9]+)?/)?{_PATH_PART}(?:/{_PATH_PART})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
    r"(?:@(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}))?\Z"
)
_DIGITS = re.compile(r"^[0-9]{0,20}\Z")
_SHA = re.compile(r"^[0-9a-f]{40}\Z")
# A GitHub login (users, organisations, Enterprise Managed Users' `_shortcode`, apps' `[bot]`).
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,99})(?:\[bot\])?\Z")
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


def _shown(value: str) -> str:
    """An untrusted value quoted for a one-line message: `'text'` (Python's escapes for line
    breaks, control and bidi characters), cut to `_SHOWN` characters."""
    return repr(value[:_SHOWN]) + (ELLIPSIS if len(value) > _SHOWN else "")


# --- what parse_event returns -------------------------------------------------------------------


@dataclass(frozen=True)
class Ignored:
    """The event is not for the bot; `reason` (one line) says why (printed, never posted)."""

    reason: str


def _without_sender_keys(value: object) -> object:
    """`client_payload` less its `x-` keys; a mapping of very many keys is refused unread."""
    if not isinstance(value, Mapping):
        return value
    if len(value) > MAX_PAYLOAD_KEYS:
        raise ValueError(
            f"has {len(value)} keys, expected at most {MAX_PAYLOAD_KEYS} (send the payload of "
            "docs/argo-rollouts-notifications.yaml)"
        )
    return {
        key: item
        for key, item in value.items()
        if not (isinstance(key, str) and key.startswith(IGNORED_KEY_PREFIX))
    }


def _label(what: str) -> Any:
    def check(value: str) -> str:
        if len(value) > 63:
            raise ValueError(
                f"bad {what} name {_shown(value)}: a DNS-1123 label has at most 63 characters"
            )
        return check_dns_label(value, what)

    return AfterValidator(check)


def check_image(value: str) -> str:
    """A container image reference, `[registry[:port]/]repo[:tag][@sha256:<64 hex>]`."""
    if len(value) > IMAGE_LIMIT or not _IMAGE.match(value):
        raise ValueError(
            f"bad image reference {_shown(value)}: use [registry[:port]/]repository[:tag]"
            "[@sha256:<64 hex digits>] with a lower-case repository, at most "
            f"{IMAGE_LIMIT} characters (e.g. ghcr.io/acme/fraud-detector:7)"
        )
    return value


def _images(value: object) -> object:
    """Count the images before checking each: a list of a million is one problem."""
    if isinstance(value, list | tuple) and not 1 <= len(value) <= MAX_IMAGES:
        raise ValueError(
            f"has {len(value)} images, expected 1 to {MAX_IMAGES}: the images of the "
            "Rollout's pod template (`spec.template.spec.containers[*].image`)"
        )
    return value


def _revision(value: str) -> str:
    if not _DIGITS.match(value):
        raise ValueError(
            f"bad revision {_shown(value)}: use the Rollout's rollout.argoproj.io/revision "
            'annotation (digits, at most 20) or ""'
        )
    return value


def _message(value: str) -> str:
    """One printable line of at most `MESSAGE_LIMIT` characters; a message longer than
    `_MESSAGE_SCAN` is cut unread and ends in an ellipsis."""
    text = one_line(value[:_MESSAGE_SCAN])
    if len(value) > _MESSAGE_SCAN and len(text) < MESSAGE_LIMIT:
        return text + ELLIPSIS
    return truncate(text, MESSAGE_LIMIT)


ImageReference = Annotated[StrictStr, AfterValidator(check_image)]


class RolloutNotice(BaseModel):
    """An Argo Rollouts notification: the checked `client_payload` of a `model-bot-rollout`
    dispatch. Names are DNS-1123 labels, images checked references, `message` one clean line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trigger: Literal["on-rollout-aborted", "on-analysis-run-failed", "on-rollout-completed"]
    rollout: Annotated[StrictStr, _label("rollout")]
    namespace: Annotated[StrictStr, _label("namespace")]
    revision: Annotated[StrictStr, AfterValidator(_revision)]
    images: Annotated[tuple[ImageReference, ...], BeforeValidator(_images)]
    message: Annotated[StrictStr, AfterValidator(_message)]
    model: Annotated[StrictStr, _label("model")] | None = None
    environment: Annotated[StrictStr, _label("environment")] | None = None

    @model_validator(mode="before")
    @classmethod
    def _sender_keys(cls, data: object) -> object:
        return _without_sender_keys(data)

    @property
    def kind(self) -> Literal["aborted", "completed"]:
        """`aborted` (the rollout was aborted, or its analysis failed) or `completed`."""
        return "completed" if self.trigger in COMPLETED_TRIGGERS else "aborted"

    @property
    def revision_number(self) -> int | None:
        """The Rollout's revision, None when the notification did not know it."""
        return int(self.revision) if self.revision else None


@dataclass(frozen=True)
class ClosedProposal:
    """A model-bot pull request (its head branch is a bot branch in this repository) that was
    closed, merged or not.

    `merge_commit_sha` is None unless merged (GitHub fills it with a test merge before);
    `marker` is the pull request's model-bot marker when it is well formed and names the
    branch's action, model and environment (else None); `title` is one clean line."""

    number: int
    merged: bool
    merge_commit_sha: str | None
    head_ref: str
    base_ref: str
    marker: ProposalMeta | None
    merged_by: str | None
    title: str
    head_sha: str
    branch: BotBranch


Event = RolloutNotice | ClosedProposal | Ignored


# --- the pull_request event, checked --------------------------------------------------------------


def _ref(value: str) -> str:
    """A branch name as git allows it (`git check-ref-format --branch`)."""
    if (
        not value
        or len(value) > 255
        or _REF_FORBIDDEN.search(value)
        or value.startswith(("-", "/", "."))
        or value.endswith(("/", ".", ".lock"))
        or "/." in value
        or ".lock/" in value
        or value == "@"
    ):
        raise ValueError(f"bad branch name {_shown(value)}: not a git branch name")
    return value


def _sha(value: str) -> str:
    if not _SHA.match(value):
        raise ValueError(f"bad commit sha {_shown(value)}: use 40 lower-case hex digits")
    return value


def _login(value: str) -> str:
    if not _LOGIN.match(value):
        raise ValueError(f"bad GitHub login {_shown(value)}")
    return value


Ref = Annotated[StrictStr, AfterValidator(_ref)]
Sha = Annotated[StrictStr, AfterValidator(_sha)]


class _Lenient(BaseModel):
    """A part of a GitHub event: the keys the bot reads are checked, the many others ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class _Repository(_Lenient):
    full_name: StrictStr


class _Branch(_Lenient):
    ref: Ref
    sha: Sha
    repo: _Repository | None  # null when the fork it came from was deleted


class _User(_Lenient):
    login: Annotated[StrictStr, AfterValidator(_login)]


class _PullRequest(_Lenient):
    number: Annotated[StrictInt, Field(gt=0)]
    merged: StrictBool
    merge_commit_sha: Sha | None = None
    head: _Branch
    base: _Branch
    title: StrictStr
    body: StrictStr | None = None
    merged_by: _User | None = None

    @model_validator(mode="after")
    def _merged_has_commit(self) -> _PullRequest:
        if self.merged and self.merge_commit_sha is None:
            raise ValueError(
                "a merged pull request needs merge_commit_sha (40 lower-case hex digits)"
            )
        return self


class _PullRequestEvent(_Lenient):
    pull_request: _PullRequest


class _DispatchEvent(_Lenient):
    client_payload: RolloutNotice


# --- parse_event ------------------------------------------------------------------------------


def parse_event(event_name: str, data: object, *, source: str = EVENT_FIELD) -> Event:
    """What the GitHub Actions event `event_name` (`$GITHUB_EVENT_NAME`) with payload `data`
    (the parsed `$GITHUB_EVENT_PATH`) asks of the bot: a `RolloutNotice`, a `ClosedProposal`,
    or `Ignored`. Raises `InvalidInput` (every problem, each naming its field; `source` names
    the input) when an event for the bot is malformed."""
    if not isinstance(data, Mapping):
        raise InvalidInput.one(source, "(top level)", "is not a GitHub event (not a JSON object)")
    if event_name == DISPATCH_EVENT:
        return _dispatch(data, source)
    if event_name == PULL_REQUEST_EVENT:
        return _pull_request(data, source)
    return Ignored(
        f"the {_shown(event_name)} event is not one the bot handles (it handles "
        f"{DISPATCH_EVENT} with event_type {DISPATCH_EVENT_TYPE} and closed {PULL_REQUEST_EVENT})"
    )


def _action(data: Mapping[str, object], source: str, event_name: str) -> str:
    action = data.get("action")
    if not isinstance(action, str):
        problem = "is missing" if action is None else "expected a string"
        raise InvalidInput.one(
            source, "action", f"{problem}: a {event_name} event always has one (check the file)"
        )
    return action


def _dispatch(data: Mapping[str, object], source: str) -> Event:
    action = _action(data, source, DISPATCH_EVENT)
    if action != DISPATCH_EVENT_TYPE:
        return Ignored(
            f"the {DISPATCH_EVENT} event_type {_shown(action)} is not the bot's "
            f"({DISPATCH_EVENT_TYPE})"
        )
    payload = data.get("client_payload")
    trigger = payload.get("trigger") if isinstance(payload, Mapping) else None
    if isinstance(trigger, str) and trigger not in TRIGGERS:
        return Ignored(
            f"the rollout notification's trigger {_shown(trigger)} is not one the bot acts on "
            f"({', '.join(TRIGGERS)})"
        )
    return validate_data(data, _DispatchEvent, source).client_payload


def _pull_request(data: Mapping[str, object], source: str) -> Event:
    action = _action(data, source, PULL_REQUEST_EVENT)
    if action != "closed":
        return Ignored(
            f"the {PULL_REQUEST_EVENT} action {_shown(action)} is not handled: only closed "
            "pull requests drive the bot"
        )
    pull = data.get("pull_request")
    head = pull.get("head") if isinstance(pull, Mapping) else None
    head_ref = head.get("ref") if isinstance(head, Mapping) else None
    if isinstance(head_ref, str) and parse_bot_branch(head_ref) is None:
        return Ignored(NOT_A_BOT_PULL_REQUEST)
    event = validate_data(data, _PullRequestEvent, source).pull_request
    branch = parse_bot_branch(event.head.ref)
    assert branch is not None  # a str head_ref that is no bot branch returned above
    base_repo = event.base.repo.full_name if event.base.repo else None
    head_repo = event.head.repo.full_name if event.head.repo else None
    if head_repo is None or base_repo is None or head_repo.lower() != base_repo.lower():
        return Ignored(
            f"{NOT_A_BOT_PULL_REQUEST}: its branch {_shown(event.head.ref)} is in "
            f"{_shown(head_repo or 'a deleted fork')}, not in {_shown(base_repo or 'this repository')}"
        )
    return ClosedProposal(
        number=event.number,
        merged=event.merged,
        merge_commit_sha=event.merge_commit_sha if event.merged else None,
        head_ref=event.head.ref,
        base_ref=event.base.ref,
        marker=_marker(event.body or "", branch),
        merged_by=event.merged_by.login if event.merged_by else None,
        title=truncate(one_line(event.title[: TITLE_LIMIT * 4]), TITLE_LIMIT),
        head_sha=event.head.sha,
        branch=branch,
    )


def _marker(body: str, branch: BotBranch) -> ProposalMeta | None:
    """The body's marker when it is well formed and agrees with the branch."""
    marker = read_marker(body)
    if marker is None or (marker.action, marker.environment, marker.model) != (
        branch.kind,
        branch.environment,
        branch.model,
    ):
        return None
    try:
        check_version(marker.version)
        if marker.previous_version is not None:
            check_version(marker.previous_version, "previous version")
    except ValueError:
        return None
    return marker


def load_event(event_name: str, text: str, source: str) -> Event:
    """`parse_event` of the event file's text (at most `MAX_EVENT_BYTES`); `source` names the
    file in errors."""
    return parse_event(event_name, parse_json(text, source, MAX_EVENT_BYTES), source=source)


# --- image references -------------------------------------------------------------------------


def image_tag(reference: str) -> str | None:
    """The tag of a (checked) image reference; None when it names only a digest or nothing."""
    return split_image(reference).tag


def image_repository(reference: str) -> str:
    """The repository of a (checked) image reference as Docker resolves it (Docker Hub names
    normalised as `bot.core.render` compares them: `nginx` -> `docker.io/library/nginx`)."""
    return normalize_image_name(split_image(reference).repository)


__all__ = [
    "ABORTED_TRIGGERS",
    "COMPLETED_TRIGGERS",
    "DISPATCH_EVENT",
    "DISPATCH_EVENT_TYPE",
    "IMAGE_LIMIT",
    "MAX_EVENT_BYTES",
    "MAX_IMAGES",
    "MESSAGE_LIMIT",
    "NOT_A_BOT_PULL_REQUEST",
    "PULL_REQUEST_EVENT",
    "TITLE_LIMIT",
    "TRIGGERS",
    "ClosedProposal",
    "Event",
    "Ignored",
    "ImageReference",
    "RolloutNotice",
    "check_image",
    "image_repository",
    "image_tag",
    "load_event",
    "parse_event",
]
