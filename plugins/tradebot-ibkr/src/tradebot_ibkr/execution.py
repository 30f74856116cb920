"""Our orders → IB orders, and IB's order status / executions / commission reports → our events.

Every IB order carries ``orderRef`` = our client order id, so orders and executions are matched back to us
by orderRef (stable across reconnects, unlike ib_async's in-memory Trade objects). Each event is emitted
exactly once (the core's ``OrderTracking``): acceptance and the terminal event per client order id, fills
per IB ``execId``; an order found at the venue after a restart is adopted, never accepted a second time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ib_async import Order

from tradebot.brokers.order_tracking import Fill, OrderTracking, TrackedOrder
from tradebot.domain.clock import Clock
from tradebot.domain.errors import ErrorClass
from tradebot.domain.events import (
    BrokerEvent,
    OrderFilled,
    OrderSnapshot,
    OrderStatus,
)
from tradebot.domain.orders import OrderRequest, OrderType, Side, TimeInForce, child_order_id
from tradebot_ibkr import errors as E

UNSET_DOUBLE = 1.7976931348623157e308
_IB_TYPES = {
    OrderType.MARKET: "MKT",
    OrderType.LIMIT: "LMT",
    OrderType.STOP: "STP",
    OrderType.STOP_LIMIT: "STP LMT",
    OrderType.TRAILING_STOP: "TRAIL",
}
_OUR_TYPES = {v: k for k, v in _IB_TYPES.items()}
WORKING_STATUSES = frozenset({"PreSubmitted", "Submitted", "ApiPending", "PendingCancel"})
CANCELED_STATUSES = frozenset({"Cancelled", "ApiCancelled", "Inactive"})


def _price(value: Decimal | None) -> float:
    return UNSET_DOUBLE if value is None else float(value)


def _dec(value: float) -> Decimal:
    """A float from IB as the Decimal it denotes (``1.0`` → ``1``, ``5800.25`` → ``5800.25``)."""
    result = Decimal(repr(float(value)))
    return result.quantize(Decimal(1)) if result == result.to_integral_value() else result


def oca_group_for(client_order_id: str) -> str:
    return f"oca-{client_order_id}"


@dataclass(frozen=True, slots=True)
class Leg:
    """One IB order to place, with our client order id and what we know about it."""

    client_order_id: str
    order: Any  # ib_async.Order
    request: OrderRequest


def ib_order(request: OrderRequest, account: str) -> Any:
    """A single OrderRequest → an ib_async ``Order`` (``orderRef`` = client order id, transmitted)."""
    if request.order_type not in _IB_TYPES:
        raise ValueError(f"order_type {request.order_type} is not supported by ibkr")
    needs_limit = request.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    needs_stop = request.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
    if needs_limit and request.limit_price is None:
        raise ValueError(f"{request.client_order_id}: limit_price is required for {request.order_type}")
    if needs_stop and request.stop_price is None:
        raise ValueError(f"{request.client_order_id}: stop_price is required for {request.order_type}")
    if request.order_type is OrderType.TRAILING_STOP and request.trail_amount is None:
        raise ValueError(f"{request.client_order_id}: trail_amount is required for TRAILING_STOP")
    order = Order(
        action=request.side.value,
        totalQuantity=float(request.quantity),
        orderType=_IB_TYPES[request.order_type],
        tif=request.tif.value,
        orderRef=request.client_order_id,
        account=account,
        transmit=True,
    )
    if needs_limit:
        order.lmtPrice = _price(request.limit_price)
    if needs_stop:
        order.auxPrice = _price(request.stop_price)
    if request.order_type is OrderType.TRAILING_STOP:
        order.auxPrice = _price(request.trail_amount)
        if request.stop_price is not None:
            order.trailStopPrice = _price(request.stop_price)
    return order


def build_legs(request: OrderRequest, account: str, next_id: Callable[[], int]) -> list[Leg]:
    """The IB orders for a request: one order, or parent + target + stop in one OCA group.

    Bracket legs are placed in order with ``transmit`` only on the last (the stop), so TWS releases the
    group atomically; the children are the opposite side, carry ``parentId`` and share ``ocaGroup``
    (ocaType 1: cancel the others when one fills).
    """
    parent = ib_order(request, account)
    parent.orderId = next_id()
    if request.bracket is None:
        return [Leg(request.client_order_id, parent, request)]
    parent.transmit = False
    oca = oca_group_for(request.client_order_id)
    exit_side = request.side.opposite
    legs = [Leg(request.client_order_id, parent, request)]
    children: list[OrderRequest] = []
    if request.bracket.take_profit is not None:
        children.append(
            OrderRequest(
                client_order_id=child_order_id(request.client_order_id, "tp"),
                intent_id=request.intent_id,
                symbol=request.symbol,
                side=exit_side,
                quantity=request.quantity,
                order_type=OrderType.LIMIT,
                ts=request.ts,
                limit_price=request.bracket.take_profit,
                tif=TimeInForce.GTC,
                reduce_only=True,
                parent_client_order_id=request.client_order_id,
            )
        )
    children.append(
        OrderRequest(
            client_order_id=child_order_id(request.client_order_id, "sl"),
            intent_id=request.intent_id,
            symbol=request.symbol,
            side=exit_side,
            quantity=request.quantity,
            order_type=OrderType.STOP,
            ts=request.ts,
            stop_price=request.bracket.stop_loss,
            tif=TimeInForce.GTC,
            reduce_only=True,
            parent_client_order_id=request.client_order_id,
        )
    )
    for i, child_request in enumerate(children):
        child = ib_order(child_request, account)
        child.orderId = next_id()
        child.parentId = parent.orderId
        child.ocaGroup = oca
        child.ocaType = 1
        child.transmit = i == len(children) - 1
        legs.append(Leg(child_request.client_order_id, child, child_request))
    return legs


# --- order records and event translation --------------------------------------------------------------


@dataclass(slots=True)
class OrderRecord:
    """How one of our orders is addressed at IB, and the submit handshake; its event state (accepted,
    fills, final) is the core's ``OrderTracking``."""

    client_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    limit_price: Decimal | None
    stop_price: Decimal | None
    tif: TimeInForce
    reduce_only: bool
    parent_client_order_id: str | None
    order_id: int = 0
    status: OrderStatus = OrderStatus.SUBMITTED
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    failure: ErrorClass | None = None  # the request failed (rate limit, auth, network): no order exists
    failure_message: str = ""

    @classmethod
    def from_request(cls, request: OrderRequest, order_id: int) -> OrderRecord:
        return cls(
            request.client_order_id,
            request.symbol,
            request.side,
            request.quantity,
            request.order_type,
            request.limit_price,
            request.stop_price,
            request.tif,
            request.reduce_only,
            request.parent_client_order_id,
            order_id,
        )

    def snapshot(self, filled: Decimal) -> OrderSnapshot:
        return OrderSnapshot(
            client_order_id=self.client_order_id,
            venue_order_id=str(self.order_id),
            symbol=self.symbol,
            side=self.side,
            quantity=self.quantity,
            filled_qty=filled,
            order_type=self.order_type,
            status=self.status,
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            tif=self.tif,
            reduce_only=self.reduce_only,
            parent_client_order_id=self.parent_client_order_id,
        )


def record_from_trade(trade: Any, parent_ref: str | None) -> OrderRecord:
    """An order found at the venue (e.g. after a restart), from its ib_async Trade."""
    o = trade.order
    ib_type = str(o.orderType)
    order_type = _OUR_TYPES.get(ib_type, OrderType.LIMIT)
    lmt = _dec(o.lmtPrice) if ib_type in ("LMT", "STP LMT") and 0 < o.lmtPrice < UNSET_DOUBLE else None
    aux = _dec(o.auxPrice) if ib_type in ("STP", "STP LMT") and 0 < o.auxPrice < UNSET_DOUBLE else None
    tif = TimeInForce(o.tif) if o.tif in TimeInForce.__members__ else TimeInForce.DAY
    return OrderRecord(
        str(o.orderRef),
        str(trade.contract.symbol),
        Side(o.action),
        _dec(o.totalQuantity),
        order_type,
        lmt,
        aux,
        tif,
        False,
        parent_ref,
        int(o.orderId),
    )


def _trade_filled(trade: Any) -> Decimal:
    raw = trade.orderStatus.filled or getattr(trade.order, "filledQuantity", 0.0)
    return _dec(raw) if 0 < float(raw) < UNSET_DOUBLE else Decimal(0)


class ExecutionTracker:
    """Turns ib_async trade/fill callbacks into our events, once each (through the core's tracking).

    An order of ours that TWS reports but this process did not place (after a restart) is adopted: it is
    already accepted, so its later status and executions become events without a second OrderAccepted.
    """

    def __init__(self, clock: Clock, emit: Callable[[BrokerEvent], None]) -> None:
        self._clock = clock
        self._emit_one = emit
        self.tracking = OrderTracking(default_fee_currency="USD")
        self.records: dict[str, OrderRecord] = {}
        self.by_order_id: dict[int, str] = {}
        self.fill_ids: set[str] = set()  # executions seen (history before this process included)
        self.never_sent: set[str] = set()  # ids whose request failed: TWS keeps a local trace of them
        self.history_mode = False  # while True, executions are recorded as history, not emitted
        self._pending_fills: dict[str, tuple[Any, Any]] = {}

    def _emit(self, events: list[BrokerEvent]) -> None:
        for event in events:
            self._emit_one(event)

    # ----- bookkeeping
    def add(self, record: OrderRecord) -> None:
        """An order this process is placing: pending until TWS answers."""
        self.records[record.client_order_id] = record
        self.never_sent.discard(record.client_order_id)
        self.tracking.expect(record.client_order_id, record.symbol, record.side, record.quantity,
                             parent=record.parent_client_order_id)
        if record.order_id:
            self.by_order_id[record.order_id] = record.client_order_id
            self.tracking.link(record.client_order_id, str(record.order_id))

    def adopt(self, trade: Any, parent_ref: str | None) -> OrderRecord:
        """An order found at the venue: tracked as accepted, its filled quantity the baseline."""
        record = record_from_trade(trade, parent_ref)
        filled = _trade_filled(trade)
        record.status = OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED
        record.answered.set()
        self.records[record.client_order_id] = record
        self.never_sent.discard(record.client_order_id)
        if record.order_id:
            self.by_order_id[record.order_id] = record.client_order_id
        self.tracking.adopt(record.snapshot(filled))
        return record

    def get(self, client_order_id: str) -> OrderRecord | None:
        return self.records.get(client_order_id)

    def state(self, client_order_id: str) -> TrackedOrder | None:
        return self.tracking.get(client_order_id)

    def is_final(self, client_order_id: str) -> bool:
        state = self.tracking.get(client_order_id)
        return state is not None and state.terminal

    def is_accepted(self, client_order_id: str) -> bool:
        state = self.tracking.get(client_order_id)
        return state is not None and state.accepted

    def filled(self, client_order_id: str) -> Decimal:
        state = self.tracking.get(client_order_id)
        return state.filled_qty if state is not None else Decimal(0)

    def snapshot(self, client_order_id: str) -> OrderSnapshot | None:
        record = self.records.get(client_order_id)
        return None if record is None else record.snapshot(self.filled(client_order_id))

    def _record_for(self, trade: Any) -> OrderRecord | None:
        ref = str(getattr(trade.order, "orderRef", "") or "")
        record = self.records.get(ref) if ref else None
        if record is None and not ref:
            coid = self.by_order_id.get(int(trade.order.orderId))
            record = self.records.get(coid) if coid else None
        if record is None and ref:
            record = self.adopt(trade, self._parent_ref(trade))
        if record is not None and trade.order.orderId and record.order_id != trade.order.orderId:
            record.order_id = int(trade.order.orderId)
            self.by_order_id[record.order_id] = record.client_order_id
            self.tracking.link(record.client_order_id, str(record.order_id), primary=False)
        return record

    def _parent_ref(self, trade: Any) -> str | None:
        parent_id = int(getattr(trade.order, "parentId", 0) or 0)
        if not parent_id:
            return None
        return self.by_order_id.get(parent_id)

    # ----- emitters
    def _accept(self, record: OrderRecord) -> None:
        events = self.tracking.accepted(record.client_order_id, self._clock.now(), str(record.order_id))
        if events:
            record.status = OrderStatus.ACCEPTED
        self._emit(events)

    def _cancel(self, record: OrderRecord, reason: str) -> None:
        events = self.tracking.canceled(record.client_order_id, self._clock.now(), reason)
        if events:
            record.status = OrderStatus.CANCELED
        self._emit(events)

    def _reject(self, record: OrderRecord, reason: str, code: int) -> None:
        events = self.tracking.rejected(record.client_order_id, reason, self._clock.now(), str(code))
        if events:
            record.status = OrderStatus.REJECTED
        self._emit(events)

    # ----- ib_async callbacks
    def on_status(self, trade: Any) -> None:
        record = self._record_for(trade)
        if record is None:
            return
        status = str(trade.orderStatus.status)
        if status in ("PreSubmitted", "Submitted", "Filled"):
            record.answered.set()
            self._accept(record)
        elif status in CANCELED_STATUSES:
            code, message = _last_error(trade)
            self._ended(record, code, message)

    def on_error(self, order_id: int, code: int, message: str) -> None:
        """An order-level error for an order ib_async no longer tracks (e.g. after a reconnect)."""
        coid = self.by_order_id.get(order_id)
        record = self.records.get(coid) if coid else None
        if record is not None and (code == 202 or code in E.ORDER_REJECT_CODES or code in (100, 420, 10141)):
            self._ended(record, code, message)

    def _ended(self, record: OrderRecord, code: int, message: str) -> None:
        """The venue ended an order: canceled (202 or no code), rejected, or the request itself failed."""
        cid = record.client_order_id
        if self.is_final(cid) or record.failure is not None:
            return
        if code and code != 202 and not self.is_accepted(cid):
            cls = E.classify_ib_code(code)
            if E.is_request_failure(cls):  # throttled / refused: submit() raises, no order exists
                record.failure = cls
                record.failure_message = message
            else:
                self._reject(record, message or f"IB error {code}", code)
        elif self.filled(cid) < record.quantity:
            self._cancel(
                record, f"{E.IB_ORDER_REJECTED}:{code} {message}" if code and code != 202 else message
            )
        record.answered.set()

    def forget(self, client_order_id: str, *, refused: bool) -> None:
        """Drop a record whose submit did not complete (the id may be submitted again). ``refused``: TWS
        refused the request or it never left, so no order exists (ib_async's local trace of it is none);
        otherwise the order may have reached TWS and a lookup by client order id decides."""
        record = self.records.pop(client_order_id, None)
        if record is not None and self.by_order_id.get(record.order_id) == client_order_id:
            del self.by_order_id[record.order_id]
        self.tracking.forget(client_order_id)
        if refused:
            self.never_sent.add(client_order_id)

    def on_exec(self, trade: Any, fill: Any) -> None:
        exec_id = str(fill.execution.execId)
        if exec_id not in self.fill_ids:
            self._pending_fills[exec_id] = (trade, fill)

    def on_commission(self, trade: Any, fill: Any, report: Any) -> None:
        self._pending_fills.pop(str(fill.execution.execId), None)
        self._fill(fill, report)

    def reconcile_fills(self, fills: list[Any]) -> None:
        """Executions reported by reqExecutions (after a reconnect): emit the ones we never emitted."""
        for fill in sorted(fills, key=lambda f: (f.execution.time, f.execution.execId)):
            self._fill(fill, fill.commissionReport)

    def reconcile_open(self, open_trades: list[Any]) -> None:
        """After a reconnect: adopt/confirm working orders; orders gone without a full fill were canceled."""
        seen: set[str] = set()
        for trade in open_trades:
            record = self._record_for(trade)
            if record is not None:
                seen.add(record.client_order_id)
                if str(trade.orderStatus.status) in WORKING_STATUSES:
                    self._accept(record)
        for record in list(self.records.values()):
            cid = record.client_order_id
            if not self.is_final(cid) and cid not in seen and self.filled(cid) < record.quantity:
                self._cancel(record, E.IB_RECONCILED_NOT_OPEN)

    def _fill(self, fill: Any, report: Any) -> None:
        ex = fill.execution
        exec_id = str(ex.execId)
        if exec_id in self.fill_ids:
            return
        ref = str(ex.orderRef or "")
        record = self.records.get(ref) if ref else self.records.get(self.by_order_id.get(int(ex.orderId), ""))
        if record is None:
            return  # not ours (manual or another client's order)
        self.fill_ids.add(exec_id)
        if self.history_mode:
            return  # before this process started: fills_since reports it; it is not a new event
        shares = _dec(ex.shares)
        fee = _dec(report.commission) if report is not None and report.execId == exec_id else Decimal(0)
        currency = str(report.currency) if report is not None and report.currency else "USD"
        ts = ex.time if isinstance(ex.time, datetime) and ex.time.tzinfo is not None else self._clock.now()
        events = self.tracking.filled(record.client_order_id, Fill(
            exec_id, shares, _dec(ex.price), ts, fee, currency,
            cum_qty=_dec(ex.cumQty) if ex.cumQty else None, venue_order_id=str(record.order_id),
        ))
        state = self.tracking.get(record.client_order_id)
        if events and state is not None:
            record.status = OrderStatus.FILLED if state.leaves_qty == 0 else OrderStatus.PARTIALLY_FILLED
        self._emit(events)


def fill_report(
    fill: Any, quantity_of: Callable[[str], Decimal | None], now: datetime, report: Any | None = None
) -> OrderFilled:
    """One execution from reqExecutions as a reconciliation row (no dedup: a report, not an event).

    ``report`` is the commission report when it reached an earlier copy of this fill (ib_async keeps the
    first Fill per execId; a repeated reqExecutions hands back a fresh one without commission).
    """
    ex = fill.execution
    if report is None or not getattr(report, "execId", ""):
        report = fill.commissionReport
    total = quantity_of(str(ex.orderRef or ""))
    cum = _dec(ex.cumQty) if ex.cumQty else _dec(ex.shares)
    leaves = max(Decimal(0), total - cum) if total is not None else Decimal(0)
    fee = _dec(report.commission) if report is not None and report.execId == ex.execId else Decimal(0)
    ts = ex.time if isinstance(ex.time, datetime) and ex.time.tzinfo is not None else now
    return OrderFilled(
        client_order_id=str(ex.orderRef or ""),
        venue_order_id=str(ex.orderId),
        fill_id=str(ex.execId),
        symbol=str(fill.contract.symbol),
        side=Side.BUY if ex.side == "BOT" else Side.SELL,
        quantity=_dec(ex.shares),
        price=_dec(ex.price),
        fee=fee,
        fee_currency=str(report.currency or "USD") if report is not None else "USD",
        ts=ts,
        leaves_qty=leaves,
    )


_FINAL_STATUSES = {
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELED,
    "ApiCancelled": OrderStatus.CANCELED,
    "Inactive": OrderStatus.REJECTED,
}


def snapshot_from_trade(trade: Any, parent_ref: str | None, final: bool = False) -> OrderSnapshot:
    """An ib_async Trade as an OrderSnapshot; ``final`` maps done states (completed orders) too."""
    record = record_from_trade(trade, parent_ref)
    raw_filled = trade.orderStatus.filled or getattr(trade.order, "filledQuantity", 0.0)
    filled = _dec(raw_filled) if 0 < float(raw_filled) < UNSET_DOUBLE else Decimal(0)
    status = OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED
    if final and str(trade.orderStatus.status) in _FINAL_STATUSES:
        status = _FINAL_STATUSES[str(trade.orderStatus.status)]
    return OrderSnapshot(
        client_order_id=record.client_order_id,
        venue_order_id=str(record.order_id),
        symbol=record.symbol,
        side=record.side,
        quantity=record.quantity,
        filled_qty=filled,
        order_type=record.order_type,
        status=status,
        limit_price=record.limit_price,
        stop_price=record.stop_price,
        tif=record.tif,
        parent_client_order_id=parent_ref,
    )


def _last_error(trade: Any) -> tuple[int, str]:
    for entry in reversed(trade.log or []):
        code = int(getattr(entry, "errorCode", 0) or 0)
        if code:
            return code, str(entry.message)
    return 0, ""
