"""The adapter driving the real ib_async client over a real socket against the fake TWS."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from ibkr_fake_tws import FakeTws, FakeTwsController
from ibkr_test_support import fast_config, limit, market, minute_bar, order_events, quiet, take, wait_until
from tradebot_ibkr import CAPABILITIES
from tradebot_ibkr import errors as E
from tradebot_ibkr.broker import IbkrBroker
from tradebot_ibkr.connection import ConnState

from tradebot.domain import reasons
from tradebot.domain.clock import WallClock
from tradebot.domain.errors import BrokerError, ErrorCategory
from tradebot.domain.events import (
    ConnectionEvent,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderStatus,
)
from tradebot.domain.instruments import AssetClass
from tradebot.domain.orders import OrderType, Side

pytestmark = pytest.mark.timeout(20)


async def test_connect_reaches_ready_through_every_state(broker: IbkrBroker, tws: FakeTws) -> None:
    events = await take(broker.events(), 3)
    assert [e.state for e in events if isinstance(e, ConnectionEvent)] == ["CONNECTING", "CONNECTED", "READY"]
    assert broker.connection.state is ConnState.READY
    sent = [f[0] for f in tws.received]
    # what ib_async asks for at startup: START_API, positions, open orders, completed orders, executions
    assert sent[0] == "71" and {"61", "5", "99", "7"} <= set(sent)
    await broker.connect()  # idempotent
    assert broker.connection.transitions[-1] == (ConnState.READY, E.IB_READY)


async def test_instrument_is_the_front_month_mes_spec(broker: IbkrBroker, tws: FakeTws) -> None:
    inst = await broker.instrument("MES")
    assert (inst.symbol, inst.venue, inst.asset_class, inst.currency) == (
        "MES",
        "ibkr",
        AssetClass.FUTURE,
        "USD",
    )
    assert inst.tick_size == Decimal("0.25") and inst.multiplier == Decimal(5) and inst.calendar == "CME"
    assert inst.tick_value == Decimal("1.25") and inst.lot_step == Decimal(1)
    today = datetime.now(UTC).date()
    eligible = [c for c in tws.contracts if c.symbol == "MES" and (c.expiry - today).days > 8]
    chosen = min(eligible, key=lambda c: c.expiry)
    request = [f for f in tws.received if f[0] == "9"][-1]
    assert request[4:6] == ["MES", "FUT"]
    await broker.submit(limit("q1", Side.BUY, "5000"))
    assert tws.order_by_ref("q1").contract.con_id == chosen.con_id


async def test_unknown_symbol_is_no_security_definition(broker: IbkrBroker) -> None:
    with pytest.raises(BrokerError) as info:
        await broker.instrument("NOPE")
    assert info.value.error_class.details["ib_reason"] == E.IB_NO_SECURITY_DEFINITION
    assert info.value.error_class.category is ErrorCategory.BAD_DATA


async def test_bars_aggregate_twelve_5s_bars_into_the_pushed_minute(
    broker: IbkrBroker, venue: FakeTwsController, tws: FakeTws
) -> None:
    inst = await broker.instrument("MES")
    stream = broker.bars(inst, 60)
    first = asyncio.ensure_future(stream.__anext__())
    await wait_until(lambda: any(s.rt_bars for s in tws.live_sessions()))
    pushed = [
        minute_bar(30, 5800.0, 5802.5, 5799.0, 5801.25, 120),
        minute_bar(31, 5801.25, 5801.5, 5795.0, 5796.0, 7),
    ]
    for bar in pushed:
        await venue.push_bar(bar)
    got = [await asyncio.wait_for(first, 3), *(await take(stream, 1))]
    assert got == pushed
    assert len([p for p in tws.sent if p.startswith(b"50\0")]) == 24
    quality = broker.feed_quality("MES", 60)
    assert quality is not None and quality.bars_emitted == 2 and quality.missing_sub_bars == 0
    assert quality.last_lag_s is not None and quality.last_lag_s > 0
    await stream.aclose()  # type: ignore[attr-defined]
    await wait_until(lambda: not any(s.rt_bars for s in tws.live_sessions()))


async def test_limit_order_accepted_then_filled_with_commission(
    broker: IbkrBroker, venue: FakeTwsController, tws: FakeTws
) -> None:
    events = broker.events()
    await broker.submit(limit("o1", Side.BUY, "5800.25"))
    accepted = await take(events, 1, keep=order_events)
    assert accepted == [OrderAccepted("o1", str(tws.order_by_ref("o1").order_id), accepted[0].ts)]
    placed = tws.order_by_ref("o1")
    assert (placed.order_type, placed.lmt_price, placed.order_ref, placed.transmit) == (
        "LMT",
        5800.25,
        "o1",
        True,
    )
    await venue.fill("o1")
    (fill,) = await take(events, 1, keep=order_events)
    assert isinstance(fill, OrderFilled)
    assert (fill.client_order_id, fill.side, fill.quantity, fill.price) == (
        "o1",
        Side.BUY,
        1,
        Decimal("5800.25"),
    )
    assert fill.fee == Decimal("0.62") and fill.fee_currency == "USD" and fill.leaves_qty == 0
    assert fill.fill_id == tws.executions[-1].exec_id
    assert await broker.positions() == await venue.venue_positions()
    assert (await broker.order_status("o1")).status is OrderStatus.FILLED  # type: ignore[union-attr]


async def test_partial_fills_carry_leaves_and_ids(broker: IbkrBroker, venue: FakeTwsController) -> None:
    events = broker.events()
    await broker.submit(limit("p1", Side.SELL, "5810", qty="3"))
    await take(events, 1, keep=order_events)
    await venue.fill("p1", qty=Decimal(1))
    await venue.fill("p1", price=Decimal("5810.5"), qty=Decimal(2))
    fills = await take(events, 2, keep=order_events)
    assert [(f.quantity, f.leaves_qty) for f in fills] == [(1, 2), (2, 0)]  # type: ignore[union-attr]
    assert fills[1].price == Decimal("5810.5")  # type: ignore[union-attr]
    assert len({f.fill_id for f in fills}) == 2  # type: ignore[union-attr]
    positions = await broker.positions()
    assert [(p.symbol, p.quantity) for p in positions] == [("MES", -3)]
    assert await quiet(events) == []


async def test_reject_maps_201_to_order_rejected(broker: IbkrBroker, venue: FakeTwsController) -> None:
    events = broker.events()
    await venue.reject_next("Insufficient margin")
    await broker.submit(limit("r1", Side.BUY, "5800"))
    (event,) = await take(events, 1, keep=order_events)
    assert isinstance(event, OrderRejected) and event.venue_code == "201"
    assert "Insufficient margin" in event.reason
    assert await quiet(events) == []


async def test_cancel_then_unknown_cancel(broker: IbkrBroker, tws: FakeTws) -> None:
    events = broker.events()
    await broker.submit(limit("k1", Side.BUY, "5700"))
    await take(events, 1, keep=order_events)
    await broker.cancel("k1")
    (event,) = await take(events, 1, keep=order_events)
    assert isinstance(event, OrderCanceled) and event.client_order_id == "k1"
    assert tws.order_by_ref("k1").status == "Cancelled"
    await broker.cancel("k1")  # already terminal: nothing happens
    with pytest.raises(BrokerError) as info:
        await broker.cancel("never-sent")
    assert info.value.error_class.code == reasons.BROKER_STATE_ERROR
    assert info.value.error_class.details["ib_reason"] == E.IB_UNKNOWN_ORDER
    assert await quiet(events) == []


async def test_market_order_fills_at_last_price(broker: IbkrBroker, venue: FakeTwsController) -> None:
    events = broker.events()
    await venue.set_last_price("MES", Decimal("5803.75"))
    await broker.submit(market("m1", Side.BUY, qty="2"))
    accepted, filled = await take(events, 2, keep=order_events)
    assert isinstance(accepted, OrderAccepted) and isinstance(filled, OrderFilled)
    assert (filled.price, filled.quantity, filled.fee) == (Decimal("5803.75"), 2, Decimal("1.24"))


async def test_submit_is_idempotent_per_client_order_id(broker: IbkrBroker, tws: FakeTws) -> None:
    await broker.submit(limit("d1", Side.BUY, "5700"))
    await broker.submit(limit("d1", Side.BUY, "5700"))
    assert len([o for o in tws.orders.values() if o.order_ref == "d1"]) == 1


async def test_reconciliation_reports(broker: IbkrBroker, venue: FakeTwsController) -> None:
    start = datetime.now(UTC) - timedelta(seconds=2)
    await broker.submit(limit("a1", Side.BUY, "5700"))
    await broker.submit(limit("a2", Side.SELL, "5900", qty="2"))
    await venue.set_last_price("MES", Decimal("5800"))
    await broker.submit(market("a3", Side.BUY))
    await wait_until(lambda: len(venue.tws.executions) == 1)
    opened = await broker.open_orders()
    assert opened == await venue.venue_open_orders()
    assert [(o.client_order_id, o.order_type, o.status) for o in opened] == [
        ("a1", OrderType.LIMIT, OrderStatus.ACCEPTED),
        ("a2", OrderType.LIMIT, OrderStatus.ACCEPTED),
    ]
    fills = await broker.fills_since(start)
    assert [(f.client_order_id, f.price, f.fee, f.leaves_qty) for f in fills] == [
        ("a3", 5800, Decimal("0.62"), 0)
    ]
    assert await broker.fills_since(datetime.now(UTC) + timedelta(minutes=5)) == []
    assert await broker.positions() == await venue.venue_positions()
    account = await broker.account()
    assert (account.equity, account.buying_power, account.account_id) == (
        Decimal("100000.00"),
        Decimal("400000.00"),
        "DU1234567",
    )


async def test_global_cancel_cancels_every_working_order(
    broker: IbkrBroker, venue: FakeTwsController
) -> None:
    events = broker.events()
    for i in range(3):
        await broker.submit(limit(f"g{i}", Side.BUY, str(5700 + i)))
    await take(events, 3, keep=order_events)
    await broker.cancel_all()
    canceled = await take(events, 3, keep=order_events)
    assert sorted(e.client_order_id for e in canceled if isinstance(e, OrderCanceled)) == ["g0", "g1", "g2"]
    assert await venue.venue_open_orders() == []


async def test_flatten_closes_the_position_with_a_market_order(
    broker: IbkrBroker, venue: FakeTwsController, tws: FakeTws
) -> None:
    events = broker.events()
    await venue.set_last_price("MES", Decimal("5800"))
    await broker.submit(market("f1", Side.BUY, qty="2"))
    await broker.submit(limit("f2", Side.SELL, "5900"))
    await take(events, 3, keep=order_events)
    assert await broker.flatten("MES", "flat-1") == "flat-1"
    flat_order = tws.order_by_ref("flat-1")
    assert (flat_order.order_type, flat_order.action, flat_order.quantity) == ("MKT", "SELL", 2)
    await wait_until(lambda: tws.order_by_ref("flat-1").status == "Filled")
    assert await broker.positions() == [] and await venue.venue_open_orders() == []
    assert await broker.flatten("MES", "flat-2") is None


async def test_not_ready_refuses_orders(tws: FakeTws) -> None:
    adapter = IbkrBroker(fast_config(tws.port, request_timeout=0.2), WallClock(), CAPABILITIES)
    with pytest.raises(BrokerError) as info:
        await adapter.submit(limit("x1", Side.BUY, "5800"))
    assert info.value.error_class.code == reasons.NET_RETRY
    assert info.value.error_class.details["ib_reason"] == E.IB_NOT_CONNECTED
    await adapter.close()


async def test_duplicate_client_id_is_refused_with_its_own_reason(broker: IbkrBroker, tws: FakeTws) -> None:
    second = IbkrBroker(fast_config(tws.port), WallClock(), CAPABILITIES)
    with pytest.raises(BrokerError) as info:
        await second.connect()
    assert info.value.error_class.code == reasons.AUTH_HALT
    assert info.value.error_class.details["ib_reason"] == E.IB_DUPLICATE_CLIENT_ID
    assert info.value.error_class.category is ErrorCategory.AUTH
    assert second.connection.state is ConnState.DISCONNECTED
    assert any(p.startswith(b"4\x002\x00-1\x00326\x00") for p in tws.sent)
    assert broker.connection.state is ConnState.READY  # the first session is untouched
    await second.close()


async def test_connect_to_a_closed_port_fails_after_bounded_attempts() -> None:
    server = await FakeTws().start()
    port = server.port
    await server.stop()
    adapter = IbkrBroker(fast_config(port, connect_attempts=2), WallClock(), CAPABILITIES)
    with pytest.raises(BrokerError) as info:
        await adapter.connect()
    assert info.value.error_class.code == reasons.NET_RETRY
    assert info.value.error_class.details["ib_reason"] == E.IB_CONNECT_FAILED
    states = [s for s, _ in adapter.connection.transitions]
    assert states == [ConnState.CONNECTING, ConnState.DISCONNECTED] * 2
    await adapter.close()


async def test_1100_drops_ready_orders_wait_and_1102_restores_it(broker: IbkrBroker, tws: FakeTws) -> None:
    events = broker.events()
    await take(events, 3)
    await tws.send_error_to_all(1100, "Connectivity between IB and Trader Workstation has been lost.")
    (lost,) = await take(events, 1)
    assert (lost.state, lost.reason) == ("CONNECTED", E.IB_CONNECTIVITY_LOST)  # type: ignore[union-attr]
    submitting = asyncio.ensure_future(broker.submit(limit("h1", Side.BUY, "5800")))
    await asyncio.sleep(0.2)
    assert not submitting.done() and not [o for o in tws.orders.values() if o.order_ref == "h1"]
    await tws.send_error_to_all(1102, "Connectivity between IB and TWS has been restored - data maintained.")
    (back,) = await take(events, 1)
    assert (back.state, back.reason) == ("READY", E.IB_CONNECTIVITY_RESTORED)  # type: ignore[union-attr]
    await asyncio.wait_for(submitting, 3)
    assert tws.order_by_ref("h1").status == "Submitted"


async def test_1101_resubscribes_market_data(
    broker: IbkrBroker, venue: FakeTwsController, tws: FakeTws
) -> None:
    inst = await broker.instrument("MES")
    stream = broker.bars(inst, 60)
    pending = asyncio.ensure_future(stream.__anext__())
    await wait_until(lambda: any(s.rt_bars for s in tws.live_sessions()))
    await tws.send_error_to_all(1100, "Connectivity between IB and Trader Workstation has been lost.")
    for session in tws.live_sessions():
        session.rt_bars.clear()  # data lost: TWS forgot the subscription
    await tws.send_error_to_all(1101, "Connectivity between IB and TWS has been restored - data lost.")
    await wait_until(lambda: any(s.rt_bars for s in tws.live_sessions()))
    await wait_until(lambda: broker.connection.state is ConnState.READY)
    bar = minute_bar(40, 5800.0, 5801.0, 5799.0, 5800.5)
    await venue.push_bar(bar)
    assert await asyncio.wait_for(pending, 3) == bar


async def test_rate_limited_submit_raises_and_the_same_id_can_be_sent_again(
    broker: IbkrBroker, venue: FakeTwsController, tws: FakeTws
) -> None:
    events = broker.events()
    await venue.fail_next("rate_limit")
    with pytest.raises(BrokerError) as info:
        await broker.submit(limit("rl1", Side.BUY, "5700"))
    cls = info.value.error_class
    assert (cls.category, cls.code, cls.details["ib_code"]) == (
        ErrorCategory.RATE_LIMIT,
        reasons.RATE_LIMIT_RETRY,
        100,
    )
    assert cls.retry_after_s == 1.0
    assert await broker.order_status("rl1") is None  # nothing exists: the OMS may resend
    await broker.submit(limit("rl1", Side.BUY, "5700"))
    assert tws.order_by_ref("rl1").status == "Submitted"
    assert [e.kind for e in await quiet(events) if not isinstance(e, ConnectionEvent)] == ["order_accepted"]


async def test_connection_dropped_during_submit_is_net_retry_then_lookup_and_resend(
    broker: IbkrBroker, venue: FakeTwsController, tws: FakeTws
) -> None:
    await venue.fail_next("network")
    with pytest.raises(BrokerError) as info:
        await broker.submit(limit("nd1", Side.BUY, "5700"))
    assert info.value.error_class.code == reasons.NET_RETRY
    await wait_until(lambda: broker.connection.state is ConnState.READY)
    assert await broker.order_status("nd1") is None  # the venue never got it
    await broker.submit(limit("nd1", Side.BUY, "5700"))
    assert [o.client_order_id for o in await broker.open_orders()] == ["nd1"]


async def test_close_stops_reconnecting(tws: FakeTws) -> None:
    adapter = IbkrBroker(fast_config(tws.port, connect_timeout=0.3), WallClock(), CAPABILITIES)
    await adapter.connect()
    tws.refuse_connections = True
    await tws.drop_all()
    await wait_until(lambda: len(adapter.connection.transitions) > 6)  # a few failed attempts
    await adapter.close()
    attempts = len(adapter.connection.transitions)
    await asyncio.sleep(0.5)
    assert len(adapter.connection.transitions) == attempts
    assert adapter.connection.transitions[-1] == (ConnState.DISCONNECTED, E.IB_CLOSED)
