"""What we have told the pipeline about each order, so every venue fact becomes an event exactly once.

The same fact can reach us twice: from the trade-updates stream and from reconciliation after a gap (FILL
activities, order lookups), or from a submit answer and the stream. Fills are keyed by execution id and by
(order, cumulative quantity): a fill whose cumulative quantity we already counted is the same fill.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from tradebot.domain.events import (
    BrokerEvent,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from tradebot.domain.orders import Side

ZERO = Decimal(0)


@dataclass
class TrackedOrder:
    client_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    parent: str | None = None
    venue_order_id: str | None = None
    venue_since: datetime | None = None  # venue time the order was created (reconciliation window)
    accepted: bool = False
    terminal: bool = False
    filled_qty: Decimal = ZERO
    filled_notional: Decimal = ZERO
    fill_ids: set[str] = field(default_factory=set)


class OrderTracker:
    def __init__(self) -> None:
        self._orders: dict[str, TrackedOrder] = {}
        self._venue_to_client: dict[str, str] = {}

    def get(self, client_order_id: str) -> TrackedOrder | None:
        return self._orders.get(client_order_id)

    def track(self, client_order_id: str, symbol: str, side: Side, quantity: Decimal,
              parent: str | None = None) -> TrackedOrder:
        order = self._orders.get(client_order_id)
        if order is None:
            order = TrackedOrder(client_order_id, symbol, side, quantity, parent)
            self._orders[client_order_id] = order
        return order

    def bind(self, client_order_id: str, venue_order_id: str, venue_since: datetime | None = None) -> None:
        order = self._orders[client_order_id]
        order.venue_order_id = venue_order_id
        if venue_since is not None and order.venue_since is None:
            order.venue_since = venue_since
        self._venue_to_client[venue_order_id] = client_order_id

    def alias(self, venue_order_id: str, client_order_id: str) -> None:
        """A venue id that stands for one of our orders (a bracket leg, a replacement)."""
        self._venue_to_client[venue_order_id] = client_order_id

    def client_id_for(self, venue_order_id: str) -> str | None:
        return self._venue_to_client.get(venue_order_id)

    def working(self) -> list[TrackedOrder]:
        return [o for o in self._orders.values() if not o.terminal and o.venue_order_id is not None]

    def accepted(self, client_order_id: str, ts: datetime) -> list[BrokerEvent]:
        order = self._orders[client_order_id]
        if order.accepted or order.terminal or order.venue_order_id is None:
            return []
        order.accepted = True
        return [OrderAccepted(client_order_id, order.venue_order_id, ts)]

    def filled(self, client_order_id: str, fill_id: str, quantity: Decimal, price: Decimal, ts: datetime,
               cum_qty: Decimal | None) -> list[BrokerEvent]:
        """One execution. Known fills return nothing; a fill after a terminal event is still reported
        (a real execution is never dropped)."""
        order = self._orders[client_order_id]
        if fill_id in order.fill_ids or quantity <= ZERO:
            return []
        if cum_qty is not None and cum_qty <= order.filled_qty:
            order.fill_ids.add(fill_id)
            return []
        events = self.accepted(client_order_id, ts)
        order.fill_ids.add(fill_id)
        order.filled_qty = cum_qty if cum_qty is not None else order.filled_qty + quantity
        order.filled_notional += quantity * price
        leaves = max(order.quantity - order.filled_qty, ZERO)
        events.append(OrderFilled(
            client_order_id=client_order_id,
            venue_order_id=order.venue_order_id or "",
            fill_id=fill_id,
            symbol=order.symbol,
            side=order.side,
            quantity=quantity,
            price=price,
            fee=ZERO,
            fee_currency="USD",
            ts=ts,
            leaves_qty=leaves,
        ))
        if leaves == ZERO:
            order.terminal = True
        return events

    def _terminal(self, client_order_id: str) -> TrackedOrder | None:
        order = self._orders[client_order_id]
        if order.terminal:
            return None
        order.terminal = True
        return order

    def canceled(self, client_order_id: str, ts: datetime, reason: str = "") -> list[BrokerEvent]:
        return [OrderCanceled(client_order_id, ts, reason)] if self._terminal(client_order_id) else []

    def expired(self, client_order_id: str, ts: datetime) -> list[BrokerEvent]:
        return [OrderExpired(client_order_id, ts)] if self._terminal(client_order_id) else []

    def rejected(self, client_order_id: str, reason: str, ts: datetime,
                 venue_code: str | None = None) -> list[BrokerEvent]:
        if not self._terminal(client_order_id):
            return []
        return [OrderRejected(client_order_id, reason, ts, venue_code)]
