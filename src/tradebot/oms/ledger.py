"""The write-ahead order ledger: every order's status, derived from what we sent and what the venue said.

An order enters the ledger as PENDING_SUBMIT before the broker is called (the pipeline writes that
intent durably to the event store first), becomes SUBMITTED when ``submit`` returns, and follows the
venue's events from there. Events for bracket children (``<parent>-sl``/``<parent>-tp``) create their
entries from the parent. Fills are applied once each, by fill id.

Finished orders are kept up to the most recent ``RETAINED`` (``domain/recent.py``), so a long run's
memory stays flat; a bracket entry stays while its legs may still work (they are made from its request).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
from tradebot.domain.orders import OrderRequest, OrderType, Side, child_order_id
from tradebot.domain.reasons import DUPLICATE_CLIENT_ORDER_ID
from tradebot.domain.recent import RETAINED

ZERO = Decimal(0)


@dataclass(slots=True)
class LedgerEntry:
    client_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    status: OrderStatus
    reduce_only: bool = False
    request: OrderRequest | None = None
    venue_order_id: str = ""
    filled_qty: Decimal = ZERO
    reject_reason: str = ""
    fill_ids: set[str] = field(default_factory=set)

    @property
    def is_open(self) -> bool:
        return not self.status.is_terminal

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled_qty


class Ledger:
    def __init__(self) -> None:
        self._entries: dict[str, LedgerEntry] = {}
        # entries that may still be open (pruned lazily: a terminal order never reopens)
        self._maybe_open: dict[str, LedgerEntry] = {}
        self._finished: dict[str, None] = {}  # finished entries, oldest first

    def __contains__(self, client_order_id: str) -> bool:
        return client_order_id in self._entries

    def get(self, client_order_id: str) -> LedgerEntry | None:
        return self._entries.get(client_order_id)

    def entries(self) -> list[LedgerEntry]:
        return list(self._entries.values())

    def record_intent(self, request: OrderRequest) -> LedgerEntry:
        if request.client_order_id in self._entries:
            raise ValueError(f"client order id {request.client_order_id} is already in the ledger")
        entry = LedgerEntry(
            client_order_id=request.client_order_id,
            symbol=request.symbol,
            side=request.side,
            quantity=request.quantity,
            order_type=request.order_type,
            status=OrderStatus.PENDING_SUBMIT,
            reduce_only=request.reduce_only,
            request=request,
        )
        self._entries[request.client_order_id] = entry
        self._maybe_open[request.client_order_id] = entry
        return entry

    def mark_submitted(self, client_order_id: str) -> None:
        entry = self._entries[client_order_id]
        if entry.status is OrderStatus.PENDING_SUBMIT:
            entry.status = OrderStatus.SUBMITTED

    def _entry_for(self, client_order_id: str, fill: OrderFilled | None = None) -> LedgerEntry | None:
        entry = self._entries.get(client_order_id)
        if entry is not None:
            return entry
        parent_id, _, leg = client_order_id.rpartition("-")
        parent = self._entries.get(parent_id)
        if parent is None or parent.request is None or parent.request.bracket is None:
            if fill is None:
                return None
            entry = LedgerEntry(
                client_order_id,
                fill.symbol,
                fill.side,
                fill.quantity + fill.leaves_qty,
                OrderType.MARKET,
                OrderStatus.ACCEPTED,
            )
            self._entries[client_order_id] = entry
            self._maybe_open[client_order_id] = entry
            return entry
        bracket = parent.request.bracket
        is_stop = leg == "sl"
        entry = LedgerEntry(
            client_order_id=client_order_id,
            symbol=parent.symbol,
            side=parent.side.opposite,
            quantity=parent.quantity,
            order_type=OrderType.STOP if is_stop else OrderType.LIMIT,
            status=OrderStatus.SUBMITTED,  # sent with the parent; the venue's events take it from here
            reduce_only=True,
            request=replace(
                parent.request,
                client_order_id=client_order_id,
                side=parent.side.opposite,
                order_type=OrderType.STOP if is_stop else OrderType.LIMIT,
                stop_price=bracket.stop_loss if is_stop else None,
                limit_price=None if is_stop else bracket.take_profit,
                reduce_only=True,
                bracket=None,
                parent_client_order_id=parent.client_order_id,
            ),
        )
        self._entries[client_order_id] = entry
        self._maybe_open[client_order_id] = entry
        return entry

    def apply(self, event: BrokerEvent) -> bool:
        """Apply a venue event. False when it changes nothing (a repeat, or not an order event)."""
        changed = self._apply(event)
        if changed:
            self._note_if_finished(getattr(event, "client_order_id", ""))
        return changed

    def _apply(self, event: BrokerEvent) -> bool:
        if isinstance(event, OrderFilled):
            entry = self._entry_for(event.client_order_id, event)
            if entry is None or event.fill_id in entry.fill_ids:
                return False
            entry.fill_ids.add(event.fill_id)
            entry.filled_qty += event.quantity
            if event.venue_order_id:
                entry.venue_order_id = event.venue_order_id
            entry.status = OrderStatus.FILLED if event.leaves_qty == ZERO else OrderStatus.PARTIALLY_FILLED
            return True
        if isinstance(event, OrderAccepted):
            entry = self._entry_for(event.client_order_id)
            if entry is None:
                return False
            entry.venue_order_id = event.venue_order_id
            if entry.status in (OrderStatus.PENDING_SUBMIT, OrderStatus.SUBMITTED):
                entry.status = OrderStatus.ACCEPTED
                return True
            return False
        if isinstance(event, OrderRejected | OrderCanceled | OrderExpired):
            entry = self._entry_for(event.client_order_id)
            if entry is None or entry.status.is_terminal:
                return False
            if isinstance(event, OrderRejected) and event.venue_code == DUPLICATE_CLIENT_ORDER_ID:
                # the venue refused a second order with this id: the first one stands (the OMS looks it
                # up); this says nothing about the order's own state
                return False
            if isinstance(event, OrderRejected):
                entry.status = OrderStatus.REJECTED
                entry.reject_reason = event.reason
            elif isinstance(event, OrderCanceled):
                entry.status = OrderStatus.CANCELED
            else:
                entry.status = OrderStatus.EXPIRED
            return True
        return False

    def adopt(self, snapshot: OrderSnapshot) -> None:
        """Take the venue's word for an order's state (reconciliation). A bracket leg of a known parent is
        entered as its events would have entered it (from the parent's request), so it is handled as a leg."""
        entry = self._entry_for(snapshot.client_order_id)
        if entry is None:
            entry = LedgerEntry(
                snapshot.client_order_id,
                snapshot.symbol,
                snapshot.side,
                snapshot.quantity,
                snapshot.order_type,
                snapshot.status,
                snapshot.reduce_only,
            )
            self._entries[snapshot.client_order_id] = entry
        if not snapshot.status.is_terminal:
            self._maybe_open[snapshot.client_order_id] = entry
        entry.status = snapshot.status
        entry.venue_order_id = snapshot.venue_order_id
        entry.filled_qty = max(entry.filled_qty, snapshot.filled_qty)
        self._note_if_finished(snapshot.client_order_id)

    def abandon(self, client_order_id: str, reason: str) -> None:
        """Close an order the venue never received (found by reconciliation): it will not be sent."""
        entry = self._entries[client_order_id]
        entry.status = OrderStatus.REJECTED
        entry.reject_reason = reason
        self._note_if_finished(client_order_id)

    def _note_if_finished(self, client_order_id: str) -> None:
        entry = self._entries.get(client_order_id)
        if entry is None or entry.is_open or client_order_id in self._finished:
            return
        self._finished[client_order_id] = None
        if len(self._finished) > RETAINED:
            self._forget_oldest_finished()

    def _forget_oldest_finished(self) -> None:
        cid = next(iter(self._finished))
        del self._finished[cid]
        entry = self._entries.get(cid)
        if entry is not None and (self._legs_may_work(entry) or self._parent_kept(entry)):
            self._finished[cid] = None  # waits its turn again at the back
            return
        self._entries.pop(cid, None)
        self._maybe_open.pop(cid, None)

    def _parent_kept(self, entry: LedgerEntry) -> bool:
        """A bracket leg goes after its entry (the entry judges its legs by their entries)."""
        parent = entry.request.parent_client_order_id if entry.request is not None else None
        return parent is not None and parent in self._entries

    def _legs_may_work(self, entry: LedgerEntry) -> bool:
        """A filled bracket entry whose stop or target is not known to be finished: a leg's entry is made
        from the parent's request when its first event comes."""
        request = entry.request
        if request is None or request.bracket is None or entry.filled_qty == ZERO:
            return False
        legs = ["sl"] + (["tp"] if request.bracket.take_profit is not None else [])
        for leg in legs:
            known = self._entries.get(child_order_id(entry.client_order_id, leg))
            if known is None or known.is_open:
                return True
        return False

    def open_entries(self, symbol: str | None = None) -> list[LedgerEntry]:
        for cid in [cid for cid, e in self._maybe_open.items() if not e.is_open]:
            del self._maybe_open[cid]
        return [e for e in self._maybe_open.values() if symbol is None or e.symbol == symbol]

    def working_entry_qty(self, symbol: str) -> Decimal:
        """Signed remaining quantity of open non-reduce-only orders in ``symbol``."""
        return sum((e.remaining * e.side.sign for e in self.open_entries(symbol) if not e.reduce_only), ZERO)

    def unacknowledged(self) -> list[LedgerEntry]:
        return [
            e
            for e in self._entries.values()
            if e.status in (OrderStatus.PENDING_SUBMIT, OrderStatus.SUBMITTED)
        ]
