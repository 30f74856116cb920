"""Cancelling several orders: one call on a broker that offers ``cancel_orders`` (the simulated venue), one by
one on a broker that does not, in the order given, and the first error stops the rest in both."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tradebot.brokers.cancel_orders import cancel_orders
from tradebot.brokers.protocol import BatchCancel
from tradebot.brokers.sim import SimController, create_broker
from tradebot.brokers.sim.execution import SimBroker
from tradebot.domain.bars import Bar
from tradebot.domain.clock import ReplayClock
from tradebot.domain.errors import BrokerError
from tradebot.domain.orders import OrderRequest, OrderType, Side
from tradebot.pipeline.guarded_broker import GuardedBroker

T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)


def resting(cid: str) -> OrderRequest:
    """A buy limit far below the market: it rests until cancelled."""
    return OrderRequest(cid, cid, "XYZ", Side.BUY, Decimal(1), OrderType.LIMIT, T0, limit_price=Decimal(1))


class OneByOne:
    """A venue adapter without ``cancel_orders`` (as the broker plugins are): the simulated venue's own
    ``cancel``, with the calls noted."""

    def __init__(self, inner: SimBroker) -> None:
        self.inner = inner
        self.calls: list[str] = []

    async def cancel(self, client_order_id: str) -> None:
        self.calls.append(client_order_id)
        await self.inner.cancel(client_order_id)

    def __getattr__(self, name: str) -> Any:
        if name == "cancel_orders":
            raise AttributeError(name)
        return getattr(self.inner, name)


@pytest.fixture
async def sim() -> SimBroker:
    broker = create_broker({}, ReplayClock(T0))
    await broker.connect()
    await broker.on_bar(Bar("XYZ", T0, 10.0, 10.0, 10.0, 10.0, 1.0))
    for cid in ("a", "b", "c"):
        await broker.submit(resting(cid))
    broker.drain_events()
    return broker


def canceled(broker: SimBroker) -> list[str]:
    return [e.client_order_id for e in broker.drain_events() if e.kind == "order_canceled"]  # type: ignore[union-attr]


async def test_the_simulated_venue_cancels_several_orders_in_one_call_in_order(sim: SimBroker) -> None:
    assert isinstance(sim, BatchCancel)
    await cancel_orders(sim, ["c", "a"])
    assert canceled(sim) == ["c", "a"]
    assert [o.client_order_id for o in await sim.open_orders()] == ["b"]


async def test_a_broker_without_a_batch_call_cancels_one_by_one(sim: SimBroker) -> None:
    one_by_one = OneByOne(sim)
    assert not isinstance(one_by_one, BatchCancel)
    await cancel_orders(one_by_one, ["b", "c"])  # type: ignore[arg-type]
    assert one_by_one.calls == ["b", "c"] and canceled(sim) == ["b", "c"]
    await cancel_orders(one_by_one, [])  # type: ignore[arg-type]
    assert one_by_one.calls == ["b", "c"]


async def test_the_guarded_broker_offers_the_batch_call_exactly_when_its_venue_does(sim: SimBroker) -> None:
    assert isinstance(GuardedBroker(sim, None, ReplayClock(T0)), BatchCancel)  # type: ignore[arg-type]
    guarded = GuardedBroker(OneByOne(sim), None, ReplayClock(T0))  # type: ignore[arg-type]
    assert not isinstance(guarded, BatchCancel)
    await cancel_orders(guarded, ["a"])
    assert canceled(sim) == ["a"]


@pytest.mark.parametrize("batch", [True, False], ids=["batch", "one-by-one"])
async def test_an_error_stops_the_cancels_and_is_raised(sim: SimBroker, batch: bool) -> None:
    await SimController(sim.venue).fail_next("network")
    broker: Any = sim if batch else OneByOne(sim)
    with pytest.raises(BrokerError):
        await cancel_orders(broker, ["a", "b"])
    assert canceled(sim) == []
    assert [o.client_order_id for o in await sim.open_orders()] == ["a", "b", "c"]
