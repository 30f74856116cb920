"""Session windows from the exchange calendar: when a ``--session rth|eth|24h|until=HH:MM[TZ]`` run opens
and closes.

- ``rth``: regular trading hours. CME equity futures (MES): 09:30–16:00 America/New_York, cut short by an
  early close; other exchange calendars (XNYS): the exchange session itself. Not defined for ``24/7``.
- ``eth``: the full exchange session (CME Globex: from 17:00 Chicago the evening before). Not for ``24/7``.
- ``24h``: from now for 24 hours, whatever the calendar (the session gates still block while closed).
- ``until=HH:MM[TZ]``: from the session's open (``24/7``: now) to the first HH:MM at or after that open,
  capped at the exchange close. TZ is ``Z``/``UTC`` or an IANA name (``until=15:55America/New_York``);
  without TZ the exchange's timezone (UTC for ``24/7``).

Which session: the one in progress, or the next one if it opens later the same local day (in the window's
timezone). Otherwise (after the close, a holiday, a weekend) ``MarketClosed``: nothing to do today.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tradebot.domain.calendars import (
    ALIASES,
    ALWAYS_OPEN,
    CalendarError,
    Calendars,
    Session,
    shared_calendars,
)
from tradebot.risk.rules import SessionRules
from tradebot.session.errors import MarketClosed, SessionSpecError

SessionKind = Literal["rth", "eth", "24h", "until"]

SPEC_FORMS = "rth | eth | 24h | until=HH:MM[TZ] (TZ: Z, UTC or an IANA name such as America/New_York)"
_UNTIL = re.compile(r"^until=(\d{2}):(\d{2})(.*)$")

# exchange timezones of the calendars tradebot ships examples for (others are read from exchange-calendars)
_EXCHANGE_TZ = {"CME": "America/Chicago", "CMES": "America/Chicago", "XNYS": "America/New_York",
                "NYSE": "America/New_York"}


@dataclass(frozen=True, slots=True)
class RegularHours:
    """Regular trading hours [start, end) in local time ``tz`` (e.g. a constitution's ``trading_hours``)."""

    tz: str
    start: time
    end: time


def regular_hours_of(rules: SessionRules) -> RegularHours | None:
    """The constitution's ``session.trading_hours`` as RegularHours (None when it sets none)."""
    if rules.trading_hours is None:
        return None
    return RegularHours(rules.timezone, rules.trading_hours.start, rules.trading_hours.end)


# CME equity index futures: the cash-market hours (MES trades 09:30–16:00 ET)
_DEFAULT_RTH = {
    "CME": RegularHours("America/New_York", time(9, 30), time(16, 0)),
    "CMES": RegularHours("America/New_York", time(9, 30), time(16, 0)),
}


@dataclass(frozen=True, slots=True)
class SessionSpec:
    kind: SessionKind
    text: str
    until: time | None = None
    tz: str | None = None  # for ``until``: None means the exchange's timezone


@dataclass(frozen=True, slots=True)
class SessionWindow:
    """When this run trades: ``open`` and ``close`` are UTC. ``day`` is the exchange session's label."""

    open: datetime
    close: datetime
    kind: SessionKind
    calendar: str
    spec: str
    day: date | None = None

    def contains(self, now: datetime) -> bool:
        return self.open <= now < self.close

    def as_dict(self) -> dict[str, Any]:
        return {
            "open": self.open.isoformat(), "close": self.close.isoformat(), "kind": self.kind,
            "calendar": self.calendar, "spec": self.spec,
            "day": self.day.isoformat() if self.day is not None else None,
        }


def _zone(name: str, spec: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SessionSpecError(f"--session {spec!r}: unknown timezone {name!r} (expected {SPEC_FORMS})",
                               spec=spec) from exc


def parse_session_spec(text: str) -> SessionSpec:
    """Parse a ``--session`` value; a bad one raises ``SessionSpecError`` naming it and the valid forms."""
    spec = text.strip()
    if spec in ("rth", "eth", "24h"):
        kind: SessionKind = spec  # type: ignore[assignment]
        return SessionSpec(kind=kind, text=spec)
    match = _UNTIL.match(spec)
    if match is None:
        raise SessionSpecError(f"--session {text!r} is not a session spec (expected {SPEC_FORMS})", spec=text)
    hour, minute, tz_text = int(match.group(1)), int(match.group(2)), match.group(3)
    if hour > 23 or minute > 59:
        raise SessionSpecError(f"--session {text!r}: {match.group(1)}:{match.group(2)} is not a time of day "
                               "(HH 00-23, MM 00-59)", spec=text)
    tz: str | None
    if tz_text == "":
        tz = None
    elif tz_text in ("Z", "UTC"):
        tz = "UTC"
    else:
        _zone(tz_text, text)
        tz = tz_text
    return SessionSpec(kind="until", text=spec, until=time(hour, minute), tz=tz)


def exchange_timezone(calendar: str) -> str:
    """The IANA timezone of an exchange calendar (UTC for ``24/7``)."""
    if calendar == ALWAYS_OPEN:
        return "UTC"
    known = _EXCHANGE_TZ.get(calendar)
    if known is not None:
        return known
    import exchange_calendars as xcals

    try:
        return str(xcals.get_calendar(ALIASES.get(calendar, calendar)).tz)
    except Exception as exc:  # exchange-calendars raises its own InvalidCalendarName
        raise SessionSpecError(f"unknown exchange calendar {calendar!r}: {exc}", calendar=calendar) from exc


def _first_at_or_after(start: datetime, at: time, tz: ZoneInfo, *, strict: bool = False) -> datetime:
    local = start.astimezone(tz)
    candidate = datetime.combine(local.date(), at, tzinfo=tz)
    if candidate < local or (strict and candidate == local):
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    return candidate.astimezone(UTC)


def session_window(
    spec: SessionSpec | str,
    instrument_calendar: str,
    now: datetime,
    calendars: Calendars | None = None,
    *,
    regular_hours: RegularHours | None = None,
) -> SessionWindow:
    """The window a run started at ``now`` trades in (see the module doc).

    Raises ``SessionSpecError`` (a spec that does not fit the calendar, an unknown calendar) or
    ``MarketClosed`` (after the close, a holiday or a weekend: nothing to do today).
    """
    parsed = parse_session_spec(spec) if isinstance(spec, str) else spec
    if now.tzinfo is None:
        raise ValueError(f"session_window needs a timezone-aware now, got {now!r}")
    now = now.astimezone(UTC)
    cals = calendars or shared_calendars()
    code = instrument_calendar
    if parsed.kind == "24h":
        return _always(parsed, code, now, now + timedelta(hours=24), cals)
    if code == ALWAYS_OPEN:
        if parsed.kind != "until":
            raise SessionSpecError(
                f"--session {parsed.text!r} needs an exchange calendar; instruments on the 24/7 calendar "
                "take 24h or until=HH:MM[TZ]", spec=parsed.text, calendar=code)
        assert parsed.until is not None
        close = _first_at_or_after(now, parsed.until, _zone(parsed.tz or "UTC", parsed.text), strict=True)
        return SessionWindow(now, close, "until", code, parsed.text, now.date())
    try:
        cals.validate(code)
        day = cals.session_day(code, now)
    except CalendarError as exc:
        raise SessionSpecError(f"--session {parsed.text!r}: {exc}", spec=parsed.text, calendar=code) from exc
    session = cals.session(code, day)
    if session is None:  # session_day only names days that have a session
        raise MarketClosed(f"MARKET_CLOSED: no {code} session on {day.isoformat()}", calendar=code)
    open_, close, local_tz = _bounds(parsed, code, session, regular_hours)
    window = SessionWindow(open_, close, parsed.kind, code, parsed.text, session.day)
    if open_ >= close:
        raise MarketClosed(
            f"MARKET_CLOSED: the {parsed.text} window of the {code} session {day.isoformat()} is empty "
            f"(exchange {session.open.isoformat()}..{session.close.isoformat()})", calendar=code)
    if now >= close:
        raise MarketClosed(
            f"MARKET_CLOSED: the {parsed.text} window of the {code} session {day.isoformat()} closed at "
            f"{close.isoformat()}", calendar=code, close=close.isoformat())
    if now < open_ and open_.astimezone(local_tz).date() != now.astimezone(local_tz).date():
        raise MarketClosed(
            f"MARKET_CLOSED: no {code} {parsed.text} session today ({now.astimezone(local_tz).date()} "
            f"{local_tz.key}); the next opens {open_.isoformat()}", next_open=open_, calendar=code)
    return window


def _always(parsed: SessionSpec, code: str, now: datetime, close: datetime, cals: Calendars) -> SessionWindow:
    day: date | None = now.date()
    if code != ALWAYS_OPEN:
        try:
            day = cals.session_day(code, now)
        except CalendarError as exc:
            raise SessionSpecError(f"--session {parsed.text!r}: {exc}", spec=parsed.text,
                                   calendar=code) from exc
    return SessionWindow(now, close, parsed.kind, code, parsed.text, day)


def _bounds(
    parsed: SessionSpec, code: str, session: Session, regular_hours: RegularHours | None
) -> tuple[datetime, datetime, ZoneInfo]:
    exchange_tz = _zone(exchange_timezone(code), parsed.text)
    if parsed.kind == "eth":
        return session.open, session.close, exchange_tz
    if parsed.kind == "rth":
        hours = regular_hours or _DEFAULT_RTH.get(code)
        if hours is None:
            return session.open, session.close, exchange_tz
        tz = _zone(hours.tz, parsed.text)
        start = datetime.combine(session.day, hours.start, tzinfo=tz).astimezone(UTC)
        end = datetime.combine(session.day, hours.end, tzinfo=tz).astimezone(UTC)
        return max(session.open, start), min(session.close, end), tz
    assert parsed.until is not None
    tz = _zone(parsed.tz, parsed.text) if parsed.tz is not None else exchange_tz
    until = _first_at_or_after(session.open, parsed.until, tz)
    return session.open, min(session.close, until), exchange_tz
