"""Local-time session facts shared by the session gates and the flattener (DST-correct via zoneinfo)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tradebot.domain.calendars import Calendars
from tradebot.domain.instruments import Instrument
from tradebot.risk.rules import SessionRules


def flatten_deadline(
    now: datetime, instrument: Instrument, session: SessionRules, calendars: Calendars
) -> datetime | None:
    """Today's flatten deadline in UTC, or None when the instrument has none.

    Today is the local date of ``now`` in the session timezone. The deadline is ``flatten_at`` local
    time, moved earlier to ``close - flatten_before_close_min`` when the exchange closes early that day.
    """
    if session.flatten_at is None:
        return None
    tz = session.tz
    local_date = now.astimezone(tz).date()
    deadline = datetime.combine(local_date, session.flatten_at, tzinfo=tz).astimezone(UTC)
    exchange_session = calendars.session(instrument.calendar, local_date)
    if exchange_session is not None:
        early = exchange_session.close - timedelta(minutes=session.flatten_before_close_min)
        if exchange_session.open < early < deadline:
            deadline = early
    return deadline


def past_flatten_deadline(
    now: datetime, instrument: Instrument, session: SessionRules, calendars: Calendars
) -> bool:
    deadline = flatten_deadline(now, instrument, session, calendars)
    return deadline is not None and now >= deadline


def outside_trading_hours(now: datetime, session: SessionRules) -> bool:
    if session.trading_hours is None:
        return False
    return not session.trading_hours.contains(now.astimezone(session.tz).time())


def flatten_due(
    now: datetime, instrument: Instrument, session: SessionRules, calendars: Calendars | None = None
) -> bool:
    """True when open positions of ``instrument`` must be flattened now.

    Only for instruments with a ``flatten_at``; only while the exchange is open (an order to a closed
    market cannot fill: it flattens at the next open); from the deadline on, and whenever the time is
    outside the instrument's trading hours (a position must never be carried out of them).
    """
    if session.flatten_at is None:
        return False
    from tradebot.domain.calendars import shared_calendars

    cals = calendars or shared_calendars()
    if not cals.is_open(instrument.calendar, now):
        return False
    return past_flatten_deadline(now, instrument, session, cals) or outside_trading_hours(now, session)
