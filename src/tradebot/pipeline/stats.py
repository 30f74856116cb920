"""Run counters for the human summary: what came in, what was decided, what was done."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(slots=True)
class RunStats:
    bars: int = 0
    bars_refused: Counter[str] = field(default_factory=Counter)
    signals: int = 0
    intents: int = 0
    approved: int = 0
    blocked: Counter[str] = field(default_factory=Counter)
    clamped: Counter[str] = field(default_factory=Counter)
    orders: int = 0
    rejects: int = 0
    fills: int = 0
    realized_pnl: Decimal = Decimal(0)
    unrealized_pnl: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    positions: dict[str, str] = field(default_factory=dict)
    first_bar: str | None = None
    last_bar: str | None = None
    resumed_after: str | None = None
    trading_state: str = "ACTIVE"
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "bars": self.bars,
            "bars_refused": dict(sorted(self.bars_refused.items())),
            "signals": self.signals,
            "intents": self.intents,
            "approved": self.approved,
            "blocked": dict(sorted(self.blocked.items())),
            "clamped": dict(sorted(self.clamped.items())),
            "orders": self.orders,
            "rejects": self.rejects,
            "fills": self.fills,
            "realized_pnl": str(self.realized_pnl),
            "unrealized_pnl": str(self.unrealized_pnl),
            "fees": str(self.fees),
            "net_pnl": str(self.realized_pnl + self.unrealized_pnl - self.fees),
            "positions": dict(sorted(self.positions.items())),
            "first_bar": self.first_bar,
            "last_bar": self.last_bar,
            "resumed_after": self.resumed_after,
            "trading_state": self.trading_state,
            **self.extra,
        }
