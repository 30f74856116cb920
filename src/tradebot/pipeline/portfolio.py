"""Positions, realized and unrealized PnL and fees, exact in Decimal, derived only from fills."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from tradebot.domain.events import OrderFilled
from tradebot.domain.instruments import Instrument
from tradebot.domain.recent import RecentIds

ZERO = Decimal(0)


@dataclass(slots=True)
class Position:
    symbol: str
    quantity: Decimal = ZERO  # signed
    avg_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class TradeClosed:
    """A round trip (or part of one) closed by a fill: the input of loss counters."""

    symbol: str
    quantity: Decimal
    pnl: Decimal


@dataclass(slots=True)
class Portfolio:
    """Applies fills once each (by fill id) and marks positions to the last price."""

    starting_cash: Decimal
    instruments: Mapping[str, Instrument]
    positions: dict[str, Position] = field(default_factory=dict)
    last_prices: dict[str, Decimal] = field(default_factory=dict)
    _seen_fills: RecentIds[str] = field(default_factory=RecentIds)

    def apply_fill(self, fill: OrderFilled) -> TradeClosed | None:
        """Apply one fill; a fill id seen before is ignored (returns None)."""
        if not self._seen_fills.add(fill.fill_id):
            return None
        instrument = self.instruments[fill.symbol]
        position = self.positions.setdefault(fill.symbol, Position(fill.symbol))
        signed = fill.quantity * fill.side.sign
        position.fees += fill.fee
        closed: TradeClosed | None = None
        old = position.quantity
        if old == ZERO or (old > ZERO) == (signed > ZERO):
            new_qty = old + signed
            held, added = abs(old), abs(signed)
            position.avg_price = instrument.average_entry(position.avg_price, held, fill.price, added)
            position.quantity = new_qty
        else:
            closing = min(abs(old), abs(signed))
            direction = Decimal(1) if old > ZERO else Decimal(-1)
            pnl = instrument.pnl(position.avg_price, fill.price, closing * direction)
            position.realized_pnl += pnl
            closed = TradeClosed(fill.symbol, closing, pnl - fill.fee)
            new_qty = old + signed
            if new_qty == ZERO:
                position.avg_price = ZERO
            elif (new_qty > ZERO) != (old > ZERO):
                position.avg_price = fill.price  # flipped: the remainder opened at this fill's price
            position.quantity = new_qty
        return closed

    def mark(self, symbol: str, price: Decimal) -> None:
        self.last_prices[symbol] = price

    def position_qty(self, symbol: str) -> Decimal:
        position = self.positions.get(symbol)
        return position.quantity if position else ZERO

    def unrealized_pnl(self, symbol: str) -> Decimal:
        position = self.positions.get(symbol)
        price = self.last_prices.get(symbol)
        if position is None or price is None or position.quantity == ZERO:
            return ZERO
        return self.instruments[symbol].pnl(position.avg_price, price, position.quantity)

    @property
    def realized_pnl(self) -> Decimal:
        return sum((p.realized_pnl for p in self.positions.values()), ZERO)

    @property
    def fees(self) -> Decimal:
        return sum((p.fees for p in self.positions.values()), ZERO)

    @property
    def total_unrealized(self) -> Decimal:
        # flat positions add nothing (the sum starts at 0 either way)
        return sum((self.unrealized_pnl(s) for s, p in self.positions.items() if p.quantity != ZERO), ZERO)

    @property
    def equity(self) -> Decimal:
        return self.starting_cash + self.realized_pnl - self.fees + self.total_unrealized

    def snapshot(self) -> dict[str, object]:
        return {
            "positions": {
                s: {"qty": str(p.quantity), "avg_price": str(p.avg_price), "realized": str(p.realized_pnl)}
                for s, p in sorted(self.positions.items())
            },
            "realized_pnl": str(self.realized_pnl),
            "unrealized_pnl": str(self.total_unrealized),
            "fees": str(self.fees),
            "equity": str(self.equity),
        }
