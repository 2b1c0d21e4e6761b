"""bot.flows.chatops.handle_event with a stand-in forge: the order of reads, reactions and
replies, and what reaches the rollback runner."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from bot.core.chatops import (
    CommentEvent,
)
from bot.core.errors import ExternalError, InvalidInput
from bot.core.pulls import CommentInfo, PullRequestInfo
from bot.flows.chatops import ChatOpsOptions, handle_event
from bot.text.markdown import escape
from bot.text.redact import REDACTED
from tests.core.test_chatops import EVENT, pull
from tests.webhooks import ISSUE_COMMENT_EDITED

# --- handle_event with stand-ins ------------------------------------------------------------------


@dataclass
class StubForge:
    """Records the calls handle_event makes; answers from its fields."""

    pull: PullRequestInfo = field(default_factory=pull)
    permission_of: str = "write"
    web_root: str = "http://x/acme/env"
    config: bytes | None = None  # .model-bot.yaml on the default branch
    calls: list[tuple[str, Any]] = field(default_factory=list)
    fail_on: str | None = None

    def _record(self, name: str, value: Any) -> None:
        self.calls.append((name, value))
        if self.fail_on == name:
            raise ExternalError(f"GitHub answered 502 while trying to {name}")

    def get_pull(self, number: int) -> PullRequestInfo:
        self._record("get_pull", number)
        return self.pull

    def permission(self, login: str) -> str:
        self._record("permission", login)
        return self.permission_of

    def read_file(self, path: str, ref: str | None = None) -> bytes | None:
        return self.config

    def react(self, comment_id: int, content: str) -> None:
        self._record("react", content)

    def comment(self, number: int, body: str) -> CommentInfo:
        self._record("comment", body)
        return CommentInfo(1, body, "bot")

    @property
    def writes(self) -> list[tuple[str, Any]]:
        return [c for c in self.calls if c[0] in ("react", "comment")]


OPTIONS = ChatOpsOptions("acme/env", secrets=("t0k3n",))


def run(event: CommentEvent, forge: StubForge, rollback: Any = None):
    def no_rollback(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("rollback must not run")

    return handle_event(
        event,
        OPTIONS,
        open_forge=lambda: forge,  # type: ignore[arg-type,return-value]
        run_rollback=rollback or no_rollback,
    )


def test_eyes_come_first_then_the_permission_check() -> None:
    forge = StubForge(permission_of="read")
    outcome = run(EVENT, forge)
    assert outcome.status == "refused"
    assert [c[0] for c in forge.calls] == ["get_pull", "react", "permission", "comment", "react"]
    assert forge.calls[1] == ("react", "eyes") and forge.calls[-1] == ("react", "confused")


def test_ignored_events_make_no_calls_at_all() -> None:
    forge = StubForge()
    outcome = run(replace(EVENT, action="edited"), forge)
    assert outcome.status == "ignored" and forge.calls == []


def test_a_closed_pull_that_promoted_nothing_is_only_read() -> None:
    forge = StubForge(pull=pull(head_ref="feature", body="", merged=False))
    outcome = run(EVENT, forge)
    assert outcome.status == "ignored"
    assert forge.writes == []


def test_a_mismatched_promotion_is_rejected_after_the_permission_check() -> None:
    mismatched = pull(head_ref="model-bot/promote/staging/fraud-detector")
    forge = StubForge(pull=mismatched, permission_of="read")
    assert run(EVENT, forge).status == "refused"
    forge = StubForge(pull=mismatched)
    outcome = run(EVENT, forge)
    assert outcome.status == "rejected"
    assert "different models or environments" in (outcome.reply or "")
    outcome = run(replace(EVENT, body="/help"), StubForge(pull=mismatched))
    assert outcome.status == "help"


def test_an_ignored_event_imports_no_adapter(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from bot.cli import main\n"
        "try:\n"
        f"    main(['chatops', '--event-path', {str(ISSUE_COMMENT_EDITED)!r}])\n"
        "except SystemExit as exit_:\n"
        "    assert exit_.code == 0, exit_.code\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(loaded & {'github', 'git', 'mlflow', 'prometheus_api_client', 'numpy'}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )
    assert done.stdout.splitlines() == [
        "chatops: ignored: the comment was edited, not created: only new comments count",
        "[]",
    ]


def test_help_needs_no_permission() -> None:
    forge = StubForge(permission_of="none")
    outcome = run(replace(EVENT, body="/help", state="open"), forge)
    assert outcome.status == "help"
    assert [c[0] for c in forge.calls] == ["react", "comment", "react"]
    assert forge.calls[-1] == ("react", "rocket")


def test_rollback_runs_with_the_promotion_details() -> None:
    seen: dict[str, Any] = {}

    def fake_rollback(options: Any, policy: Any) -> Any:
        from bot.core.rollback import RollbackResult

        seen["options"] = options
        return RollbackResult(
            outcome="created",
            branch="model-bot/rollback/production/fraud-detector",
            from_version="7",
            to_version="6",
            method="revert",
            pull_request=pull(number=9, url="http://x/acme/env/pull/9", state="open"),
            promotion_pull_request=None,
            commit="c" * 40,
            diff="",
            title="t",
            body="b",
            reason="",
            merged=False,
            local=False,
            dry_run=False,
        )

    forge = StubForge()
    outcome = run(replace(EVENT, body="/rollback p99 `doubled`"), forge, fake_rollback)
    assert outcome.status == "done"
    options = seen["options"]
    assert (options.model, options.environment, options.to_version, options.base) == (
        "fraud-detector",
        "production",
        "6",
        "main",
    )
    assert options.reason == "p99 `doubled`" and options.requested_by == "alice"
    assert "(http://x/acme/env/issues/5#issuecomment-99)" in options.evidence_markdown
    reply = outcome.reply or ""
    assert "[#9](http://x/acme/env/pull/9)" in reply and "from `7` to `6`" in reply
    assert "Reason: p99 \\`doubled\\`" in reply
    assert forge.calls[-1] == ("react", "rocket")


def test_a_failed_rollback_is_answered_and_returned() -> None:
    def failing(*args: Any, **kwargs: Any) -> Any:
        raise ExternalError("could not push: token t0k3n refused")

    forge = StubForge()
    outcome = run(EVENT, forge, failing)
    assert outcome.status == "failed" and isinstance(outcome.error, ExternalError)
    assert "t0k3n" not in (outcome.reply or "") and escape(REDACTED) in (outcome.reply or "")
    assert forge.calls[-1] == ("react", "confused")


def test_an_unknown_environment_is_a_rejection() -> None:
    def unknown(*args: Any, **kwargs: Any) -> Any:
        raise InvalidInput.one("--environment", "", "unknown environment 'prod'")

    forge = StubForge()
    outcome = run(replace(EVENT, body="/rollback x prod", is_pull_request=False), forge, unknown)
    assert outcome.status == "rejected" and outcome.error is None
    assert "unknown environment 'prod'" in (outcome.reply or "")


def test_github_failing_while_reacting_still_fails_cleanly() -> None:
    forge = StubForge(fail_on="permission")
    outcome = run(EVENT, forge)
    assert outcome.status == "failed"
    assert ("react", "confused") in forge.calls


def test_the_forge_is_opened_only_once_there_is_a_command() -> None:
    def no_token() -> Any:
        raise InvalidInput.one("GITHUB_TOKEN", "", "not set")

    def no_rollback(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("rollback must not run")

    ignored = handle_event(
        replace(EVENT, body="hi"), OPTIONS, open_forge=no_token, run_rollback=no_rollback
    )
    assert ignored.status == "ignored"
    with pytest.raises(InvalidInput, match="GITHUB_TOKEN"):
        handle_event(EVENT, OPTIONS, open_forge=no_token, run_rollback=no_rollback)
