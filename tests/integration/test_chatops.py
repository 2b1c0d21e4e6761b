"""`model-bot chatops` end to end: real webhook payloads (rewritten to the fake's repository,
users and comments), the fake GitHub over HTTP, real git and the real promote and rollback."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.text.markdown import escape
from tests.actionrunner import parse_github_output
from tests.envfixtures import (
    BOT_LOGIN,
    REPO,
    TOKEN,
    Promotion,
    deploy,
    fast_github,
    github_env_repo,
    github_target,
    run_promote,
)
from tests.fakegithub import FakeGitHub
from tests.webhooks import (
    ISSUE_COMMENT_CREATED,
    ISSUE_COMMENT_EDITED,
    PR_COMMENT_CREATED,
    PULL_REQUEST_CLOSED,
    load,
    rewrite,
)

pytestmark = pytest.mark.usefixtures("commit_mode")

OWNER, NAME = REPO.split("/")
MODEL = "fraud-detector"
ENV = "production"
ROLLBACK_BRANCH = f"model-bot/rollback/{ENV}/{MODEL}"
SHELL = "$(touch {s}); `touch {s}`; touch {s} && echo ${{IFS}}x | sh; rm -rf / ' \" \\"


@dataclass
class Run:
    code: int
    out: str
    err: str
    outputs: dict[str, str]


@dataclass
class Env:
    fake: FakeGitHub
    tmp: Path
    promotions: list[Promotion]
    tokens: dict[str, str]
    run_cli: Callable[..., Run]

    @property
    def merged(self) -> Promotion:
        return self.promotions[-1]

    def comment(self, login: str, number: int, body: str) -> int:
        """Post a comment as `login` through the fake's REST API; its id."""
        issue = self.fake.client(self.tokens[login]).get_repo(REPO).get_issue(number)
        return int(issue.create_comment(body).id)

    def event(
        self,
        login: str,
        number: int,
        body: str,
        *,
        source: Path = PR_COMMENT_CREATED,
        post: bool = True,
        **change: Any,
    ) -> Path:
        """A real payload rewritten to describe `login`'s comment `body` on #`number`."""
        comment_id = self.comment(login, number, body) if post else 424242
        issue = self.fake.issue(OWNER, NAME, number)
        data = rewrite(
            load(source),
            api_url=self.fake.api_url,
            repo=change.pop("repo", REPO),
            number=number,
            comment_id=comment_id,
            body=body,
            author=login,
            state=change.pop("state", issue["state"]),
            pull_request=change.pop("pull_request", "pull_request" in issue),
            **change,
        )
        path = self.tmp / f"event-{comment_id}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    def reactions(self, comment_id: int) -> list[tuple[str, str]]:
        found = self.fake.reactions(OWNER, NAME, comment_id=comment_id)
        return [(r["user"]["login"], r["content"]) for r in found]

    def replies(self, number: int) -> list[str]:
        return [
            c["body"]
            for c in self.fake.comments(OWNER, NAME, number)
            if c["user"]["login"] == BOT_LOGIN
        ]

    def rollback_pulls(self) -> list[dict[str, Any]]:
        return [p for p in self.fake.pulls(OWNER, NAME) if p["head"]["ref"] == ROLLBACK_BRANCH]

    def writes(self) -> int:
        return len(self.fake.write_requests())


@pytest.fixture
def env(
    fake_github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Env:
    """acme/env on the fake with fraud-detector 6 then 7 promoted and merged (PR #2 is the
    merged promotion of 7), and people with every level of access."""
    fast_github(monkeypatch)
    github_env_repo(fake_github)
    work = tmp_path / "work"
    work.mkdir()
    promotions = deploy(fake_github, REPO, MODEL, ("6", "7"), workdir=work)
    tokens = {BOT_LOGIN: TOKEN}
    for login, role in [
        ("alice", "write"),
        ("rita", "read"),
        ("tim", "triage"),
        ("maya", "maintain"),
        ("ada", "admin"),
        ("nobody", "none"),
    ]:
        tokens[login] = fake_github.add_user(login).token
        fake_github.set_permission(OWNER, NAME, login, role)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", fake_github.api_url)
    monkeypatch.setenv("TMPDIR", str(work))
    output = tmp_path / "github-output"

    def run_cli(event: Path, *args: str, env: dict[str, str] | None = None) -> Run:
        output.write_text("")
        monkeypatch.setenv("GITHUB_OUTPUT", str(output))
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main(["chatops", "--event-path", str(event), "--bot-login", BOT_LOGIN, *args])
        captured = capsys.readouterr()
        code = exit_info.value.code
        return Run(
            code if isinstance(code, int) else (0 if code is None else 2),
            captured.out,
            captured.err,
            parse_github_output(output.read_text()),
        )

    fake_github.reset_requests()
    return Env(fake_github, tmp_path, promotions, tokens, run_cli)


def comment_id_of(path: Path) -> int:
    return int(json.loads(path.read_text())["comment"]["id"])


# --- /rollback on the merged promotion PR ---------------------------------------------------------


def test_a_read_user_is_refused_politely(env: Env) -> None:
    number = env.merged.number
    event = env.event("rita", number, "/rollback latency doubled")
    run = env.run_cli(event)
    assert run.code == 0, run.err
    assert "chatops: refused: rita has read permission; /rollback needs write" in run.out
    (reply,) = env.replies(number)
    assert "@rita" in reply and "**write**" in reply and "**read**" in reply
    assert env.reactions(comment_id_of(event)) == [(BOT_LOGIN, "eyes"), (BOT_LOGIN, "confused")]
    assert env.rollback_pulls() == []
    assert env.fake.branch_sha(OWNER, NAME, ROLLBACK_BRANCH) is None
    assert run.outputs == {}


@pytest.mark.parametrize(("login", "allowed"), [("tim", False), ("maya", True), ("ada", True)])
def test_roles_map_to_levels(env: Env, login: str, allowed: bool) -> None:
    # triage reads as read (refused); maintain reads as write and admin is admin (allowed)
    run = env.run_cli(env.event(login, env.merged.number, "/rollback"))
    assert run.code == 0, run.err
    assert ("chatops: done" in run.out) is allowed
    assert len(env.rollback_pulls()) == (1 if allowed else 0)


def test_the_env_repo_config_can_raise_the_needed_permission(env: Env) -> None:
    config = env.fake.commit_files(
        OWNER, NAME, "main", {".model-bot.yaml": "chatops: {permission: admin}\n"}
    )
    assert config
    refused = env.run_cli(env.event("alice", env.merged.number, "/rollback"))
    assert "chatops: refused: alice has write permission; /rollback needs admin" in refused.out
    assert env.rollback_pulls() == []
    allowed = env.run_cli(env.event("ada", env.merged.number, "/rollback"))
    assert "chatops: done" in allowed.out, allowed.out + allowed.err


def test_the_flag_overrides_the_env_repo_config(env: Env) -> None:
    env.fake.commit_files(
        OWNER, NAME, "main", {".model-bot.yaml": "chatops: {permission: admin}\n"}
    )
    run = env.run_cli(
        env.event("alice", env.merged.number, "/rollback"), "--min-permission", "write"
    )
    assert "chatops: done" in run.out, run.out + run.err


def test_a_write_user_gets_a_revert_pull_request(env: Env) -> None:
    number = env.merged.number
    event = env.event("alice", number, "Canary looked bad.\n/rollback p99 latency doubled")
    run = env.run_cli(event)
    assert run.code == 0, run.err
    assert "chatops: done: created: fraud-detector in production" in run.out

    (pull,) = env.rollback_pulls()
    assert pull["state"] == "open" and pull["base"]["ref"] == "main"
    assert "p99 latency doubled" in pull["body"]
    assert "alice" in pull["body"]
    assert f"#issuecomment-{comment_id_of(event)}" in pull["body"]
    assert env.reactions(comment_id_of(event)) == [(BOT_LOGIN, "eyes"), (BOT_LOGIN, "rocket")]
    replies = env.replies(number)
    mine = [r for r in replies if r.startswith("@alice")]
    assert len(mine) == 1
    assert f"[#{pull['number']}]({pull['html_url']})" in mine[0]
    assert "from `7` to `6`" in mine[0]
    assert run.outputs == {
        "outcome": "created",
        "pull-request-number": str(pull["number"]),
        "pull-request-url": pull["html_url"],
    }


def test_asking_twice_converges_on_one_pull_request(env: Env) -> None:
    number = env.merged.number
    assert env.run_cli(env.event("alice", number, "/rollback first")).code == 0
    again = env.run_cli(env.event("ada", number, "/rollback second"))
    assert again.code == 0, again.err
    assert len(env.rollback_pulls()) == 1
    (reply,) = [r for r in env.replies(number) if r.startswith("@ada")]
    assert f"#{env.rollback_pulls()[0]['number']}" in reply


def test_an_open_promotion_pull_request_has_nothing_to_roll_back(env: Env) -> None:
    opened = run_promote(
        github_target(env.fake), MODEL, "8", champion="7", workdir=env.tmp / "work"
    )
    assert opened.pull_request is not None
    number = opened.pull_request.number
    event = env.event("alice", number, "/rollback")
    run = env.run_cli(event)
    assert run.code == 0, run.err
    assert "chatops: rejected" in run.out
    (reply,) = [r for r in env.replies(number) if r.startswith("@alice")]
    assert "is not merged yet" in reply
    assert env.reactions(comment_id_of(event))[-1] == (BOT_LOGIN, "confused")
    assert env.rollback_pulls() == []


# --- /rollback <model> <environment> on a plain issue ---------------------------------------------


def open_issue(env: Env, title: str = "fraud-detector misbehaves") -> int:
    issue = env.fake.client(env.tokens["alice"]).get_repo(REPO).create_issue(title=title)
    return int(issue.number)


def test_rollback_by_name_on_an_issue(env: Env) -> None:
    number = open_issue(env)
    event = env.event(
        "alice",
        number,
        f"/rollback {MODEL} {ENV} p99 doubled since 7",
        source=ISSUE_COMMENT_CREATED,
    )
    run = env.run_cli(event)
    assert run.code == 0, run.err
    (pull,) = env.rollback_pulls()
    assert "p99 doubled since 7" in pull["body"]
    (reply,) = env.replies(number)
    assert pull["html_url"] in reply
    assert env.reactions(comment_id_of(event)) == [(BOT_LOGIN, "eyes"), (BOT_LOGIN, "rocket")]


def test_an_unknown_environment_is_explained(env: Env) -> None:
    number = open_issue(env)
    event = env.event("alice", number, f"/rollback {MODEL} prod", source=ISSUE_COMMENT_CREATED)
    run = env.run_cli(event)
    assert run.code == 0, run.err
    (reply,) = env.replies(number)
    assert "unknown environment" in reply and "prod" in reply
    assert env.reactions(comment_id_of(event))[-1] == (BOT_LOGIN, "confused")
    assert env.rollback_pulls() == []


def test_a_bare_rollback_on_an_issue_shows_the_usage(env: Env) -> None:
    number = open_issue(env)
    run = env.run_cli(env.event("alice", number, "/rollback", source=ISSUE_COMMENT_CREATED))
    assert run.code == 0
    (reply,) = env.replies(number)
    assert "`/rollback <model> <environment> [reason]`" in reply


# --- ignored events: exit 0, say why, write nothing -----------------------------------------------


def assert_ignored(env: Env, run: Run, why: str) -> None:
    assert run.code == 0, run.err
    assert run.out.startswith("chatops: ignored: ") and why in run.out
    assert env.writes() == 0


def test_an_edited_comment_is_ignored(env: Env) -> None:
    number = open_issue(env)
    event = env.event("alice", number, "/rollback fraud-detector production", post=False)
    data = rewrite(
        load(ISSUE_COMMENT_EDITED),
        api_url=env.fake.api_url,
        repo=REPO,
        number=number,
        comment_id=1,
        body="/rollback fraud-detector production",
        author="alice",
    )
    event.write_text(json.dumps(data))
    env.fake.reset_requests()
    assert_ignored(env, env.run_cli(event), "the comment was edited, not created")
    assert env.fake.requests == []  # not even a read


def test_a_deleted_comment_is_ignored(env: Env) -> None:
    event = env.event("alice", env.merged.number, "/rollback", post=False, action="deleted")
    env.fake.reset_requests()
    assert_ignored(env, env.run_cli(event), "the comment was deleted")


def test_a_bot_comment_is_ignored(env: Env) -> None:
    event = env.event(BOT_LOGIN, env.merged.number, "/rollback", author_type="Bot")
    env.fake.reset_requests()
    assert_ignored(env, env.run_cli(event), "by a bot")


def test_the_bots_own_login_is_ignored_even_as_a_user(env: Env) -> None:
    event = env.event("alice", env.merged.number, "/rollback")
    env.fake.reset_requests()
    run = env.run_cli(event, "--bot-login", "ALICE")
    assert_ignored(env, run, "by a bot (alice)")


def test_a_closed_pull_request_that_promoted_nothing_is_ignored(env: Env) -> None:
    env.fake.commit_files(OWNER, NAME, "feature", {"notes.md": "x\n"}, parent="main")
    client = env.fake.client(env.tokens["alice"]).get_repo(REPO)
    pr = client.create_pull(title="docs", body="just docs", head="feature", base="main")
    pr.edit(state="closed")
    event = env.event("alice", pr.number, f"/rollback {MODEL} {ENV}")
    env.fake.reset_requests()
    assert_ignored(env, env.run_cli(event), "closed pull request that promoted no model")
    assert env.fake.request_count("GET") == 1  # the pull request, nothing else


def test_a_comment_in_another_repository_is_ignored(env: Env) -> None:
    event = env.event("alice", env.merged.number, "/rollback", repo="acme/other")
    env.fake.reset_requests()
    run = env.run_cli(event, "--env-repo", REPO)
    assert_ignored(env, run, "in acme/other, not in the environment repository acme/env")


def test_no_command_is_ignored_without_a_token(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    event = env.event("alice", env.merged.number, "LGTM, and `/rollback` if it breaks")
    monkeypatch.delenv("GITHUB_TOKEN")
    env.fake.reset_requests()
    assert_ignored(env, env.run_cli(event), "holds no command")


# --- /help ----------------------------------------------------------------------------------------


def test_help_replies_with_the_commands(env: Env) -> None:
    number = open_issue(env)
    event = env.event("rita", number, "/help", source=ISSUE_COMMENT_CREATED)
    run = env.run_cli(event)
    assert run.code == 0, run.err
    (reply,) = env.replies(number)
    assert "`/rollback [reason]`" in reply and "`/rollback <model> <environment> [reason]`" in reply
    assert env.reactions(comment_id_of(event)) == [(BOT_LOGIN, "eyes"), (BOT_LOGIN, "rocket")]


# --- hostile text -----------------------------------------------------------------------------------


def test_shell_metacharacters_in_the_reason_are_inert(env: Env) -> None:
    sentinel = env.tmp / "pwned"
    text = SHELL.format(s=sentinel)
    number = env.merged.number
    run = env.run_cli(env.event("alice", number, f"/rollback {text}"))
    assert run.code == 0, run.err
    assert not sentinel.exists()
    (reply,) = [r for r in env.replies(number) if r.startswith("@alice")]
    assert f"Reason: {escape(text)}" in reply  # echoed escaped, never run
    assert "\\`touch" in reply and " `touch" not in reply
    (pull,) = env.rollback_pulls()
    assert f"`touch {sentinel}`" not in pull["body"]


def test_shell_metacharacters_in_the_names_are_rejected(env: Env) -> None:
    sentinel = env.tmp / "pwned"
    number = open_issue(env)
    body = f"/rollback $(touch {sentinel}) `touch {sentinel}`"
    run = env.run_cli(env.event("alice", number, body, source=ISSUE_COMMENT_CREATED))
    assert run.code == 0, run.err
    assert not sentinel.exists()
    (reply,) = env.replies(number)
    assert "`$(touch` is not a valid model name" in reply
    assert env.rollback_pulls() == []


# --- failures ---------------------------------------------------------------------------------------


def test_a_github_failure_is_answered_and_fails_the_run(env: Env) -> None:
    number = env.merged.number
    event = env.event("alice", number, "/rollback")
    env.fake.inject(status=500, times=50, method="POST", path_regex=r"/pulls$")
    run = env.run_cli(event)
    assert run.code == 2
    assert "model-bot: error: GitHub answered 500 while trying to open a pull request" in run.err
    (reply,) = [r for r in env.replies(number) if r.startswith("@alice")]
    assert "the rollback failed: GitHub answered 500" in reply
    assert TOKEN not in reply and TOKEN not in run.out + run.err
    assert env.reactions(comment_id_of(event)) == [(BOT_LOGIN, "eyes"), (BOT_LOGIN, "confused")]


def test_a_command_without_a_token_is_a_usage_error(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = env.event("alice", env.merged.number, "/rollback")
    monkeypatch.delenv("GITHUB_TOKEN")
    run = env.run_cli(event)
    assert run.code == 2
    assert "GITHUB_TOKEN" in run.err


# --- bad event files: exit 2, one line naming --event-path ------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "is not JSON"),
        ("[1, 2]", "is not an issue_comment event"),
        (PULL_REQUEST_CLOSED.read_text(), "is not an issue_comment event"),
        ('{"comment": {}, "issue": {}}', "bad issue_comment event: action is missing"),
        (b"\xff\xfe\x00garbage", "cannot read"),
    ],
    ids=["missing", "not-json", "array", "pull_request", "fields", "binary"],
)
def test_bad_event_files(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str | bytes | None,
    message: str,
) -> None:
    path = tmp_path / "event.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with pytest.raises(SystemExit) as exit_info:
        main(["chatops", "--event-path", str(path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("model-bot: error: --event-path: ")
    assert message in err


def test_an_event_file_larger_than_any_github_event_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """GitHub caps webhook payloads at 25 MB; a larger file is not an event: it is refused
    before reading (a sparse 26 MiB file, so nothing is written or read)."""
    path = tmp_path / "event.json"
    with path.open("wb") as handle:
        handle.truncate(26 * 1024 * 1024)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    with pytest.raises(SystemExit) as exit_info:
        main(["chatops", "--event-path", str(path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        f"model-bot: error: --event-path: {path} is 27,262,976 bytes, over the 25 MiB a GitHub "
        "event can be (give the issue_comment event payload)\n"
    )


def test_the_event_path_defaults_to_github_event_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(tmp_path / "nope.json"))
    with pytest.raises(SystemExit) as exit_info:
        main(["chatops"])
    assert exit_info.value.code == 2
    assert "--event-path: " in capsys.readouterr().err


def test_another_event_name_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "event.json"
    path.write_text(ISSUE_COMMENT_CREATED.read_text())
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    with pytest.raises(SystemExit) as exit_info:
        main(["chatops", "--event-path", str(path)])
    assert exit_info.value.code == 2
    assert "this run's event is 'push'" in capsys.readouterr().err
