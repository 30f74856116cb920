"""Orders the adapter knows about, and the event sink that emits each venue event exactly once.

Regular orders are keyed by ``clientOrderId`` (= our client order id) and ``orderId``; conditional orders
(Algo API) by ``clientAlgoId`` (= our client order id) and ``algoId``, plus the ``orderId`` of the order the
algo placed when it triggered. The sink guarantees per order: one OrderAccepted before anything else, each
fill (``fill_id`` = Binance trade id) once, and one terminal event; later repeats are dropped.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from tradebot.domain.events import (
    BrokerEvent,
    ConnectionEvent,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)
from tradebot.domain.orders import OrderType, Side, TimeInForce


@dataclass(slots=True)
class TrackedOrder:
    client_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    is_algo: bool = False
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    parent: str | None = None
    venue_order_id: str | None = None  # orderId, or "algo:<algoId>"
    algo_id: int | None = None
    actual_order_id: str | None = None  # orderId placed by a triggered algo
    filled: Decimal = Decimal(0)
    accepted: bool = False
    terminal: bool = False
    fill_ids: set[str] = field(default_factory=set)
    children: tuple[str, ...] = ()  # bracket legs of an entry
    siblings: tuple[str, ...] = ()  # the other leg(s) of an emulated OCO

    @property
    def leaves(self) -> Decimal:
        return max(Decimal(0), self.quantity - self.filled)


class OrderTracker:
    def __init__(self) -> None:
        self._by_cid: dict[str, TrackedOrder] = {}
        self._by_venue: dict[str, str] = {}

    def add(self, order: TrackedOrder) -> TrackedOrder:
        existing = self._by_cid.get(order.client_order_id)
        if existing is not None:
            return existing
        self._by_cid[order.client_order_id] = order
        return order

    def link(self, client_order_id: str, venue_id: str) -> None:
        self._by_venue[venue_id] = client_order_id

    def get(self, client_order_id: str) -> TrackedOrder | None:
        return self._by_cid.get(client_order_id)

    def by_venue(self, venue_id: str) -> TrackedOrder | None:
        cid = self._by_venue.get(venue_id)
        return None if cid is None else self._by_cid.get(cid)

    def find(self, client_order_id: str, venue_id: str | None) -> TrackedOrder | None:
        found = self._by_cid.get(client_order_id)
        if found is None and venue_id is not None:
            found = self.by_venue(venue_id)
        return found

    def live(self) -> list[TrackedOrder]:
        return [o for o in self._by_cid.values() if not o.terminal]

    def symbols(self) -> set[str]:
        return {o.symbol for o in self._by_cid.values()}


class EventSink:
    """Bounded queue of broker events with per-order exactly-once rules."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self.queue: asyncio.Queue[BrokerEvent | None] = asyncio.Queue(maxsize=maxsize)

    async def _put(self, event: BrokerEvent) -> None:
        await self.queue.put(event)

    async def connection(self, state: str, ts: datetime, reason: str = "") -> None:
        await self._put(ConnectionEvent(state=state, ts=ts, reason=reason))

    async def accepted(self, order: TrackedOrder, ts: datetime) -> None:
        if order.accepted or order.terminal:
            return
        order.accepted = True
        await self._put(OrderAccepted(order.client_order_id, order.venue_order_id or "", ts))

    async def rejected(self, order: TrackedOrder, reason: str, ts: datetime, venue_code: str | None) -> None:
        if order.terminal:
            return
        order.terminal = True
        await self._put(OrderRejected(order.client_order_id, reason, ts, venue_code))

    async def filled(
        self,
        order: TrackedOrder,
        fill_id: str,
        qty: Decimal,
        price: Decimal,
        fee: Decimal,
        fee_currency: str,
        ts: datetime,
        venue_order_id: str,
    ) -> bool:
        """Emit one execution; False when it was seen before."""
        if fill_id in order.fill_ids or qty <= 0:
            return False
        if not order.accepted:
            await self.accepted(order, ts)
        order.fill_ids.add(fill_id)
        order.filled += qty
        if order.filled >= order.quantity:
            order.terminal = True
        await self._put(
            OrderFilled(
                client_order_id=order.client_order_id,
                venue_order_id=venue_order_id,
                fill_id=fill_id,
                symbol=order.symbol,
                side=order.side,
                quantity=qty,
                price=price,
                fee=fee,
                fee_currency=fee_currency,
                ts=ts,
                leaves_qty=order.leaves,
            )
        )
        return True

    async def canceled(self, order: TrackedOrder, ts: datetime, reason: str = "") -> None:
        if order.terminal:
            return
        if not order.accepted:
            await self.accepted(order, ts)
        order.terminal = True
        await self._put(OrderCanceled(order.client_order_id, ts, reason))

    async def expired(self, order: TrackedOrder, ts: datetime) -> None:
        if order.terminal:
            return
        if not order.accepted:
            await self.accepted(order, ts)
        order.terminal = True
        await self._put(OrderExpired(order.client_order_id, ts))

    async def close(self) -> None:
        await self.queue.put(None)
