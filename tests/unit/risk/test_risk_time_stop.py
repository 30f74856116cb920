"""Time stops: a position opened by an entry whose exit plan carries time_stop_s is closed at market once
the clock reaches its first fill + time_stop_s; the deadline comes from the write-ahead and the fill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tradebot.domain import reasons
from tradebot.domain.events import OrderFilled, OrderStatus
from tradebot.domain.instruments import AssetClass, Instrument
from tradebot.domain.orders import (
    ExitPlan,
    HarvestPolicy,
    IntentSource,
    OrderIntent,
    OrderRequest,
    OrderType,
    Side,
)
from tradebot.oms.ledger import LedgerEntry
from tradebot.risk.time_stop import TimeStops

T0 = datetime(2013, 10, 7, 13, 54, tzinfo=UTC)
ONE = Decimal(1)


@pytest.fixture
def mes() -> Instrument:
    return Instrument("MES", "CME", AssetClass.FUTURE, "USD", Decimal("0.25"), ONE, ONE,
                      multiplier=Decimal(5), calendar="CME")


def entry(cid: str, time_stop_s: int | None, side: Side = Side.BUY) -> tuple[OrderRequest, OrderIntent]:
    plan = ExitPlan(Decimal(1670), Decimal(1680), time_stop_s, HarvestPolicy.SWING)
    intent = OrderIntent(cid, "MES", side, ONE, T0, Decimal(1675), exit_plan=plan)
    request = OrderRequest(cid, cid, "MES", side, ONE, OrderType.MARKET, T0)
    return request, intent


def fill(cid: str, at: datetime, side: Side = Side.BUY) -> OrderFilled:
    return OrderFilled(cid, "v", f"f-{cid}-{at:%H%M}", "MES", side, ONE, Decimal(1675), Decimal(0), "USD", at,
                       leaves_qty=Decimal(0))


def opened(stops: TimeStops, time_stop_s: int | None = 300) -> None:
    stops.on_submit(*entry("e1", time_stop_s))
    stops.on_fill(fill("e1", T0), Decimal(0), ONE)


def test_due_once_the_clock_reaches_the_first_fill_plus_the_time_stop(mes: Instrument) -> None:
    stops = TimeStops()
    opened(stops)
    stop = stops.of("MES")
    assert stop is not None and stop.deadline == T0 + timedelta(seconds=300)
    assert stops.due(T0 + timedelta(seconds=299), mes, ONE, Decimal(1676), []) is None
    due = stops.due(T0 + timedelta(seconds=300), mes, ONE, Decimal(1676), [])
    assert due is not None
    found, intent = due
    assert intent.source is IntentSource.TIME_STOP and intent.reduce_only and intent.side is Side.SELL
    assert intent.order_type is OrderType.MARKET and intent.quantity == ONE
    assert intent.intent_id == "MES-time-stop-20131007T135900" and intent.regime == "time_stop"
    reason = found.reason(T0 + timedelta(seconds=300))
    assert reason["code"] == reasons.TIME_STOP and reason["entry_client_order_id"] == "e1"
    assert reason["deadline"] == "2013-10-07T13:59:00+00:00" and reason["time_stop_s"] == 300


def test_a_short_is_bought_back(mes: Instrument) -> None:
    stops = TimeStops()
    stops.on_submit(*entry("s1", 60, Side.SELL))
    stops.on_fill(fill("s1", T0, Side.SELL), Decimal(0), -ONE)
    due = stops.due(T0 + timedelta(minutes=5), mes, -ONE, Decimal(1676), [])
    assert due is not None and due[1].side is Side.BUY


def test_an_entry_without_a_time_stop_has_none(mes: Instrument) -> None:
    stops = TimeStops()
    opened(stops, None)
    assert stops.of("MES") is None
    assert stops.due(T0 + timedelta(days=1), mes, ONE, Decimal(1676), []) is None


def test_the_position_closing_clears_it(mes: Instrument) -> None:
    stops = TimeStops()
    opened(stops)
    stops.on_fill(fill("e1-tp", T0 + timedelta(minutes=2), Side.SELL), ONE, Decimal(0))  # the target filled
    assert stops.of("MES") is None
    assert stops.due(T0 + timedelta(minutes=10), mes, Decimal(0), Decimal(1676), []) is None


def test_an_exit_of_its_own_already_working_is_not_doubled_but_a_leg_is_no_exit(mes: Instrument) -> None:
    stops = TimeStops()
    opened(stops)
    later = T0 + timedelta(minutes=6)
    leg = LedgerEntry("e1-sl", "MES", Side.SELL, ONE, OrderType.STOP, OrderStatus.ACCEPTED, reduce_only=True)
    assert stops.due(later, mes, ONE, Decimal(1676), [leg]) is not None  # the resting stop leg is not it
    exit_ = LedgerEntry("x", "MES", Side.SELL, ONE, OrderType.MARKET, OrderStatus.SUBMITTED, reduce_only=True)
    assert stops.due(later, mes, ONE, Decimal(1676), [leg, exit_]) is None
    exit_.status = OrderStatus.REJECTED  # refused: tried again
    assert stops.due(later, mes, ONE, Decimal(1676), [leg, exit_]) is not None


def test_a_scale_in_keeps_the_first_entry_deadline() -> None:
    stops = TimeStops()
    opened(stops)
    stops.on_submit(*entry("e2", 3600))
    stops.on_fill(fill("e2", T0 + timedelta(minutes=1)), ONE, Decimal(2))
    stop = stops.of("MES")
    assert stop is not None and stop.entry_client_order_id == "e1" and stop.time_stop_s == 300


def test_exits_are_never_armed() -> None:
    stops = TimeStops()
    request, intent = entry("x1", 300, Side.SELL)
    stops.on_submit(OrderRequest("x1", "x1", "MES", Side.SELL, ONE, OrderType.MARKET, T0, reduce_only=True),
                    intent)
    stops.on_fill(fill("x1", T0, Side.SELL), Decimal(0), -ONE)
    assert stops.of("MES") is None and request.client_order_id == "x1"
