"""Order bookkeeping every broker adapter needs, done once: ids, fills, leaves, final events, adoption.

An adapter tells ``OrderTracking`` what it sends and what the venue says; the tracking answers with the
``BrokerEvent``s to emit, keeping the protocol's per-order rules:

- an order the adapter sent is *pending* until the venue confirms it (an ack, a fill, a cancel, a lookup);
  a pending order that never reached the venue is ``forget``-ten and produces no event at all;
- OrderAccepted comes once, before any other event of an order that reached the venue;
- each fill comes once: known fill ids are dropped, and so is a fill whose cumulative quantity (when the
  venue reports one) was already counted — the same execution seen from a stream and a lookup;
- ``leaves_qty`` = quantity - filled so far; the fill that leaves nothing is the final event;
- after a final event nothing more is emitted for the order, except a late execution (a real fill is
  never dropped);
- an order found at the venue (after a restart, on a lookup, on reconciliation) is *adopted*: it is
  tracked as already accepted, with its filled quantity as the baseline, so its later updates become
  events at once and no second OrderAccepted is emitted for it. Bracket legs are adopted with their parent.

Venue ids: each order may have several (a conditional order and the order it places when it triggers, a
replacement); ``link`` maps any of them to the client order id.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from tradebot.domain.events import (
    BrokerEvent,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSnapshot,
    OrderStatus,
)
from tradebot.domain.orders import Side

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class TrackedOrder:
    """What the tracking knows about one order (a value: every change makes a new one)."""

    client_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    parent: str | None = None
    venue_order_id: str | None = None
    at_venue: bool = False  # the venue confirmed it (ack, fill, lookup, adoption)
    accepted: bool = False  # OrderAccepted was emitted, or the order was adopted already accepted
    terminal: bool = False
    adopted: bool = False
    filled_qty: Decimal = ZERO
    filled_notional: Decimal = ZERO
    fill_ids: frozenset[str] = frozenset()
    legs: tuple[str, ...] = ()  # bracket legs of an entry
    siblings: tuple[str, ...] = ()  # the other leg(s) of a one-cancels-other pair

    @property
    def leaves_qty(self) -> Decimal:
        return max(self.quantity - self.filled_qty, ZERO)

    @property
    def avg_price(self) -> Decimal | None:
        return self.filled_notional / self.filled_qty if self.filled_qty > 0 else None


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution as the venue reports it; ``cum_qty`` is the order's filled quantity after it."""

    fill_id: str
    quantity: Decimal
    price: Decimal
    ts: datetime
    fee: Decimal = ZERO
    fee_currency: str = ""
    cum_qty: Decimal | None = None
    venue_order_id: str | None = None  # the venue id the execution belongs to, when not the order's own


@dataclass(slots=True)
class OrderTracking:
    """The orders of one adapter instance, keyed by client order id and by every venue id."""

    default_fee_currency: str = ""
    _orders: dict[str, TrackedOrder] = field(default_factory=dict)
    _venue: dict[str, str] = field(default_factory=dict)

    # --- lookups ------------------------------------------------------------------------------------
    def get(self, client_order_id: str) -> TrackedOrder | None:
        return self._orders.get(client_order_id)

    def __contains__(self, client_order_id: object) -> bool:
        return client_order_id in self._orders

    def client_id_for(self, venue_order_id: str) -> str | None:
        return self._venue.get(venue_order_id)

    def find(self, client_order_id: str | None = None,
             venue_order_id: str | None = None) -> TrackedOrder | None:
        """The order a venue message is about: by client order id first, then by venue id."""
        if client_order_id:
            found = self._orders.get(client_order_id)
            if found is not None:
                return found
        if venue_order_id:
            cid = self._venue.get(venue_order_id)
            if cid is not None:
                return self._orders.get(cid)
        return None

    def working(self) -> list[TrackedOrder]:
        """Orders the venue has and that are not final."""
        return [o for o in self._orders.values() if o.at_venue and not o.terminal]

    def unconfirmed(self) -> list[TrackedOrder]:
        """Orders sent (or being sent) that the venue has not confirmed yet."""
        return [o for o in self._orders.values() if not o.at_venue and not o.terminal]

    def symbols(self) -> set[str]:
        return {o.symbol for o in self._orders.values()}

    # --- registering --------------------------------------------------------------------------------
    def expect(self, client_order_id: str, symbol: str, side: Side, quantity: Decimal, *,
               parent: str | None = None, legs: tuple[str, ...] = (),
               siblings: tuple[str, ...] = ()) -> TrackedOrder:
        """An order about to be sent: pending until the venue confirms it. A known id keeps its record."""
        known = self._orders.get(client_order_id)
        if known is not None:
            return known
        order = TrackedOrder(client_order_id, symbol, side, quantity, parent, legs=legs, siblings=siblings)
        self._orders[client_order_id] = order
        return order

    def forget(self, client_order_id: str) -> None:
        """The order never reached the venue: drop it without a trace (no event, no venue id)."""
        order = self._orders.get(client_order_id)
        if order is None or order.at_venue:
            return
        del self._orders[client_order_id]
        for vid in [v for v, c in self._venue.items() if c == client_order_id]:
            del self._venue[vid]

    def link(self, client_order_id: str, venue_order_id: str, *, primary: bool = True) -> TrackedOrder:
        """``venue_order_id`` stands for our order; ``primary``: it is the id events carry."""
        order = self._orders[client_order_id]
        self._venue[venue_order_id] = client_order_id
        if primary and order.venue_order_id is None:
            order = self._set(replace(order, venue_order_id=venue_order_id))
        return order

    def relate(self, client_order_id: str, *, legs: tuple[str, ...] | None = None,
               siblings: tuple[str, ...] | None = None, quantity: Decimal | None = None) -> TrackedOrder:
        """Set bracket relations (or the venue's quantity, which is the truth) of a tracked order."""
        order = self._orders[client_order_id]
        return self._set(replace(
            order,
            legs=order.legs if legs is None else legs,
            siblings=order.siblings if siblings is None else siblings,
            quantity=order.quantity if quantity is None else quantity,
        ))

    def adopt(self, snapshot: OrderSnapshot, *, siblings: tuple[str, ...] = ()) -> list[BrokerEvent]:
        """Track an order found at the venue as already accepted (nothing is emitted for what it was).

        Its filled quantity is the baseline: a later fill with a cumulative quantity at or below it is
        not new. A terminal snapshot is tracked as final. A known order is only linked to its venue id
        and marked as at the venue: what it missed (fills, then its final state) the adapter reports from
        its own lookup of that order, in that order. Returns the events to emit: none, adoption is silent.
        """
        cid = snapshot.client_order_id
        known = self._orders.get(cid)
        if known is not None:
            order = self._set(replace(known, at_venue=True,
                                      venue_order_id=known.venue_order_id or snapshot.venue_order_id))
            self._venue[snapshot.venue_order_id] = cid
            if siblings and not order.siblings:
                self._set(replace(order, siblings=siblings))
            return []
        parent = snapshot.parent_client_order_id
        order = TrackedOrder(
            client_order_id=cid, symbol=snapshot.symbol, side=snapshot.side, quantity=snapshot.quantity,
            parent=parent, venue_order_id=snapshot.venue_order_id, at_venue=True,
            accepted=snapshot.status is not OrderStatus.REJECTED, terminal=snapshot.status.is_terminal,
            adopted=True, filled_qty=snapshot.filled_qty, siblings=siblings,
        )
        self._orders[cid] = order
        self._venue[snapshot.venue_order_id] = cid
        if parent is not None and parent in self._orders:
            owner = self._orders[parent]
            if cid not in owner.legs:
                self._set(replace(owner, legs=(*owner.legs, cid)))
        legs = tuple(o.client_order_id for o in self._orders.values() if o.parent == cid)
        if legs:  # legs adopted before their parent
            self._set(replace(order, legs=legs))
        return []

    # --- venue facts → events -----------------------------------------------------------------------
    def accepted(self, client_order_id: str, ts: datetime,
                 venue_order_id: str | None = None) -> list[BrokerEvent]:
        order = self._orders[client_order_id]
        if venue_order_id is not None:
            order = self.link(client_order_id, venue_order_id)
        if order.accepted or order.terminal:
            if not order.at_venue:
                self._set(replace(order, at_venue=True))
            return []
        order = self._set(replace(order, accepted=True, at_venue=True))
        return [OrderAccepted(client_order_id, order.venue_order_id or venue_order_id or "", ts)]

    def filled(self, client_order_id: str, fill: Fill) -> list[BrokerEvent]:
        """One execution; nothing when it was seen before (by fill id or cumulative quantity)."""
        order = self._orders[client_order_id]
        if fill.fill_id in order.fill_ids or fill.quantity <= 0:
            return []
        if fill.cum_qty is not None and fill.cum_qty <= order.filled_qty:
            self._set(replace(order, fill_ids=order.fill_ids | {fill.fill_id}))
            return []
        events = self.accepted(client_order_id, fill.ts)
        order = self._orders[client_order_id]
        filled_qty = fill.cum_qty if fill.cum_qty is not None else order.filled_qty + fill.quantity
        order = self._set(replace(
            order, fill_ids=order.fill_ids | {fill.fill_id}, filled_qty=filled_qty, at_venue=True,
            filled_notional=order.filled_notional + fill.quantity * fill.price,
        ))
        leaves = order.leaves_qty
        events.append(OrderFilled(
            client_order_id=client_order_id,
            venue_order_id=fill.venue_order_id or order.venue_order_id or "",
            fill_id=fill.fill_id,
            symbol=order.symbol,
            side=order.side,
            quantity=fill.quantity,
            price=fill.price,
            fee=fill.fee,
            fee_currency=fill.fee_currency or self.default_fee_currency,
            ts=fill.ts,
            leaves_qty=leaves,
        ))
        if leaves == ZERO and not order.terminal:
            self._set(replace(order, terminal=True))
        return events

    def canceled(self, client_order_id: str, ts: datetime, reason: str = "") -> list[BrokerEvent]:
        events = self._close(client_order_id, ts)
        return [*events, OrderCanceled(client_order_id, ts, reason)] if events is not None else []

    def expired(self, client_order_id: str, ts: datetime) -> list[BrokerEvent]:
        events = self._close(client_order_id, ts)
        return [*events, OrderExpired(client_order_id, ts)] if events is not None else []

    def rejected(self, client_order_id: str, reason: str, ts: datetime,
                 venue_code: str | None = None) -> list[BrokerEvent]:
        """The venue (or the adapter, before sending) refused the order: its first and final event."""
        order = self._orders[client_order_id]
        if order.terminal:
            return []
        self._set(replace(order, terminal=True))
        return [OrderRejected(client_order_id, reason, ts, venue_code)]

    def _close(self, client_order_id: str, ts: datetime) -> list[BrokerEvent] | None:
        """Mark final; None when it already was. An order never acknowledged is accepted first."""
        order = self._orders[client_order_id]
        if order.terminal:
            return None
        events = self.accepted(client_order_id, ts)
        self._set(replace(self._orders[client_order_id], terminal=True))
        return events

    def _set(self, order: TrackedOrder) -> TrackedOrder:
        self._orders[order.client_order_id] = order
        return order
