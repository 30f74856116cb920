"""Deliberately broken adapters (SimBroker with one bug each), to prove the conformance kit can fail."""

from __future__ import annotations

from dataclasses import replace

from tradebot.brokers.sim import SimBroker
from tradebot.domain.errors import BrokerError
from tradebot.domain.events import (
    BrokerEvent,
    ConnectionEvent,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderSnapshot,
)
from tradebot.domain.orders import OrderRequest


class DoubleFillBroker(SimBroker):
    """Emits every fill twice (same fill id), as an adapter that replays a websocket message would."""

    def _enqueue(self, events: list[BrokerEvent]) -> None:
        doubled: list[BrokerEvent] = []
        for event in events:
            doubled.append(event)
            if isinstance(event, OrderFilled):
                doubled.append(event)
        super()._enqueue(doubled)


class LostClientIdBroker(SimBroker):
    """Reports orders by the venue's id instead of the client order id it was given."""

    def _enqueue(self, events: list[BrokerEvent]) -> None:
        super()._enqueue([
            e if isinstance(e, ConnectionEvent) else replace(e, client_order_id=f"V{e.client_order_id[::-1]}")
            for e in events
        ])


class IgnoresReduceOnlyBroker(SimBroker):
    """Drops the reduce-only flag on the way to the venue."""

    async def submit(self, request: OrderRequest) -> None:
        await super().submit(replace(request, reduce_only=False))


class AcceptsAdoptedAgainBroker(SimBroker):
    """Reports every open order it finds at the venue as newly accepted (after a restart: a second time)."""

    async def open_orders(self) -> list[OrderSnapshot]:
        found = await super().open_orders()
        self._enqueue([OrderAccepted(o.client_order_id, o.venue_order_id, self.clock.now()) for o in found])
        return found


class PhantomAfterFaultBroker(SimBroker):
    """Keeps an order whose submit failed, and cancel-all then reports it accepted and canceled."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._failed: list[OrderRequest] = []

    async def submit(self, request: OrderRequest) -> None:
        try:
            await super().submit(request)
        except BrokerError:
            self._failed.append(request)
            raise

    async def cancel_all(self, symbol: str | None = None) -> None:
        await super().cancel_all(symbol)
        now = self.clock.now()
        for request in self._failed:
            self._enqueue([OrderAccepted(request.client_order_id, "", now),
                           OrderCanceled(request.client_order_id, now, "cancel_all")])
        self._failed.clear()


BROKEN = {
    "double_fill": DoubleFillBroker,
    "lost_client_id": LostClientIdBroker,
    "ignores_reduce_only": IgnoresReduceOnlyBroker,
    "accepts_adopted_again": AcceptsAdoptedAgainBroker,
    "phantom_after_fault": PhantomAfterFaultBroker,
}
