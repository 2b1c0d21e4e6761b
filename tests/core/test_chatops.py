"""ChatOps rules (bot.core.commands, bot.core.chatops): commands in a comment body, the event,
triage, the pull request, and what a `/rollback` asks for."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.chatops import (
    REASON_LIMIT,
    CommentEvent,
    Ignore,
    Promotion,
    Rejection,
    RollbackRequest,
    closed_pull_ignore,
    load_event,
    parse_event,
    promotion_of,
    rollback_request,
    triage,
)
from bot.core.commands import Command, parse_commands
from bot.core.errors import InvalidInput
from bot.core.marker import ProposalMeta
from bot.core.pulls import PullRequestInfo
from bot.text.chatops import rejection_reply
from tests.webhooks import (
    ISSUE_COMMENT_CREATED,
    ISSUE_COMMENT_EDITED,
    PR_COMMENT_CREATED,
    PULL_REQUEST_CLOSED,
    load,
)

R = "rollback"
H = "help"


def names(body: str) -> list[tuple[str, str]]:
    return [(c.name, c.argument) for c in parse_commands(body)]


# --- parse_commands: table ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # plain commands
        ("/rollback", [(R, "")]),
        ("/rollback p99 latency doubled", [(R, "p99 latency doubled")]),
        ("/rollback fraud-detector production oops", [(R, "fraud-detector production oops")]),
        ("/help", [(H, "")]),
        ("/help me please", [(H, "me please")]),
        ("/rollback\tbecause\ttabs", [(R, "because tabs")]),
        ("/rollback   lots   of   space   ", [(R, "lots of space")]),
        # only at the start of a line, case-sensitive, whole word
        ("please /rollback", []),
        ("/Rollback", []),
        ("/ROLLBACK now", []),
        ("/rollbackfoo", []),
        ("/rollback-now", []),
        ("/rollback:", []),
        ("/helpme", []),
        ("//rollback", []),
        ("\\/rollback", []),
        ("rollback", []),
        ("/deploy", []),
        ("- /rollback", []),
        ("1. /rollback", []),
        ("# /rollback", []),
        # leading whitespace: up to three spaces; four or a tab is an indented code block
        (" /rollback a", [(R, "a")]),
        ("   /rollback a", [(R, "a")]),
        ("    /rollback a", []),
        ("\t/rollback a", []),
        ("  \t/rollback a", []),
        ("text\n    /rollback continuation", []),
        # line endings
        ("hello\r\n/rollback crlf\r\n", [(R, "crlf")]),
        ("hello\r/rollback old mac\r", [(R, "old mac")]),
        ("hello\n/rollback lf", [(R, "lf")]),
        ("first line\n/rollback second line", [(R, "second line")]),
        # several commands: all found, in order
        ("/help\n/rollback x", [(H, ""), (R, "x")]),
        ("/rollback a\n/rollback b", [(R, "a"), (R, "b")]),
        # quotes (and their lazy continuation lines)
        ("> /rollback", []),
        (">/rollback", []),
        ("   > /rollback", []),
        ("> > /rollback", []),
        ("> quoted text\n/rollback", []),
        ("> quoted text\n\n/rollback after", [(R, "after")]),
        ("- > /rollback", []),
        ("> ```\n/rollback", []),
        # fenced code blocks, backticks and tildes, any length
        ("```\n/rollback\n```", []),
        ("```\n/rollback\n```\n/rollback out", [(R, "out")]),
        ("~~~\n/rollback\n~~~", []),
        ("~~~~~\n/rollback\n~~~\n/rollback\n~~~~~\n/help", [(H, "")]),
        ("````\n```\n/rollback\n````", []),
        ("```sh\n/rollback\n```", []),
        ("```\n/rollback", []),  # an unclosed fence runs to the end
        ("```\n/rollback\n~~~\n/rollback", []),  # a tilde line does not close backticks
        ("  ```\n/rollback\n  ```\n/help", [(H, "")]),
        ("```\n/rollback\n    ```\n/help", []),  # indented 4: content, not a closing fence
        ("- ```\n  /rollback\n  ```\n/help", [(H, "")]),
        ("1. ~~~\n   /rollback\n   ~~~", []),
        ("text\n```\n/rollback\n```", []),  # a fence interrupts a paragraph
        # inline code (also across lines of one paragraph)
        ("`/rollback`", []),
        ("``/rollback``", []),
        ("run `x\n/rollback y` later", []),
        ("run ``x\n/rollback ` y`` later", []),
        ("run `x\n\n/rollback y` later", [(R, "y` later")]),  # a blank line ends the span
        ("an open ` backtick\n/rollback real", [(R, "real")]),  # no closer: literal
        ("escaped \\`x\n/rollback real `", [(R, "real `")]),
        ("```/rollback``` inline", []),
        # HTML that hides or renders as code
        ("<!-- /rollback -->", []),
        ("<!--\n/rollback\n-->\n/help", [(H, "")]),
        ("text <!-- hidden\n/rollback\n--> text", []),
        ("<pre>\n/rollback\n</pre>\n/help", [(H, "")]),
        ("<code>x\n/rollback</code>", []),
        # empty and odd
        ("", []),
        ("\n\n\n", []),
        ("/", []),
        ("/rollback\x00x", []),
        ("/rollback \x00\x1b[31mred\x07", [(R, "[31mred")]),
        ("/rollback \u202eevil\u202c text", [(R, "evil text")]),
    ],
)
def test_parse_commands(body: str, expected: list[tuple[str, str]]) -> None:
    assert names(body) == expected


def test_line_numbers_count_from_one() -> None:
    commands = parse_commands("hi\r\n\r\n/help\n/rollback x")
    assert [(c.name, c.line) for c in commands] == [("help", 3), ("rollback", 4)]


def test_hostile_text_is_kept_as_plain_data() -> None:
    body = "/rollback $(touch /tmp/x); `rm -rf /` && echo ${IFS} | sh <script>alert(1)</script>"
    (command,) = parse_commands(body)
    assert command.argument == body.removeprefix("/rollback ")


def test_the_argument_is_one_capped_line() -> None:
    (command,) = parse_commands("/rollback " + "x" * 50_000 + "\nnext line")
    assert len(command.argument) <= 1000
    assert command.argument.endswith("…")


def test_a_long_hostile_body_parses_quickly() -> None:
    # many backtick runs of different lengths with no closers: no quadratic blow-up
    body = "text " + " ".join("`" * n for n in range(1, 400)) + "\n/rollback go\n" * 200
    assert len(parse_commands(body * 5)) >= 1


# --- parse_commands: properties ------------------------------------------------------------------

_markdownish = st.text(
    alphabet=st.sampled_from(list("/rollbackhep `~>-*<!-\\\t\r\n x1.")) | st.characters(),
    max_size=300,
)


@settings(max_examples=400, deadline=None)
@given(_markdownish)
def test_any_body_parses_without_raising(body: str) -> None:
    for command in parse_commands(body):
        assert command.name in ("rollback", "help")
        assert "\n" not in command.argument and "\r" not in command.argument
        assert command.argument == command.argument.strip()


@settings(max_examples=300, deadline=None)
@given(_markdownish)
def test_commands_come_from_lines_that_start_with_them(body: str) -> None:
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for command in parse_commands(body):
        line = lines[command.line - 1]
        assert re.match(rf" {{0,3}}/{command.name}(\s|$)", line), line


@settings(max_examples=300, deadline=None)
@given(_markdownish)
def test_quoting_a_body_hides_its_commands(body: str) -> None:
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    assert parse_commands("\n".join("> " + line for line in lines)) == []


@settings(max_examples=300, deadline=None)
@given(_markdownish)
def test_fencing_a_body_hides_its_commands(body: str) -> None:
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    assert parse_commands(f"{fence}\n{body}\n{fence}") == []


# --- the event ------------------------------------------------------------------------------------


def test_parse_event_reads_the_real_payloads() -> None:
    issue = parse_event(load(ISSUE_COMMENT_CREATED))
    assert issue == CommentEvent(
        action="created",
        repository="Codertocat/Hello-World",
        number=1,
        is_pull_request=False,
        state="open",
        comment_id=492700400,
        body="You are totally right! I'll get this fixed right away.",
        author="Codertocat",
        author_type="User",
    )
    pull = parse_event(load(PR_COMMENT_CREATED))
    assert (pull.is_pull_request, pull.body, pull.number) == (True, "/build", 3)
    assert parse_event(load(ISSUE_COMMENT_EDITED)).action == "edited"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "not a JSON object"),
        ("x", "not a JSON object"),
        ({}, "no `comment` and `issue`"),
        (load(PULL_REQUEST_CLOSED), "is not an issue_comment event"),
        ({"comment": {}, "issue": {}}, "action is missing; repository.full_name is missing"),
        (
            {
                "action": "created",
                "comment": {"id": "7", "user": {"login": 5}, "body": None},
                "issue": {"number": True},
                "repository": {"full_name": "not a repo"},
            },
            "issue.number is not an integer; comment.id is not an integer; "
            "comment.user.login is not a string; repository.full_name 'not a repo'",
        ),
    ],
)
def test_parse_event_rejects_other_payloads(data: object, message: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse_event(data)
    assert str(error.value).startswith("--event-path: ")
    assert message in str(error.value)


def test_load_event_names_the_file_on_one_line() -> None:
    with pytest.raises(InvalidInput, match=r"^--event-path: e\.json is not JSON \(") as error:
        load_event("{\n  nope", "e.json")
    assert "\n" not in str(error.value)
    with pytest.raises(InvalidInput, match=r"^--event-path: e\.json: is not an issue_comment"):
        load_event("{}", "e.json")


# --- triage ---------------------------------------------------------------------------------------

EVENT = CommentEvent(
    action="created",
    repository="acme/env",
    number=5,
    is_pull_request=True,
    state="closed",
    comment_id=99,
    body="/rollback because",
    author="alice",
    author_type="User",
)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"action": "edited"}, "was edited, not created"),
        ({"action": "deleted"}, "was deleted, not created"),
        ({"author_type": "Bot"}, "by a bot"),
        ({"author": "renovate[bot]"}, "by a bot"),
        ({"author": "Model-Bot"}, "by a bot"),  # --bot-login, any case
        ({"repository": "other/repo"}, "not in the environment repository acme/env"),
        ({"body": "thanks!"}, "holds no command"),
        ({"body": "> /rollback"}, "holds no command"),
    ],
)
def test_triage_ignores(change: dict[str, Any], reason: str) -> None:
    found = triage(replace(EVENT, **change), repository="acme/env", bot_login="model-bot")
    assert isinstance(found, Ignore)
    assert reason in found.reason


def test_triage_takes_the_first_command() -> None:
    event = replace(EVENT, body="/help\n/rollback x")
    assert triage(event, repository="ACME/Env", bot_login="model-bot") == Command("help", "", 1)


# --- the pull request -----------------------------------------------------------------------------

META = ProposalMeta("promote", "fraud-detector", "production", "7", "6")


def pull(**change: Any) -> PullRequestInfo:
    base = PullRequestInfo(
        number=5,
        url="http://x/acme/env/pull/5",
        state="closed",
        title="Promote fraud-detector 7 to production",
        body="report\n\n" + META.marker() + "\n",
        head_ref="model-bot/promote/production/fraud-detector",
        head_sha="a" * 40,
        base_ref="main",
        merged=True,
        merge_commit_sha="b" * 40,
        labels=(),
    )
    return replace(base, **change)


def test_promotion_from_branch_and_marker() -> None:
    found = promotion_of(pull())
    assert found == Promotion(5, "fraud-detector", "production", "7", "6", True, "closed", "main")


def test_promotion_from_the_branch_alone_or_the_marker_alone() -> None:
    by_branch = promotion_of(pull(body="edited away"))
    assert isinstance(by_branch, Promotion)
    assert (by_branch.model, by_branch.environment, by_branch.version) == (
        "fraud-detector",
        "production",
        None,
    )
    by_marker = promotion_of(pull(head_ref="feature"))
    assert isinstance(by_marker, Promotion) and by_marker.previous_version == "6"


def test_not_a_promotion() -> None:
    assert promotion_of(pull(head_ref="feature", body="hello")) is None
    rollback_marker = ProposalMeta("rollback", "m", "e", "6", "7").marker()
    assert promotion_of(pull(head_ref="model-bot/rollback/e/m", body=rollback_marker)) is None
    assert promotion_of(pull(head_ref="model-bot/promote/Prod/X", body="")) is None


def test_branch_and_marker_that_disagree_are_rejected() -> None:
    found = promotion_of(pull(head_ref="model-bot/promote/staging/fraud-detector"))
    assert isinstance(found, Rejection)
    assert "different models or environments" in found.message


def test_closed_pulls() -> None:
    assert closed_pull_ignore(pull(state="open", merged=False), is_promotion=False) is None
    ignored = closed_pull_ignore(pull(merged=False), is_promotion=False)
    assert ignored is not None and "promoted no model" in ignored.reason
    ignored = closed_pull_ignore(pull(merged=False), is_promotion=True)
    assert ignored is not None and "closed without merging" in ignored.reason
    assert closed_pull_ignore(pull(), is_promotion=True) is None


# --- what /rollback asks for ----------------------------------------------------------------------

PROMOTION = Promotion(5, "fraud-detector", "production", "7", "6", True, "closed", "main")


@pytest.mark.parametrize(
    ("argument", "promotion", "expected"),
    [
        (
            "p99 doubled",
            PROMOTION,
            RollbackRequest("fraud-detector", "production", "p99 doubled", "6", "main", 5),
        ),
        ("", PROMOTION, RollbackRequest("fraud-detector", "production", "", "6", "main", 5)),
        (
            "fraud-detector production p99 doubled",
            PROMOTION,
            RollbackRequest("fraud-detector", "production", "p99 doubled", "6", "main", 5),
        ),
        (
            # on a promotion PR the words are the reason, whatever they look like
            "churn-model staging",
            PROMOTION,
            RollbackRequest("fraud-detector", "production", "churn-model staging", "6", "main", 5),
        ),
        (
            "fraud-detector production p99 doubled",
            None,
            RollbackRequest("fraud-detector", "production", "p99 doubled"),
        ),
        ("churn-model staging", None, RollbackRequest("churn-model", "staging", "")),
    ],
)
def test_rollback_request(argument: str, promotion: Promotion | None, expected: object) -> None:
    assert rollback_request(Command("rollback", argument), promotion) == expected


@pytest.mark.parametrize(
    ("argument", "promotion", "message"),
    [
        ("", None, "needs the model and the environment here"),
        ("fraud-detector", None, "needs the model and the environment here"),
        ("Fraud_Detector production", None, "`Fraud_Detector` is not a valid model name"),
        ("$(touch) x;y", None, "`$(touch)` is not a valid model name"),
        ("why", replace(PROMOTION, merged=False, state="open"), "#5 is not merged yet"),
    ],
)
def test_rollback_request_rejections(
    argument: str, promotion: Promotion | None, message: str
) -> None:
    found = rollback_request(Command("rollback", argument), promotion)
    assert isinstance(found, Rejection)
    assert message in rejection_reply("alice", found)


def test_the_reason_is_capped() -> None:
    found = rollback_request(Command("rollback", "y" * 5000), PROMOTION)
    assert isinstance(found, RollbackRequest)
    assert len(found.reason) == REASON_LIMIT and found.reason.endswith("…")
