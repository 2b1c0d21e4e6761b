"""What runs where (bot.core.status): the status rows, canaries and their Actions matrix."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bot.core.ledger import Entry, Hold, Ledger
from bot.core.status import (
    OpenProposal,
    StatusRow,
    as_utc,
    canary_count,
    canary_matrix,
    held_versions,
    is_canary,
    status_row,
    version_key,
)

UTC = timezone.utc
PLUS2 = timezone(timedelta(hours=2))
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=1)
MODEL = "fraud-detector"
ENV = "production"


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


def ledger(*entries: Entry, model: str = MODEL, environment: str = ENV) -> Ledger:
    return Ledger(model, environment, tuple(entries))


def hold(version: str, at: datetime = T0) -> Hold:
    return Hold(version, entry("6", "rollback", at=at, previous=version, reason="broken"))


PROPOSAL = OpenProposal(
    15, "https://github.com/acme/env/pull/15", "promote", "8", "model-bot/promote/production/x"
)


# --- status_row ---------------------------------------------------------------------------------


def test_empty_ledger_is_a_row_with_nothing_deployed() -> None:
    row = status_row(ledger(), [], {}, WINDOW, T0)
    assert row == StatusRow(
        model=MODEL,
        environment=ENV,
        version=None,
        since=None,
        commit=None,
        pull_number=None,
        pull_url=None,
        action=None,
        open_proposals=(),
        held=(),
        canary=False,
    )


def test_row_describes_the_newest_entry() -> None:
    newest = entry(
        "7",
        at=T0,
        pull_number=12,
        pull_url="https://github.com/acme/env/pull/12",
        commit="b" * 40,
    )
    older = entry("6", at=T0 - timedelta(days=3), previous=None, commit="a" * 40)
    row = status_row(ledger(newest, older), [PROPOSAL], [], WINDOW, T0 + timedelta(days=1))
    assert (row.version, row.since, row.commit, row.action) == ("7", T0, "b" * 40, "promote")
    assert (row.pull_number, row.pull_url) == (12, "https://github.com/acme/env/pull/12")
    assert row.open_proposals == (PROPOSAL,)
    assert row.canary is False


def test_open_proposals_are_ordered_pull_requests_first_then_local_branches() -> None:
    local_b = OpenProposal(None, None, "rollback", "5", "model-bot/rollback/production/b")
    local_a = OpenProposal(None, None, "promote", "8", "model-bot/promote/production/a")
    pr_20 = OpenProposal(20, "u20", "rollback", "6", "z")
    pr_3 = OpenProposal(3, "u3", "promote", "9", "y")
    row = status_row(ledger(entry()), [local_b, pr_20, local_a, pr_3], {}, WINDOW, T0)
    assert row.open_proposals == (pr_3, pr_20, local_a, local_b)


@pytest.mark.parametrize("as_mapping", [True, False])
def test_held_versions_are_sorted_numerically_once_each(as_mapping: bool) -> None:
    holds = [hold("10"), hold("9"), hold("2"), hold("10-rc1"), hold("9")]
    given = {h.version: h for h in holds} if as_mapping else holds
    row = status_row(ledger(entry()), [], given, WINDOW, T0)
    assert row.held == ("2", "9", "10", "10-rc1")
    assert held_versions(given) == row.held


def test_version_key_orders_digit_runs_as_numbers() -> None:
    versions = ["10", "9", "1.10.0", "1.9.0", "v2", "v10", "abc", "2"]
    assert sorted(versions, key=version_key) == [
        "1.9.0",
        "1.10.0",
        "2",
        "9",
        "10",
        "abc",
        "v2",
        "v10",
    ]
    # non-ASCII digits are text, not numbers (int() would reject some of them)
    assert version_key("²") == ((1, 0, "²"),)
    assert version_key("") == ()


# --- canaries -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (timedelta(0), True),
        (timedelta(minutes=59, seconds=59, microseconds=999999), True),
        (WINDOW, False),  # exactly at the window's edge: no longer a canary
        (WINDOW + timedelta(microseconds=1), False),
        (timedelta(days=30), False),
        (-timedelta(minutes=5), True),  # a clock a little behind the forge's
    ],
)
def test_a_promotion_is_a_canary_inside_the_analysis_window(age: timedelta, expected: bool) -> None:
    row = status_row(ledger(entry(at=T0)), [], {}, WINDOW, T0 + age)
    assert row.canary is expected
    assert is_canary(entry(at=T0), WINDOW, T0 + age) is expected


@pytest.mark.parametrize("action", ["rollback", "manual"])
def test_a_rollback_or_manual_edit_is_never_a_canary(action: str) -> None:
    row = status_row(ledger(entry(action=action, at=T0)), [], {}, WINDOW, T0)
    assert row.canary is False


def test_a_promotion_to_no_version_is_not_a_canary() -> None:
    assert is_canary(entry(version=None), WINDOW, T0) is False
    assert is_canary(None, WINDOW, T0) is False


def test_only_the_entry_in_force_counts() -> None:
    recent_rollback = entry("6", "rollback", at=T0, previous="7")
    promotion = entry("7", at=T0 - timedelta(minutes=5))
    assert status_row(ledger(recent_rollback, promotion), [], {}, WINDOW, T0).canary is False


def test_zero_window_means_no_canary() -> None:
    assert is_canary(entry(at=T0), timedelta(0), T0) is False


def test_canary_is_judged_in_absolute_time_whatever_the_zones() -> None:
    landed = datetime(2026, 11, 30, 14, 0, tzinfo=PLUS2)  # 12:00 UTC
    assert is_canary(entry(at=landed), WINDOW, datetime(2026, 11, 30, 12, 59, tzinfo=UTC))
    assert not is_canary(entry(at=landed), WINDOW, datetime(2026, 11, 30, 13, 0, tzinfo=UTC))
    # a naive time is UTC: no TypeError comparing it with an aware one
    assert is_canary(entry(at=landed), WINDOW, datetime(2026, 11, 30, 12, 30))
    assert not is_canary(entry(at=landed), WINDOW, datetime(2026, 11, 30, 13, 30))


def test_as_utc() -> None:
    assert as_utc(datetime(2026, 1, 1, 2, 0, tzinfo=PLUS2)) == datetime(2026, 1, 1, tzinfo=UTC)
    assert as_utc(datetime(2026, 1, 1, 2, 0, tzinfo=PLUS2)).tzinfo is UTC
    assert as_utc(datetime(2026, 1, 1)) == datetime(2026, 1, 1, tzinfo=UTC)


def canary_row(model: str, environment: str, version: str | None, canary: bool) -> StatusRow:
    return StatusRow(
        model, environment, version, T0, "c" * 40, None, None, "promote", (), (), canary
    )


def test_canary_matrix_holds_only_canaries_sorted_by_environment_then_model() -> None:
    rows = [
        canary_row("zeta", "production", "3", True),
        canary_row("alpha", "staging", "1", True),
        canary_row("alpha", "production", "2", True),
        canary_row("beta", "production", "9", False),
    ]
    matrix = canary_matrix(rows)
    assert matrix == {
        "include": [
            {"model": "alpha", "environment": "production", "version": "2"},
            {"model": "zeta", "environment": "production", "version": "3"},
            {"model": "alpha", "environment": "staging", "version": "1"},
        ]
    }
    assert canary_count(rows) == 3
    assert json.loads(json.dumps(matrix)) == matrix


def test_the_matrix_is_usable_whole_as_a_strategy_matrix() -> None:
    # every key of an Actions matrix but include/exclude must be a list: no scalar `count`
    matrix = canary_matrix([canary_row("m", "e", "1", True)])
    assert set(matrix) == {"include"}
    assert all(isinstance(item, dict) for item in matrix["include"])
    assert all(isinstance(v, str) for item in matrix["include"] for v in item.values())


def test_no_canary_is_an_empty_include_and_a_zero_count() -> None:
    rows = [canary_row("m", "e", "1", False)]
    assert canary_matrix(rows) == {"include": []}
    assert canary_matrix([]) == {"include": []}
    assert canary_count(rows) == 0


def test_a_canary_row_without_a_version_is_left_out() -> None:
    assert canary_matrix([canary_row("m", "e", None, True)]) == {"include": []}


def test_rows_from_status_row_feed_the_matrix() -> None:
    rows = [
        status_row(ledger(entry("7", at=T0)), [], {}, WINDOW, T0 + timedelta(minutes=10)),
        status_row(
            ledger(entry("3", at=T0), model="churn", environment="staging"),
            [],
            {},
            WINDOW,
            T0 + WINDOW,
        ),
    ]
    assert canary_matrix(rows) == {
        "include": [{"model": MODEL, "environment": ENV, "version": "7"}]
    }


def test_deployed_matrix_holds_every_deployment_past_its_canary() -> None:
    from bot.core.status import deployed_matrix

    rows = [
        canary_row("zeta", "production", "3", False),
        canary_row("alpha", "staging", "1", True),
        canary_row("beta", "production", "9", False),
        canary_row("gamma", "production", None, False),
    ]
    assert deployed_matrix(rows) == {
        "include": [
            {"model": "beta", "environment": "production", "version": "9"},
            {"model": "zeta", "environment": "production", "version": "3"},
        ]
    }
    assert deployed_matrix([]) == {"include": []}
