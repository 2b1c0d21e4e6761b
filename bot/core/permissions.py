"""GitHub repository roles, in order: who may ask the bot for what."""

from __future__ import annotations

from typing import Literal, get_args

RequiredRole = Literal["read", "triage", "write", "maintain", "admin"]
REQUIRED_ROLES: tuple[str, ...] = get_args(RequiredRole)
ROLES: tuple[str, ...] = ("none", *REQUIRED_ROLES)


def permission_rank(permission: str) -> int:
    """Order of GitHub repository roles. The REST permission endpoint reports `maintain` as
    `write` and `triage` as `read`, so a reported level is a lower bound: a `write` user is
    not taken for a maintainer. Unknown text ranks as `none`."""
    value = permission.strip().lower()
    return ROLES.index(value) if value in ROLES else 0


def permission_allows(have: str, need: str) -> bool:
    return permission_rank(have) >= permission_rank(need)


__all__ = ["REQUIRED_ROLES", "ROLES", "RequiredRole", "permission_allows", "permission_rank"]
