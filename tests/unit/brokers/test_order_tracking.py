"""OrderTracking: the per-order event rules every broker adapter keeps, adoption after a restart included."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tradebot.brokers.order_tracking import Fill, OrderTracking
from tradebot.domain.events import (
    BrokerEvent,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSnapshot,
    OrderStatus,
)
from tradebot.domain.orders import OrderType, Side

TS = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
D = Decimal


@pytest.fixture
def tracking() -> OrderTracking:
    return OrderTracking(default_fee_currency="USDT")


def _snapshot(cid: str, vid: str, status: OrderStatus = OrderStatus.ACCEPTED, *, filled: str = "0",
              parent: str | None = None, side: Side = Side.SELL) -> OrderSnapshot:
    return OrderSnapshot(cid, vid, "BTCUSDT", side, D("2"), D(filled), OrderType.LIMIT, status,
                         limit_price=D("100"), parent_client_order_id=parent)


def _kinds(events: list[BrokerEvent]) -> list[str]:
    return [e.kind for e in events]


def test_accepted_once_and_carries_venue_id(tracking: OrderTracking) -> None:
    tracking.expect("a", "BTCUSDT", Side.BUY, D("2"))
    first = tracking.accepted("a", TS, "v1")
    assert first == [OrderAccepted("a", "v1", TS)]
    assert tracking.accepted("a", TS, "v1") == []
    assert tracking.find(venue_order_id="v1") == tracking.get("a")


def test_fill_ids_once_and_leaves_follow(tracking: OrderTracking) -> None:
    tracking.expect("a", "BTCUSDT", Side.BUY, D("2"))
    tracking.accepted("a", TS, "v1")
    one = tracking.filled("a", Fill("f1", D("0.5"), D("100"), TS, fee=D("0.01")))
    assert [(e.fill_id, e.leaves_qty, e.fee_currency) for e in one if isinstance(e, OrderFilled)] == [
        ("f1", D("1.5"), "USDT")]
    assert tracking.filled("a", Fill("f1", D("0.5"), D("100"), TS)) == []  # the same fill again
    rest = tracking.filled("a", Fill("f2", D("1.5"), D("101"), TS))
    assert isinstance(rest[0], OrderFilled) and rest[0].leaves_qty == 0
    state = tracking.get("a")
    assert state is not None and state.terminal and state.filled_qty == D("2")
    assert state.avg_price == (D("0.5") * 100 + D("1.5") * 101) / 2
    assert tracking.canceled("a", TS) == []  # nothing after the final fill


def test_same_fill_seen_by_cumulative_quantity_is_dropped(tracking: OrderTracking) -> None:
    tracking.expect("a", "BTCUSDT", Side.BUY, D("2"))
    tracking.filled("a", Fill("stream-1", D("1"), D("100"), TS, cum_qty=D("1")))
    assert tracking.filled("a", Fill("lookup-1", D("1"), D("100"), TS, cum_qty=D("1"))) == []


def test_fill_before_ack_accepts_first(tracking: OrderTracking) -> None:
    tracking.expect("a", "BTCUSDT", Side.BUY, D("2"))
    events = tracking.filled("a", Fill("f1", D("2"), D("100"), TS, venue_order_id="v9"))
    assert _kinds(events) == ["order_accepted", "order_filled"]
    assert isinstance(events[1], OrderFilled) and events[1].venue_order_id == "v9"


def test_cancel_and_expire_are_final_once(tracking: OrderTracking) -> None:
    tracking.expect("a", "BTCUSDT", Side.BUY, D("2"))
    tracking.accepted("a", TS, "v1")
    assert tracking.canceled("a", TS, "by user") == [OrderCanceled("a", TS, "by user")]
    assert tracking.canceled("a", TS) == [] and tracking.expired("a", TS) == []
    tracking.expect("b", "BTCUSDT", Side.BUY, D("2"))
    tracking.accepted("b", TS, "v2")
    assert tracking.expired("b", TS) == [OrderExpired("b", TS)]


def test_a_late_execution_after_cancel_is_never_dropped(tracking: OrderTracking) -> None:
    tracking.expect("a", "BTCUSDT", Side.BUY, D("2"))
    tracking.accepted("a", TS, "v1")
    tracking.canceled("a", TS)
    assert _kinds(tracking.filled("a", Fill("f1", D("1"), D("100"), TS))) == ["order_filled"]


def test_rejection_is_first_and_final(tracking: OrderTracking) -> None:
    tracking.expect("a", "BTCUSDT", Side.BUY, D("2"))
    assert tracking.rejected("a", "no margin", TS, "-2019") == [OrderRejected("a", "no margin", TS, "-2019")]
    assert tracking.rejected("a", "again", TS) == [] and tracking.canceled("a", TS) == []


def test_an_order_that_never_reached_the_venue_leaves_no_trace(tracking: OrderTracking) -> None:
    tracking.expect("a", "BTCUSDT", Side.BUY, D("2"))
    assert [o.client_order_id for o in tracking.unconfirmed()] == ["a"]
    assert tracking.working() == []
    tracking.forget("a")
    assert tracking.get("a") is None and "a" not in tracking and tracking.unconfirmed() == []


def test_forget_keeps_an_order_the_venue_confirmed(tracking: OrderTracking) -> None:
    tracking.expect("a", "BTCUSDT", Side.BUY, D("2"))
    tracking.accepted("a", TS, "v1")
    tracking.forget("a")
    assert tracking.get("a") is not None and tracking.client_id_for("v1") == "a"


def test_adopted_order_is_not_accepted_again_and_its_fills_apply(tracking: OrderTracking) -> None:
    assert tracking.adopt(_snapshot("e-tp", "v7", filled="0.5", parent="e"), siblings=("e-sl",)) == []
    assert tracking.accepted("e-tp", TS, "v7") == []  # the venue's "new" repeated after the restart
    assert tracking.filled("e-tp", Fill("old", D("0.5"), D("100"), TS, cum_qty=D("0.5"))) == []
    events = tracking.filled("e-tp", Fill("f2", D("1.5"), D("100"), TS, cum_qty=D("2")))
    assert _kinds(events) == ["order_filled"]
    assert isinstance(events[0], OrderFilled) and events[0].leaves_qty == 0
    state = tracking.get("e-tp")
    assert state is not None and state.adopted and state.siblings == ("e-sl",) and state.terminal


def test_adopting_legs_with_their_parent_links_them(tracking: OrderTracking) -> None:
    tracking.adopt(_snapshot("e", "v1", OrderStatus.FILLED, filled="2", side=Side.BUY))
    tracking.adopt(_snapshot("e-sl", "v2", parent="e"))
    tracking.adopt(_snapshot("e-tp", "v3", parent="e"))
    entry = tracking.get("e")
    assert entry is not None and entry.terminal and entry.legs == ("e-sl", "e-tp")
    assert [o.client_order_id for o in tracking.working()] == ["e-sl", "e-tp"]
    assert tracking.find(venue_order_id="v3") == tracking.get("e-tp")


def test_adopting_a_known_order_only_links_it(tracking: OrderTracking) -> None:
    tracking.expect("a", "BTCUSDT", Side.SELL, D("2"))
    tracking.accepted("a", TS, "v1")
    tracking.filled("a", Fill("f1", D("1"), D("100"), TS))
    # the venue says canceled: the adapter reports missed fills first, then the end, from its own lookup
    assert tracking.adopt(_snapshot("a", "v9", OrderStatus.CANCELED, filled="1")) == []
    state = tracking.get("a")
    assert state is not None and not state.terminal and state.filled_qty == D("1")
    assert tracking.find(venue_order_id="v9") == state and state.venue_order_id == "v1"
    assert tracking.canceled("a", TS) == [OrderCanceled("a", TS)]


def test_legs_adopted_before_their_parent_attach_to_it(tracking: OrderTracking) -> None:
    tracking.adopt(_snapshot("e-sl", "v2", parent="e"))
    tracking.adopt(_snapshot("e", "v1", side=Side.BUY))
    entry = tracking.get("e")
    assert entry is not None and entry.legs == ("e-sl",)


def test_adopting_a_pending_order_confirms_it_without_a_second_accept(tracking: OrderTracking) -> None:
    tracking.expect("a", "BTCUSDT", Side.SELL, D("2"))  # sent, the answer lost (network error)
    assert tracking.adopt(_snapshot("a", "v1")) == []  # found by a lookup
    state = tracking.get("a")
    assert state is not None and state.at_venue and state.venue_order_id == "v1"
    assert _kinds(tracking.accepted("a", TS)) == ["order_accepted"]  # once, still owed for our own order
    assert tracking.accepted("a", TS) == []
