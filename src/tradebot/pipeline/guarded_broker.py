"""A broker whose reads and bars go through the dependency breakers: the one the pipeline talks to.

- Reads (idempotent): ``positions`` and ``account`` under ``broker_positions``; ``open_orders``,
  ``order_status`` and ``fills_since`` under ``broker_open_orders``. Each runs under its breaker with
  bounded retries (``OpsHooks.read``); an open breaker refuses the call with ``CircuitOpenError`` (a
  ``BrokerError`` coded CIRCUIT_OPEN_<DEP>) without touching the venue.
- Bars: every bar the feed yields is a success of ``data_primary``, an error out of it a failure (then
  re-raised: the run fails closed on it).
- Writes (``submit``, ``cancel``, ``cancel_all``) go straight through: a submit is never retried here (the
  order manager owns the one resubmit rule; the engine feeds ``broker_submit``'s breaker).
Anything else the wrapped venue offers (``cancel_orders`` when it is a ``BatchCancel``, the simulated venue's
``on_bar``, ``drain_events``, ``register_instrument``) is the wrapped venue's own attribute, so the guarded
broker is a ``BatchCancel`` exactly when the venue is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from tradebot.brokers.capabilities import Capabilities
from tradebot.brokers.protocol import Broker
from tradebot.domain.bars import Bar
from tradebot.domain.clock import Clock
from tradebot.domain.errors import ErrorClass
from tradebot.domain.events import (
    AccountSnapshot,
    BrokerEvent,
    OrderFilled,
    OrderSnapshot,
    PositionSnapshot,
)
from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import OrderRequest
from tradebot.ops.breakers import Dependency
from tradebot.pipeline.ops_hooks import OpsHooks

POSITIONS = Dependency.BROKER_POSITIONS.value
ORDERS = Dependency.BROKER_OPEN_ORDERS.value


class GuardedBroker:
    def __init__(self, inner: Broker, ops: OpsHooks, clock: Clock) -> None:
        self.inner = inner
        self.ops = ops
        self.clock = clock
        self.name: str = inner.name
        self.capabilities: Capabilities = inner.capabilities

    def __getattr__(self, name: str) -> Any:
        """What the wrapped venue offers beyond the Broker protocol (looked up once, then kept)."""
        if name == "inner":
            raise AttributeError(name)
        value = getattr(self.inner, name)
        setattr(self, name, value)
        return value

    # --- connection and writes: straight through ----------------------------------------------------
    async def connect(self) -> None:
        await self.inner.connect()

    async def close(self) -> None:
        await self.inner.close()

    async def instrument(self, symbol: str) -> Instrument:
        return await self.inner.instrument(symbol)

    async def submit(self, request: OrderRequest) -> None:
        await self.inner.submit(request)

    async def cancel(self, client_order_id: str) -> None:
        await self.inner.cancel(client_order_id)

    async def cancel_all(self, symbol: str | None = None) -> None:
        await self.inner.cancel_all(symbol)

    def events(self) -> AsyncIterator[BrokerEvent]:
        return self.inner.events()

    def classify_error(self, exc: BaseException) -> ErrorClass | None:
        return self.inner.classify_error(exc)

    # --- reads: breaker + bounded retries ------------------------------------------------------------
    async def order_status(self, client_order_id: str) -> OrderSnapshot | None:
        return await self.ops.read(
            ORDERS, lambda: self.inner.order_status(client_order_id), self.clock, self.inner
        )

    async def open_orders(self) -> list[OrderSnapshot]:
        return await self.ops.read(ORDERS, self.inner.open_orders, self.clock, self.inner)

    async def fills_since(self, since: datetime) -> list[OrderFilled]:
        return await self.ops.read(ORDERS, lambda: self.inner.fills_since(since), self.clock, self.inner)

    async def positions(self) -> list[PositionSnapshot]:
        return await self.ops.read(POSITIONS, self.inner.positions, self.clock, self.inner)

    async def account(self) -> AccountSnapshot:
        return await self.ops.read(POSITIONS, self.inner.account, self.clock, self.inner)

    # --- the feed -------------------------------------------------------------------------------------
    async def bars(self, instrument: Instrument, bar_size_s: int) -> AsyncIterator[Bar]:
        try:
            async for bar in self.inner.bars(instrument, bar_size_s):
                self.ops.feed_ok(self.clock.now())
                yield bar
        except Exception as exc:
            self.ops.feed_failed(self.clock.now(), exc, self.inner)
            raise


def guard(broker: Broker, ops: OpsHooks, clock: Clock) -> Broker:
    """``broker`` behind the dependency breakers (a broker already guarded is returned as it is)."""
    if isinstance(broker, GuardedBroker):
        return broker
    return GuardedBroker(broker, ops, clock)
