"""Fault tests over the real alpaca-py clients: a dropped trade-updates stream, a duplicate client order id
(422), rate limits (429)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from alpaca_fake_server import FakeAlpaca, FakeAlpacaController
from tradebot_alpaca import plugin
from tradebot_alpaca.broker import AlpacaBroker, EventStream

from tradebot.domain.clock import WallClock
from tradebot.domain.errors import BrokerError, ErrorAction, ErrorCategory
from tradebot.domain.events import BrokerEvent, ConnectionEvent, OrderAccepted, OrderFilled
from tradebot.domain.orders import OrderRequest, OrderType, Side, TimeInForce

pytestmark = pytest.mark.timeout(30)


def _limit(cid: str, price: str = "160.00", qty: str = "3") -> OrderRequest:
    return OrderRequest(cid, cid, "SPY", Side.BUY, Decimal(qty), OrderType.LIMIT, datetime.now(UTC),
                        limit_price=Decimal(price), tif=TimeInForce.GTC)


async def _next(events: EventStream, want: type, cid: str | None = None, timeout: float = 5) -> BrokerEvent:
    async with asyncio.timeout(timeout):
        while True:
            event = await events.__anext__()
            if isinstance(event, want) and (cid is None or getattr(event, "client_order_id", None) == cid):
                return event


async def _drain(events: EventStream, quiet_s: float = 0.3) -> list[BrokerEvent]:
    out: list[BrokerEvent] = []
    while True:
        try:
            async with asyncio.timeout(quiet_s):
                out.append(await events.__anext__())
        except TimeoutError:
            return out


@pytest.fixture
async def restart(
    fake_alpaca: FakeAlpaca, alpaca_env: None
) -> AsyncIterator[Callable[[], Awaitable[AlpacaBroker]]]:
    """A new broker on the same venue, as after a process restart (nothing tracked)."""
    made: list[AlpacaBroker] = []

    async def make() -> AlpacaBroker:
        broker = plugin.factory(fake_alpaca.config(), WallClock())
        assert isinstance(broker, AlpacaBroker)
        await broker.connect()
        made.append(broker)
        return broker

    yield make
    for broker in made:
        await broker.close()


async def test_dropped_trade_stream_recovered_by_reconciliation(
    alpaca_broker: AlpacaBroker, alpaca_venue: FakeAlpacaController, fake_alpaca: FakeAlpaca
) -> None:
    events = alpaca_broker.events()
    await alpaca_broker.submit(_limit("gap-1", qty="5"))
    await _next(events, OrderAccepted, "gap-1")
    fake_alpaca.trading_stream_down = True  # reconnects are refused until we say so
    await fake_alpaca.drop_streams(trading=True, data=False)
    await _next(events, ConnectionEvent)  # DISCONNECTED
    await alpaca_venue.fill("gap-1", qty=Decimal(2))  # both fills happen while the adapter is cut off
    await alpaca_venue.fill("gap-1")
    assert not [e for e in await _drain(events) if isinstance(e, OrderFilled)], "no stream: nothing yet"
    reconciled = alpaca_broker.reconciliations
    fake_alpaca.trading_stream_down = False
    first = await _next(events, OrderFilled, "gap-1")
    rest = [e for e in await _drain(events) if isinstance(e, OrderFilled)]
    fills = [first, *rest]
    assert alpaca_broker.reconciliations > reconciled
    assert [f.quantity for f in fills] == [Decimal(2), Decimal(3)]
    assert [f.leaves_qty for f in fills] == [Decimal(3), Decimal(0)]
    executions = {a["id"].split("::")[1] for a in fake_alpaca.activities}
    assert {f.fill_id for f in fills} == executions  # the venue's execution ids, each once


async def test_duplicate_client_order_id_422_is_deduplicated(
    alpaca_broker: AlpacaBroker, restart: Callable[[], Awaitable[AlpacaBroker]], fake_alpaca: FakeAlpaca,
    alpaca_venue: FakeAlpacaController,
) -> None:
    first_events = alpaca_broker.events()
    await alpaca_broker.submit(_limit("dup-1"))
    await _next(first_events, OrderAccepted, "dup-1")
    await alpaca_venue.fill("dup-1", qty=Decimal(1))
    await _next(first_events, OrderFilled, "dup-1")
    await alpaca_broker.close()
    # a restarted process (nothing tracked) sends the same client order id again
    second_broker = await restart()
    events = second_broker.events()
    await second_broker.submit(_limit("dup-1", price="150.00", qty="9"))
    posts = [r for r in fake_alpaca.requests if r[0] == "POST"]
    assert len(posts) == 2 and any("by_client_order_id" in r[1] for r in fake_alpaca.requests)
    got = await _drain(events)
    mine = [e for e in got if getattr(e, "client_order_id", None) == "dup-1"]
    assert mine == [], mine  # adopted: its acceptance and first fill were reported by the first process
    await alpaca_venue.fill("dup-1", qty=Decimal(1))  # a later fill of the adopted order arrives at once
    later = [e for e in await _drain(events, quiet_s=1.0) if getattr(e, "client_order_id", None) == "dup-1"]
    assert [type(e) for e in later] == [OrderFilled], later  # no second OrderAccepted
    assert isinstance(later[0], OrderFilled) and later[0].leaves_qty == Decimal(1)
    orders = [o for o in fake_alpaca.orders.values() if o.client_order_id == "dup-1"]
    assert len(orders) == 1 and orders[0].qty == Decimal(3) and orders[0].limit_price == Decimal("160.0")
    await second_broker.submit(_limit("dup-1"))  # known now: not even sent
    assert len([r for r in fake_alpaca.requests if r[0] == "POST"]) == 2


async def test_429_is_retried_by_alpaca_py_and_sends_one_order(
    fake_alpaca: FakeAlpaca, alpaca_env: None
) -> None:
    broker = plugin.factory(fake_alpaca.config(rest_retry_attempts=2, rest_retry_wait_s=0.05), WallClock())
    await broker.connect()
    try:
        events = broker.events()
        await broker.submit(_limit("rl-warm"))  # clock fetched and cached for the next submit
        fake_alpaca.faults.extend(["rate_limit", "rate_limit"])
        await broker.submit(_limit("rl-1"))
        await _next(events, OrderAccepted, "rl-1")
        assert not fake_alpaca.faults
        assert len([o for o in fake_alpaca.orders.values() if o.client_order_id == "rl-1"]) == 1
    finally:
        await broker.close()


async def test_429_beyond_retries_is_rate_limit_retry(
    alpaca_broker: AlpacaBroker, fake_alpaca: FakeAlpaca
) -> None:
    fake_alpaca.faults.append("rate_limit")
    with pytest.raises(BrokerError) as raised:
        await alpaca_broker.account()
    error = raised.value.error_class
    assert (error.category, error.action, error.code) == (
        ErrorCategory.RATE_LIMIT, ErrorAction.RETRY, "RATE_LIMIT_RETRY")
    assert raised.value.__cause__ is not None
    assert alpaca_broker.classify_error(raised.value.__cause__) == error
    assert (await alpaca_broker.account()).currency == "USD"  # one request failed, the next works


async def test_5xx_is_transient(alpaca_broker: AlpacaBroker, fake_alpaca: FakeAlpaca) -> None:
    fake_alpaca.faults.append("server")
    with pytest.raises(BrokerError) as raised:
        await alpaca_broker.positions()
    assert raised.value.error_class.category is ErrorCategory.TRANSIENT_NETWORK
