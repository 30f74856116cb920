"""The evidence about one closed trade that the attribution rules read, gathered from a store view: the role
of the order that closed it, its gross and net PnL, the risk its stop planned, the slippage of its fills
against the plan, faults of its orders, data problems and trading-state moves while it was open.

Slippage is measured against the plan, from the orders and fills alone: an order decided on a bar against
that decision's price (the bar's close), a bracket leg against its stop or target level; a fill's latency is
from the order's submit time to its first fill."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from tradebot.analytics.attribution import Attribution, AttributionRules, TradeEvidence, attribute
from tradebot.analytics.store_view import DataIssue, OrderRecord, StateMove, StoreView
from tradebot.analytics.trades import Trade

ZERO = Decimal(0)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class EvidenceIndex:
    """The view's orders, data problems and state moves arranged for lookups by trade (built once)."""

    orders_by_symbol: Mapping[str, tuple[list[datetime], list[OrderRecord]]]  # by submit time
    legs: Mapping[str, list[OrderRecord]]  # a parent's bracket legs
    issues_by_symbol: Mapping[str, tuple[list[datetime], list[DataIssue]]]
    halts: tuple[list[datetime], list[StateMove]]

    @classmethod
    def of(cls, view: StoreView) -> EvidenceIndex:
        by_symbol: dict[str, list[OrderRecord]] = defaultdict(list)
        legs: dict[str, list[OrderRecord]] = defaultdict(list)
        for order in view.orders.values():
            if order.parent_client_order_id is not None:
                legs[order.parent_client_order_id].append(order)
            if order.submitted_at is not None:
                by_symbol[order.symbol].append(order)
        issues: dict[str, list[DataIssue]] = defaultdict(list)
        for issue in view.data_issues:
            issues[issue.symbol].append(issue)
        moves = sorted((m for m in view.state_moves if m.to != "ACTIVE"), key=lambda m: m.ts)
        return cls(
            {s: _by_time(rows, lambda o: o.submitted_at) for s, rows in by_symbol.items()},
            legs,
            {s: _by_time(rows, lambda i: i.ts) for s, rows in issues.items()},
            ([m.ts for m in moves], moves),
        )


def _by_time(rows: list[T], when: Callable[[T], datetime | None]) -> tuple[list[datetime], list[T]]:
    ordered = sorted(rows, key=lambda row: when(row) or datetime.min)
    return [when(row) or datetime.min for row in ordered], ordered


def _between(
    timed: tuple[list[datetime], list[T]], start: datetime, end: datetime, *, closed: bool
) -> list[T]:
    """Rows with ``start <= t <= end`` (``closed``) or ``start < t <= end``."""
    times, rows = timed
    low = bisect_left(times, start) if closed else bisect_right(times, start)
    return rows[low : bisect_right(times, end)]


@dataclass(frozen=True, slots=True)
class WhileOpen:
    """What happened while a trade was open: its orders (the one that opened it, its bracket legs, the one
    that closed it, every order of the symbol sent meanwhile), the symbol's data problems, the halts."""

    orders: list[OrderRecord]
    issues: list[str]
    halts: list[str]


def while_open(view: StoreView, index: EvidenceIndex, trade: Trade) -> WhileOpen:
    """From a whole store's view (``tradebot report``)."""
    found: dict[str, OrderRecord] = {}
    for cid in (trade.entry_order, trade.exit_order):
        if cid in view.orders:
            found[cid] = view.orders[cid]
    for order in index.legs.get(trade.entry_order, ()):
        found[order.client_order_id] = order
    timed = index.orders_by_symbol.get(trade.symbol)
    if timed is not None:
        for order in _between(timed, trade.entry_time, trade.exit_time, closed=True):
            found[order.client_order_id] = order
    issues = index.issues_by_symbol.get(trade.symbol, ([], []))
    return WhileOpen(
        list(found.values()),
        [issue_text(i) for i in _between(issues, trade.entry_time, trade.exit_time, closed=False)],
        [halt_text(m) for m in _between(index.halts, trade.entry_time, trade.exit_time, closed=False)],
    )


def issue_text(issue: DataIssue) -> str:
    return f"{issue.code} at {issue.ts.isoformat()}"


def halt_text(move: StateMove) -> str:
    return f"{move.to} {move.code} at {move.ts.isoformat()}"


def trade_evidence(view: StoreView, trade: Trade, during: WhileOpen, late_fill_ms: int) -> TradeEvidence:
    return TradeEvidence(
        key=trade.key,
        symbol=trade.symbol,
        exit_role=trade.exit_reason,
        pnl_gross=trade.pnl_gross,
        pnl_net=trade.pnl_net,
        planned_risk=_planned_risk(view, trade),
        slippage_cost=_slippage_cost(view, trade),
        worst_slippage_bps=_worst_slippage(view, during.orders),
        order_faults=_faults(during.orders, late_fill_ms),
        data_issues=_data_issues(view, trade, during.issues),
        halts=tuple(during.halts),
    )


def _planned_risk(view: StoreView, trade: Trade) -> Decimal | None:
    entry = view.orders.get(trade.entry_order)
    decision = view.decisions_by_intent.get(entry.intent_id) if entry is not None else None
    if decision is None or decision.stop_loss is None:
        return None
    planned_entry = decision.reference_price or trade.entry_price
    distance = abs(planned_entry - decision.stop_loss)
    return distance * trade.quantity * view.point_value(trade.symbol, trade.entry_price)


def _planned_price(view: StoreView, order: OrderRecord) -> Decimal | None:
    if order.leg:
        return order.trigger_price
    decision = view.decisions_by_intent.get(order.intent_id)
    return decision.reference_price if decision is not None else None


def _slip(view: StoreView, order: OrderRecord) -> tuple[Decimal, Decimal] | None:
    """The order's fills against its planned price: (adverse bps, adverse price × quantity); None without."""
    planned = _planned_price(view, order)
    filled = sum((f.quantity for f in order.fills), ZERO)
    if planned is None or not planned or not filled:
        return None
    vwap = sum((f.quantity * f.price for f in order.fills), ZERO) / filled
    sign = 1 if order.side == "BUY" else -1
    adverse = sign * (vwap - planned)
    return (adverse / planned * 10_000).quantize(Decimal("0.01")), adverse * filled


def _slippage_cost(view: StoreView, trade: Trade) -> Decimal:
    """The entry's and the exit's adverse slippage against the plan in currency, scaled to the trade."""
    total = ZERO
    for cid in (trade.entry_order, trade.exit_order):
        order = view.orders.get(cid)
        slip = _slip(view, order) if order is not None else None
        if order is None or slip is None:
            continue
        filled = sum((f.quantity for f in order.fills), ZERO)
        share = min(trade.quantity / filled, Decimal(1))
        total += slip[1] * share * view.point_value(trade.symbol, trade.entry_price)
    return total


def _worst_slippage(view: StoreView, orders: list[OrderRecord]) -> Decimal | None:
    slips = [slip[0] for order in orders if (slip := _slip(view, order)) is not None]
    return max(slips, default=None)


def _faults(orders: list[OrderRecord], late_fill_ms: int) -> tuple[str, ...]:
    faults: list[str] = []
    for order in orders:
        cid = order.client_order_id
        if order.rejected:
            faults.append(f"rejected {cid} ({order.reason})" if order.reason else f"rejected {cid}")
        if order.abandoned:
            faults.append(f"abandoned {cid}")
        filled = sum((f.quantity for f in order.fills), ZERO)
        if any(f.leaves_qty > ZERO for f in order.fills) or (
            order.canceled and order.fills and order.quantity is not None and filled < order.quantity
        ):
            faults.append(f"partial {cid} ({filled} of {order.quantity})")
        if order.fills and order.submitted_at is not None and not order.leg:
            latency = (min(f.ts for f in order.fills) - order.submitted_at).total_seconds() * 1000
            if latency > late_fill_ms:
                faults.append(f"late {cid} {latency:.0f} ms")
    return tuple(faults)


def _data_issues(view: StoreView, trade: Trade, seen: list[str]) -> tuple[str, ...]:
    issues = list(seen)
    entry = view.orders.get(trade.entry_order)
    decision = view.decisions_by_intent.get(entry.intent_id) if entry is not None else None
    if decision is not None and decision.dvs is not None and decision.dvs < 1:
        issues.insert(0, f"entry decided on data scored {decision.dvs:g} (DVS)")
    return tuple(issues)


def attribute_trades(view: StoreView, trades: Sequence[Trade], rules: AttributionRules) -> list[Attribution]:
    """Each trade's attribution: the one the run stored (``trade_attribution``) when there is one, else
    decided now by ``rules``."""
    index = EvidenceIndex.of(view)
    out: list[Attribution] = []
    for trade in trades:
        stored = view.attributions.get(trade.key)
        if stored is not None:
            out.append(
                Attribution(
                    key=trade.key,
                    code=str(stored["code"]),
                    label=str(stored["label"]),
                    flags=tuple(str(f) for f in stored.get("flags", ())),
                    reasons=tuple(str(r) for r in stored.get("reasons", ())),
                )
            )
        else:
            during = while_open(view, index, trade)
            out.append(attribute(trade_evidence(view, trade, during, rules.late_fill_ms), rules))
    return out
