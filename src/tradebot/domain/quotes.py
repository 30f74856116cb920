"""A best bid and ask known at an instant: what a quotes file row or a broker's quote stream gives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

TWO = Decimal(2)


@dataclass(frozen=True, slots=True)
class Quote:
    ts: datetime  # when this bid and ask were known (UTC)
    bid: Decimal
    ask: Decimal

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / TWO

    @property
    def spread(self) -> Decimal:
        return self.ask - self.bid
