"""The venue controller: how the conformance kit drives the venue behind a broker under test.

A plugin's tests provide one, backed by its local fake server (or, for ``sim``, the simulated venue).
Every method acts on the VENUE, never on the adapter, so the kit checks what the adapter does about it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, Protocol

from tradebot.domain.bars import Bar
from tradebot.domain.events import OrderSnapshot, PositionSnapshot

FaultKind = Literal["auth", "rate_limit", "network"]


class VenueController(Protocol):
    async def push_bar(self, bar: Bar) -> None:
        """Publish ``bar`` on the venue's market-data feed for ``bar.symbol`` (as the venue would)."""
        ...

    async def fill(
        self, client_order_id: str, price: Decimal | None = None, qty: Decimal | None = None
    ) -> None:
        """Execute a working order at the venue (fully, or ``qty`` of it), at ``price`` or its own price."""
        ...

    async def reject_next(self, reason: str) -> None:
        """Make the venue reject the next new order with ``reason`` (its own reject code/message)."""
        ...

    async def fail_next(self, kind: FaultKind) -> None:
        """Make the venue's next new-order request fail with an auth error, a rate limit (429 or venue
        equivalent, with a retry-after where the venue sends one) or a network failure (connection
        reset/timeout) before the venue takes the order. Requests before it (a lookup) pass."""
        ...

    async def drop_connection(self) -> None:
        """Drop every live connection/stream to the adapter; the venue keeps its orders and positions."""
        ...

    async def venue_open_orders(self) -> list[OrderSnapshot]:
        """The venue's own truth about open orders (for reconciliation checks)."""
        ...

    async def venue_positions(self) -> list[PositionSnapshot]:
        """The venue's own truth about positions."""
        ...

    async def set_last_price(self, symbol: str, price: Decimal) -> None:
        """Set the venue's last/mark price for ``symbol`` (market orders fill here)."""
        ...
