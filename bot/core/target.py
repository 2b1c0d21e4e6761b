"""Where the environment repo is: a local path / file:// URL, or a GitHub repository.

The value only; `bot.cli.targets` reads the flag (and checks local paths exist)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# OWNER (a GitHub login) / NAME; NAME '.' or '..' is no repository (the API path would
# normalise to another resource).
OWNER_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/(?!\.\.?\Z)[A-Za-z0-9._-]{1,100}\Z")


@dataclass(frozen=True)
class EnvRepoTarget:
    kind: Literal["local", "github"]
    location: str  # local: an absolute path or file:// URL; github: OWNER/NAME
    api_url: str | None = None  # github only

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    @property
    def repo(self) -> str:
        return self.location


def api_url_for_host(host: str) -> str:
    """GitHub.com's API host, or GitHub Enterprise Server's `/api/v3` on the same host."""
    if host in ("github.com", "www.github.com"):
        return "https://api.github.com"
    return f"https://{host}/api/v3"


@dataclass(frozen=True)
class NotifyTarget:
    """`--notify OWNER/REPO#N`: the issue or pull request to tell about a blocked decision."""

    repo: str
    number: int

    def __str__(self) -> str:
        return f"{self.repo}#{self.number}"
