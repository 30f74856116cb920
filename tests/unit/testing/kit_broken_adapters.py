"""Deliberately broken adapters (SimBroker with one bug each), to prove the conformance kit can fail."""

from __future__ import annotations

from dataclasses import replace

from tradebot.brokers.sim import SimBroker
from tradebot.domain.events import BrokerEvent, ConnectionEvent, OrderFilled
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


BROKEN = {
    "double_fill": DoubleFillBroker,
    "lost_client_id": LostClientIdBroker,
    "ignores_reduce_only": IgnoresReduceOnlyBroker,
}
