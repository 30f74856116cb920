"""``SimBroker``: the Broker protocol on top of the simulated venue.

Sim-specific additions (not part of the Broker protocol):
- ``await on_bar(bar)``: the pipeline hands the venue each bar BEFORE the strategy sees it, so resting
  orders are matched against the bar; a bar seen twice is matched once.
- ``drain_events()``: take every queued event without waiting (the pipeline's synchronous path).
  ``events()`` and ``drain_events()`` read the same queue: each event goes to exactly one of them.
- ``register_instrument(instrument)``: trade a symbol with exactly the runtime config's spec.
- ``attach_bar_source(source)``: where ``bars()`` reads from (default: the venue's own market-data feed,
  which ``SimController.push_bar`` publishes to).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import TypeVar

from tradebot.brokers.capabilities import Capabilities
from tradebot.brokers.errors import not_connected_error
from tradebot.brokers.sim.data import iterate_source, iterate_subscription
from tradebot.brokers.sim.errors import SimVenueError, as_broker_error, classify
from tradebot.brokers.sim.venue import SUPPORTED_TIF, SUPPORTED_TYPES, SimSession, SimVenue
from tradebot.domain.bars import Bar
from tradebot.domain.clock import Clock
from tradebot.domain.errors import BrokerError, ErrorClass
from tradebot.domain.events import (
    AccountSnapshot,
    BrokerEvent,
    ConnectionEvent,
    OrderFilled,
    OrderSnapshot,
    PositionSnapshot,
)
from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import OrderRequest

T = TypeVar("T")

SIM_CAPABILITIES = Capabilities(
    order_types=SUPPORTED_TYPES,
    time_in_force=SUPPORTED_TIF,
    brackets=True,
    oco=False,  # one-cancels-other only between the legs of a bracket
    oto=False,
    reduce_only=True,
    native_cancel_all=True,
    fractional_qty=True,  # whatever the instrument's lot step allows
    leverage=False,
    streaming_bars=True,
)


class SimBroker:
    name = "sim"
    capabilities = SIM_CAPABILITIES

    def __init__(self, venue: SimVenue, clock: Clock, bar_source: AsyncIterable[Bar] | None = None) -> None:
        self.venue = venue
        self.clock = clock
        self._bar_source = bar_source
        self._session: SimSession | None = None
        self._want_connected = False
        self._cursor: int | None = None  # where a dropped session resumes
        self._queue: deque[BrokerEvent] = deque()
        self._wake = asyncio.Event()
        self._closed = False

    # --- connection ---------------------------------------------------------------------------------
    async def connect(self) -> None:
        if self._want_connected:
            return
        self._session = self._call(lambda: self.venue.open_session(self._on_new, self._on_drop))
        self._want_connected = True
        self._closed = False
        self._enqueue([ConnectionEvent("CONNECTED", self.clock.now())])

    async def close(self) -> None:
        if not self._want_connected:
            return
        self._want_connected = False
        if self._session is not None:
            self._session.close()
            self._session = None
        self._cursor = None
        self._enqueue([ConnectionEvent("DISCONNECTED", self.clock.now(), "closed")])
        self._closed = True
        self._wake.set()

    def _on_new(self) -> None:
        if self._session is not None:
            self._enqueue(self._session.pull())

    def _on_drop(self, reason: str) -> None:
        if self._session is not None:
            self._cursor = self._session.cursor
        self._session = None
        self._enqueue([ConnectionEvent("DISCONNECTED", self.clock.now(), reason)])
        with contextlib.suppress(RuntimeError):  # no loop running: the next request reconnects
            asyncio.get_running_loop().call_soon(self._reconnect)

    def _reconnect(self) -> None:
        """Resume the session from the last event this broker received: the backlog comes next, once."""
        if self._session is not None or not self._want_connected:
            return
        self._session = self.venue.open_session(self._on_new, self._on_drop, cursor=self._cursor)
        self._enqueue([ConnectionEvent("CONNECTED", self.clock.now(), "reconnected")])
        self._enqueue(self._session.pull())

    def _ready(self) -> None:
        if not self._want_connected:
            raise BrokerError("sim broker is not connected", not_connected_error(broker="sim"))
        if self._session is None:
            self._reconnect()

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except SimVenueError as exc:
            raise as_broker_error(exc) from exc

    def _request(self, fn: Callable[[], T]) -> T:
        self._ready()
        return self._call(fn)

    # --- events -------------------------------------------------------------------------------------
    def _enqueue(self, events: list[BrokerEvent]) -> None:
        if events:
            self._queue.extend(events)
            self._wake.set()

    async def events(self) -> AsyncIterator[BrokerEvent]:
        while True:
            while self._queue:
                yield self._queue.popleft()
            if self._closed:
                return
            self._wake.clear()
            await self._wake.wait()

    def drain_events(self) -> list[BrokerEvent]:
        events = list(self._queue)
        self._queue.clear()
        return events

    # --- market data --------------------------------------------------------------------------------
    async def on_bar(self, bar: Bar) -> None:
        """The venue sees ``bar`` (before the strategy does) and matches resting orders against it."""
        self.venue.on_bar(bar)

    def attach_bar_source(self, source: AsyncIterable[Bar]) -> None:
        self._bar_source = source

    def register_instrument(self, instrument: Instrument) -> None:
        self.venue.catalog.register(instrument)

    async def instrument(self, symbol: str) -> Instrument:
        return self._request(lambda: self.venue.instrument(symbol))

    def bars(self, instrument: Instrument, bar_size_s: int) -> AsyncIterator[Bar]:
        if self._bar_source is not None:
            return iterate_source(self._bar_source, instrument.symbol, bar_size_s)
        return iterate_subscription(self.venue.feed, instrument.symbol, bar_size_s)

    # --- orders and reports -------------------------------------------------------------------------
    async def submit(self, request: OrderRequest) -> None:
        self._request(lambda: self.venue.submit(request))

    async def cancel(self, client_order_id: str) -> None:
        self._request(lambda: self.venue.cancel(client_order_id))

    async def cancel_orders(self, client_order_ids: Sequence[str]) -> None:
        def cancel_each() -> None:
            for client_order_id in client_order_ids:
                self.venue.cancel(client_order_id)

        self._request(cancel_each)

    async def cancel_all(self, symbol: str | None = None) -> None:
        self._request(lambda: self.venue.cancel_all(symbol))

    async def order_status(self, client_order_id: str) -> OrderSnapshot | None:
        return self._request(lambda: self.venue.order(client_order_id))

    async def open_orders(self) -> list[OrderSnapshot]:
        return self._request(self.venue.open_orders)

    async def fills_since(self, since: datetime) -> list[OrderFilled]:
        return self._request(lambda: self.venue.fills_since(since))

    async def positions(self) -> list[PositionSnapshot]:
        return self._request(self.venue.positions)

    async def account(self) -> AccountSnapshot:
        return self._request(self.venue.account)

    def classify_error(self, exc: BaseException) -> ErrorClass | None:
        return classify(exc)
