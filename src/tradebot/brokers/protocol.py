"""The broker protocol every venue adapter implements, and the plugin object its entry point names.

Event order per order: OrderAccepted | OrderRejected, then zero or more OrderFilled (partial fills carry
``leaves_qty > 0``), ending in a final OrderFilled (``leaves_qty == 0``), OrderCanceled or OrderExpired.
``submit`` returns once the venue has the order (or raises ``BrokerError``); the venue's answer arrives on
``events()``. A synchronous venue rejection is an OrderRejected event, not an exception.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from tradebot.brokers.capabilities import Capabilities
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
from tradebot.domain.quotes import Quote


@runtime_checkable
class Broker(Protocol):
    name: str
    capabilities: Capabilities

    async def connect(self) -> None:
        """Connect and authenticate. Idempotent: a second call on a connected broker does nothing."""
        ...

    async def close(self) -> None:
        """Release every connection and task. Idempotent."""
        ...

    async def instrument(self, symbol: str) -> Instrument:
        """The venue's spec for ``symbol`` (ticks, lots, multiplier, minimums)."""
        ...

    def bars(self, instrument: Instrument, bar_size_s: int) -> AsyncIterator[Bar]:
        """Closed bars of ``bar_size_s`` seconds, in time order, without duplicates."""
        ...

    async def submit(self, request: OrderRequest) -> None:
        """Send an order carrying ``request.client_order_id`` to the venue."""
        ...

    async def cancel(self, client_order_id: str) -> None:
        """Ask the venue to cancel an order; the result arrives as an event."""
        ...

    async def cancel_all(self, symbol: str | None = None) -> None:
        """Cancel every open order (of ``symbol`` if given), bracket legs included."""
        ...

    async def order_status(self, client_order_id: str) -> OrderSnapshot | None:
        """Look an order up by client order id; None when the venue does not know it."""
        ...

    async def open_orders(self) -> list[OrderSnapshot]:
        """Reconciliation report 1: every open order at the venue."""
        ...

    async def fills_since(self, since: datetime) -> list[OrderFilled]:
        """Reconciliation report 2: every execution at or after ``since``."""
        ...

    async def positions(self) -> list[PositionSnapshot]:
        """Reconciliation report 3: every non-zero position."""
        ...

    async def account(self) -> AccountSnapshot:
        ...

    def events(self) -> AsyncIterator[BrokerEvent]:
        """Order and connection events, each exactly once, in venue order."""
        ...

    def classify_error(self, exc: BaseException) -> ErrorClass | None:
        """Map this venue's client-library exception onto the error taxonomy (None: not ours)."""
        ...


@runtime_checkable
class QuoteStream(Protocol):
    """Optional: a broker that streams the best bid and ask. Transaction cost analysis uses the quote known
    at an order's arrival and at its first fill (``Quote.ts`` is when the venue stamped it, UTC); a broker
    without it gets a proxy spread, marked as such."""

    def quotes(self, instrument: Instrument) -> AsyncIterator[Quote]:
        """Best bid/ask updates for one instrument, in venue order, until the broker is closed."""
        ...


@runtime_checkable
class BatchCancel(Protocol):
    """Optional: a broker that cancels several orders in one call (a bracket's resting legs before an exit).
    ``cancel_orders`` (``tradebot.brokers.cancel_orders``) uses it, and cancels one by one without it."""

    async def cancel_orders(self, client_order_ids: Sequence[str]) -> None:
        """Ask the venue to cancel each order, in the order given; each result arrives as an event."""
        ...


@dataclass(frozen=True, slots=True)
class BrokerPlugin:
    """What a ``tradebot.brokers`` entry point resolves to.

    ``factory(config, clock)`` builds a Broker; ``config`` is the ``[broker.<name>]`` table of the
    runtime config, validated by the plugin itself (raise ``ValueError`` naming the bad key).
    ``client_libraries`` names the distributions whose versions the run manifest records.
    """

    name: str
    version: str
    capabilities: Capabilities
    factory: Callable[[Mapping[str, Any], Clock], Broker]
    description: str = ""
    client_libraries: tuple[str, ...] = ()
