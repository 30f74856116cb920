"""Market hours: the venue's clock endpoint, cross-checked with the NYSE calendar (exchange-calendars XNYS).

Orders go out in regular hours only; in pre/post market (04:00-09:30, 16:00-20:00 New York) only DAY limit
orders, and only when ``extended_hours`` is configured. When the venue clock and the calendar disagree the
session counts as closed (fail closed) and the disagreement is logged with both answers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import exchange_calendars
import pandas as pd

from tradebot.domain.clock import Clock
from tradebot.domain.orders import OrderRequest, OrderType, TimeInForce
from tradebot.domain.reasons import MARKET_CLOSED_BLOCK

log = logging.getLogger(__name__)
NEW_YORK = ZoneInfo("America/New_York")
PRE_MARKET_OPEN = time(4, 0)
POST_MARKET_CLOSE = time(20, 0)


@dataclass(frozen=True, slots=True)
class VenueClock:
    timestamp: datetime
    is_open: bool
    next_open: datetime
    next_close: datetime


@dataclass(frozen=True, slots=True)
class SessionCheck:
    """The answer for one order: allowed (and whether as an extended-hours order) or refused with a code."""

    allowed: bool
    extended_hours: bool = False
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@lru_cache(maxsize=1)
def _xnys() -> Any:
    return exchange_calendars.get_calendar("XNYS")


def calendar_regular_open(ts: datetime) -> bool | None:
    """XNYS says the regular session is open at ``ts`` (None: outside the calendar's range)."""
    cal = _xnys()
    minute = pd.Timestamp(ts).tz_convert("UTC").floor("min")
    if minute < cal.first_minute or minute > cal.last_minute:
        return None
    return bool(cal.is_open_on_minute(minute, ignore_breaks=True))


def calendar_extended_window(ts: datetime) -> bool:
    """``ts`` falls on an XNYS session day, between 04:00 and 20:00 New York time."""
    local = ts.astimezone(NEW_YORK)
    cal = _xnys()
    day = pd.Timestamp(local.date())
    if day < cal.first_session or day > cal.last_session:
        return False
    return bool(cal.is_session(day)) and PRE_MARKET_OPEN <= local.time() < POST_MARKET_CLOSE


class MarketHours:
    def __init__(
        self,
        fetch_clock: Callable[[], Awaitable[VenueClock]],
        clock: Clock,
        *,
        cache_s: float,
        calendar_check: bool,
        extended_hours: bool,
    ) -> None:
        self._fetch = fetch_clock
        self._clock = clock
        self._cache_s = cache_s
        self._calendar_check = calendar_check
        self._extended_hours = extended_hours
        self._cached: tuple[VenueClock, datetime] | None = None

    async def venue_now(self) -> tuple[VenueClock, datetime]:
        """The venue clock (cached while valid) and the venue time it projects to now."""
        now = self._clock.now()
        if self._cached is not None:
            venue, fetched_at = self._cached
            age = now - fetched_at
            projected = venue.timestamp + age
            boundary = venue.next_close if venue.is_open else venue.next_open
            if timedelta(0) <= age < timedelta(seconds=self._cache_s) and projected < boundary:
                return venue, projected
        venue = await self._fetch()
        self._cached = (venue, now)
        return venue, venue.timestamp

    async def check(self, request: OrderRequest) -> SessionCheck:
        venue, venue_ts = await self.venue_now()
        details: dict[str, Any] = {"venue_time": venue_ts.isoformat(), "venue_is_open": venue.is_open}
        regular_open = venue.is_open
        if self._calendar_check:
            cal_open = calendar_regular_open(venue_ts)
            details["calendar_open"] = cal_open
            if cal_open is not venue.is_open:
                log.warning("alpaca clock and XNYS calendar disagree at %s: venue=%s calendar=%s; "
                            "treating the market as closed", venue_ts.isoformat(), venue.is_open, cal_open)
                regular_open = False
        if regular_open:
            return SessionCheck(True, details=details)
        eligible = request.order_type is OrderType.LIMIT and request.tif is TimeInForce.DAY
        if self._extended_hours and eligible:
            in_window = calendar_extended_window(venue_ts)
            details["extended_window"] = in_window
            if in_window:
                return SessionCheck(True, extended_hours=True, details=details)
        details["extended_hours_configured"] = self._extended_hours
        return SessionCheck(False, reason=MARKET_CLOSED_BLOCK, details=details)
