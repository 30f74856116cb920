"""Exchange sessions from real calendars: is the market open, which session day is it, when does it close.

Calendar codes are those of ``Instrument.calendar``: an exchange-calendars name (``CME`` is
exchange-calendars' alias of ``CMES``, the CME Globex equity-futures calendar; ``XNYS`` the NYSE) or
``24/7`` (crypto: always open, the session day is the UTC date). Holidays and early closes come from
exchange-calendars. Its schedule is read once per calendar into plain datetimes, so a lookup is a
bisect, not a pandas call.

Session day: the label of the session that contains ``now``; between sessions, the label of the next one.
A CME session opens the evening before its label (17:00 Chicago), so Sunday evening belongs to Monday.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from threading import Lock
from typing import Any

ALWAYS_OPEN = "24/7"
ALIASES = {"CME": "CMES", "NYSE": "XNYS"}
_DEFAULT_START = "1990-01-01"  # the daily files in use reach back to the 1990s


class CalendarError(ValueError):
    """An unknown calendar code, or a time outside the calendar's known range."""


@dataclass(frozen=True, slots=True)
class Session:
    """One exchange session: its label (trading date) and UTC open and close, early closes included."""

    day: date
    open: datetime
    close: datetime
    break_start: datetime | None = None
    break_end: datetime | None = None

    def contains(self, now: datetime) -> bool:
        if not self.open <= now < self.close:
            return False
        if self.break_start is not None and self.break_end is not None:
            return not self.break_start <= now < self.break_end
        return True


class _Schedule:
    """The sessions of one exchange calendar, sorted by open time."""

    def __init__(self, code: str, sessions: list[Session]) -> None:
        self.code = code
        self.sessions = sessions
        self.opens = [s.open for s in sessions]
        self.by_day = {s.day: s for s in sessions}

    def index_at(self, now: datetime) -> int:
        """Index of the last session that opened at or before ``now`` (-1 if none)."""
        return bisect.bisect_right(self.opens, now) - 1

    def known_range(self) -> tuple[datetime, datetime]:
        """The earliest and latest time a lookup accepts (a week beyond the first and last session)."""
        return self.sessions[0].open - timedelta(days=7), self.sessions[-1].close + timedelta(days=7)

    def check_range(self, now: datetime) -> None:
        first, last = self.sessions[0], self.sessions[-1]
        earliest, latest = self.known_range()
        if now < earliest or now > latest:
            raise CalendarError(
                f"calendar {self.code}: {now.isoformat()} is outside its known range "
                f"{first.day.isoformat()}..{last.day.isoformat()}"
            )


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise CalendarError(f"calendar lookups need a timezone-aware time, got {now!r}")
    return now.astimezone(UTC)


def _as_utc(value: Any) -> datetime | None:
    """A pandas Timestamp as a UTC datetime; None for a missing value (NaT is unequal to itself)."""
    if value is None or value != value:
        return None
    result: datetime = value.to_pydatetime().astimezone(UTC)
    return result


def _load_schedule(code: str, start: str, end: str | None) -> _Schedule:
    import exchange_calendars as xcals  # heavy import: only when a calendar is first needed

    name = ALIASES.get(code, code)
    try:
        kwargs: dict[str, object] = {"start": start}
        if end is not None:
            kwargs["end"] = end
        calendar = xcals.get_calendar(name, **kwargs)
    except Exception as exc:
        raise CalendarError(f"unknown or unusable exchange calendar {code!r}: {exc}") from exc
    schedule = calendar.schedule
    has_breaks = "break_start" in schedule.columns
    # column-wise conversion: iterrows() builds a pandas Series per session and costs seconds
    opens = [_as_utc(v) for v in schedule["open"].tolist()]
    closes = [_as_utc(v) for v in schedule["close"].tolist()]
    n = len(opens)
    starts = [_as_utc(v) for v in schedule["break_start"].tolist()] if has_breaks else [None] * n
    ends = [_as_utc(v) for v in schedule["break_end"].tolist()] if has_breaks else [None] * n
    sessions: list[Session] = []
    for label, open_, close, break_start, break_end in zip(
        schedule.index.tolist(), opens, closes, starts, ends, strict=True
    ):
        if open_ is None or close is None:
            raise CalendarError(f"exchange calendar {code!r}: session {label} has no open/close")
        sessions.append(Session(label.date(), open_, close, break_start, break_end))
    if not sessions:
        raise CalendarError(f"exchange calendar {code!r} has no sessions from {start}")
    return _Schedule(code, sessions)


class Calendars:
    """Cached exchange calendars. Pure lookups once loaded; safe to share across gates."""

    def __init__(self, start: str = _DEFAULT_START, end: str | None = None) -> None:
        self._start = start
        self._end = end
        self._schedules: dict[str, _Schedule] = {}
        self._lock = Lock()

    def _schedule(self, code: str) -> _Schedule:
        schedule = self._schedules.get(code)
        if schedule is None:
            with self._lock:
                schedule = self._schedules.get(code)
                if schedule is None:
                    schedule = _load_schedule(code, self._start, self._end)
                    self._schedules[code] = schedule
        return schedule

    def known_range(self, code: str) -> tuple[datetime, datetime] | None:
        """The times calendar ``code`` can answer for (None for 24/7: always); outside it lookups raise."""
        if code == ALWAYS_OPEN:
            return None
        return self._schedule(code).known_range()

    def validate(self, code: str) -> None:
        """Raise CalendarError if ``code`` is not a usable calendar (call at startup)."""
        if code != ALWAYS_OPEN:
            self._schedule(code)

    def session_at(self, code: str, now: datetime) -> Session | None:
        """The session containing ``now`` (None when closed, or for a 24/7 calendar)."""
        if code == ALWAYS_OPEN:
            return None
        now = _utc(now)
        schedule = self._schedule(code)
        schedule.check_range(now)
        index = schedule.index_at(now)
        if index < 0:
            return None
        session = schedule.sessions[index]
        return session if session.contains(now) else None

    def is_open(self, code: str, now: datetime) -> bool:
        if code == ALWAYS_OPEN:
            return True
        return self.session_at(code, now) is not None

    def session_day(self, code: str, now: datetime) -> date:
        """The trading day ``now`` belongs to (see the module doc)."""
        now = _utc(now)
        if code == ALWAYS_OPEN:
            return now.date()
        schedule = self._schedule(code)
        schedule.check_range(now)
        index = schedule.index_at(now)
        if index >= 0 and now < schedule.sessions[index].close:
            return schedule.sessions[index].day
        following = index + 1
        if following >= len(schedule.sessions):
            raise CalendarError(f"calendar {code}: no session after {now.isoformat()}")
        return schedule.sessions[following].day

    def session(self, code: str, day: date) -> Session | None:
        """The session labelled ``day`` (None on a holiday, a weekend or for a 24/7 calendar)."""
        if code == ALWAYS_OPEN:
            return None
        return self._schedule(code).by_day.get(day)

    def next_open(self, code: str, now: datetime) -> datetime | None:
        """When the market next opens after ``now`` (None for 24/7)."""
        if code == ALWAYS_OPEN:
            return None
        now = _utc(now)
        schedule = self._schedule(code)
        index = schedule.index_at(now) + 1
        return schedule.sessions[index].open if index < len(schedule.sessions) else None


_SHARED = Calendars()


def shared_calendars() -> Calendars:
    """The process-wide calendar cache (loading a calendar takes a moment; do it once)."""
    return _SHARED
