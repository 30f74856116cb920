from datetime import UTC, datetime
from decimal import Decimal

from risk_testkit import BTC, INSTRUMENTS, MES, constitution

from tradebot.domain.orders import IntentSource, OrderRequest, OrderType, Side
from tradebot.risk.flatten import SessionFlattener, flatten_due, flatten_intents
from tradebot.risk.tracker import RiskTracker

SESSION = constitution().rules_for("MES").session


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_flatten_due_at_1555_new_york_across_both_dst_switches() -> None:
    assert not flatten_due(_at(2024, 3, 8, 20, 54), MES, SESSION)  # EST
    assert flatten_due(_at(2024, 3, 8, 20, 55), MES, SESSION)
    assert not flatten_due(_at(2024, 3, 11, 19, 54), MES, SESSION)  # EDT
    assert flatten_due(_at(2024, 3, 11, 19, 55), MES, SESSION)
    assert flatten_due(_at(2024, 11, 1, 19, 55), MES, SESSION)  # EDT
    assert not flatten_due(_at(2024, 11, 4, 20, 54), MES, SESSION)  # EST
    assert flatten_due(_at(2024, 11, 4, 20, 55), MES, SESSION)


def test_flatten_due_outside_rth_only_while_the_exchange_is_open() -> None:
    assert flatten_due(_at(2024, 3, 12, 3, 0), MES, SESSION)  # Globex night: open, not RTH
    assert not flatten_due(_at(2024, 12, 25, 15, 0), MES, SESSION)  # holiday: nothing can fill
    assert not flatten_due(_at(2024, 3, 12, 15, 0), MES, SESSION)  # RTH
    assert flatten_due(_at(2024, 11, 29, 17, 55), MES, SESSION)  # early close: 12:00 CT - 5 min
    assert not flatten_due(_at(2024, 3, 12, 3, 0), BTC, constitution().rules_for("BTCUSDT").session)


def test_flatten_intents_are_reduce_only_and_deterministic() -> None:
    now = _at(2024, 3, 8, 20, 55)
    [short_cover] = flatten_intents(now, MES, Decimal(-1), Decimal(4500))
    assert (short_cover.side, short_cover.quantity, short_cover.reduce_only) == (Side.BUY, Decimal(1), True)
    assert short_cover.source is IntentSource.FLATTEN
    assert short_cover.intent_id == "MES-flatten-20240308T205500"
    assert flatten_intents(now, MES, Decimal(0), Decimal(4500)) == []
    assert flatten_intents(now, MES, Decimal(2), Decimal(4500), pending_exit_qty=Decimal(-2)) == []


def test_session_flattener_skips_what_working_exits_cover() -> None:
    tracker = RiskTracker(INSTRUMENTS)
    flattener = SessionFlattener(constitution(), tracker=tracker)
    now = _at(2024, 3, 8, 20, 56)
    assert [i.quantity for i in flattener(now, MES, Decimal(2), Decimal(4500))] == [Decimal(2)]
    exit_ = OrderRequest("c1", "MES-x", "MES", Side.SELL, Decimal(1), OrderType.MARKET, now, reduce_only=True)
    tracker.on_order_submitted(exit_, now)
    assert [i.quantity for i in flattener(now, MES, Decimal(2), Decimal(4500))] == [Decimal(1)]
    assert flattener(_at(2024, 3, 8, 15, 0), MES, Decimal(2), Decimal(4500)) == []
