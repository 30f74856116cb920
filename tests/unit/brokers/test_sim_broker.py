"""SimBroker on its venue: each event delivered once, bars from a given source, classified faults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tradebot.brokers.sim import SimController, create_broker
from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.domain.clock import ReplayClock
from tradebot.domain.errors import BrokerError, ErrorAction, ErrorCategory
from tradebot.domain.events import ConnectionEvent, OrderFilled
from tradebot.domain.orders import OrderRequest, OrderType, Side

T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)


def bar(i: int, price: float, symbol: str = "XYZ") -> Bar:
    return Bar(symbol, T0 + timedelta(minutes=i), price, price, price, price, 1.0)


def market(cid: str) -> OrderRequest:
    return OrderRequest(cid, cid, "XYZ", Side.BUY, Decimal(1), OrderType.MARKET, T0)


async def test_drain_and_events_share_one_queue_each_event_once() -> None:
    broker = create_broker({}, ReplayClock(T0))
    await broker.connect()
    await broker.on_bar(bar(0, 10))
    await broker.submit(market("a"))
    await broker.on_bar(bar(1, 11))
    kinds = [e.kind for e in broker.drain_events()]
    assert kinds == ["connection", "order_accepted", "order_filled"]
    assert broker.drain_events() == []
    await broker.close()
    assert [e.kind async for e in broker.events()] == ["connection"]  # DISCONNECTED, then the stream ends


async def test_bars_come_from_the_source_given_at_construction() -> None:
    async def source() -> AsyncIterator[Bar]:
        for i, symbol in enumerate(["XYZ", "OTHER", "XYZ"]):
            yield bar(i, 10 + i, symbol)

    broker = create_broker({}, ReplayClock(T0), bar_source=source())
    instrument = broker.venue.catalog.get("XYZ")
    got = [b.close async for b in broker.bars(instrument, 60)]
    assert got == [10.0, 12.0]
    with pytest.raises(ValueError, match="asked for 300s"):
        [b async for b in create_broker({}, ReplayClock(T0), bar_source=source()).bars(instrument, 300)]


@pytest.mark.parametrize(("kind", "category", "action", "code"), [
    ("auth", ErrorCategory.AUTH, ErrorAction.HALT_TRADING, reasons.AUTH_HALT),
    ("rate_limit", ErrorCategory.RATE_LIMIT, ErrorAction.RETRY, reasons.RATE_LIMIT_RETRY),
    ("network", ErrorCategory.TRANSIENT_NETWORK, ErrorAction.RETRY, reasons.NET_RETRY),
])
async def test_injected_faults_raise_classified_broker_errors(
    kind: str, category: ErrorCategory, action: ErrorAction, code: str
) -> None:
    broker = create_broker({"rate_limit_retry_after_s": 2.5}, ReplayClock(T0))
    await broker.connect()
    await SimController(broker.venue).fail_next(kind)  # type: ignore[arg-type]
    with pytest.raises(BrokerError) as raised:
        await broker.submit(market("a"))
    error = raised.value.error_class
    assert (error.category, error.action, error.code) == (category, action, code)
    assert error.retry_after_s == (2.5 if kind == "rate_limit" else None)
    assert broker.classify_error(raised.value.__cause__) == error  # type: ignore[arg-type]
    assert await broker.order_status("a") is None  # the failed request never reached the venue


async def test_requests_on_a_closed_broker_are_refused_with_a_class() -> None:
    broker = create_broker({}, ReplayClock(T0))
    with pytest.raises(BrokerError) as raised:
        await broker.open_orders()
    assert raised.value.error_class.code == reasons.BROKER_NOT_CONNECTED


async def test_a_dropped_connection_reconnects_on_the_next_request_and_delivers_the_backlog() -> None:
    broker = create_broker({}, ReplayClock(T0))
    await broker.connect()
    controller = SimController(broker.venue)
    await broker.on_bar(bar(0, 10))
    await broker.submit(market("a"))
    broker.venue.drop_connections()  # no running loop callback needed: the next request reconnects
    await controller.push_bar(bar(1, 11))
    await broker.open_orders()
    events = broker.drain_events()
    states = [e.state for e in events if isinstance(e, ConnectionEvent)]
    assert states == ["CONNECTED", "DISCONNECTED", "CONNECTED"]
    assert [e.client_order_id for e in events if isinstance(e, OrderFilled)] == ["a"]
