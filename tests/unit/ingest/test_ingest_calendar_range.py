"""A bar whose time its exchange calendar cannot place is refused (BAR_OUTSIDE_CALENDAR), not a crash."""

from __future__ import annotations

from datetime import UTC, datetime

from tradebot.domain.bars import Bar
from tradebot.domain.calendars import shared_calendars
from tradebot.ingest.validation import BarValidator

RANGE = shared_calendars().known_range("CME")


def bar(ts: datetime, symbol: str = "MES") -> Bar:
    return Bar(symbol, ts, 1676.75, 1677.25, 1673.5, 1675.25, 1884.0, 60)


def test_bars_outside_the_calendar_range_are_refused_and_do_not_advance_the_order() -> None:
    assert RANGE is not None
    validator = BarValidator({"MES": RANGE})
    assert validator.check(bar(datetime(2013, 10, 7, 13, 30, tzinfo=UTC))) is None
    assert validator.check(bar(datetime(2099, 10, 7, 13, 31, tzinfo=UTC))) == "BAR_OUTSIDE_CALENDAR"
    assert validator.check(bar(datetime(1985, 10, 7, 13, 31, tzinfo=UTC))) == "BAR_OUTSIDE_CALENDAR"
    assert validator.check(bar(datetime(2013, 10, 7, 13, 31, tzinfo=UTC))) is None  # the 2099 bar set no ts
    assert validator.refused == {"BAR_OUTSIDE_CALENDAR": 2} and validator.accepted == 2


def test_a_symbol_without_a_range_is_not_limited() -> None:
    assert shared_calendars().known_range("24/7") is None
    assert BarValidator({}).check(bar(datetime(2099, 1, 1, tzinfo=UTC), "BTCUSDT")) is None
