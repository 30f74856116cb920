"""Round-trip trades from fills: a trade opens when a symbol's position leaves zero and closes when it
returns to zero (a fill that reverses the position closes one trade and opens the next with the rest,
its fee split by quantity).

Per trade: side (LONG/SHORT), entry and exit times, quantity (all entered), entry and exit VWAP,
``pnl_gross = d·(exit_vwap·Q − entry_vwap·Q)·M`` (d = +1 long, −1 short), fees (entries and exits),
``pnl_net = pnl_gross − fees``, the exit reason (the role of the order that closed it: stop, target,
flatten, time_stop, signal, operator; ``reversal`` when an entry order reversed it), and MAE/MFE: the
worst and best price excursion against the entry VWAP over the bars between entry and exit (entry and exit
prices included), ``MAE ≤ 0 ≤ MFE``, per unit and in currency (× Q × M).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from tradebot.analytics.store_view import FillRow, StoreView
from tradebot.analytics.tca import plain, role_of

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Trade:
    symbol: str
    side: str  # LONG | SHORT
    entry_time: datetime
    exit_time: datetime
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal
    pnl_gross: Decimal
    fees: Decimal
    pnl_net: Decimal
    exit_reason: str
    mae: Decimal  # per unit, ≤ 0
    mfe: Decimal  # per unit, ≥ 0
    mae_cost: Decimal
    mfe_cost: Decimal
    entry_order: str
    exit_order: str

    @property
    def key(self) -> str:
        """The trade's identity in the store: its symbol, the orders that opened and closed it."""
        return f"{self.symbol}|{self.entry_order}|{self.exit_order}"

    def as_dict(self) -> dict[str, Any]:
        return {f.name: plain(getattr(self, f.name)) for f in fields(self)}


@dataclass(slots=True)
class OpenTrade:
    direction: int  # +1 long, -1 short
    entry_time: datetime
    entry_order: str
    entry_qty: Decimal = ZERO
    entry_value: Decimal = ZERO
    exit_qty: Decimal = ZERO
    exit_value: Decimal = ZERO
    fees: Decimal = ZERO
    exit_time: datetime | None = None
    exit_order: str = ""
    exit_roles: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class OpenPosition:
    symbol: str
    side: str
    quantity: Decimal
    entry_price: Decimal
    entry_time: datetime


def round_trips(view: StoreView) -> tuple[list[Trade], list[OpenPosition]]:
    """Closed trades whose exit is in the window (by exit time), and the positions open at the end."""
    trades: list[Trade] = []
    open_trades: dict[str, OpenTrade] = {}
    roles = {cid: role_of(view, order) for cid, order in view.orders.items()}
    for fill in view.fills:
        closed = apply_fill(open_trades, fill, roles.get(fill.client_order_id, ""))
        if closed is not None:
            trade = finish_trade(view, fill.symbol, closed)
            if view.in_window(trade.exit_time):
                trades.append(trade)
    still_open = [
        OpenPosition(
            symbol,
            "LONG" if t.direction > 0 else "SHORT",
            t.entry_qty - t.exit_qty,
            t.entry_value / t.entry_qty,
            t.entry_time,
        )
        for symbol, t in sorted(open_trades.items())
    ]
    return trades, still_open


def apply_fill(open_trades: dict[str, OpenTrade], fill: FillRow, role: str) -> OpenTrade | None:
    """Apply one fill to the symbol's open trade; the trade it closed (None while it stays open). A fill that
    reverses the position closes one trade and opens the next with the rest."""
    direction = 1 if fill.side == "BUY" else -1
    current = open_trades.get(fill.symbol)
    if current is None or current.direction == direction:
        if current is None:
            current = open_trades[fill.symbol] = OpenTrade(direction, fill.ts, fill.client_order_id)
        current.entry_qty += fill.quantity
        current.entry_value += fill.quantity * fill.price
        current.fees += fill.fee
        return None
    remaining = current.entry_qty - current.exit_qty
    closing = min(remaining, fill.quantity)
    fee_part = fill.fee * closing / fill.quantity
    current.exit_qty += closing
    current.exit_value += closing * fill.price
    current.fees += fee_part
    current.exit_time = fill.ts
    current.exit_order = fill.client_order_id
    current.exit_roles.append(role)
    if current.exit_qty < current.entry_qty:
        return None
    del open_trades[fill.symbol]
    rest = fill.quantity - closing
    if rest > ZERO:
        opened = open_trades[fill.symbol] = OpenTrade(direction, fill.ts, fill.client_order_id)
        opened.entry_qty = rest
        opened.entry_value = rest * fill.price
        opened.fees = fill.fee - fee_part
    return current


def finish_trade(view: StoreView, symbol: str, t: OpenTrade) -> Trade:
    """A closed trade's figures (MAE/MFE over the bars ``view`` holds between its entry and exit)."""
    assert t.exit_time is not None
    entry = t.entry_value / t.entry_qty
    exit_ = t.exit_value / t.exit_qty
    point_value = view.point_value(symbol, entry)
    gross = view.money(symbol, Decimal(t.direction) * (t.exit_value - t.entry_value) * point_value)
    role = t.exit_roles[-1] if t.exit_roles else ""
    low, high = min(entry, exit_), max(entry, exit_)
    for bar in view.bars.get(symbol, []):
        if bar.close_ts > t.entry_time and bar.open_ts < t.exit_time:
            low, high = min(low, bar.low), max(high, bar.high)
    if t.direction > 0:
        mae, mfe = low - entry, high - entry
    else:
        mae, mfe = entry - high, entry - low
    return Trade(
        symbol=symbol,
        side="LONG" if t.direction > 0 else "SHORT",
        entry_time=t.entry_time,
        exit_time=t.exit_time,
        quantity=t.entry_qty,
        entry_price=entry,
        exit_price=exit_,
        pnl_gross=gross,
        fees=t.fees,
        pnl_net=gross - t.fees,
        exit_reason="reversal" if role == "entry" else role,
        mae=min(mae, ZERO),
        mfe=max(mfe, ZERO),
        mae_cost=view.money(symbol, min(mae, ZERO) * t.entry_qty * point_value),
        mfe_cost=view.money(symbol, max(mfe, ZERO) * t.entry_qty * point_value),
        entry_order=t.entry_order,
        exit_order=t.exit_order,
    )
