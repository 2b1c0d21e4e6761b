"""Which publisher writes the bot's commits on a GitHub env repo: `git` (a leased push) or
`api` (GitHub creates, and signs, the commit: `bot.adapters.github_commits`).

Chosen by `--commit-mode` (every command with `--env-repo`; `MODEL_BOT_COMMIT_MODE`, which
the Action's `commit-mode` input sets), else `commit_mode` in the env repo's
`.model-bot.yaml`, else `git`. A local env repo is always `git`: there is no API to ask.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from bot.core.errors import InvalidInput

if TYPE_CHECKING:
    from bot.adapters.git import EnvRepo
    from bot.core.commits import CommitRequest, PushResult
    from bot.ports import BranchSnapshot, Forge, Publisher

COMMIT_MODES = ("git", "api")  # as `commit_mode` in bot.core.config (kept light: --help)
COMMIT_MODE_ENV = "MODEL_BOT_COMMIT_MODE"
_META_KEY = "model_bot.commit_mode"


def _remember(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.meta[_META_KEY] = value


commit_mode_option = click.option(
    "--commit-mode",
    type=click.Choice(COMMIT_MODES),
    envvar=COMMIT_MODE_ENV,
    expose_value=False,
    callback=_remember,
    help="How the bot's commits reach a GitHub env repo: git (push) or api (GitHub creates "
    "and signs them). [default: commit_mode in .model-bot.yaml, else git]",
)


def requested_commit_mode() -> str | None:
    """The mode asked for by the flag (or its environment variable), None when not asked."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.meta.get(_META_KEY):
        return str(ctx.meta[_META_KEY])
    value = os.environ.get(COMMIT_MODE_ENV) or None
    if value is not None and value not in COMMIT_MODES:
        raise InvalidInput.one(
            COMMIT_MODE_ENV, "", f"expected one of {', '.join(COMMIT_MODES)}, got {value!r}"
        )
    return value


class ModePublisher:
    """The `Publisher` of a GitHub env repo: on the first write, the asked mode or the
    config's picks git or the API (reads are the same in both)."""

    def __init__(self, repo: EnvRepo, forge: Forge, asked: str | None) -> None:
        from bot.adapters.git import GitPublisher

        self._repo = repo
        self._forge = forge
        self._asked = asked
        self._reads = GitPublisher(repo)
        self._writer: Publisher | None = None

    @property
    def mode(self) -> str:
        from bot.core.config import CONFIG_FILE, config_from_bytes

        return self._asked or config_from_bytes(self._repo.read(CONFIG_FILE)).commit_mode

    def _publisher(self) -> Publisher:
        if self._writer is None:
            if self.mode == "api":
                from bot.adapters.github import Forge as GitHubForge
                from bot.adapters.github_commits import ApiPublisher

                if not isinstance(self._forge, GitHubForge):
                    raise InvalidInput.one("--commit-mode", "", "api needs GitHub as the forge")
                self._writer = ApiPublisher.on_clone(self._forge, self._repo)
            else:
                self._writer = self._reads
        return self._writer

    def remote_head(self, branch: str) -> str | None:
        return self._reads.remote_head(branch)

    def snapshot(self, branch: str, paths: Sequence[str]) -> BranchSnapshot | None:
        return self._reads.snapshot(branch, paths)

    def conflicts(self, branch: str, base: str, paths: Sequence[str]) -> bool:
        return self._reads.conflicts(branch, base, paths)

    def publish(self, request: CommitRequest, expected_head: str | None) -> PushResult | None:
        return self._publisher().publish(request, expected_head)


__all__ = [
    "COMMIT_MODE_ENV",
    "ModePublisher",
    "commit_mode_option",
    "requested_commit_mode",
]
