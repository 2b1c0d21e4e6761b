"""bot.cli.targets: `--env-repo` as a local path, a file:// URL, an https URL or OWNER/NAME."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.targets import parse_env_repo, parse_notify_target
from bot.core.errors import InvalidInput
from bot.core.target import EnvRepoTarget, NotifyTarget

GITHUB_API = "https://api.github.com"


def refusal(text: str, cwd: Path, api_url: str | None = None) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_env_repo(text, api_url, cwd=cwd)
    [problem] = caught.value.problems
    assert (problem.source, problem.field) == ("--env-repo", "")
    assert str(caught.value) == f"--env-repo: {problem.message}"
    return problem.message


# --- empty and control characters ---------------------------------------------------------


@pytest.mark.parametrize("text", ["", " ", "\t", "\n", " \r\n "])
def test_empty(tmp_path: Path, text: str) -> None:
    assert refusal(text, tmp_path) == "is empty (give OWNER/NAME, an https URL or a local path)"


@pytest.mark.parametrize(
    "text",
    [
        "acme/e\x00nv",
        "acme/\tenv",
        "ac\nme/env",
        "acme/env\r\nx",
        "\x1b[31macme/env",
        "https://github.com/acme/env\x00",
        "file:///tmp\n/x",
        "ac\x1fme/env",  # str.strip() would drop it at either end
        "acme/env\x7f",  # DEL
        "https://github.com/acme/\x7fenv",
    ],
)
def test_control_characters(tmp_path: Path, text: str) -> None:
    assert refusal(text, tmp_path) == "contains control characters"


def test_surrounding_whitespace_is_stripped(tmp_path: Path) -> None:
    assert parse_env_repo("  acme/env\n", cwd=tmp_path) == EnvRepoTarget(
        "github", "acme/env", GITHUB_API
    )


# --- local paths ------------------------------------------------------------------------------


def test_relative_directory_is_resolved_against_cwd(tmp_path: Path) -> None:
    (tmp_path / "env-repo").mkdir()
    target = parse_env_repo("env-repo", cwd=tmp_path)
    assert target == EnvRepoTarget("local", str((tmp_path / "env-repo").resolve()))
    assert target.is_local


@pytest.mark.parametrize("text", [".", "./", "sub/..", "./sub/../."])
def test_dot_paths_resolve(tmp_path: Path, text: str) -> None:
    (tmp_path / "sub").mkdir()
    assert parse_env_repo(text, cwd=tmp_path) == EnvRepoTarget("local", str(tmp_path.resolve()))


def test_absolute_directory_is_kept_as_given(tmp_path: Path) -> None:
    repo = tmp_path / "env"
    repo.mkdir()
    assert parse_env_repo(str(repo), cwd=Path("/")) == EnvRepoTarget("local", str(repo))


def test_existing_directory_wins_over_owner_name(tmp_path: Path) -> None:
    (tmp_path / "acme" / "env").mkdir(parents=True)
    assert parse_env_repo("acme/env", cwd=tmp_path) == EnvRepoTarget(
        "local", str((tmp_path / "acme" / "env").resolve())
    )


def test_default_cwd_is_the_process_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "env").mkdir()
    monkeypatch.chdir(tmp_path)
    assert parse_env_repo("env") == EnvRepoTarget("local", str((tmp_path / "env").resolve()))


@pytest.mark.parametrize("name", ["values.yaml", "acme/env"])
def test_existing_file_is_not_a_directory(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x", encoding="utf-8")
    assert refusal(name, tmp_path) == f"{name} is not a directory"


def test_absolute_file_is_not_a_directory(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("x", encoding="utf-8")
    assert refusal(str(path), Path("/")) == f"{path} is not a directory"


@pytest.mark.parametrize(
    "text",
    [
        "./missing",
        "../missing-dir",
        "missing",
        "/nonexistent/env-repo",
        "acme/env/extra",
        "-acme/env",
        "~/env",
    ],
)
def test_missing_path_that_is_not_owner_name(tmp_path: Path, text: str) -> None:
    assert refusal(text, tmp_path) == (
        f"{text!r} is neither an existing path nor OWNER/NAME nor an https URL"
    )


# --- file:// URLs ---------------------------------------------------------------------------


def test_file_url_of_an_existing_directory(tmp_path: Path) -> None:
    url = f"file://{tmp_path}"
    assert parse_env_repo(url, cwd=Path("/")) == EnvRepoTarget("local", url)


def test_file_url_keeps_the_url_as_the_location(tmp_path: Path) -> None:
    (tmp_path / "env").mkdir()
    url = f"file://{tmp_path}/env/"
    target = parse_env_repo(url, cwd=Path("/"))
    assert (target.kind, target.location, target.api_url) == ("local", url, None)


def test_file_url_of_a_missing_path(tmp_path: Path) -> None:
    url = f"file://{tmp_path}/missing"
    assert refusal(url, Path("/")) == f"{url} does not exist (check the path)"


def test_file_url_is_not_resolved_against_cwd(tmp_path: Path) -> None:
    (tmp_path / "env-that-is-not-there").mkdir()
    # It exists under cwd, but file:///env-that-is-not-there names /env-that-is-not-there.
    assert refusal("file:///env-that-is-not-there", tmp_path) == (
        "file:///env-that-is-not-there does not exist (check the path)"
    )


# --- https URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "https://github.com/acme/env",
        "https://github.com/acme/env.git",
        "https://github.com/acme/env/",
        "https://github.com/acme/env?tab=readme",
        "https://github.com/acme/env#readme",
        "https://GitHub.com/acme/env",
        "https://www.github.com/acme/env",
        "http://github.com/acme/env",
    ],
)
def test_github_com_url(tmp_path: Path, text: str) -> None:
    assert parse_env_repo(text, cwd=tmp_path) == EnvRepoTarget("github", "acme/env", GITHUB_API)


@pytest.mark.parametrize(
    ("text", "api_url"),
    [
        ("https://ghe.example.com/acme/env", "https://ghe.example.com/api/v3"),
        ("https://ghe.example.com/acme/env.git", "https://ghe.example.com/api/v3"),
        ("https://GHE.Example.com/acme/env", "https://ghe.example.com/api/v3"),
        ("http://git.corp/acme/env", "https://git.corp/api/v3"),
    ],
)
def test_ghes_url(tmp_path: Path, text: str, api_url: str) -> None:
    assert parse_env_repo(text, cwd=tmp_path) == EnvRepoTarget("github", "acme/env", api_url)


def test_given_api_url_wins_over_the_host(tmp_path: Path) -> None:
    given = "https://proxy.example.com/api/v3"
    assert parse_env_repo("https://github.com/acme/env", given, cwd=tmp_path) == EnvRepoTarget(
        "github", "acme/env", given
    )


@pytest.mark.parametrize(
    "text",
    [
        "https://ghp_secret@github.com/acme/env",
        "https://x-access-token:ghs_secret@github.com/acme/env",
        "https://user:@github.com/acme/env",
        "https://:pass@github.com/acme/env",
        "https://user:pass@ghe.example.com/acme/env.git",
        "http://user@github.com/acme/env",
    ],
)
def test_credentials_in_url_are_refused(tmp_path: Path, text: str) -> None:
    message = refusal(text, tmp_path)
    assert message == "must not carry credentials in the URL (pass the token as github-token)"
    assert "secret" not in message


@pytest.mark.parametrize(
    "text",
    [
        "https://github.com",
        "https://github.com/",
        "https://github.com/acme",
        "https://github.com/acme/env/tree/main",
        "https://github.com/acme/env/pull/1",
    ],
)
def test_url_that_is_not_a_repository(tmp_path: Path, text: str) -> None:
    assert refusal(text, tmp_path) == f"{text} is not a repository URL (https://HOST/OWNER/NAME)"


@pytest.mark.parametrize(
    ("text", "repo"),
    [
        ("https://github.com/-acme/env", "-acme/env"),
        ("https://github.com/acme/.git", "acme/"),
        ("https://github.com/ac_me/env", "ac_me/env"),
        ("https://github.com/acme/e%20nv", "acme/e%20nv"),
        ("https://github.com/acme/env:x", "acme/env:x"),
    ],
)
def test_url_with_a_bad_repository_name(tmp_path: Path, text: str, repo: str) -> None:
    assert refusal(text, tmp_path) == f"bad repository name {repo!r}"


def test_ghes_url_keeps_its_port(tmp_path: Path) -> None:
    target = parse_env_repo("https://ghe.example.com:8443/acme/env", cwd=tmp_path)
    assert target.api_url == "https://ghe.example.com:8443/api/v3"


@pytest.mark.parametrize(
    ("text", "api_url"),
    [
        ("https://GHE.Example.com:8443/acme/env", "https://ghe.example.com:8443/api/v3"),
        ("http://git.corp:8080/acme/env", "https://git.corp:8080/api/v3"),
        ("https://[::1]:8443/acme/env", "https://[::1]:8443/api/v3"),
        ("https://[::1]/acme/env", "https://[::1]/api/v3"),
        # The scheme's default port is the host itself.
        ("https://ghe.example.com:443/acme/env", "https://ghe.example.com/api/v3"),
        ("https://github.com:443/acme/env", GITHUB_API),
        ("http://github.com:80/acme/env", GITHUB_API),
    ],
)
def test_url_port_in_the_api_url(tmp_path: Path, text: str, api_url: str) -> None:
    assert parse_env_repo(text, cwd=tmp_path) == EnvRepoTarget("github", "acme/env", api_url)


@pytest.mark.parametrize(
    "text",
    [
        "https://ghe.example.com:0/acme/env",
        "https://ghe.example.com:65536/acme/env",
        "https://ghe.example.com:https/acme/env",
    ],
)
def test_url_with_a_bad_port(tmp_path: Path, text: str) -> None:
    assert refusal(text, tmp_path) == (
        f"{text} has a bad port (give a number from 1 to 65535 after the host)"
    )


@pytest.mark.parametrize("name", ["..", "."])
def test_url_with_a_dot_repository_name_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput):
        parse_env_repo(f"https://github.com/acme/{name}", cwd=tmp_path)


@pytest.mark.parametrize("name", ["..", ".", "..git"])
def test_dot_repository_name_message(tmp_path: Path, name: str) -> None:
    repo = f"acme/{name.removesuffix('.git')}"
    assert refusal(f"https://github.com/acme/{name}", tmp_path) == (f"bad repository name {repo!r}")


@pytest.mark.parametrize("name", ["...", ".github", "..x", "env."])
def test_repository_names_with_dots_that_are_names(tmp_path: Path, name: str) -> None:
    assert parse_env_repo(f"https://github.com/acme/{name}", cwd=tmp_path) == EnvRepoTarget(
        "github", f"acme/{name}", GITHUB_API
    )


def test_url_without_a_host_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        parse_env_repo("https:///acme/env", cwd=tmp_path)


@pytest.mark.parametrize(
    "text", ["https:///acme/env", "http:///acme/env", "https://:8443/acme/env"]
)
def test_url_without_a_host_names_the_fix(tmp_path: Path, text: str) -> None:
    assert refusal(text, tmp_path) == f"{text} has no host (give https://HOST/OWNER/NAME)"


# --- OWNER/NAME -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["acme/env", "Acme-1/env.repo_x-y", "a/b"])
def test_owner_name_on_github_com(tmp_path: Path, text: str) -> None:
    target = parse_env_repo(text, cwd=tmp_path)
    assert target == EnvRepoTarget("github", text, GITHUB_API)
    assert not target.is_local
    assert target.repo == text


def test_owner_name_on_the_given_api(tmp_path: Path) -> None:
    api = "https://ghe.example.com/api/v3"
    assert parse_env_repo("acme/env", api, cwd=tmp_path) == EnvRepoTarget("github", "acme/env", api)


# --- --notify OWNER/REPO#NUMBER ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "repo", "number"),
    [
        ("acme/env#12", "acme/env", 12),
        ("  acme/env#1\n", "acme/env", 1),
        ("Acme-1/env.repo_x#999999", "Acme-1/env.repo_x", 999999),
        ("acme/env#007", "acme/env", 7),
    ],
)
def test_notify_target(text: str, repo: str, number: int) -> None:
    assert parse_notify_target(text, "token") == NotifyTarget(repo, number)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "acme/env",
        "acme/env#",
        "acme/env#0",
        "acme/env#-1",
        "acme/env#+1",
        "acme/env#1.0",
        "acme/env#1#2",
        "acme/env# 1",
        "acme/env#x",
        "#12",
        "acme#12",
        "/env#12",
        "acme/#12",
        "acme/env/x#12",
        "https://github.com/acme/env/pull/12",
    ],
)
def test_bad_notify_target(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_notify_target(text, "token")
    [problem] = caught.value.problems
    assert (problem.source, problem.field, problem.message) == (
        "--notify",
        "",
        f"expected OWNER/REPO#NUMBER, got {text!r}",
    )


@pytest.mark.parametrize("token", [None, ""])
def test_notify_target_needs_a_token(token: str | None) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_notify_target("acme/env#12", token)
    assert str(caught.value) == (
        "--notify: needs GITHUB_TOKEN (issues or pull-requests write access) to comment"
    )


def test_notify_target_checks_the_form_before_the_token() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_notify_target("acme/env", None)
    assert str(caught.value) == "--notify: expected OWNER/REPO#NUMBER, got 'acme/env'"


def test_notify_target_with_a_superscript_digit_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        parse_notify_target("acme/env#²", "token")


@pytest.mark.parametrize("number", ["²", "١٢", "１２", "1²"])
def test_notify_number_must_be_ascii_digits(number: str) -> None:
    text = f"acme/env#{number}"
    with pytest.raises(InvalidInput) as caught:
        parse_notify_target(text, "token")
    assert str(caught.value) == f"--notify: expected OWNER/REPO#NUMBER, got {text!r}"


@pytest.mark.parametrize("text", ["../env#1", "acme/e nv#1", "acme/env #1", "acme/e\x00nv#1"])
def test_notify_target_checks_the_repository_name(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_notify_target(text, "token")


NOTIFY_REPO_HINT = (
    "(OWNER: letters, digits and '-'; REPO: letters, digits, '.', '_' and '-', not '.' or '..')"
)


@pytest.mark.parametrize(
    ("text", "repo"),
    [
        ("../env#1", "../env"),
        ("acme/..#1", "acme/.."),
        ("acme/.#1", "acme/."),
        ("acme/e nv#1", "acme/e nv"),
        ("acme/env #1", "acme/env "),
        ("acme/e\x00nv#1", "acme/e\x00nv"),
        ("-acme/env#1", "-acme/env"),
    ],
)
def test_notify_bad_repository_message(text: str, repo: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_notify_target(text, "token")
    assert str(caught.value) == (
        f"--notify: bad repository {repo!r} in {text!r} {NOTIFY_REPO_HINT}"
    )
