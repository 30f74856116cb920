"""Market bars. Bars and signals use floats; money at the order boundary is Decimal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar. ``ts`` is the bar's OPEN time in UTC; the bar closes at ``end``."""

    symbol: str
    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    interval_s: int = 60

    @property
    def end(self) -> datetime:
        return self.ts + timedelta(seconds=self.interval_s)
