"""Validation of every name that becomes a Kubernetes name, a path part, a branch or a tag.

`check_*` raise `ValueError` (for pydantic validators); `require_*` raise `InvalidInput`
naming the CLI field, for values that arrive as flags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.errors import InvalidInput

DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z"  # RFC 1123 label, as Kubernetes checks it
_DNS_LABEL = re.compile(DNS_LABEL)
# Docker's tag grammar; also safe as a path part and a git ref component.
_VERSION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PLACEHOLDER = re.compile(r"\{(environment|model|version)\}")


def check_dns_label(value: str, what: str) -> str:
    if not isinstance(value, str) or not _DNS_LABEL.match(value):
        raise ValueError(
            f"bad {what} name {value!r}: use a DNS-1123 label (lowercase letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters)"
        )
    return value


def check_version(value: str, what: str = "version") -> str:
    if not isinstance(value, str) or not _VERSION.match(value) or ".." in value:
        raise ValueError(
            f"bad {what} {value!r}: use letters, digits, '_', '.' and '-' (at most 128, "
            "not starting with '.' or '-', no '..')"
        )
    return value


def _path_problem(value: str) -> str | None:
    """Why `value` is not a relative path inside the repo, or None when it is one."""
    if not value or value.startswith("/") or _CONTROL.search(value) or "\\" in value:
        return "use a relative path with '/' separators"
    parts = value.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "no empty, '.' or '..' parts"
    if parts[0] == ".git":
        return "must not point into .git"
    return None


def check_relative_path(value: str) -> str:
    """A relative path inside the repo: no absolute path, no `..`, no control characters."""
    problem = _path_problem(value)
    if problem is not None:
        raise ValueError(f"bad path {value!r}: {problem}")
    return value


def check_path_template(value: str) -> str:
    """A relative path whose `{environment}`, `{model}` and `{version}` are filled in later.

    Every value filled in is a DNS-1123 label or a version: not empty, no '/', never starting
    with '.'. So the template is checked with 'x' in each placeholder, and a part that starts
    with '.' must not hold a placeholder (`.{model}` filled with the model `git` is `.git`).
    Messages quote the template as written."""
    stray = _PLACEHOLDER.sub("", value)
    if "{" in stray or "}" in stray:
        raise ValueError(
            f"bad path template {value!r}: only {{environment}}, {{model}} and {{version}} may be filled in"
        )
    problem = _path_problem(_PLACEHOLDER.sub("x", value))
    if problem is not None:
        raise ValueError(f"bad path {value!r}: {problem}")
    for part in value.split("/"):
        if part.startswith(".") and _PLACEHOLDER.search(part):
            raise ValueError(
                f"bad path template {value!r}: the part {part!r} starts with '.' and holds a "
                "placeholder, so a name such as 'git' would make it '.git' (drop the leading '.')"
            )
    return value


def fill_path(template: str, **names: str) -> str:
    """Fill a validated path template with already-validated names; the result is checked
    again as a relative path (`ValueError` if it is not: a caller passed an unchecked name)."""
    return check_relative_path(_PLACEHOLDER.sub(lambda m: names[m.group(1)], template))


def _require(check: object, value: str, field: str, *args: str) -> str:
    try:
        return check(value, *args)  # type: ignore[operator, no-any-return]
    except ValueError as error:
        raise InvalidInput.one(field, "", str(error)) from None


def require_model(value: str, field: str = "--model") -> str:
    return _require(check_dns_label, value, field, "model")


def require_environment(value: str, field: str = "--environment") -> str:
    return _require(check_dns_label, value, field, "environment")


def require_version(value: str, field: str = "--version") -> str:
    return _require(check_version, value, field)


def promote_branch(environment: str, model: str) -> str:
    return f"model-bot/promote/{environment}/{model}"


def rollback_branch(environment: str, model: str) -> str:
    return f"model-bot/rollback/{environment}/{model}"


def is_dns_label(value: str) -> bool:
    try:
        check_dns_label(value, "name")
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class BotBranch:
    kind: str  # promote | rollback
    environment: str
    model: str


def parse_bot_branch(branch: str) -> BotBranch | None:
    """The bot branch `branch` names (`model-bot/<kind>/<environment>/<model>`), or None."""
    parts = branch.split("/")
    if len(parts) != 4 or parts[0] != "model-bot" or parts[1] not in ("promote", "rollback"):
        return None
    if not (is_dns_label(parts[2]) and is_dns_label(parts[3])):
        return None
    return BotBranch(parts[1], parts[2], parts[3])
