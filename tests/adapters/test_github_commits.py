"""The pure parts of the API publisher: its limits and its commit message."""

from __future__ import annotations

import pytest

from bot.adapters.github_commits import (
    API_BLOB_LIMIT,
    CO_AUTHOR,
    api_commit_message,
    check_api_limits,
)
from bot.core.commits import CommitRequest
from bot.core.errors import InvalidInput
from bot.core.trailers import parse_trailers

PATH = "environments/production/m/values.yaml"


def _request(files: dict[str, bytes | None]) -> CommitRequest:
    return CommitRequest(
        branch="model-bot/promote/production/m",
        base="main",
        files=files,
        subject="Promote m 2 to production",
        body="Body line.",
        trailers={"Model": "m", "Action": "promote"},
        author=("model-bot", "model-bot@users.noreply.github.com"),
    )


@pytest.mark.parametrize("mode", [None, "100644", "100755"])
def test_regular_files_new_or_executable_pass(mode: str | None) -> None:
    modes = {PATH: mode} if mode else {}
    check_api_limits(_request({PATH: b"a: 1\n"}), modes)
    check_api_limits(_request({PATH: None}), modes)


@pytest.mark.parametrize(
    ("mode", "said"),
    [("120000", "is a symbolic link"), ("160000", "is not a regular file (mode 160000)")],
)
def test_links_and_submodules_are_refused(mode: str, said: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_api_limits(_request({PATH: b"a: 1\n"}), {PATH: mode})
    assert str(refused.value).startswith(f"{PATH}: {said}: commit_mode api")
    assert str(refused.value).endswith(
        "set commit_mode: git in .model-bot.yaml (or --commit-mode git)"
    )


def test_the_size_limit_is_inclusive() -> None:
    check_api_limits(_request({PATH: b"x" * API_BLOB_LIMIT}), {})
    with pytest.raises(InvalidInput, match="over the 40 MiB"):
        check_api_limits(_request({PATH: b"x" * (API_BLOB_LIMIT + 1)}), {})


def test_the_message_keeps_the_trailers_and_names_the_bot_as_co_author() -> None:
    message = api_commit_message(_request({PATH: b"a"}))
    assert message.startswith("Promote m 2 to production\n\nBody line.\n\n")
    assert parse_trailers(message) == {
        "Model": "m",
        "Action": "promote",
        CO_AUTHOR: "model-bot <model-bot@users.noreply.github.com>",
    }
