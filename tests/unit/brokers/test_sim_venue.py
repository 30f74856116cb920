"""The simulated venue's matching rules, brackets, reduce-only, duplicates, config and durable state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradebot.brokers.sim import SimConfig, SimConfigError, SimVenue
from tradebot.brokers.sim import venue as venue_module
from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.domain.clock import ReplayClock
from tradebot.domain.events import (
    BrokerEvent,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderStatus,
)
from tradebot.domain.orders import Bracket, OrderRequest, OrderType, Side, TimeInForce

T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
MES = {"venue": "CME", "asset_class": "FUTURE", "tick_size": "0.25", "multiplier": "5"}
D = Decimal


class Recorder:
    def __init__(self, venue: SimVenue) -> None:
        self.events: list[BrokerEvent] = []
        self.session = venue.open_session(self.pull, lambda reason: None)

    def pull(self) -> None:
        self.events.extend(self.session.pull())

    def of(self, kind: type, cid: str | None = None) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind) and (cid is None or e.client_order_id == cid)]


def make(tmp_path: Path | None = None, **config: Any) -> tuple[SimVenue, Recorder]:
    table: dict[str, Any] = {"instruments": {"MES": MES}, **config}
    if tmp_path is not None:
        table["state_path"] = str(tmp_path / "venue.db")
    venue = SimVenue(SimConfig.from_mapping(table), ReplayClock(T0))
    return venue, Recorder(venue)


def bar(i: int, o: float, h: float, lo: float, c: float) -> Bar:
    return Bar("MES", T0 + timedelta(minutes=i), o, h, lo, c, 100.0)


def order(cid: str, side: Side = Side.BUY, order_type: OrderType = OrderType.MARKET, qty: str = "1",
          **kw: Any) -> OrderRequest:
    return OrderRequest(cid, cid, "MES", side, D(qty), order_type, T0, **kw)


def test_market_order_fills_at_next_bar_open_never_the_decision_bar() -> None:
    venue, rec = make(fee_bps=1.0)
    decision = bar(0, 100, 101, 99, 100.5)
    venue.on_bar(decision)
    venue.submit(order("m1"))
    venue.on_bar(decision)  # the same bar again (pipeline and controller both feed it): ignored
    assert not rec.of(OrderFilled)
    venue.on_bar(bar(1, 100.25, 102, 99, 101))
    (fill,) = rec.of(OrderFilled, "m1")
    assert (fill.price, fill.quantity, fill.leaves_qty, fill.simulated) == (D("100.25"), 1, 0, True)
    assert fill.ts == T0 + timedelta(minutes=1)  # at the bar's open
    assert fill.fee == D("0.05012500")  # 100.25 x 1 x 5 x 1bp
    assert rec.events[0] == OrderAccepted("m1", "SIM-1", T0)


@pytest.mark.parametrize(("fill_price", "slippage", "side", "expected"), [
    ("close", 0.0, Side.BUY, "101.00"),
    ("mid", 0.0, Side.BUY, "100.50"),  # (102 + 99) / 2
    ("open", 10.0, Side.BUY, "100.50"),  # 100.25 x 1.001 = 100.35 -> up to the tick
    ("open", 10.0, Side.SELL, "100.00"),  # 100.25 x 0.999 = 100.15 -> down to the tick
])
def test_market_fill_price_modes_and_slippage(
    fill_price: str, slippage: float, side: Side, expected: str
) -> None:
    venue, rec = make(fill_price=fill_price, slippage_bps=slippage)
    venue.on_bar(bar(0, 100, 101, 99, 100))
    venue.submit(order("m", side))
    venue.on_bar(bar(1, 100.25, 102, 99, 101))
    assert rec.of(OrderFilled)[0].price == D(expected)


@pytest.mark.parametrize(("order_type", "side", "prices", "bar_ohlc", "expected"), [
    (OrderType.LIMIT, Side.BUY, {"limit_price": D("99")}, (100, 100.5, 98.5, 99.5), "99"),  # touched
    (OrderType.LIMIT, Side.BUY, {"limit_price": D("99")}, (98, 98.5, 97.5, 98), "98"),  # gap: the open
    (OrderType.LIMIT, Side.BUY, {"limit_price": D("99")}, (100, 101, 99.25, 100), None),  # not reached
    (OrderType.LIMIT, Side.SELL, {"limit_price": D("101")}, (102, 103, 101.5, 102), "102"),
    (OrderType.STOP, Side.BUY, {"stop_price": D("101")}, (100, 101.5, 99.5, 101), "101"),
    (OrderType.STOP, Side.BUY, {"stop_price": D("101")}, (102, 103, 101.5, 102), "102"),  # gap
    (OrderType.STOP, Side.SELL, {"stop_price": D("99")}, (100, 100.5, 98, 98.5), "99"),
    (OrderType.STOP, Side.SELL, {"stop_price": D("99")}, (100, 101, 99.25, 100), None),
    (OrderType.STOP_LIMIT, Side.BUY, {"stop_price": D("101"), "limit_price": D("101.5")},
     (100, 102, 99.5, 101), "101"),
    (OrderType.STOP_LIMIT, Side.BUY, {"stop_price": D("101"), "limit_price": D("100.5")},
     (100, 102, 99.5, 101), None),  # triggered, limit below the stop: rests as a limit
])
def test_bar_range_semantics(order_type: OrderType, side: Side, prices: dict[str, Decimal],
                             bar_ohlc: tuple[float, ...], expected: str | None) -> None:
    venue, rec = make()
    venue.on_bar(bar(0, 100, 100.5, 99.5, 100))
    venue.submit(order("o", side, order_type, tif=TimeInForce.GTC, **prices))
    venue.on_bar(bar(1, *bar_ohlc))
    fills = rec.of(OrderFilled)
    assert (fills[0].price if fills else None) == (D(expected) if expected else None)


def test_triggered_stop_limit_then_fills_as_limit() -> None:
    venue, rec = make()
    venue.on_bar(bar(0, 100, 100.5, 99.5, 100))
    venue.submit(order("sl", Side.BUY, OrderType.STOP_LIMIT, stop_price=D("101"), limit_price=D("100.5")))
    venue.on_bar(bar(1, 100, 102, 100.75, 101))
    assert not rec.of(OrderFilled) and venue.order("sl").status is OrderStatus.ACCEPTED  # type: ignore[union-attr]
    venue.on_bar(bar(2, 101, 101, 100, 100.5))
    assert rec.of(OrderFilled)[0].price == D("100.5")


def test_latency_bars_delay_the_fill() -> None:
    venue, rec = make(latency_bars=1)
    venue.on_bar(bar(0, 100, 100, 100, 100))
    venue.submit(order("m"))
    venue.on_bar(bar(1, 101, 101, 101, 101))
    assert not rec.of(OrderFilled)
    venue.on_bar(bar(2, 102, 102, 102, 102))
    assert rec.of(OrderFilled)[0].price == D(102)


def test_ioc_limit_expires_when_its_first_bar_does_not_fill() -> None:
    venue, rec = make()
    venue.on_bar(bar(0, 100, 100, 100, 100))
    venue.submit(order("ioc", order_type=OrderType.LIMIT, limit_price=D("95"), tif=TimeInForce.IOC))
    venue.on_bar(bar(1, 100, 101, 99, 100))
    assert rec.of(OrderExpired, "ioc") and not venue.open_orders()


def test_bracket_children_wait_for_entry_then_stop_wins_a_bar_that_hits_both() -> None:
    venue, rec = make()
    venue.on_bar(bar(0, 100, 100, 100, 100))
    venue.submit(order("b", bracket=Bracket(stop_loss=D("98"), take_profit=D("103"))))
    assert {e.client_order_id for e in rec.of(OrderAccepted)} == {"b", "b-sl", "b-tp"}
    venue.on_bar(bar(1, 100, 104, 97, 100))  # entry fills at the open; the children start next bar
    assert [f.client_order_id for f in rec.of(OrderFilled)] == ["b"]
    venue.on_bar(bar(2, 100, 104, 97, 100))  # both legs reachable: pessimistic, the stop
    assert [f.client_order_id for f in rec.of(OrderFilled)] == ["b", "b-sl"]
    assert rec.of(OrderCanceled, "b-tp")
    assert venue.positions() == [] and not venue.open_orders()
    assert venue.account().equity == D(10_000) - D(10)  # 2 points x 5


def test_canceling_an_unfilled_bracket_entry_cancels_its_children() -> None:
    venue, rec = make()
    venue.submit(order("b", order_type=OrderType.LIMIT, limit_price=D("90"),
                       bracket=Bracket(stop_loss=D("88"), take_profit=D("95"))))
    venue.cancel("b")
    assert {e.client_order_id for e in rec.of(OrderCanceled)} == {"b", "b-sl", "b-tp"}


def test_reduce_only_rejected_when_flat_and_trimmed_to_the_position() -> None:
    venue, rec = make()
    venue.submit(order("r0", Side.SELL, reduce_only=True))
    assert rec.of(OrderRejected, "r0")[0].venue_code == reasons.REDUCE_ONLY_REJECT
    venue.on_bar(bar(0, 100, 100, 100, 100))
    venue.submit(order("long", qty="2"))
    venue.on_bar(bar(1, 100, 100, 100, 100))
    venue.submit(order("r1", Side.SELL, qty="5", reduce_only=True))
    venue.on_bar(bar(2, 100, 100, 100, 100))
    fill = rec.of(OrderFilled, "r1")[0]
    assert (fill.quantity, fill.leaves_qty) == (D(2), D(3))
    assert reasons.REDUCE_ONLY_TRIMMED in rec.of(OrderCanceled, "r1")[0].reason
    assert venue.positions() == []


def test_duplicate_client_order_id_is_refused_and_the_original_untouched() -> None:
    venue, rec = make()
    venue.submit(order("x", order_type=OrderType.LIMIT, limit_price=D("90")))
    venue.submit(order("x", order_type=OrderType.LIMIT, limit_price=D("80"), qty="3"))
    assert rec.of(OrderRejected, "x")[0].venue_code == reasons.DUPLICATE_CLIENT_ORDER_ID
    (only,) = venue.open_orders()
    assert (only.limit_price, only.quantity, only.status) == (D(90), D(1), OrderStatus.ACCEPTED)


@pytest.mark.parametrize(("kw", "needle"), [
    ({"order_type": OrderType.LIMIT, "limit_price": D("90.1")}, "tick grid"),
    ({"qty": "1.5"}, "lot step"),
    ({"order_type": OrderType.STOP}, "needs stop_price"),
    ({"order_type": OrderType.TRAILING_STOP}, "not supported"),
])
def test_invalid_orders_are_rejected_with_a_reason(kw: dict[str, Any], needle: str) -> None:
    venue, rec = make()
    venue.submit(order("bad", **kw))
    rejected = rec.of(OrderRejected, "bad")[0]
    assert rejected.venue_code == reasons.INVALID_ORDER and needle in rejected.reason
    assert venue.order("bad").status is OrderStatus.REJECTED  # type: ignore[union-attr]


def test_positions_average_price_flip_and_equity() -> None:
    venue, _rec = make(fee_bps=0.0)
    venue.on_bar(bar(0, 100, 100, 100, 100))
    venue.submit(order("a"))
    venue.on_bar(bar(1, 100, 100, 100, 100))
    venue.submit(order("b"))
    venue.on_bar(bar(2, 101, 101, 101, 101))
    (pos,) = venue.positions()
    assert (pos.quantity, pos.avg_price) == (D(2), D("100.5"))
    venue.submit(order("c", Side.SELL, qty="3"))
    venue.on_bar(bar(3, 102, 102, 102, 102))
    (pos,) = venue.positions()
    assert (pos.quantity, pos.avg_price) == (D(-1), D(102))
    assert venue.account().equity == D(10_000) + D("1.5") * 2 * 5


def test_unknown_config_keys_and_bad_values_are_all_named() -> None:
    with pytest.raises(SimConfigError) as raised:
        SimConfig.from_mapping({"fill_prize": "open", "fee_bps": -1, "instruments": {"X": {"tick": 1}}})
    text = str(raised.value)
    assert "broker.sim.fill_prize: unknown key" in text
    assert "broker.sim.fee_bps" in text and "broker.sim.instruments.X.tick: unknown key" in text
    assert len(raised.value.problems) == 3


def test_durable_state_survives_a_restart(tmp_path: Path) -> None:
    venue, _rec = make(tmp_path)
    venue.on_bar(bar(0, 100, 100, 100, 100))
    venue.submit(order("filled"))
    venue.submit(order("resting", order_type=OrderType.LIMIT, limit_price=D("90")))
    venue.on_bar(bar(1, 100, 100, 100, 100))
    venue.submit(order("late"))  # sent after bar 1: must not fill on bar 1 after the restart either
    fills_before = venue.fills_since(T0)
    venue.close()  # the process dies; the state file stays

    again, rec2 = make(tmp_path)
    assert [o.client_order_id for o in again.open_orders()] == ["resting", "late"]
    assert again.fills_since(T0) == fills_before
    assert [(p.symbol, p.quantity) for p in again.positions()] == [("MES", D(1))]
    again.submit(order("filled"))  # the venue still knows the id
    assert rec2.of(OrderRejected, "filled")[0].venue_code == reasons.DUPLICATE_CLIENT_ORDER_ID
    again.on_bar(bar(1, 100, 100, 100, 100))  # a replay of bar 1 after the restart: ignored
    assert not rec2.of(OrderFilled)
    again.on_bar(bar(2, 101, 101, 101, 101))
    fill = rec2.of(OrderFilled, "late")[0]
    assert fill.fill_id not in {f.fill_id for f in fills_before} and fill.venue_order_id == "SIM-3"
    again.close()


def test_session_resumes_after_a_drop_without_loss_or_repeat() -> None:
    venue, _ = make()
    got: list[BrokerEvent] = []
    session = venue.open_session(lambda: got.extend(session.pull()), lambda reason: None)
    venue.submit(order("a", order_type=OrderType.LIMIT, limit_price=D("90")))
    venue.drop_connections()
    venue.fill("a")
    assert [e.kind for e in got] == ["order_accepted"]
    resumed = venue.open_session(lambda: None, lambda reason: None, cursor=session.cursor)
    assert [e.kind for e in resumed.pull()] == ["order_filled"]
    assert resumed.pull() == []


@pytest.fixture
def keep_four(monkeypatch: pytest.MonkeyPatch) -> None:
    """The venue keeps 4 finished orders and fills (the default keeps thousands: ``domain/recent.py``)."""
    monkeypatch.setattr(venue_module, "RETAINED", 4)


def test_old_finished_orders_and_fills_are_forgotten_recent_ones_kept(keep_four: None) -> None:
    venue, _ = make()
    for i in range(10):
        venue.submit(order(f"o{i}"))
        venue.on_bar(bar(i, 100, 100, 100, 100))
    assert venue.order("o0") is None and venue.order("o5") is None
    assert all(venue.order(f"o{i}") is not None for i in range(6, 10))
    assert [f.client_order_id for f in venue.all_fills()] == ["o6", "o7", "o8", "o9"]
    assert venue.forgot_fill("SIMF-1") and venue.forgot_fill("SIMF-6")
    assert not venue.forgot_fill("SIMF-7")  # kept
    assert not venue.forgot_fill("SIMF-11")  # never made
    assert not venue.forgot_fill("other-1")
    assert venue.fills_since(T0 - timedelta(days=1))[0].client_order_id == "o6"


def test_a_filled_bracket_entry_stays_while_its_legs_work(keep_four: None) -> None:
    venue, _ = make()
    venue.on_bar(bar(0, 100, 100, 100, 100))
    venue.submit(order("b", bracket=Bracket(stop_loss=Decimal("90"), take_profit=Decimal("110"))))
    venue.on_bar(bar(1, 100, 100, 100, 100))  # the entry fills; its legs now work
    for i in range(8):  # eight more orders finish (each sell closes the last buy)
        venue.submit(order(f"x{i}", qty="1"))
        venue.on_bar(bar(2 + i, 100, 100, 100, 100))
    assert venue.order("b") is not None  # its legs still work
    assert venue.order("x0") is None
    venue.cancel("b-sl")  # one leg done; the other still works
    venue.submit(order("y", qty="1"))
    venue.on_bar(bar(20, 100, 100, 100, 100))
    assert venue.order("b") is not None
    venue.cancel("b-tp")
    for i in range(6):
        venue.submit(order(f"z{i}", qty="1"))
        venue.on_bar(bar(30 + i, 100, 100, 100, 100))
    assert venue.order("b") is None and venue.order("b-sl") is None
