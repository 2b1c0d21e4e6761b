"""The promotion ladder: may a version enter an environment now? Pure.

Three rules, each a value with its reason (the flows print them and end `blocked`):
- **windows and freezes** of the target environment (`windows_state`): promotions land only
  inside an allowed window and outside every denied one, and never while it is frozen;
  rollbacks are never asked;
- **the ladder** (`ladder_state`): an environment that `requires` another takes only a version
  that ran there and soaked (`soak_state`);
- **the soak** (`soak_state`): a version advances only after it ran for the soak's duration.
The clock is always passed in (`now`, timezone-aware), so tests never sleep.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.core.config import EnvironmentConfig, PromotionWindow, check_timezone, clock_minutes
from bot.core.ledger import Entry, Ledger


@dataclass(frozen=True)
class Gate:
    """One rule's answer: `open`, or closed with the reason (and when it opens, if known)."""

    open: bool
    reason: str = ""
    opens_at: datetime | None = None


OPEN = Gate(True)

HORIZON = timedelta(days=14)  # how far ahead `windows_state` looks for the next opening
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = datetime.weekday()
_DAY_MINUTES = 24 * 60
_MINUTE = timedelta(minutes=1)
_HOUR = timedelta(hours=1)
# Names a zone file may have that do not name a zone: the machine's own zone.


def check_window(window: PromotionWindow) -> PromotionWindow:
    """`window` when `window_open` can read it: `start`/`end` as HH:MM (`24:00` only as the
    end), not equal (the window would be empty), known days, a known time zone; for config
    validation, `ValueError` naming the field otherwise."""
    _parse(window)
    return window


def window_open(window: PromotionWindow, now: datetime) -> bool:
    """Whether `now` falls inside `window` (its days, its start-end, in its time zone)."""
    _require_aware(now)
    return _parse(window).contains(now)


def windows_state(environment: str, config: EnvironmentConfig, now: datetime) -> Gate:
    """Frozen: closed with the freeze's reason. Otherwise open when `now` is inside an
    allowing window (or there are none that allow) and inside no denying one; closed with
    the next time that is true (`opens_at`, searched a minute at a time over 14 days at most,
    or smarter) and a reason naming the window."""
    _require_aware(now)
    if config.frozen is not None:
        return Gate(False, f"{environment} is frozen: {config.frozen.reason}")
    if not config.windows:
        return OPEN
    windows = [_parse(window) for window in config.windows]
    if _all_open(windows, now):
        return OPEN
    denying = next((w for w in windows if not w.allow and w.contains(now)), None)
    if denying is not None:
        reason = f"{environment} is inside a denied window ({denying.label})"
    else:
        reason = f"{environment} is outside its promotion windows"
    opens_at = _next_opening(windows, now)
    if opens_at is None:
        reason += f"; they do not open within the next {HORIZON.days} days"
    return Gate(False, reason, opens_at)


@dataclass(frozen=True)
class SoakState:
    """How long the version in force has run in an environment."""

    version: str | None
    since: datetime | None
    over: bool
    ends_at: datetime | None
    reason: str


def soak_state(ledger: Ledger, duration: timedelta, now: datetime) -> SoakState:
    """The soak of the version in force (the ledger's current entry, a promotion): over when
    it has run `duration`; a rollback or a manual edit in force is no soak (reason says so)."""
    _require_aware(now)
    _require_duration(duration)
    entry = ledger.current
    if entry is None:
        return SoakState(None, None, False, None, "nothing deployed")
    if entry.action != "promote":
        how = "a rollback" if entry.action == "rollback" else "a manual edit"
        if entry.version is None:
            reason = f"{how} on {_when(entry.at)} left no version in force: no soak"
        else:
            reason = f"{entry.version} came by {how} on {_when(entry.at)}: no soak"
        return SoakState(entry.version, entry.at, False, None, reason)
    ends_at = entry.at + duration
    if now >= ends_at:
        reason = f"{entry.version} soaked since {_when(ends_at)}"
        return SoakState(entry.version, entry.at, True, ends_at, reason)
    reason = f"{entry.version} soaking since {_when(entry.at)}, until {_when(ends_at)}"
    return SoakState(entry.version, entry.at, False, ends_at, reason)


def ladder_state(
    version: str, required: str, required_ledger: Ledger, duration: timedelta, now: datetime
) -> Gate:
    """Whether `version` may enter an environment that requires `required`: it must have run
    there, for `duration` at least, and not have been rolled back there since. Closed with
    a reason naming `required` (and, while it still soaks, when the soak ends)."""
    _require_aware(now)
    _require_duration(duration)
    entries = required_ledger.entries
    index = next(
        (
            i
            for i, entry in enumerate(entries)
            if entry.action == "promote" and entry.version == version
        ),
        None,
    )
    if index is None:
        return Gate(False, f"{version} never ran in {required}")
    promoted = entries[index]
    newer = entries[:index]  # newest first
    rollback = next(
        (e for e in newer if e.action == "rollback" and e.previous_version == version), None
    )
    if rollback is not None:
        return Gate(False, f"{version} was rolled back in {required} on {_when(rollback.at)}")
    ended = _run_end(newer, version)
    ran = max((ended.at if ended is not None else now) - promoted.at, timedelta(0))
    if ran >= duration:
        return OPEN
    if ended is None:
        ends_at = promoted.at + duration
        return Gate(False, f"{version} is soaking in {required} until {_when(ends_at)}", ends_at)
    return Gate(
        False,
        f"{version} ran in {required} only for {_span(ran)} (its soak is {_span(duration)})",
    )


def _run_end(newer: Sequence[Entry], version: str) -> Entry | None:
    """The entry that ended `version`'s run: the oldest of `newer` (newest first) that put
    another version in force; None while it still runs."""
    return next((e for e in reversed(newer) if e.version != version), None)


@dataclass(frozen=True)
class _Window:
    """A `PromotionWindow`, read: weekdays (0 = Monday), minutes of the day, its zone."""

    allow: bool
    days: frozenset[int]
    start: int  # minutes after midnight, 0..1439
    end: int  # 1..1440; before `start`: the window runs past midnight
    zone: ZoneInfo
    label: str  # e.g. "fri 16:00-24:00 Europe/Berlin"

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)  # wall-clock time there, on either side of DST
        minute = local.hour * 60 + local.minute
        day = local.weekday()
        if self.start < self.end:
            return day in self.days and self.start <= minute < self.end
        # Past midnight: the part after it belongs to the day the window started.
        return (day in self.days and minute >= self.start) or (
            (day - 1) % 7 in self.days and minute < self.end
        )


def _parse(window: PromotionWindow) -> _Window:
    start = clock_minutes(window.start, "start", end=False)
    end = clock_minutes(window.end, "end", end=True)
    if start == end:
        raise ValueError(
            f"bad window: start and end are both {window.start}, so it is empty "
            "(00:00-24:00 is the whole day)"
        )
    unknown = [day for day in window.days if day not in _DAYS]
    if unknown:
        raise ValueError(f"bad window days {unknown!r}: use {', '.join(_DAYS)}")
    days = frozenset(_DAYS.index(day) for day in window.days)
    zone = ZoneInfo(check_timezone(window.timezone))
    label = f"{_days_label(days)} {window.start}-{window.end} {window.timezone}"
    return _Window(window.allow, days, start, end, zone, label)


def _days_label(days: frozenset[int]) -> str:
    if len(days) == len(_DAYS):
        return "every day"
    if not days:
        return "no day"
    return ",".join(_DAYS[day] for day in sorted(days))


def _all_open(windows: Sequence[_Window], at: datetime) -> bool:
    """Inside an allowing window (or none allows) and inside no denying one."""
    allowing = [w for w in windows if w.allow]
    return (not allowing or any(w.contains(at) for w in allowing)) and not any(
        w.contains(at) for w in windows if not w.allow
    )


def _next_opening(windows: Sequence[_Window], now: datetime) -> datetime | None:
    """The first minute at or after `now`, within `HORIZON`, at which the windows are open.

    Whether they are open changes only where some zone's wall clock reaches a window's
    start or end or a midnight, or jumps (a DST change): those instants, and the first
    minute itself, are the only ones to try (in UTC, so no wall-clock time is ambiguous).
    """
    first = _ceil_minute(now.astimezone(timezone.utc))
    limit = now.astimezone(timezone.utc) + HORIZON
    candidates = {first}
    for zone, minutes in _boundaries(windows).items():
        candidates.update(at for at in _changes(zone, minutes, first, limit) if first < at <= limit)
    return next((at for at in sorted(candidates) if _all_open(windows, at)), None)


def _boundaries(windows: Iterable[_Window]) -> dict[ZoneInfo, set[int]]:
    """Per zone, the minutes of the day at which a window there may open or close
    (midnight always: a new day may be another weekday's)."""
    found: dict[ZoneInfo, set[int]] = {}
    for window in windows:
        found.setdefault(window.zone, {0}).update({window.start, window.end % _DAY_MINUTES})
    return found


def _changes(
    zone: ZoneInfo, minutes: set[int], first: datetime, limit: datetime
) -> Iterator[datetime]:
    """The UTC instants from about `first` to `limit` at which the wall clock of `zone`
    shows one of `minutes` (both instants of a time the clock shows twice) or jumps."""
    day = first.astimezone(zone).date() - timedelta(days=1)
    last = limit.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        for minute in minutes:
            yield from _instants(zone, day, minute)
        day += timedelta(days=1)
    yield from _transitions(zone, first, limit)


def _instants(zone: ZoneInfo, day: date, minute: int) -> Iterator[datetime]:
    wall = datetime.combine(day, time()) + timedelta(minutes=minute)
    for fold in (0, 1):
        yield wall.replace(tzinfo=zone, fold=fold).astimezone(timezone.utc)


def _transitions(zone: ZoneInfo, first: datetime, limit: datetime) -> Iterator[datetime]:
    """The first UTC minute of each new UTC offset of `zone` in (`first`, `limit`]."""
    at = first
    offset = at.astimezone(zone).utcoffset()
    while at < limit:
        following = at + _HOUR
        if following.astimezone(zone).utcoffset() != offset:
            # At most one change in an hour: find its minute.
            changed = at + _MINUTE
            while changed.astimezone(zone).utcoffset() == offset:
                changed += _MINUTE
            yield changed
            offset = changed.astimezone(zone).utcoffset()
        at = following


def _ceil_minute(at: datetime) -> datetime:
    floor = at.replace(second=0, microsecond=0)
    return floor if floor == at else floor + _MINUTE


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got {now.isoformat()}")


def _require_duration(duration: timedelta) -> None:
    if duration < timedelta(0):
        raise ValueError(f"a soak cannot be negative, got {duration}")


def _when(at: datetime) -> str:
    """`YYYY-MM-DD HH:MMZ`, in UTC."""
    return at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%MZ")


def _span(length: timedelta) -> str:
    """`1d 2h 3m 4s`, the parts that are not zero (`0s` for none)."""
    seconds = int(length.total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    parts = [
        f"{amount}{unit}"
        for amount, unit in ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s"))
        if amount
    ]
    return " ".join(parts) or "0s"


__all__ = [
    "HORIZON",
    "OPEN",
    "Gate",
    "SoakState",
    "check_timezone",
    "check_window",
    "ladder_state",
    "soak_state",
    "window_open",
    "windows_state",
]
