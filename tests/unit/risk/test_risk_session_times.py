from datetime import UTC, datetime

from risk_testkit import MES, SPY, constitution

from tradebot.domain.calendars import shared_calendars
from tradebot.risk.rules import SessionRules
from tradebot.risk.session_times import flatten_deadline, outside_trading_hours

SESSION = constitution().rules_for("MES").session


def test_deadline_in_utc_follows_new_york_dst() -> None:
    cals = shared_calendars()
    assert flatten_deadline(datetime(2024, 3, 8, 12, tzinfo=UTC), MES, SESSION, cals) == datetime(
        2024, 3, 8, 20, 55, tzinfo=UTC
    )
    assert flatten_deadline(datetime(2024, 3, 11, 12, tzinfo=UTC), MES, SESSION, cals) == datetime(
        2024, 3, 11, 19, 55, tzinfo=UTC
    )


def test_xnys_early_close_moves_the_deadline() -> None:  # NYSE 2024-07-03 closes 13:00 ET
    session = SessionRules(timezone="America/New_York", flatten_at=SESSION.flatten_at)
    deadline = flatten_deadline(datetime(2024, 7, 3, 14, tzinfo=UTC), SPY, session, shared_calendars())
    assert deadline == datetime(2024, 7, 3, 16, 55, tzinfo=UTC)


def test_trading_hours_are_local() -> None:
    assert outside_trading_hours(datetime(2024, 3, 8, 14, 29, tzinfo=UTC), SESSION)  # 09:29 EST
    assert not outside_trading_hours(datetime(2024, 3, 11, 13, 30, tzinfo=UTC), SESSION)  # 09:30 EDT
