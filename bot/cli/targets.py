"""`--env-repo`: a local path or file:// URL (checked to exist), or a GitHub repository."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import SplitResult, urlsplit

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
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
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
        host = _api_host(value, parts)
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) != 2:
            raise InvalidInput.one(
                _FIELD, "", f"{value} is not a repository URL (https://HOST/OWNER/NAME)"
            )
        owner, name = segments[0], segments[1].removesuffix(".git")
        repo = f"{owner}/{name}"
        if not OWNER_NAME.match(repo):
            raise InvalidInput.one(_FIELD, "", f"bad repository name {repo!r}")
        return EnvRepoTarget("github", repo, api_url or api_url_for_host(host))
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


_DEFAULT_PORTS = {"https": 443, "http": 80}


def _api_host(value: str, parts: SplitResult) -> str:
    """The URL's host, lowercased, with its port unless it is the scheme's default (an
    http URL still gets an https API URL, as before): GitHub Enterprise on
    `ghe.example.com:8443` serves its API on that port too."""
    host = parts.hostname
    if not host:
        raise InvalidInput.one(_FIELD, "", f"{value} has no host (give https://HOST/OWNER/NAME)")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise InvalidInput.one(
            _FIELD, "", f"{value} has a bad port (give a number from 1 to 65535 after the host)"
        )
    if ":" in host:  # an IPv6 address: urlsplit drops its brackets
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        host = f"{host}:{port}"
    return host


def parse_notify_target(text: str, token: str | None) -> NotifyTarget:
    """Check `--notify` before anything runs, so a typo never hides the gate's answer."""
    repo, _, number = text.strip().partition("#")
    # ASCII digits only: str.isdigit is true for '²', which int() cannot read.
    if not (number.isascii() and number.isdigit()) or int(number) < 1:
        raise InvalidInput.one("--notify", "", f"expected OWNER/REPO#NUMBER, got {text!r}")
    owner, _, name = repo.partition("/")
    if not owner or not name or "/" in name:
        raise InvalidInput.one("--notify", "", f"expected OWNER/REPO#NUMBER, got {text!r}")
    if not OWNER_NAME.match(repo):
        raise InvalidInput.one(
            "--notify",
            "",
            f"bad repository {repo!r} in {text!r} (OWNER: letters, digits and '-'; "
            "REPO: letters, digits, '.', '_' and '-', not '.' or '..')",
        )
    if not token:
        raise InvalidInput.one(
            "--notify", "", "needs GITHUB_TOKEN (issues or pull-requests write access) to comment"
        )
    return NotifyTarget(repo, int(number))
