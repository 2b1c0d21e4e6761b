"""Builds the adapters a flow runs on: the env repo's clone, its publisher and the forge.

The only place (with `bot.cli.common`) that constructs adapters; flows receive an
`EnvSession` or a `SessionOpener` and never import an adapter.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.errors import ExternalError, InvalidInput
from bot.core.target import EnvRepoTarget
from bot.ports import EnvSession, Forge, SessionOpener

if TYPE_CHECKING:
    from bot.adapters.git import GitAuth

ForgeFactory = Callable[[str, str, "str | None"], Forge]  # (OWNER/NAME, token, api url)


def github_forge(repo: str, token: str, api_url: str | None) -> Forge:
    """The GitHub adapter for `repo` (tunables from `MODEL_BOT_*` variables)."""
    from bot.adapters.github import Forge as GitHubForge
    from bot.adapters.github import ForgeSettings

    return GitHubForge(ForgeSettings.from_env(repo, token, api_url))


def forge_opener(
    token: str | None, api_url: str | None, forge_factory: ForgeFactory = github_forge
) -> Callable[[str], Forge] | None:
    """OWNER/NAME -> that repository's forge, or None without a token."""
    if not token:
        return None
    secret = token
    return lambda repo: forge_factory(repo, secret, api_url)


def require_token(token: str | None, target: EnvRepoTarget) -> str:
    if not token:
        raise InvalidInput.one(
            "GITHUB_TOKEN",
            "",
            f"not set: a token with contents and pull-requests write access to {target.repo} "
            "is needed (or use a local --env-repo path)",
        )
    return token


def session_opener(
    target: EnvRepoTarget,
    *,
    base: str | None,
    token: str | None,
    workdir: Path | None = None,
    forge_factory: ForgeFactory = github_forge,
    read_only: bool = False,
    commit_mode: str | None = None,
    api_reads: bool = True,
) -> SessionOpener:
    """Open the env repo (a sparse clone of its base branch) and, on GitHub, the forge.
    `read_only` (history, status): no working clone, only the commits-only one.
    `commit_mode` (git | api) overrides `--commit-mode` and the config (`bot.cli.commit_mode`).
    `api_reads`: in API mode, read the base's files through the API (no working clone);
    False for the commands whose scratch work needs one (rollback: a revert)."""
    from bot.cli.commit_mode import ModePublisher, requested_commit_mode

    asked = commit_mode or requested_commit_mode()

    def open_session(sparse: Sequence[str]) -> EnvSession:
        from bot.adapters.git import EnvRepo, GitAuth, GitPublisher

        where = workdir or Path(tempfile.gettempdir())
        if target.is_local:
            if read_only:
                repo = EnvRepo.reader(
                    target.location, base=base or "main", workdir=where, repo_field="--env-repo"
                )
            else:
                repo = EnvRepo.clone(
                    target.location,
                    base=base or "main",
                    sparse_paths=sparse,
                    workdir=where,
                    repo_field="--env-repo",
                )
            local = GitPublisher(repo)
            return EnvSession(repo, local, repo.base, None, merger=local)
        secret = require_token(token, target)
        forge = forge_factory(target.repo, secret, target.api_url)
        if asked == "api" and api_reads and not read_only:
            return api_session(forge, base, where, GitAuth(secret), sparse)
        clone_url = forge.clone_url()
        branch = base or forge.default_branch()
        if read_only:
            repo = EnvRepo.reader(
                clone_url, base=branch, workdir=where, auth=GitAuth(secret), repo_field="--env-repo"
            )
        else:
            repo = EnvRepo.clone(
                clone_url,
                base=branch,
                sparse_paths=sparse,
                workdir=where,
                auth=GitAuth(secret),
                repo_field="--env-repo",
            )
        publisher = GitPublisher(repo) if read_only else ModePublisher(repo, forge, asked)
        return EnvSession(repo, publisher, branch, forge)

    return open_session


def api_session(
    forge: Forge, base: str | None, where: Path, auth: GitAuth, sparse: Sequence[str]
) -> EnvSession:
    """`commit_mode: api` asked for by the run: the base's files read through the API, the
    history through the commits-only clone, no working clone unless a command needs one
    (`bot.adapters.github_reads`). Chosen in `.model-bot.yaml` only, the mode is known once
    the config is read, from the clone: reads stay on it (`ModePublisher`).

    No `GET /repos/{o}/{r}`: the clone URL is GitHub's (the web root plus `.git`), the
    default branch git's (`ls-remote --symref`), the repository's id the read query's."""
    from bot.adapters.git import EnvRepo
    from bot.adapters.github import Forge as GitHubForge
    from bot.adapters.github_commits import ApiPublisher
    from bot.adapters.github_reads import ApiWorkspace, BranchReads

    if not isinstance(forge, GitHubForge):
        raise InvalidInput.one("--commit-mode", "", "api needs GitHub as the forge")

    clone_url = f"{forge.web_root}.git"

    def open_clone(paths: Sequence[str]) -> EnvRepo:
        return EnvRepo.clone(
            clone_url,
            base=branch,
            sparse_paths=paths,
            workdir=where,
            auth=auth,
            repo_field="--env-repo",
        )

    try:
        history = EnvRepo.reader(
            clone_url, base=base, workdir=where, auth=auth, repo_field="--env-repo"
        )
    except (InvalidInput, ExternalError):
        forge.default_branch()  # GitHub's own answer names a missing repo or a bad token
        raise
    branch = history.base
    try:
        workspace = ApiWorkspace(forge, history, open_clone, sparse)
    except BaseException:
        history.close()
        raise
    reads = BranchReads(workspace)
    publisher = ApiPublisher(forge, workspace, reads, workspace.tree.repository_id)
    return EnvSession(workspace, publisher, branch, forge)


__all__ = [
    "ForgeFactory",
    "api_session",
    "forge_opener",
    "github_forge",
    "require_token",
    "session_opener",
]
