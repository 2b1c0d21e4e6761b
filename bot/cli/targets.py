"""`--env-repo`: a local path or file:// URL (checked to exist), or a GitHub repository."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from bot.core.errors import InvalidInput
from bot.core.target import OWNER_NAME, EnvRepoTarget, NotifyTarget, api_url_for_host

_FIELD = "--env-repo"


def parse_env_repo(text: str, api_url: str | None = None, cwd: Path | None = None) -> EnvRepoTarget:
    """Classify `--env-repo`: an existing local path, a file:// URL, an https URL of a
    GitHub repository, or OWNER/NAME (on `api_url`, default GitHub.com)."""
    value = text.strip()
    if not value:
        raise InvalidInput.one(
            _FIELD, "", "is empty (give OWNER/NAME, an https URL or a local path)"
        )
    if any(ord(c) < 32 for c in value):
        raise InvalidInput.one(_FIELD, "", "contains control characters")
    if value.startswith("file://"):
        path = Path(urlsplit(value).path)
        if not path.exists():
            raise InvalidInput.one(_FIELD, "", f"{value} does not exist (check the path)")
        return EnvRepoTarget("local", value)
    if value.startswith(("https://", "http://")):
        parts = urlsplit(value)
        if parts.username or parts.password:
            raise InvalidInput.one(
                _FIELD, "", "must not carry credentials in the URL (pass the token as github-token)"
            )
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) != 2:
            raise InvalidInput.one(
                _FIELD, "", f"{value} is not a repository URL (https://HOST/OWNER/NAME)"
            )
        owner, name = segments[0], segments[1].removesuffix(".git")
        repo = f"{owner}/{name}"
        if not OWNER_NAME.match(repo):
            raise InvalidInput.one(_FIELD, "", f"bad repository name {repo!r}")
        return EnvRepoTarget("github", repo, api_url or api_url_for_host(parts.hostname or ""))
    base = cwd or Path.cwd()
    path = (base / value).resolve() if not Path(value).is_absolute() else Path(value)
    if path.exists():
        if not path.is_dir():
            raise InvalidInput.one(_FIELD, "", f"{value} is not a directory")
        return EnvRepoTarget("local", str(path))
    if OWNER_NAME.match(value) and not value.startswith((".", "/")):
        return EnvRepoTarget("github", value, api_url or "https://api.github.com")
    raise InvalidInput.one(
        _FIELD, "", f"{value!r} is neither an existing path nor OWNER/NAME nor an https URL"
    )


def parse_notify_target(text: str, token: str | None) -> NotifyTarget:
    """Check `--notify` before anything runs, so a typo never hides the gate's answer."""
    repo, _, number = text.strip().partition("#")
    owner, _, name = repo.partition("/")
    if not number.isdigit() or int(number) < 1 or not owner or not name or "/" in name:
        raise InvalidInput.one("--notify", "", f"expected OWNER/REPO#NUMBER, got {text!r}")
    if not token:
        raise InvalidInput.one(
            "--notify", "", "needs GITHUB_TOKEN (issues or pull-requests write access) to comment"
        )
    return NotifyTarget(repo, int(number))
