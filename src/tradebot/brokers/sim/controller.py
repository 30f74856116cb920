"""``SimController``: the conformance kit's VenueController for the simulated venue (faults included)."""

from __future__ import annotations

from decimal import Decimal

from tradebot.brokers.sim.venue import FaultKind, SimVenue
from tradebot.domain.bars import Bar
from tradebot.domain.events import OrderSnapshot, PositionSnapshot


class SimController:
    def __init__(self, venue: SimVenue) -> None:
        self.venue = venue

    def attach(self, venue: SimVenue) -> None:
        """Drive another venue object (after a simulated process restart on the same state file)."""
        self.venue = venue

    async def push_bar(self, bar: Bar) -> None:
        """The bar closes at the venue: resting orders are matched, then it is published on the feed."""
        self.venue.on_bar(bar)
        self.venue.feed.publish(bar)

    async def fill(
        self, client_order_id: str, price: Decimal | None = None, qty: Decimal | None = None
    ) -> None:
        self.venue.fill(client_order_id, price, qty)

    async def reject_next(self, reason: str) -> None:
        self.venue.reject_next(reason)

    async def fail_next(self, kind: FaultKind) -> None:
        self.venue.fail_next(kind)

    async def drop_connection(self) -> None:
        self.venue.drop_connections()

    async def venue_open_orders(self) -> list[OrderSnapshot]:
        return self.venue.snapshot_open_orders()

    async def venue_positions(self) -> list[PositionSnapshot]:
        return self.venue.snapshot_positions()

    async def set_last_price(self, symbol: str, price: Decimal) -> None:
        self.venue.set_last_price(symbol, price)
