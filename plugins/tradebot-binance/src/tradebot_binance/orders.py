"""How to reach each order at Binance, and the queue the adapter's events leave by.

The per-order bookkeeping (ids, fills once, leaves, final events, adoption after a restart) is the core's
``tradebot.brokers.order_tracking.OrderTracking``. What stays here is Binance's own addressing: regular
orders are keyed by ``clientOrderId`` (= our client order id) and ``orderId``; conditional orders (Algo API)
by ``clientAlgoId`` (= our client order id) and ``algoId``, plus the ``orderId`` of the order the algo
placed when it triggered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from tradebot.domain.events import BrokerEvent, ConnectionEvent


def algo_venue_id(algo_id: int) -> str:
    return f"algo:{algo_id}"


def algo_id_of(venue_order_id: str) -> int | None:
    """The ``algoId`` in an ``algo:<id>`` venue order id (None for a regular order id)."""
    kind, _, raw = venue_order_id.partition(":")
    return int(raw) if kind == "algo" and raw.isdigit() else None


@dataclass(slots=True)
class VenueRef:
    """Where one of our orders lives at Binance (filled in as the venue tells us)."""

    symbol: str
    is_algo: bool
    algo_id: int | None = None
    actual_order_id: str | None = None  # orderId placed by a triggered algo


class EventSink:
    """Bounded queue of broker events (``None`` ends ``events()``)."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self.queue: asyncio.Queue[BrokerEvent | None] = asyncio.Queue(maxsize=maxsize)

    async def emit(self, events: Iterable[BrokerEvent]) -> None:
        for event in events:
            await self.queue.put(event)

    async def connection(self, state: str, ts: datetime, reason: str = "") -> None:
        await self.queue.put(ConnectionEvent(state=state, ts=ts, reason=reason))

    async def close(self) -> None:
        await self.queue.put(None)
