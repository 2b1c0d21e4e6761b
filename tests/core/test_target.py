"""bot.core.target: the environment repo as a value, and the GitHub API URL of a host."""

from __future__ import annotations

import dataclasses

import pytest

from bot.core.target import OWNER_NAME, EnvRepoTarget, NotifyTarget, api_url_for_host


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("github.com", "https://api.github.com"),
        ("www.github.com", "https://api.github.com"),
        ("ghe.example.com", "https://ghe.example.com/api/v3"),
        ("github.example.org", "https://github.example.org/api/v3"),
        ("api.github.com", "https://api.github.com/api/v3"),  # not a web host: taken as GHES
        ("localhost", "https://localhost/api/v3"),
    ],
)
def test_api_url_for_host(host: str, expected: str) -> None:
    assert api_url_for_host(host) == expected


@pytest.mark.parametrize(
    ("target", "is_local", "repo", "api_url"),
    [
        (EnvRepoTarget("local", "/srv/env"), True, "/srv/env", None),
        (EnvRepoTarget("local", "file:///srv/env"), True, "file:///srv/env", None),
        (
            EnvRepoTarget("github", "acme/env", "https://api.github.com"),
            False,
            "acme/env",
            "https://api.github.com",
        ),
        (
            EnvRepoTarget("github", "acme/env", "https://ghe.acme.io/api/v3"),
            False,
            "acme/env",
            "https://ghe.acme.io/api/v3",
        ),
    ],
)
def test_target(target: EnvRepoTarget, is_local: bool, repo: str, api_url: str | None) -> None:
    assert target.is_local is is_local
    assert target.repo == repo == target.location
    assert target.api_url == api_url


def test_target_defaults_to_no_api_url() -> None:
    assert EnvRepoTarget("github", "acme/env").api_url is None


def test_target_is_a_frozen_value() -> None:
    target = EnvRepoTarget("github", "acme/env", "https://api.github.com")
    assert target == EnvRepoTarget("github", "acme/env", "https://api.github.com")
    assert hash(target) == hash(EnvRepoTarget("github", "acme/env", "https://api.github.com"))
    assert target != EnvRepoTarget("github", "acme/env", "https://ghe.acme.io/api/v3")
    with pytest.raises(dataclasses.FrozenInstanceError):
        target.location = "other/repo"  # type: ignore[misc]


@pytest.mark.parametrize(
    "value",
    [
        "acme/env",
        "a/b",
        "A-1/repo.name_x-y",
        "a" * 39 + "/r",
        "acme/" + "r" * 100,
        "0rg/.github",
    ],
)
def test_owner_name_accepts(value: str) -> None:
    assert OWNER_NAME.match(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "acme",
        "acme/",
        "/env",
        "-acme/env",
        "_acme/env",
        "ac_me/env",
        "a" * 40 + "/r",
        "acme/" + "r" * 101,
        "acme/env/x",
        "acme/e nv",
        "acme/env\n",  # `$` would accept this; `\Z` does not
        "acme\n/env",
        "acme/env:main",
        "https://github.com/acme/env",
    ],
)
def test_owner_name_refuses(value: str) -> None:
    assert OWNER_NAME.match(value) is None


def test_notify_target() -> None:
    target = NotifyTarget("acme/env", 12)
    assert (target.repo, target.number) == ("acme/env", 12)
    assert str(target) == "acme/env#12"
    assert target == NotifyTarget("acme/env", 12)
    with pytest.raises(dataclasses.FrozenInstanceError):
        target.number = 13  # type: ignore[misc]
