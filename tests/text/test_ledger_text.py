"""The ledger as people and scripts read it (bot.text.ledger): history, `--at`, status,
refusals and the hold-lifted note; untrusted text stays inert everywhere."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.ladder import SoakState
from bot.core.ledger import Entry, Hold, Ledger
from bot.core.status import OpenProposal, StatusRow, status_row
from bot.core.trailers import NO_REASON
from bot.text.ledger import (
    TEXT_LIMIT,
    at_json,
    at_text,
    entry_json,
    held_refusal,
    history_json,
    history_markdown,
    history_text,
    lifted_note,
    rejected_refusal,
    status_json,
    status_markdown,
    status_text,
    time_json,
    time_text,
)
from bot.text.markdown import ZWJ

UTC = timezone.utc
PLUS2 = timezone(timedelta(hours=2))
MINUS5 = timezone(timedelta(hours=-5))
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
MODEL = "fraud-detector"
ENV = "production"
PULL = "https://github.com/acme/env/pull/"
HOSTILE = (
    "@everyone <img src=x onerror=alert(1)> <!-- hidden --> [click](javascript:alert(1)) "
    "`tick` ``` fence #123 *bold* | pipe\n## injected heading\r\n- item \x1b[31mred \u202eevil"
)
LONG = "error rate above threshold " * 100


def entry(
    version: str | None = "7",
    action: str = "promote",
    at: datetime = T0,
    previous: str | None = "6",
    **fields: Any,
) -> Entry:
    fields.setdefault("commit", "c" * 40)
    return Entry(
        model=fields.pop("model", MODEL),
        environment=fields.pop("environment", ENV),
        version=version,
        previous_version=previous,
        action=action,  # type: ignore[arg-type]
        at=at,
        **fields,
    )


PROMOTE = entry(
    "7",
    at=T0 - timedelta(days=1),
    commit="b" * 40,
    image_tag="7-abc",
    pull_number=12,
    pull_url=PULL + "12",
    merged_by="bob",
    approved_by=("carol", "dave"),
    gate="PASS 5/5 gates (policy default.yaml)",
    requested_by="alice",
)
ROLLBACK = entry(
    "6",
    "rollback",
    at=T0,
    previous="7",
    commit="c" * 40,
    pull_number=13,
    pull_url=PULL + "13",
    merged_by="alice",
    reason="error rate 5%",
    requested_by="oncall",
)
MANUAL = entry("6", "manual", at=T0 - timedelta(days=30), previous=None, commit="a" * 40)
LEDGER = Ledger(MODEL, ENV, (ROLLBACK, PROMOTE, MANUAL))
HOLD = Hold("7", ROLLBACK)
EMPTY = Ledger(MODEL, ENV, ())


def json_types_only(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and json_types_only(v) for k, v in value.items())
    if isinstance(value, list):
        return all(json_types_only(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


def round_trips(value: object) -> bool:
    return json_types_only(value) and json.loads(json.dumps(value, allow_nan=False)) == value


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def assert_inert_markdown(markdown: str) -> None:
    """No raw HTML or comment, no live mention or reference, no heading or list injected."""
    assert "<!--" not in markdown
    assert "<img" not in markdown
    assert "@everyone" not in markdown
    assert "#123" not in markdown
    assert "\x1b" not in markdown
    assert "\r" not in markdown
    assert not re.search(r"^#+ injected", markdown, re.M)
    assert not re.search(r"(?<!\\)\]\(javascript:", markdown)  # no live link


def assert_table_intact(markdown: str, columns: int) -> None:
    rows = [line for line in markdown.splitlines() if line.startswith("|")]
    assert rows
    for row in rows:
        assert unescaped_pipes(row) == columns + 1, row


# --- times ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 30, 12, 0, 59, 999999, tzinfo=UTC),
        datetime(2026, 11, 30, 14, 0, 59, tzinfo=PLUS2),
        datetime(2026, 11, 30, 7, 0, 59, tzinfo=MINUS5),
        datetime(2026, 11, 30, 12, 0, 59),  # naive: taken as UTC
    ],
)
def test_times_are_shown_in_utc_whatever_the_input_zone(moment: datetime) -> None:
    assert time_text(moment) == "2026-11-30 12:00Z"
    assert time_json(moment) == "2026-11-30T12:00:59Z"
    assert datetime.fromisoformat(time_json(moment).replace("Z", "+00:00")) == datetime(
        2026, 11, 30, 12, 0, 59, tzinfo=UTC
    )


# --- entry_json ------------------------------------------------------------------------------------


def test_entry_json_has_every_field() -> None:
    assert entry_json(PROMOTE) == {
        "version": "7",
        "previous_version": "6",
        "action": "promote",
        "commit": "b" * 40,
        "at": "2026-11-29T12:00:00Z",
        "image_tag": "7-abc",
        "pull_request": {"number": 12, "url": PULL + "12"},
        "merged_by": "bob",
        "approved_by": ["carol", "dave"],
        "gate": "PASS 5/5 gates (policy default.yaml)",
        "reason": None,
        "requested_by": "alice",
        "hold_lifted": None,
    }
    assert round_trips(entry_json(PROMOTE))


def test_entry_json_without_pull_request_or_versions() -> None:
    data = entry_json(entry(None, "manual", previous=None))
    assert data["pull_request"] is None
    assert data["version"] is None and data["previous_version"] is None
    assert data["approved_by"] == []
    assert round_trips(data)


def test_entry_json_pull_request_without_url() -> None:
    assert entry_json(entry(pull_number=4))["pull_request"] == {"number": 4, "url": None}


def test_entry_json_keeps_untrusted_values_exactly_and_they_round_trip() -> None:
    data = entry_json(entry(reason=HOSTILE, gate=HOSTILE, merged_by=HOSTILE, hold_lifted=LONG))
    assert data["reason"] == HOSTILE and data["hold_lifted"] == LONG
    assert round_trips(data)
    assert "\n" not in json.dumps(data)  # one JSON line: control characters are escaped


def test_entry_json_time_is_utc() -> None:
    moment = datetime(2026, 12, 1, 1, 30, 5, 123, tzinfo=PLUS2)
    assert entry_json(entry(at=moment))["at"] == "2026-11-30T23:30:05Z"


# --- history_json ------------------------------------------------------------------------------------


def test_history_json_newest_first_with_holds() -> None:
    data = history_json(LEDGER, {"7": HOLD}, 10)
    assert data["model"] == MODEL and data["environment"] == ENV
    assert [e["commit"] for e in data["entries"]] == ["c" * 40, "b" * 40, "a" * 40]
    assert data["total"] == 3
    assert data["holds"] == [
        {
            "version": "7",
            "since": "2026-11-30T12:00:00Z",
            "rollback_commit": "c" * 40,
            "pull_request": {"number": 13, "url": PULL + "13"},
            "reason": "error rate 5%",
        }
    ]
    assert round_trips(data)


@pytest.mark.parametrize(("limit", "shown"), [(None, 3), (0, 0), (1, 1), (2, 2), (3, 3), (99, 3)])
def test_history_json_limit(limit: int | None, shown: int) -> None:
    data = history_json(LEDGER, [], limit)
    assert len(data["entries"]) == shown
    assert data["total"] == 3
    assert data["entries"] == [entry_json(e) for e in LEDGER.entries[:shown]]


def test_negative_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        history_json(LEDGER, [], -1)
    with pytest.raises(ValueError, match="limit"):
        history_text(LEDGER, [], -1)


def test_history_json_empty() -> None:
    data = history_json(EMPTY, {}, 5)
    assert data == {"model": MODEL, "environment": ENV, "entries": [], "total": 0, "holds": []}


def test_history_json_holds_newest_rollback_first_accepting_a_mapping_or_holds() -> None:
    older = Hold("5", entry("4", "rollback", at=T0 - timedelta(days=2), previous="5"))
    as_list = history_json(LEDGER, [older, HOLD], None)["holds"]
    as_map = history_json(LEDGER, {"5": older, "7": HOLD}, None)["holds"]
    assert [h["version"] for h in as_list] == ["7", "5"] == [h["version"] for h in as_map]
    assert as_list[1]["pull_request"] is None and as_list[1]["reason"] is None


# --- history_text ------------------------------------------------------------------------------------


def test_history_text_lines() -> None:
    text = history_text(LEDGER, {"7": HOLD}, 10)
    lines = text.splitlines()
    assert lines[0] == "fraud-detector in production, newest first:"
    assert lines[1].startswith("2026-11-30 12:00Z  rollback  7 → 6")
    assert "#13" in lines[1]
    assert "merged by @alice, requested by @oncall" in lines[1]
    assert lines[1].endswith("reason: error rate 5%")
    assert lines[2].startswith("2026-11-29 12:00Z  promote   6 → 7")
    assert "merged by @bob, approved by @carol, @dave, requested by @alice" in lines[2]
    assert lines[2].endswith("PASS 5/5 gates (policy default.yaml)")
    assert lines[3].startswith("2026-10-31 12:00Z  manual    none → 6")
    assert "a" * 12 in lines[3] and "a" * 13 not in lines[3]
    assert lines[3].endswith("manual edit: no claim of the bot")
    assert lines[4] == (
        "held: 7 (rolled back by #13 on 2026-11-30 12:00Z, reason: error rate 5%; "
        "promote it with --lift-hold REASON)"
    )
    assert len(lines) == 5
    assert text.endswith("\n")


def column_starts(line: str) -> list[int]:
    return [m.start() for m in re.finditer(r"(?:^|(?<=  ))(?=\S)", line)]


def test_history_text_columns_are_aligned() -> None:
    lines = history_text(LEDGER, [], None).splitlines()[1:]
    assert len(lines) == 3
    assert len({tuple(column_starts(line)) for line in lines}) == 1
    assert len(column_starts(lines[0])) == 6


def test_history_text_limit_says_what_is_not_shown() -> None:
    lines = history_text(LEDGER, [], 1).splitlines()
    assert len(lines) == 3
    assert lines[-1] == "(2 older entries not shown; raise --limit)"
    assert history_text(LEDGER, [], 2).splitlines()[-1] == (
        "(1 older entry not shown; raise --limit)"
    )
    assert "not shown" not in history_text(LEDGER, [], 3)


def test_history_text_empty_ledger() -> None:
    assert history_text(EMPTY, [], 10) == (
        "no deployments of fraud-detector in production in the history read\n"
    )


def test_history_text_shows_hold_lifted_and_missing_reason() -> None:
    lifted = entry("7", pull_number=20, hold_lifted="fixed upstream", gate="PASS 1/1 gates")
    no_reason = entry("6", "rollback", previous="7", reason=None)
    text = history_text(Ledger(MODEL, ENV, (lifted, no_reason)), [], None)
    assert "PASS 1/1 gates; hold lifted: fixed upstream" in text
    assert f"reason: {NO_REASON}" in text


def test_history_text_is_one_line_per_entry_whatever_the_untrusted_text() -> None:
    hostile = entry(
        "6",
        "rollback",
        previous="7",
        reason=HOSTILE,
        merged_by=HOSTILE,
        approved_by=(HOSTILE, ""),
        requested_by="@" + HOSTILE,
        gate=HOSTILE,
        hold_lifted=HOSTILE,
    )
    text = history_text(Ledger(MODEL, ENV, (hostile,)), [Hold("7", hostile)], None)
    lines = text.splitlines()
    assert len(lines) == 3  # header, the entry, the hold
    assert "\x1b" not in text and "\r" not in text and "\u202e" not in text
    assert "@@" not in text


def test_history_text_bounds_long_reasons() -> None:
    long = entry("6", "rollback", previous="7", reason=LONG, gate=LONG)
    line = history_text(Ledger(MODEL, ENV, (long,)), [], None).splitlines()[1]
    assert "…" in line
    assert len(line) < 3 * TEXT_LIMIT


# --- history_markdown --------------------------------------------------------------------------------


def test_history_markdown_table() -> None:
    markdown = history_markdown(LEDGER, {"7": HOLD}, None)
    lines = markdown.splitlines()
    assert lines[0] == "### Deployments of `fraud-detector` in `production`"
    assert lines[2] == "| time (UTC) | action | change | pull request | by | details |"
    assert lines[4] == (
        f"| 2026-11-30 12:00Z | rollback | `7` → `6` | [#{ZWJ}13]({PULL}13) | "
        f"merged by @{ZWJ}alice, requested by @{ZWJ}oncall | reason: error rate 5% |"
    )
    assert f"[#{ZWJ}12]({PULL}12)" in lines[5]
    assert f"approved by @{ZWJ}carol, @{ZWJ}dave" in lines[5]
    assert "| _none_ → `6` | `aaaaaaaaaaaa` |" in lines[6]
    assert "**Held versions:**" in markdown
    assert f"- `7`: rolled back by [#{ZWJ}13]({PULL}13) on 2026-11-30 12:00Z" in markdown
    assert_table_intact(markdown, 6)


def test_history_markdown_level_limit_and_empty() -> None:
    assert history_markdown(LEDGER, [], 1, level=2).startswith("## Deployments of ")
    assert "_(2 older entries not shown; raise --limit)_" in history_markdown(LEDGER, [], 1)
    empty = history_markdown(EMPTY, [], 5)
    assert "_No deployments of `fraud-detector` in `production` in the history read._" in empty
    assert "|" not in empty


def test_history_markdown_pull_request_without_url_is_a_plain_reference() -> None:
    markdown = history_markdown(Ledger(MODEL, ENV, (entry(pull_number=9),)), [], None)
    assert "| #9 |" in markdown


def test_history_markdown_makes_untrusted_text_inert() -> None:
    hostile = entry(
        "6",
        "rollback",
        previous="7",
        reason=HOSTILE,
        merged_by=HOSTILE,
        approved_by=(HOSTILE,),
        requested_by=HOSTILE,
        gate=HOSTILE,
        hold_lifted=HOSTILE,
        pull_number=5,
        pull_url="javascript:alert(1)",
    )
    markdown = history_markdown(Ledger(MODEL, ENV, (hostile,)), [Hold("7", hostile)], None)
    assert_inert_markdown(markdown)
    assert_table_intact(markdown, 6)
    assert "\\`tick\\`" in markdown
    assert "&lt;!-- hidden --&gt;" in markdown


@settings(max_examples=200, deadline=None)
@given(reason=st.text(), login=st.text(max_size=80), gate=st.text())
def test_any_untrusted_text_keeps_history_one_line_per_entry_and_the_table_whole(
    reason: str, login: str, gate: str
) -> None:
    weird = entry(
        "6",
        "rollback",
        previous="7",
        reason=reason,
        merged_by=login,
        approved_by=(login, login),
        requested_by=login,
        gate=gate,
        hold_lifted=reason,
    )
    held = [Hold("7", weird)]
    ledger = Ledger(MODEL, ENV, (weird, PROMOTE))
    assert len(history_text(ledger, held, None).splitlines()) == 4
    markdown = history_markdown(ledger, held, None)
    rows = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(rows) == 4
    assert_table_intact(markdown, 6)
    assert "<" not in markdown.replace("<br>", "")
    assert held_refusal(MODEL, ENV, held[0]).count("\n") == 0
    assert lifted_note(held[0], reason).count("\n") == 1
    assert round_trips(history_json(ledger, held, None))


def test_history_markdown_bounds_long_reasons() -> None:
    long = entry("6", "rollback", previous="7", reason=LONG)
    row = history_markdown(Ledger(MODEL, ENV, (long,)), [], None).splitlines()[4]
    assert "…" in row and len(row) < 2 * TEXT_LIMIT + 200


# --- at ----------------------------------------------------------------------------------------------


def test_at_text_and_json_with_an_entry() -> None:
    when = datetime(2026, 11, 29, 20, 0, tzinfo=PLUS2)  # 18:00 UTC
    assert at_text(MODEL, ENV, when, PROMOTE) == (
        "fraud-detector in production at 2026-11-29 18:00Z: version 7, since 2026-11-29 "
        "12:00Z (promote, #12, commit bbbbbbbbbbbb)\n"
    )
    data = at_json(MODEL, ENV, when, PROMOTE)
    assert data == {
        "model": MODEL,
        "environment": ENV,
        "at": "2026-11-29T18:00:00Z",
        "version": "7",
        "since": "2026-11-29T12:00:00Z",
        "commit": "b" * 40,
        "action": "promote",
        "pull_request": {"number": 12, "url": PULL + "12"},
    }
    assert round_trips(data)


def test_at_before_anything_was_deployed() -> None:
    when = datetime(2020, 1, 1, tzinfo=UTC)
    assert at_text(MODEL, ENV, when, None) == (
        "fraud-detector in production: nothing was deployed yet at 2020-01-01 00:00Z\n"
    )
    data = at_json(MODEL, ENV, when, None)
    assert data == {
        "model": MODEL,
        "environment": ENV,
        "at": "2020-01-01T00:00:00Z",
        "version": None,
        "since": None,
        "commit": None,
        "action": None,
        "pull_request": None,
    }
    assert round_trips(data)


def test_at_an_entry_without_version_or_pull_request() -> None:
    gone = entry(None, "manual", previous="7", commit="d" * 40)
    assert at_text(MODEL, ENV, T0, gone) == (
        "fraud-detector in production at 2026-11-30 12:00Z: no version, since 2026-11-30 "
        "12:00Z (manual, commit dddddddddddd)\n"
    )
    assert at_json(MODEL, ENV, T0, gone)["pull_request"] is None


# --- status ---------------------------------------------------------------------------------------------


LOCAL = OpenProposal(None, None, "rollback", "5", "model-bot/rollback/staging/churn")
OPEN = OpenProposal(15, PULL + "15", "promote", "8", "model-bot/promote/production/fraud-detector")
ROW = StatusRow(MODEL, ENV, "6", T0, "c" * 40, 13, PULL + "13", "rollback", (OPEN,), ("7",), False)
SOAKING = SoakState("3", T0, False, T0 + timedelta(hours=1), "3 soaking since ..., until ...")
CANARY = StatusRow(
    "churn", "staging", "3", T0, "e" * 40, None, None, "promote", (LOCAL,), (), True, SOAKING
)
NOTHING = StatusRow("new-model", "dev", None, None, None, None, None, None, (), (), False)


def test_status_json() -> None:
    data = status_json([ROW, CANARY, NOTHING])
    assert data["deployments"][0] == {
        "model": MODEL,
        "environment": ENV,
        "version": "6",
        "since": "2026-11-30T12:00:00Z",
        "commit": "c" * 40,
        "action": "rollback",
        "pull_request": {"number": 13, "url": PULL + "13"},
        "open_proposals": [
            {
                "number": 15,
                "url": PULL + "15",
                "action": "promote",
                "version": "8",
                "branch": "model-bot/promote/production/fraud-detector",
            }
        ],
        "held": ["7"],
        "canary": False,
        "soak": None,
    }
    assert data["deployments"][1]["open_proposals"][0]["number"] is None
    assert data["deployments"][1]["canary"] is True
    assert data["deployments"][1]["soak"] == {
        "version": "3",
        "over": False,
        "ends_at": "2026-11-30T13:00:00Z",
        "reason": "3 soaking since ..., until ...",
    }
    assert data["deployments"][2] == {
        "model": "new-model",
        "environment": "dev",
        "version": None,
        "since": None,
        "commit": None,
        "action": None,
        "pull_request": None,
        "open_proposals": [],
        "held": [],
        "canary": False,
        "soak": None,
    }
    assert data["canaries"] == {
        "include": [{"model": "churn", "environment": "staging", "version": "3"}]
    }
    assert data["canary_count"] == 1
    assert round_trips(data)


def test_status_json_empty() -> None:
    assert status_json([]) == {"deployments": [], "canaries": {"include": []}, "canary_count": 0}


def test_status_json_from_a_status_row_is_utc() -> None:
    landed = entry(at=datetime(2026, 11, 30, 14, 0, tzinfo=PLUS2))
    row = status_row(Ledger(MODEL, ENV, (landed,)), [], {}, timedelta(hours=1), T0)
    assert status_json([row])["deployments"][0]["since"] == "2026-11-30T12:00:00Z"


def test_status_text() -> None:
    lines = status_text([ROW, CANARY, NOTHING]).splitlines()
    cells = [re.split(r"\s{2,}", line) for line in lines]
    assert cells == [
        ["ENVIRONMENT", "MODEL", "VERSION", "SINCE", "VIA", "CANARY", "SOAK", "HELD", "OPEN"],
        [
            "production",
            "fraud-detector",
            "6",
            "2026-11-30 12:00Z",
            "rollback #13",
            "no",
            "-",
            "7",
            "promote 8 (#15)",
        ],
        [
            "staging",
            "churn",
            "3",
            "2026-11-30 12:00Z",
            "promote eeeeeeeeeeee",
            "yes",
            "until 2026-11-30 13:00Z",
            "-",
            "rollback 5 (branch model-bot/rollback/staging/churn)",
        ],
        ["dev", "new-model", "none", "-", "-", "no", "-", "-", "-"],
    ]
    # aligned: every column starts at the same place on every line
    assert len({tuple(column_starts(line)) for line in lines}) == 1


def test_status_text_empty() -> None:
    assert status_text([]) == "no deployments in the history read\n"


def test_status_markdown() -> None:
    markdown = status_markdown([ROW, CANARY, NOTHING])
    lines = markdown.splitlines()
    assert lines[0] == "### Deployments"
    assert lines[2] == (
        "| environment | model | version | since (UTC) | via | canary | soak | held "
        "| open proposals |"
    )
    assert lines[4] == (
        f"| `production` | `fraud-detector` | `6` | 2026-11-30 12:00Z | rollback "
        f"[#{ZWJ}13]({PULL}13) |  |  | `7` | promote `8` in [#{ZWJ}15]({PULL}15) |"
    )
    assert "| promote `eeeeeeeeeeee` | 🐤 under analysis | until 2026-11-30 13:00Z |" in lines[5]
    assert "rollback `5` in branch `model-bot/rollback/staging/churn`" in lines[5]
    assert lines[6] == "| `dev` | `new-model` | _none_ |  |  |  |  |  |  |"
    assert_table_intact(markdown, 9)


def test_status_markdown_several_proposals_and_empty() -> None:
    row = StatusRow(MODEL, ENV, "6", T0, "c", None, None, "manual", (OPEN, LOCAL), (), False)
    markdown = status_markdown([row], level=2)
    assert markdown.startswith("## Deployments")
    assert "<br>rollback `5`" in markdown
    assert_table_intact(markdown, 9)
    assert "_No deployments in the history read._" in status_markdown([])


def test_status_markdown_untrusted_branch_and_url() -> None:
    odd = OpenProposal(None, None, "promote", "8", "a|b`c<!-- x")
    link = OpenProposal(3, "javascript:alert(1)", "promote", "8", "x")
    row = StatusRow(MODEL, ENV, "6", T0, "c", None, None, "manual", (odd, link), (), False)
    markdown = status_markdown([row])
    assert "branch ``a\\|b`c<!-- x``" in markdown  # a code span: literal
    assert f"in #{ZWJ}3 (`javascript:alert(1)`)" in markdown  # not a link
    assert_table_intact(markdown, 9)


# --- refusals and notes ---------------------------------------------------------------------------------


def test_held_refusal() -> None:
    assert held_refusal(MODEL, ENV, HOLD) == (
        "fraud-detector 7 was rolled back in production by #13 (2026-11-30 12:00Z, reason: "
        "error rate 5%): it is held; to promote it again, pass --lift-hold REASON"
    )


def test_held_refusal_without_pull_request_or_reason() -> None:
    local = entry("6", "rollback", at=datetime(2026, 11, 30, 13, 0, tzinfo=PLUS2), previous="7")
    assert held_refusal(MODEL, ENV, Hold("7", local)) == (
        "fraud-detector 7 was rolled back in production by cccccccccccc (2026-11-30 11:00Z, "
        f"reason: {NO_REASON}): it is held; to promote it again, pass --lift-hold REASON"
    )
    blank = entry("6", "rollback", previous="7", reason=" \n\t ")
    assert f"reason: {NO_REASON}" in held_refusal(MODEL, ENV, Hold("7", blank))


@pytest.mark.parametrize("reason", [HOSTILE, LONG])
def test_held_refusal_is_one_bounded_line(reason: str) -> None:
    text = held_refusal(MODEL, ENV, Hold("7", entry("6", "rollback", reason=reason)))
    assert "\n" not in text and "\r" not in text and "\x1b" not in text
    assert "\u202e" not in text
    assert len(text) < TEXT_LIMIT + 200
    assert text.endswith("pass --lift-hold REASON")


def test_rejected_refusal() -> None:
    assert rejected_refusal(MODEL, ENV, "7", 14, None, "bob", T0) == (
        "the promotion of fraud-detector 7 to production (#14) was closed without merging by "
        "@bob on 2026-11-30 12:00Z: not proposed again; pass --reopen to propose it anyway"
    )


def test_rejected_refusal_with_url_without_who_or_when() -> None:
    assert rejected_refusal(MODEL, ENV, "7", 14, PULL + "14", None, None) == (
        f"the promotion of fraud-detector 7 to production (#14, {PULL}14) was closed without "
        "merging: not proposed again; pass --reopen to propose it anyway"
    )
    assert " by " not in rejected_refusal(MODEL, ENV, "7", 14, None, " ", None)


def test_rejected_refusal_is_one_line_in_utc() -> None:
    text = rejected_refusal(
        MODEL, ENV, "7", 14, HOSTILE, "@" + HOSTILE, datetime(2026, 12, 1, 1, 0, tzinfo=PLUS2)
    )
    assert "\n" not in text and "\x1b" not in text and "\u202e" not in text
    assert "@@" not in text
    assert "on 2026-11-30 23:00Z" in text


def test_lifted_note() -> None:
    assert lifted_note(HOLD, "fixed upstream in 1.2") == (
        "**Hold lifted:** version `7` was rolled back in `production` by #13 on 2026-11-30 "
        "12:00Z (reason: error rate 5%); it is promoted again because: fixed upstream in 1.2\n"
    )


def test_lifted_note_without_pull_request_or_reason() -> None:
    note = lifted_note(Hold("7", entry("6", "rollback", commit="f" * 40)), "")
    assert "by commit `ffffffffffff`" in note
    assert f"(reason: {NO_REASON})" in note
    assert note.endswith(f"because: _{NO_REASON}_\n")


def test_lifted_note_makes_untrusted_text_inert() -> None:
    note = lifted_note(Hold("7", entry("6", "rollback", reason=HOSTILE)), HOSTILE + LONG)
    assert_inert_markdown(note)
    assert note.count("\n") == 1  # one paragraph
    assert "…" in note
    assert len(note) < 2 * TEXT_LIMIT + 400


@pytest.mark.parametrize(
    ("soak", "shown"),
    [
        (None, "-"),
        (SOAKING, "until 2026-11-30 13:00Z"),
        (SoakState("3", T0, True, T0 + timedelta(hours=1), "3 soaked since ..."), "done"),
        (SoakState("3", T0, False, None, "3 came by a rollback ...: no soak"), "none"),
        (SoakState(None, None, False, None, "nothing deployed"), "none"),
    ],
)
def test_status_text_soak_column(soak: SoakState | None, shown: str) -> None:
    row = StatusRow(
        "churn", "staging", "3", T0, "e" * 40, None, None, "promote", (), (), False, soak
    )
    header, line = (re.split(r"\s{2,}", text) for text in status_text([row]).splitlines())
    assert line[header.index("SOAK")] == shown
