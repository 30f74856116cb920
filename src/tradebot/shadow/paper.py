"""The paper record of one parameter set on one instrument: what its signals would have traded, with the
live set's brackets and a fill model every set shares, so sets are compared like for like.

A signal (the ensemble spoke, direction ≠ 0) with no position opens one at the next bar's open; a signal
against the position closes it at the next bar's open (the following signal may open the other way). While
open, the bracket is watched on each later bar: the stop at ``stop_ticks`` from the entry fills at the stop
(or at the open when the bar opens through it), the target at ``target_ticks`` at the target; the stop first
when one bar reaches both. A closed trade's return is ``d · (exit − entry) / entry`` in bps, less
``2 × per_side_bps``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tradebot.domain.bars import Bar

BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class PaperTrade:
    set_name: str
    symbol: str
    side: str  # LONG | SHORT
    entry_ts: datetime
    entry: Decimal
    exit_ts: datetime
    exit: Decimal
    reason: str  # stop | target | signal
    gross_bps: Decimal
    cost_bps: Decimal
    net_bps: Decimal

    def as_dict(self) -> dict[str, Any]:
        return {
            "set": self.set_name,
            "symbol": self.symbol,
            "side": self.side,
            "entry_ts": self.entry_ts.isoformat(),
            "entry": str(self.entry),
            "exit_ts": self.exit_ts.isoformat(),
            "exit": str(self.exit),
            "reason": self.reason,
            "gross_bps": str(self.gross_bps),
            "cost_bps": str(self.cost_bps),
            "net_bps": str(self.net_bps),
        }


class PaperBook:
    def __init__(
        self, set_name: str, symbol: str, *, stop: Decimal, target: Decimal, per_side_bps: Decimal
    ) -> None:
        self.set_name, self.symbol = set_name, symbol
        self.stop_distance, self.target_distance = stop, target
        self.cost_bps = 2 * per_side_bps
        self.direction = 0  # +1 long, -1 short, 0 flat
        self.entry: Decimal = Decimal(0)
        self.entry_ts: datetime | None = None
        self.pending = 0  # the order for the next bar's open: +1 / -1 to open, 2 to close

    def on_bar(self, bar: Bar, direction: float | None) -> list[PaperTrade]:
        """The bar (its open fills what the previous signal asked for, then the bracket), then the signal
        this bar produced (``None``: the ensemble held back); the trades it closed."""
        closed: list[PaperTrade] = []
        opening = Decimal(repr(bar.open))
        if self.pending == 2 and self.direction:
            closed.append(self._close(bar.ts, opening, "signal"))
        elif self.pending in (1, -1) and not self.direction:
            self.direction, self.entry, self.entry_ts = self.pending, opening, bar.ts
        self.pending = 0
        if self.direction:
            hit = self._bracket(bar)
            if hit is not None:
                closed.append(self._close(bar.end, *hit))
        if direction is not None and direction != 0:
            side = 1 if direction > 0 else -1
            if not self.direction:
                self.pending = side
            elif side != self.direction:
                self.pending = 2
        return closed

    def _bracket(self, bar: Bar) -> tuple[Decimal, str] | None:
        d = self.direction
        stop = self.entry - d * self.stop_distance
        target = self.entry + d * self.target_distance
        low, high, opening = (Decimal(repr(x)) for x in (bar.low, bar.high, bar.open))
        if (d > 0 and low <= stop) or (d < 0 and high >= stop):
            through = (d > 0 and opening < stop) or (d < 0 and opening > stop)
            return (opening if through else stop), "stop"
        if (d > 0 and high >= target) or (d < 0 and low <= target):
            return target, "target"
        return None

    def _close(self, ts: datetime, price: Decimal, reason: str) -> PaperTrade:
        assert self.entry_ts is not None
        gross = (Decimal(self.direction) * (price - self.entry) / self.entry * BPS).quantize(
            Decimal("0.0001")
        )
        trade = PaperTrade(
            self.set_name,
            self.symbol,
            "LONG" if self.direction > 0 else "SHORT",
            self.entry_ts,
            self.entry,
            ts,
            price,
            reason,
            gross,
            self.cost_bps,
            gross - self.cost_bps,
        )
        self.direction, self.entry_ts = 0, None
        return trade
