"""EQS, the execution quality score, in [0, 1], over the last ``window`` orders sent in the last
``max_age_s`` seconds (pipeline clock). Orders age out, so a low score recovers even when the gate it feeds
stops new entries: without the age limit a reject would block entries for good.

Each order scores a penalty in [0, 1], the sum (capped at 1) of:

    rejected by the venue                                          1.0
    adverse slippage vs the arrival price, in bps of arrival:
        min(1, max(0, slip - tolerance_bps) / tolerance_bps) x ``slippage_weight`` (0.5)
    acknowledgement latency (submit -> accepted/first fill/rejected):
        min(1, max(0, latency - max_ack_ms) / max_ack_ms) x ``latency_weight`` (0.5)
    no acknowledgement after ``max_ack_ms`` x 2 at query time   ``latency_weight``

    EQS = 1 - mean(penalties)        (1.0 with no recent orders)

Arrival price = the reference price the order was decided at. Slippage for a buy is
(avg fill - arrival) / arrival, for a sell (arrival - avg fill) / arrival; favourable slippage is 0.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tradebot.domain.events import BrokerEvent, OrderAccepted, OrderFilled, OrderRejected
from tradebot.domain.orders import Side


@dataclass(frozen=True, slots=True)
class EqsConfig:
    window: int = 20
    slippage_tolerance_bps: float = 5.0
    slippage_weight: float = 0.5
    max_ack_ms: float = 2000.0
    latency_weight: float = 0.5
    max_age_s: float = 3600.0  # an order older than this (by the pipeline clock) no longer counts


@dataclass(slots=True)
class _Order:
    side: Side
    arrival: Decimal
    submitted_at: datetime
    acked_at: datetime | None = None
    rejected: bool = False
    filled_qty: Decimal = Decimal(0)
    filled_value: Decimal = Decimal(0)
    penalty: float | None = None  # cached once acknowledged (then it no longer depends on the query time)


class ExecutionQuality:
    def __init__(self, config: EqsConfig | None = None) -> None:
        self.config = config or EqsConfig()
        self._orders: OrderedDict[str, _Order] = OrderedDict()

    def on_submitted(self, client_order_id: str, side: Side, arrival_price: Decimal, now: datetime) -> None:
        self._orders[client_order_id] = _Order(side, arrival_price, now)
        while len(self._orders) > self.config.window:
            self._orders.popitem(last=False)

    def forget(self, client_order_id: str) -> None:
        """An order that never reached the venue (abandoned after a restart) says nothing about execution."""
        self._orders.pop(client_order_id, None)

    def on_found_at_venue(self, client_order_id: str, now: datetime) -> None:
        """Reconciliation found at the venue an order whose acknowledgement this process never saw (it was
        lost with a kill, or only a fill recovered ``now`` said so): it was acknowledged, at a time nobody
        knows, so no latency is charged for it (acknowledged at its submit). Slippage and rejects still
        count."""
        order = self._orders.get(client_order_id)
        if order is not None and (order.acked_at is None or order.acked_at >= now):
            order.acked_at = order.submitted_at
            order.penalty = None

    def on_order_event(self, event: BrokerEvent, now: datetime) -> None:
        cid = getattr(event, "client_order_id", None)
        order = self._orders.get(cid) if cid else None
        if order is None:
            return
        order.penalty = None
        if isinstance(event, OrderAccepted | OrderRejected | OrderFilled) and order.acked_at is None:
            order.acked_at = now
        if isinstance(event, OrderRejected):
            order.rejected = True
        elif isinstance(event, OrderFilled):
            order.filled_qty += event.quantity
            order.filled_value += event.quantity * event.price

    def _drop_older(self, now: datetime) -> None:
        orders = self._orders
        while orders:
            oldest = next(iter(orders.values()))
            if (now - oldest.submitted_at).total_seconds() <= self.config.max_age_s:
                return
            orders.popitem(last=False)

    def _penalty(self, order: _Order, now: datetime | None) -> float:
        cfg = self.config
        penalty = 1.0 if order.rejected else 0.0
        if order.filled_qty > 0 and order.arrival > 0:
            avg = order.filled_value / order.filled_qty
            slip = (avg - order.arrival) if order.side is Side.BUY else (order.arrival - avg)
            slip_bps = float(slip / order.arrival) * 10_000.0
            excess = max(0.0, slip_bps - cfg.slippage_tolerance_bps) / cfg.slippage_tolerance_bps
            penalty += min(1.0, excess) * cfg.slippage_weight
        if order.acked_at is not None:
            latency_ms = (order.acked_at - order.submitted_at).total_seconds() * 1000.0
            excess = max(0.0, latency_ms - cfg.max_ack_ms) / cfg.max_ack_ms
            penalty += min(1.0, excess) * cfg.latency_weight
        elif now is not None and (now - order.submitted_at).total_seconds() * 1000.0 > 2 * cfg.max_ack_ms:
            penalty += cfg.latency_weight
        return min(1.0, penalty)

    def score(self, now: datetime | None = None) -> float:
        if now is not None:
            self._drop_older(now)
        if not self._orders:
            return 1.0
        penalties: list[float] = []
        for order in self._orders.values():
            penalty = order.penalty
            if penalty is None:
                penalty = self._penalty(order, now)
                if order.acked_at is not None:
                    order.penalty = penalty
            penalties.append(penalty)
        return max(0.0, min(1.0, 1.0 - sum(penalties) / len(penalties)))
