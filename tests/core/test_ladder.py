"""The promotion ladder (bot.core.ladder): windows and freezes, the soak, the ladder.

Every instant is built directly (aware datetimes); nothing reads the clock or sleeps.
Calendar used below (2025): Fri 7 March; Europe/Berlin springs forward Sun 30 March at 01:00Z
(02:00 CET -> 03:00 CEST) and falls back Sun 26 October at 01:00Z (03:00 CEST -> 02:00 CET);
America/New_York springs forward Sun 9 March at 07:00Z and falls back Sun 2 November at 06:00Z.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.config import EnvironmentConfig, Freeze, PromotionWindow
from bot.core.ladder import (
    HORIZON,
    OPEN,
    Gate,
    SoakState,
    check_timezone,
    check_window,
    ladder_state,
    soak_state,
    window_open,
    windows_state,
)
from bot.core.ledger import Entry, EntryAction, Ledger

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
ENV = "production"
MINUTE = timedelta(minutes=1)


def utc(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, second, tzinfo=UTC)


def window(
    start: str = "00:00",
    end: str = "24:00",
    days: tuple[str, ...] | None = None,
    tz: str = "UTC",
    *,
    allow: bool = True,
) -> PromotionWindow:
    """A window as the ladder gets it; built unvalidated, so the ladder's own checks of a
    bad one are tested too (the config refuses it at load: see the test at the end)."""
    fields: dict[str, object] = {"start": start, "end": end, "timezone": tz, "allow": allow}
    if days is not None:
        fields["days"] = days
    return PromotionWindow.model_construct(**fields)  # type: ignore[arg-type]


def deny(
    start: str, end: str, days: tuple[str, ...] | None = None, tz: str = "UTC"
) -> PromotionWindow:
    return window(start, end, days, tz, allow=False)


def env(*windows: PromotionWindow, frozen: str | None = None) -> EnvironmentConfig:
    return EnvironmentConfig.model_construct(  # the windows as built: see `window`
        windows=windows, frozen=Freeze(reason=frozen) if frozen is not None else None
    )


# --- check_timezone -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
)
def test_check_timezone_accepts_iana_names(name: str) -> None:
    assert check_timezone(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "Europe/Nowhere",
        "Europe",
        "europe/berlin",
        "Europe/Berlin ",
        " UTC",
        "../etc/passwd",
        "/etc/localtime",
        "/usr/share/zoneinfo/UTC",
        "localtime",
        "CET+1",
        "nul\x00l",
    ],
)
def test_check_timezone_refuses_what_is_no_zone(name: str) -> None:
    with pytest.raises(ValueError, match=r"unknown time zone .*use an IANA name"):
        check_timezone(name)


def test_a_window_in_an_unknown_zone_is_refused_when_read() -> None:
    unknown = window(tz="Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus_Mons'"):
        window_open(unknown, utc(3, 7, 12))
    with pytest.raises(ValueError, match="unknown time zone"):
        windows_state(ENV, env(unknown), utc(3, 7, 12))
    with pytest.raises(ValueError, match="unknown time zone"):
        check_window(unknown)


# --- HH:MM ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["24:00", "24:01", "25:00", "9:00", "09:0", "09:60", "0900", "09:00:00", " 09:00", "09:00 ",
     "", "ab:cd", "-1:00", "+9:00", "０９:００", "09.00", "09:00\n"],
)  # fmt: skip
def test_a_bad_start_is_refused_naming_the_start(value: str) -> None:
    bad = window(start=value, end="23:59")
    with pytest.raises(ValueError, match=r"bad window start .*use HH:MM, 00:00 to 23:59$"):
        window_open(bad, utc(3, 7, 12))
    with pytest.raises(ValueError, match="bad window start"):
        check_window(bad)


@pytest.mark.parametrize(
    "value", ["24:01", "24:30", "25:00", "99:99", "7:30", "07:5", "1200", "", "noon", "١٢:٠٠"]
)
def test_a_bad_end_is_refused_naming_the_end(value: str) -> None:
    bad = window(start="01:00", end=value)
    with pytest.raises(ValueError, match=r"bad window end .*or 24:00 for the end of the day$"):
        window_open(bad, utc(3, 7, 12))


@pytest.mark.parametrize(("start", "end"), [("00:00", "24:00"), ("00:00", "23:59"),
                                            ("23:59", "24:00"), ("23:59", "00:00"),
                                            ("12:00", "00:01"), ("00:01", "00:00")])  # fmt: skip
def test_good_times_are_accepted(start: str, end: str) -> None:
    good = window(start, end)
    assert check_window(good) is good


@pytest.mark.parametrize("time", ["00:00", "09:30", "23:59"])
def test_a_window_that_starts_where_it_ends_is_empty_and_refused(time: str) -> None:
    with pytest.raises(ValueError, match=f"start and end are both {time}, so it is empty"):
        check_window(window(time, time))
    with pytest.raises(ValueError, match="empty"):
        window_open(window(time, time), utc(3, 7, 12))


def test_a_day_pydantic_did_not_check_is_refused() -> None:
    unchecked = PromotionWindow.model_construct(days=("fri", "friday"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"bad window days \['friday'\]"):
        window_open(unchecked, utc(3, 7, 12))


def test_now_must_be_timezone_aware() -> None:
    naive = datetime(2025, 3, 7, 12, 0)
    ledger = Ledger("fraud", "staging", ())
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        window_open(window(), naive)
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        windows_state(ENV, env(), naive)
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        soak_state(ledger, timedelta(hours=1), naive)
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        ladder_state("1.0", "staging", ledger, timedelta(hours=1), naive)


# --- window_open: days and times (UTC) ------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "inside"),
    [
        (utc(3, 7, 8, 59, 59), False),  # Friday, just before the start
        (utc(3, 7, 9, 0), True),  # exactly the start
        (utc(3, 7, 12, 30), True),
        (datetime(2025, 3, 7, 16, 59, 59, 999999, tzinfo=UTC), True),  # the last instant
        (utc(3, 7, 17, 0), False),  # exactly the end: not inside
        (utc(3, 7, 23, 0), False),
        (utc(3, 8, 12, 0), False),  # Saturday
        (utc(3, 9, 12, 0), False),  # Sunday
        (utc(3, 10, 9, 0), True),  # Monday
        (utc(3, 3, 0, 0), False),  # Monday midnight
    ],
)
def test_a_weekday_office_hours_window(now: datetime, inside: bool) -> None:
    assert window_open(window("09:00", "17:00", WEEKDAYS), now) is inside


@pytest.mark.parametrize(
    ("now", "inside"),
    [
        (utc(3, 7, 21, 59), False),
        (utc(3, 7, 22, 0), True),
        (datetime(2025, 3, 7, 23, 59, 59, 999999, tzinfo=UTC), True),
        (utc(3, 8, 0, 0), False),  # 24:00 is Saturday's midnight: outside
        (utc(3, 6, 23, 0), False),  # Thursday
    ],
)
def test_24_00_is_the_end_of_the_day(now: datetime, inside: bool) -> None:
    assert window_open(window("22:00", "24:00", ("fri",)), now) is inside


@pytest.mark.parametrize(
    ("now", "inside"),
    [
        (utc(3, 7, 21, 59), False),  # Friday before the start
        (utc(3, 7, 22, 0), True),  # Friday 22:00
        (utc(3, 7, 23, 59), True),
        (utc(3, 8, 0, 0), True),  # Saturday midnight: still Friday's window
        (utc(3, 8, 1, 59, 59), True),
        (utc(3, 8, 2, 0), False),  # its end
        (utc(3, 8, 22, 30), False),  # Saturday night: Saturday is not one of its days
        (utc(3, 9, 1, 0), False),  # Sunday small hours: Saturday's, not listed
        (utc(3, 7, 1, 0), False),  # Friday small hours belong to Thursday's window
        (utc(3, 7, 2, 0), False),
    ],
)
def test_a_window_past_midnight_belongs_to_the_day_it_starts(now: datetime, inside: bool) -> None:
    assert window_open(window("22:00", "02:00", ("fri",)), now) is inside


def test_a_window_past_midnight_wraps_from_sunday_to_monday() -> None:
    sunday_night = window("23:00", "01:00", ("sun",))
    assert window_open(sunday_night, utc(3, 9, 23, 30))  # Sunday
    assert window_open(sunday_night, utc(3, 10, 0, 30))  # Monday small hours
    assert not window_open(sunday_night, utc(3, 10, 1, 0))
    assert not window_open(sunday_night, utc(3, 10, 23, 30))  # Monday night
    assert not window_open(sunday_night, utc(3, 9, 0, 30))  # Sunday small hours: Saturday's


def test_a_window_from_just_before_to_just_after_midnight_every_day() -> None:
    nightly = window("23:59", "00:01")
    for day in range(3, 10):
        assert window_open(nightly, utc(3, day, 23, 59))
        assert window_open(nightly, utc(3, day, 0, 0, 59))
        assert not window_open(nightly, utc(3, day, 0, 1))
        assert not window_open(nightly, utc(3, day, 23, 58, 59))


@pytest.mark.parametrize("now", [utc(3, 3), utc(3, 7, 12), utc(3, 9, 23, 59), utc(7, 1, 5)])
def test_the_default_window_is_always_open(now: datetime) -> None:
    assert window_open(PromotionWindow(), now)


@pytest.mark.parametrize("now", [utc(3, 3), utc(3, 7, 12), utc(3, 9, 23, 59)])
def test_a_window_with_no_days_is_never_open(now: datetime) -> None:
    assert not window_open(window(days=()), now)
    assert not window_open(window("22:00", "02:00", days=()), now)


def test_every_day_of_the_week_is_its_own() -> None:
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    for offset, name in enumerate(names):
        day = utc(3, 3 + offset, 12)  # Monday 3 March onwards
        assert [other for other in names if window_open(window(days=(other,)), day)] == [name]


def test_the_day_is_the_day_in_the_windows_zone_not_in_utc() -> None:
    # Friday 23:30Z is Saturday 08:30 in Tokyo.
    saturday_in_tokyo = window("08:00", "09:00", ("sat",), "Asia/Tokyo")
    assert window_open(saturday_in_tokyo, utc(3, 7, 23, 30))
    assert not window_open(window("08:00", "09:00", ("fri",), "Asia/Tokyo"), utc(3, 7, 23, 30))


@pytest.mark.parametrize(
    "now",
    [
        utc(3, 7, 8, 30),
        datetime(2025, 3, 7, 17, 30, tzinfo=TOKYO),
        datetime(2025, 3, 7, 3, 30, tzinfo=NEW_YORK),
        datetime(2025, 3, 7, 3, 30, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2025, 3, 7, 14, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    ],
)
def test_now_in_any_zone_is_the_same_instant(now: datetime) -> None:
    # All of them are 08:30Z, 09:30 in Berlin (CET).
    berlin_hours = window("09:00", "17:00", WEEKDAYS, "Europe/Berlin")
    assert window_open(berlin_hours, now)
    assert not window_open(window("09:00", "17:00", WEEKDAYS), now)  # UTC: 08:30
    assert not window_open(berlin_hours, now - timedelta(minutes=31))


# --- window_open: daylight saving time ------------------------------------------------------

BERLIN_HOURS = window("09:00", "17:00", tz="Europe/Berlin")
NEW_YORK_HOURS = window("09:00", "17:00", WEEKDAYS, "America/New_York")


@pytest.mark.parametrize(
    ("now", "inside"),
    [
        # Winter (CET, UTC+1): 09:00-17:00 local is 08:00-16:00Z.
        (utc(1, 15, 7, 59), False),
        (utc(1, 15, 8, 0), True),
        (utc(1, 15, 15, 59), True),
        (utc(1, 15, 16, 0), False),
        # Summer (CEST, UTC+2): 07:00-15:00Z.
        (utc(7, 15, 6, 59), False),
        (utc(7, 15, 7, 0), True),
        (utc(7, 15, 14, 59), True),
        (utc(7, 15, 15, 0), False),
        # The Saturday before springing forward is CET, the Sunday of it CEST.
        (utc(3, 29, 8, 0), True),
        (utc(3, 29, 7, 0), False),
        (utc(3, 30, 7, 0), True),
        (utc(3, 30, 15, 0), False),
        (utc(3, 30, 15, 59), False),
        # The Saturday before falling back is CEST, the Sunday of it CET.
        (utc(10, 25, 7, 0), True),
        (utc(10, 25, 15, 0), False),
        (utc(10, 26, 7, 0), False),
        (utc(10, 26, 8, 0), True),
        (utc(10, 26, 15, 59), True),
        (utc(10, 26, 16, 0), False),
    ],
)
def test_berlin_office_hours_are_wall_clock_hours_all_year(now: datetime, inside: bool) -> None:
    assert window_open(BERLIN_HOURS, now) is inside


@pytest.mark.parametrize(
    ("now", "inside"),
    [
        # Friday 7 March, EST (UTC-5): 14:00-22:00Z.
        (utc(3, 7, 13, 59), False),
        (utc(3, 7, 14, 0), True),
        (utc(3, 7, 21, 59), True),
        (utc(3, 7, 22, 0), False),
        # Monday 10 March, EDT (UTC-4): 13:00-21:00Z.
        (utc(3, 10, 12, 59), False),
        (utc(3, 10, 13, 0), True),
        (utc(3, 10, 20, 59), True),
        (utc(3, 10, 21, 0), False),
        # Friday 31 October, EDT; Monday 3 November, EST.
        (utc(10, 31, 13, 0), True),
        (utc(10, 31, 21, 0), False),
        (utc(11, 3, 13, 0), False),
        (utc(11, 3, 14, 0), True),
        (utc(11, 3, 21, 30), True),
        (utc(11, 3, 22, 0), False),
    ],
)
def test_new_york_office_hours_are_wall_clock_hours_all_year(now: datetime, inside: bool) -> None:
    assert window_open(NEW_YORK_HOURS, now) is inside


def test_an_hour_the_spring_forward_skips_never_comes() -> None:
    skipped = window("02:00", "03:00", ("sun",), "Europe/Berlin")
    at = utc(3, 29, 20, 0)
    while at < utc(3, 30, 6, 0):  # Sunday's small hours in Berlin, a minute at a time
        assert not window_open(skipped, at)
        at += MINUTE


def test_a_window_starting_in_the_skipped_hour_opens_when_the_clock_jumps() -> None:
    from_half_past_two = window("02:30", "04:00", ("sun",), "Europe/Berlin")
    assert not window_open(from_half_past_two, utc(3, 30, 0, 59))  # 01:59 CET
    assert window_open(from_half_past_two, utc(3, 30, 1, 0))  # 03:00 CEST
    assert window_open(from_half_past_two, utc(3, 30, 1, 59))  # 03:59 CEST
    assert not window_open(from_half_past_two, utc(3, 30, 2, 0))  # 04:00 CEST


def test_an_hour_the_fall_back_repeats_is_inside_twice() -> None:
    repeated = window("02:00", "03:00", ("sun",), "Europe/Berlin")
    assert not window_open(repeated, utc(10, 25, 23, 59))  # 01:59 CEST
    assert window_open(repeated, utc(10, 26, 0, 0))  # 02:00 CEST
    assert window_open(repeated, utc(10, 26, 0, 59))
    assert window_open(repeated, utc(10, 26, 1, 0))  # 02:00 CET, the second time
    assert window_open(repeated, utc(10, 26, 1, 59))
    assert not window_open(repeated, utc(10, 26, 2, 0))  # 03:00 CET


def test_a_night_window_across_the_change_is_longer_or_shorter() -> None:
    saturday_night = window("22:00", "06:00", ("sat",), "Europe/Berlin")
    # Spring: Sat 22:00 CET = 21:00Z to Sun 06:00 CEST = 04:00Z (7 hours).
    assert not window_open(saturday_night, utc(3, 29, 20, 59))
    assert window_open(saturday_night, utc(3, 29, 21, 0))
    assert window_open(saturday_night, utc(3, 30, 3, 59))
    assert not window_open(saturday_night, utc(3, 30, 4, 0))
    # Autumn: Sat 22:00 CEST = 20:00Z to Sun 06:00 CET = 05:00Z (9 hours).
    assert not window_open(saturday_night, utc(10, 25, 19, 59))
    assert window_open(saturday_night, utc(10, 25, 20, 0))
    assert window_open(saturday_night, utc(10, 26, 4, 59))
    assert not window_open(saturday_night, utc(10, 26, 5, 0))


# --- windows_state --------------------------------------------------------------------------


def test_no_windows_is_open() -> None:
    assert windows_state(ENV, env(), utc(3, 8, 3, 0)) is OPEN
    assert Gate(True, "", None) == OPEN


def test_a_freeze_closes_without_an_opening() -> None:
    gate = windows_state(ENV, env(frozen="incident 4711"), utc(3, 7, 12))
    assert gate == Gate(False, "production is frozen: incident 4711", None)


def test_a_freeze_wins_over_an_open_window() -> None:
    config = env(window(), frozen="release train stopped")
    assert window_open(window(), utc(3, 7, 12))
    assert windows_state("staging", config, utc(3, 7, 12)) == Gate(
        False, "staging is frozen: release train stopped"
    )


def test_a_freeze_wins_even_over_broken_windows() -> None:
    config = env(window("25:00", "26:00"), frozen="why")
    assert windows_state(ENV, config, utc(3, 7, 12)) == Gate(False, "production is frozen: why")


def test_inside_an_allowing_window_is_open() -> None:
    assert windows_state(ENV, env(window("09:00", "17:00", WEEKDAYS)), utc(3, 7, 9)) is OPEN


def test_outside_the_allowing_windows_is_closed_until_the_next_start() -> None:
    gate = windows_state(ENV, env(window("09:00", "17:00", WEEKDAYS)), utc(3, 6, 17, 0))
    assert gate == Gate(False, "production is outside its promotion windows", utc(3, 7, 9, 0))


def test_the_opening_is_the_first_whole_minute_from_now() -> None:
    config = env(window("09:00", "17:00"))
    assert windows_state(ENV, config, utc(3, 7, 8, 59, 30)).opens_at == utc(3, 7, 9, 0)
    assert windows_state(ENV, config, utc(3, 7, 8, 59, 0)).opens_at == utc(3, 7, 9, 0)
    just_before = datetime(2025, 3, 7, 8, 59, 59, 999999, tzinfo=UTC)
    assert windows_state(ENV, config, just_before).opens_at == utc(3, 7, 9, 0)


def test_the_opening_is_in_utc() -> None:
    now = datetime(2025, 3, 7, 20, 0, tzinfo=TOKYO)  # 11:00Z
    gate = windows_state(ENV, env(window("12:00", "13:00", tz="Asia/Tokyo")), now)
    assert gate.opens_at == utc(3, 8, 3, 0)
    assert gate.opens_at is not None and gate.opens_at.tzinfo is UTC


def test_several_allowing_windows_open_together() -> None:
    config = env(window("09:00", "10:00", ("mon",)), window("14:00", "15:00", ("wed",)))
    assert windows_state(ENV, config, utc(3, 3, 9, 30)) is OPEN
    assert windows_state(ENV, config, utc(3, 5, 14, 30)) is OPEN
    assert windows_state(ENV, config, utc(3, 3, 10, 0)).opens_at == utc(3, 5, 14, 0)
    assert windows_state(ENV, config, utc(3, 5, 15, 0)).opens_at == utc(3, 10, 9, 0)


def test_adjacent_windows_have_no_gap() -> None:
    config = env(window("09:00", "12:00"), window("12:00", "17:00"))
    for minute in range(9 * 60, 17 * 60):
        assert windows_state(ENV, config, utc(3, 7) + minute * MINUTE) is OPEN
    assert windows_state(ENV, config, utc(3, 7, 17)).opens_at == utc(3, 8, 9)


def test_a_denying_window_inside_an_allowing_one_closes() -> None:
    config = env(
        window("09:00", "17:00", WEEKDAYS, "Europe/Berlin"),
        deny("16:00", "24:00", ("fri",), "Europe/Berlin"),
    )
    assert windows_state(ENV, config, utc(3, 7, 14, 59)) is OPEN  # Friday 15:59 in Berlin
    assert windows_state(ENV, config, utc(3, 6, 15, 30)) is OPEN  # Thursday 16:30
    gate = windows_state(ENV, config, utc(3, 7, 15, 0))  # Friday 16:00 in Berlin
    # Over the weekend, to Monday 09:00 in Berlin (still CET).
    assert gate == Gate(
        False,
        "production is inside a denied window (fri 16:00-24:00 Europe/Berlin)",
        utc(3, 10, 8, 0),
    )


def test_outside_the_allowing_window_after_the_denying_one_is_said_so() -> None:
    config = env(
        window("09:00", "17:00", WEEKDAYS, "Europe/Berlin"),
        deny("16:00", "24:00", ("fri",), "Europe/Berlin"),
    )
    gate = windows_state(ENV, config, utc(3, 7, 16, 30))  # Friday 17:30 in Berlin
    assert gate.reason == "production is inside a denied window (fri 16:00-24:00 Europe/Berlin)"
    gate = windows_state(ENV, config, utc(3, 7, 23, 0))  # Saturday 00:00 in Berlin
    assert gate == Gate(False, "production is outside its promotion windows", utc(3, 10, 8, 0))


def test_only_denying_windows_close_only_inside_them() -> None:
    config = env(deny("22:00", "06:00", None, "Europe/Berlin"))
    assert windows_state(ENV, config, utc(3, 7, 12)) is OPEN
    gate = windows_state(ENV, config, utc(3, 7, 22))  # 23:00 in Berlin
    assert gate == Gate(
        False,
        "production is inside a denied window (every day 22:00-06:00 Europe/Berlin)",
        utc(3, 8, 5, 0),
    )


def test_a_denying_window_with_no_days_denies_nothing() -> None:
    assert windows_state(ENV, env(deny("00:00", "24:00", ())), utc(3, 7, 12)) is OPEN


def test_the_first_denying_window_is_named() -> None:
    config = env(deny("10:00", "14:00", ("fri", "mon")), deny("11:00", "12:00"))
    gate = windows_state(ENV, config, utc(3, 7, 11, 30))
    assert gate == Gate(
        False, "production is inside a denied window (mon,fri 10:00-14:00 UTC)", utc(3, 7, 14)
    )


def test_overlapping_denying_windows_open_when_the_last_ends() -> None:
    config = env(deny("10:00", "12:00"), deny("11:00", "13:00"), deny("13:00", "13:30"))
    assert windows_state(ENV, config, utc(3, 7, 10, 30)).opens_at == utc(3, 7, 13, 30)


def test_allowing_windows_that_never_come_never_open() -> None:
    gate = windows_state(ENV, env(window(days=())), utc(3, 7, 12))
    assert gate == Gate(
        False,
        "production is outside its promotion windows; they do not open within the next 14 days",
    )
    assert timedelta(days=14) == HORIZON


def test_a_deny_that_covers_every_allow_never_opens() -> None:
    config = env(window("09:00", "17:00", WEEKDAYS), deny("00:00", "24:00"))
    gate = windows_state(ENV, config, utc(3, 7, 12))
    assert gate == Gate(
        False,
        "production is inside a denied window (every day 00:00-24:00 UTC); "
        "they do not open within the next 14 days",
    )


def test_a_window_a_minute_long_opens_a_week_later() -> None:
    config = env(window("09:00", "09:01", ("fri",)))
    assert windows_state(ENV, config, utc(3, 7, 9, 0, 59)) is OPEN
    assert windows_state(ENV, config, utc(3, 7, 9, 1)).opens_at == utc(3, 14, 9, 0)


def test_the_opening_of_a_window_past_midnight() -> None:
    config = env(window("22:00", "02:00", ("fri",)))
    assert windows_state(ENV, config, utc(3, 7, 21)).opens_at == utc(3, 7, 22)
    assert windows_state(ENV, config, utc(3, 8, 0, 30)) is OPEN
    assert windows_state(ENV, config, utc(3, 8, 2)).opens_at == utc(3, 14, 22)


def test_the_opening_after_a_denied_evening_is_midnight() -> None:
    config = env(deny("18:00", "24:00", ("fri",), "Europe/Berlin"))
    assert windows_state(ENV, config, utc(3, 7, 20)).opens_at == utc(3, 7, 23)  # Sat 00:00 CET


def test_the_opening_across_a_new_york_weekend_and_its_clock_change() -> None:
    now = datetime(2025, 3, 7, 17, 30, tzinfo=NEW_YORK)  # Friday, EST
    gate = windows_state(ENV, env(NEW_YORK_HOURS), now)
    assert gate == Gate(
        False, "production is outside its promotion windows", utc(3, 10, 13, 0)
    )  # Monday 09:00 EDT
    autumn = windows_state(ENV, env(NEW_YORK_HOURS), datetime(2025, 10, 31, 18, 0, tzinfo=NEW_YORK))
    assert autumn.opens_at == utc(11, 3, 14, 0)  # Monday 09:00 EST


def test_the_opening_across_a_berlin_clock_change() -> None:
    assert windows_state(ENV, env(BERLIN_HOURS), utc(3, 29, 16)).opens_at == utc(3, 30, 7)
    assert windows_state(ENV, env(BERLIN_HOURS), utc(10, 25, 15)).opens_at == utc(10, 26, 8)


def test_the_opening_of_a_window_starting_in_the_skipped_hour_is_the_jump() -> None:
    config = env(window("02:30", "04:00", ("sun",), "Europe/Berlin"))
    gate = windows_state(ENV, config, utc(3, 30, 0, 30))  # 01:30 CET
    assert gate.opens_at == utc(3, 30, 1, 0)  # the clock jumps to 03:00 CEST


def test_the_opening_of_a_window_wholly_in_the_skipped_hour_is_a_week_later() -> None:
    config = env(window("02:00", "03:00", ("sun",), "Europe/Berlin"))
    gate = windows_state(ENV, config, utc(3, 29, 12))
    assert gate.opens_at == utc(4, 6, 0, 0)  # Sunday 6 April 02:00 CEST


def test_the_openings_around_a_deny_in_the_repeated_hour() -> None:
    config = env(deny("02:15", "02:45", ("sun",), "Europe/Berlin"))
    assert windows_state(ENV, config, utc(10, 26, 0, 10)) is OPEN  # 02:10 CEST
    assert windows_state(ENV, config, utc(10, 26, 0, 20)).opens_at == utc(10, 26, 0, 45)
    assert windows_state(ENV, config, utc(10, 26, 0, 50)) is OPEN  # 02:50 CEST
    assert windows_state(ENV, config, utc(10, 26, 1, 20)).opens_at == utc(10, 26, 1, 45)  # CET


def test_the_opening_with_windows_in_several_zones() -> None:
    config = env(
        window("09:00", "17:00", WEEKDAYS, "America/New_York"),
        deny("00:00", "08:00", None, "Asia/Tokyo"),
    )
    # Monday 10 March 13:00Z is 09:00 EDT and 22:00 in Tokyo: open.
    assert windows_state(ENV, config, utc(3, 10, 13)) is OPEN
    # Monday 15:00Z is 00:00 Tuesday in Tokyo: denied until 08:00 there, 23:00Z: New York is
    # closed by then (19:00 EDT), so Tuesday 09:00 EDT.
    gate = windows_state(ENV, config, utc(3, 10, 15))
    assert gate.reason == "production is inside a denied window (every day 00:00-08:00 Asia/Tokyo)"
    assert gate.opens_at == utc(3, 11, 13)


# --- windows_state: the opening against a minute-by-minute search ---------------------------


def _reference_open(config: EnvironmentConfig, at: datetime) -> bool:
    allowing = [w for w in config.windows if w.allow]
    return (not allowing or any(window_open(w, at) for w in allowing)) and not any(
        window_open(w, at) for w in config.windows if not w.allow
    )


def _reference_opening(config: EnvironmentConfig, now: datetime) -> datetime | None:
    at = now.astimezone(UTC).replace(second=0, microsecond=0)
    if at < now:
        at += MINUTE
    while at <= now + HORIZON:
        if _reference_open(config, at):
            return at
        at += MINUTE
    return None


CONFIGS = [
    env(window("09:00", "17:00", WEEKDAYS, "Europe/Berlin")),
    env(window("22:00", "02:00", ("fri", "sat"), "America/New_York")),
    env(window("02:30", "03:30", ("sun",), "Europe/Berlin"), window("08:00", "08:05", ("tue",))),
    env(
        window("09:00", "17:00", WEEKDAYS, "America/New_York"),
        deny("12:00", "13:00", None, "America/New_York"),
        deny("15:00", "24:00", ("fri",), "Europe/Berlin"),
    ),
    env(
        deny("01:30", "02:30", ("sun",), "Europe/Berlin"),
        deny("01:30", "02:30", ("sun",), "America/New_York"),
    ),
    env(window("23:00", "01:00", ("sat", "sun"), "Australia/Lord_Howe")),
]
NOWS = [
    utc(3, 7, 16, 0, 30),  # a Friday
    utc(3, 8, 23, 0),  # the night New York springs forward
    utc(3, 29, 23, 45),  # the night Berlin springs forward
    utc(10, 25, 23, 10),  # the night Berlin falls back
    utc(11, 1, 12, 0),  # the weekend New York falls back
    utc(4, 5, 14, 0),  # Lord Howe moves its clock back half an hour on 6 April
]


@pytest.mark.parametrize("now", NOWS)
@pytest.mark.parametrize("config", CONFIGS, ids=range(len(CONFIGS)))
def test_the_opening_is_what_a_minute_by_minute_search_finds(
    config: EnvironmentConfig, now: datetime
) -> None:
    gate = windows_state(ENV, config, now)
    if _reference_open(config, now):
        assert gate is OPEN
    else:
        assert not gate.open
        assert gate.opens_at == _reference_opening(config, now)


_TIMES = st.sampled_from(["00:00", "01:30", "02:00", "02:30", "03:00", "09:00", "17:00", "23:59"])
_WINDOWS = st.builds(
    lambda allow, days, start, end, tz: window(start, end, tuple(days), tz, allow=allow),
    st.booleans(),
    st.lists(st.sampled_from(["fri", "sat", "sun", "mon"]), min_size=1, max_size=2, unique=True),
    _TIMES,
    st.one_of(_TIMES, st.just("24:00")),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
).filter(lambda w: w.start != w.end)


@settings(max_examples=25)
@given(
    windows=st.lists(_WINDOWS, min_size=1, max_size=3),
    now=st.datetimes(
        min_value=datetime(2025, 3, 6), max_value=datetime(2025, 3, 31), timezones=st.just(UTC)
    )
    | st.datetimes(
        min_value=datetime(2025, 10, 24), max_value=datetime(2025, 11, 4), timezones=st.just(UTC)
    ),
)
def test_the_opening_matches_a_minute_by_minute_search_for_any_windows(
    windows: list[PromotionWindow], now: datetime
) -> None:
    config = env(*windows)
    gate = windows_state(ENV, config, now)
    if _reference_open(config, now):
        assert gate is OPEN
    else:
        assert gate.opens_at == _reference_opening(config, now)


# --- soak_state -----------------------------------------------------------------------------

T0 = utc(1, 1, 12, 0)
DAY = timedelta(days=1)


def entry(
    action: EntryAction,
    version: str | None,
    previous: str | None,
    at: datetime,
    commit: str = "c0ffee",
) -> Entry:
    return Entry("fraud", "staging", version, previous, action, commit, at)


def ledger(*entries: Entry) -> Ledger:
    """A ledger from `entries`, given newest first."""
    return Ledger("fraud", "staging", entries)


def test_nothing_deployed_is_no_soak() -> None:
    assert soak_state(ledger(), DAY, T0) == SoakState(None, None, False, None, "nothing deployed")


def test_a_promotion_soaks_until_its_duration_ran() -> None:
    state = soak_state(ledger(entry("promote", "1.2", "1.1", T0)), DAY, T0 + timedelta(hours=3))
    assert state == SoakState(
        "1.2",
        T0,
        False,
        T0 + DAY,
        "1.2 soaking since 2025-01-01 12:00Z, until 2025-01-02 12:00Z",
    )


@pytest.mark.parametrize(
    ("now", "over"),
    [
        (T0, False),
        (T0 + DAY - timedelta(microseconds=1), False),
        (T0 + DAY, True),  # exactly its end
        (T0 + 30 * DAY, True),
    ],
)
def test_the_soak_is_over_at_its_end(now: datetime, over: bool) -> None:
    state = soak_state(ledger(entry("promote", "1.2", "1.1", T0)), DAY, now)
    assert state.over is over
    assert state.ends_at == T0 + DAY
    if over:
        assert state.reason == "1.2 soaked since 2025-01-02 12:00Z"


def test_a_soak_of_no_duration_is_over_at_once() -> None:
    state = soak_state(ledger(entry("promote", "1.2", None, T0)), timedelta(0), T0)
    assert state == SoakState("1.2", T0, True, T0, "1.2 soaked since 2025-01-01 12:00Z")


def test_only_the_version_in_force_soaks() -> None:
    entries = ledger(entry("promote", "1.3", "1.2", T0 + DAY), entry("promote", "1.2", "1.1", T0))
    state = soak_state(entries, timedelta(hours=1), T0 + DAY + timedelta(minutes=30))
    assert (state.version, state.since, state.over) == ("1.3", T0 + DAY, False)


def test_a_rollback_in_force_is_no_soak() -> None:
    entries = ledger(entry("rollback", "1.1", "1.2", T0 + DAY), entry("promote", "1.2", "1.1", T0))
    state = soak_state(entries, timedelta(hours=1), T0 + 10 * DAY)
    assert state == SoakState(
        "1.1", T0 + DAY, False, None, "1.1 came by a rollback on 2025-01-02 12:00Z: no soak"
    )


def test_a_manual_edit_in_force_is_no_soak() -> None:
    state = soak_state(ledger(entry("manual", "1.5", "1.2", T0)), timedelta(hours=1), T0 + DAY)
    assert state == SoakState(
        "1.5", T0, False, None, "1.5 came by a manual edit on 2025-01-01 12:00Z: no soak"
    )


def test_a_manual_edit_that_removed_the_version_is_no_soak() -> None:
    state = soak_state(ledger(entry("manual", None, "1.2", T0)), timedelta(hours=1), T0 + DAY)
    assert state == SoakState(
        None,
        T0,
        False,
        None,
        "a manual edit on 2025-01-01 12:00Z left no version in force: no soak",
    )


def test_soak_times_are_told_in_utc() -> None:
    at = datetime(2025, 7, 1, 9, 15, tzinfo=BERLIN)  # 07:15Z
    state = soak_state(ledger(entry("promote", "2.0", None, at)), timedelta(minutes=30), at)
    assert state.reason == "2.0 soaking since 2025-07-01 07:15Z, until 2025-07-01 07:45Z"
    now_in_tokyo = datetime(2025, 7, 1, 16, 45, tzinfo=TOKYO)  # 07:45Z
    assert soak_state(
        ledger(entry("promote", "2.0", None, at)), timedelta(minutes=30), now_in_tokyo
    ).over


def test_a_negative_soak_is_refused() -> None:
    with pytest.raises(ValueError, match="a soak cannot be negative"):
        soak_state(ledger(), timedelta(seconds=-1), T0)
    with pytest.raises(ValueError, match="a soak cannot be negative"):
        ladder_state("1.0", "staging", ledger(), timedelta(seconds=-1), T0)


# --- ladder_state ---------------------------------------------------------------------------


def test_a_version_that_never_ran_there_is_refused() -> None:
    assert ladder_state("2.0", "staging", ledger(), DAY, T0) == Gate(
        False, "2.0 never ran in staging"
    )
    others = ledger(entry("promote", "1.9", "1.8", T0), entry("promote", "1.8", None, T0 - DAY))
    assert ladder_state("2.0", "staging", others, DAY, T0 + DAY) == Gate(
        False, "2.0 never ran in staging"
    )


def test_a_version_only_a_manual_edit_or_a_rollback_brought_never_ran_as_a_promotion() -> None:
    manual = ledger(entry("manual", "2.0", "1.9", T0))
    assert (
        ladder_state("2.0", "staging", manual, DAY, T0 + 5 * DAY).reason
        == "2.0 never ran in staging"
    )
    rolled_to = ledger(entry("rollback", "2.0", "2.1", T0))
    assert ladder_state("2.0", "staging", rolled_to, DAY, T0 + 5 * DAY).reason == (
        "2.0 never ran in staging"
    )


def test_a_version_still_soaking_there_opens_when_the_soak_ends() -> None:
    running = ledger(entry("promote", "2.0", "1.9", T0))
    gate = ladder_state("2.0", "staging", running, DAY, T0 + timedelta(hours=5))
    assert gate == Gate(False, "2.0 is soaking in staging until 2025-01-02 12:00Z", T0 + DAY)
    just_before = T0 + DAY - timedelta(microseconds=1)
    assert ladder_state("2.0", "staging", running, DAY, just_before).opens_at == T0 + DAY


@pytest.mark.parametrize("now", [T0 + DAY, T0 + DAY + timedelta(seconds=1), T0 + 100 * DAY])
def test_a_version_that_soaked_and_still_runs_there_is_open(now: datetime) -> None:
    assert (
        ladder_state("2.0", "staging", ledger(entry("promote", "2.0", "1.9", T0)), DAY, now) is OPEN
    )


def test_a_version_that_soaked_before_it_was_replaced_is_open() -> None:
    entries = ledger(entry("promote", "2.1", "2.0", T0 + DAY), entry("promote", "2.0", "1.9", T0))
    assert ladder_state("2.0", "staging", entries, DAY, T0 + 3 * DAY) is OPEN


@pytest.mark.parametrize(
    ("ran", "told"),
    [
        (timedelta(hours=2), "2h"),
        (timedelta(hours=23, minutes=59, seconds=59), "23h 59m 59s"),
        (timedelta(minutes=45), "45m"),
        (timedelta(seconds=5), "5s"),
        (timedelta(0), "0s"),
    ],
)
def test_a_version_replaced_before_it_soaked_is_refused(ran: timedelta, told: str) -> None:
    entries = ledger(entry("promote", "2.1", "2.0", T0 + ran), entry("promote", "2.0", "1.9", T0))
    gate = ladder_state("2.0", "staging", entries, DAY, T0 + 3 * DAY)
    assert gate == Gate(False, f"2.0 ran in staging only for {told} (its soak is 1d)")


def test_a_run_ended_by_a_manual_edit_counts_until_the_edit() -> None:
    entries = ledger(
        entry("manual", "2.1", "2.0", T0 + timedelta(days=1, hours=2, minutes=3)),
        entry("promote", "2.0", "1.9", T0),
    )
    gate = ladder_state("2.0", "staging", entries, 2 * DAY, T0 + 5 * DAY)
    assert gate == Gate(False, "2.0 ran in staging only for 1d 2h 3m (its soak is 2d)")


def test_a_newer_entry_of_the_same_version_does_not_end_its_run() -> None:
    entries = ledger(
        entry("manual", "2.0", "2.0", T0 + timedelta(hours=1)),
        entry("promote", "2.0", "1.9", T0),
    )
    assert ladder_state("2.0", "staging", entries, DAY, T0 + 2 * DAY) is OPEN
    assert ladder_state("2.0", "staging", entries, DAY, T0 + timedelta(hours=2)) == Gate(
        False, "2.0 is soaking in staging until 2025-01-02 12:00Z", T0 + DAY
    )


def test_a_version_rolled_back_there_is_refused() -> None:
    entries = ledger(
        entry("rollback", "1.9", "2.0", T0 + 2 * DAY), entry("promote", "2.0", "1.9", T0)
    )
    gate = ladder_state("2.0", "staging", entries, DAY, T0 + 3 * DAY)
    assert gate == Gate(False, "2.0 was rolled back in staging on 2025-01-03 12:00Z")


def test_a_rollback_after_other_versions_still_names_the_version() -> None:
    entries = ledger(
        entry("promote", "2.2", "1.9", T0 + 4 * DAY),
        entry("rollback", "1.9", "2.0", T0 + 3 * DAY),
        entry("manual", "2.0", "2.1", T0 + 2 * DAY),
        entry("promote", "2.1", "2.0", T0 + DAY),
        entry("promote", "2.0", "1.9", T0),
    )
    gate = ladder_state("2.0", "staging", entries, timedelta(hours=1), T0 + 5 * DAY)
    assert gate == Gate(False, "2.0 was rolled back in staging on 2025-01-04 12:00Z")


def test_a_rollback_of_another_version_does_not_refuse() -> None:
    entries = ledger(
        entry("rollback", "2.0", "2.1", T0 + 3 * DAY),  # 2.1 rolled back, to 2.0
        entry("promote", "2.1", "2.0", T0 + 2 * DAY),
        entry("promote", "2.0", "1.9", T0),
    )
    assert ladder_state("2.0", "staging", entries, DAY, T0 + 4 * DAY) is OPEN
    assert ladder_state("2.1", "staging", entries, DAY, T0 + 4 * DAY) == Gate(
        False, "2.1 was rolled back in staging on 2025-01-04 12:00Z"
    )


def test_a_rollback_before_the_newest_promotion_is_history() -> None:
    entries = ledger(
        entry("promote", "2.0", "1.9", T0 + 3 * DAY),  # promoted again (its hold lifted)
        entry("rollback", "1.9", "2.0", T0 + DAY),
        entry("promote", "2.0", "1.9", T0),
    )
    assert ladder_state("2.0", "staging", entries, DAY, T0 + 5 * DAY) is OPEN
    gate = ladder_state("2.0", "staging", entries, DAY, T0 + 3 * DAY + timedelta(hours=1))
    assert gate == Gate(False, "2.0 is soaking in staging until 2025-01-05 12:00Z", T0 + 4 * DAY)


def test_the_newest_promotion_of_the_version_is_the_one_judged() -> None:
    entries = ledger(
        entry("promote", "2.0", "2.1", T0 + 10 * DAY),  # back after a long first run
        entry("promote", "2.1", "2.0", T0 + 5 * DAY),
        entry("promote", "2.0", "1.9", T0),
    )
    gate = ladder_state("2.0", "staging", entries, DAY, T0 + 10 * DAY + timedelta(hours=1))
    assert gate == Gate(False, "2.0 is soaking in staging until 2025-01-12 12:00Z", T0 + 11 * DAY)


def test_no_soak_asked_means_having_run_there_is_enough() -> None:
    assert (
        ladder_state("2.0", "staging", ledger(entry("promote", "2.0", None, T0)), timedelta(0), T0)
        is OPEN
    )


def test_ladder_times_are_told_in_utc_whatever_the_zones() -> None:
    at = datetime(2025, 7, 1, 9, 15, tzinfo=NEW_YORK)  # 13:15Z
    now = datetime(2025, 7, 1, 23, 0, tzinfo=TOKYO)  # 14:00Z
    gate = ladder_state("2.0", "staging", ledger(entry("promote", "2.0", None, at)), DAY, now)
    assert gate == Gate(False, "2.0 is soaking in staging until 2025-07-02 13:15Z", at + DAY)


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"start": "25:00"}, "bad window start '25:00'"),
        ({"start": "9:00"}, "bad window start '9:00'"),
        ({"end": "24:01"}, "bad window end '24:01'"),
        ({"start": "00:00", "end": "00:00"}, "so it is empty"),
        ({"timezone": "Mars/Olympus_Mons"}, "unknown time zone 'Mars/Olympus_Mons'"),
        ({"timezone": "localtime"}, "unknown time zone 'localtime'"),
    ],
)
def test_the_config_refuses_a_window_the_ladder_cannot_read(
    fields: dict[str, object], said: str
) -> None:
    from bot.core.config import parse_config
    from bot.core.errors import InvalidInput

    window = {"start": "09:00", "end": "17:00", **fields}
    text = json.dumps({"environments": {"production": {"windows": [window]}}})
    with pytest.raises(InvalidInput) as refused:
        parse_config(text)
    assert said in str(refused.value) and "windows" in str(refused.value)
