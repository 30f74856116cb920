"""DVS per instrument: each instrument's bar feed is judged on its own bars (``data_validity.py``).

One run may read several feeds (a minute file of a future that trades nearly around the clock, another of
a stock with a sparse pre-market): a gap or a refused line in one feed says nothing about another, so the
DVS an intent's gate sees is its own instrument's.
"""

from __future__ import annotations

from datetime import datetime

from tradebot.domain.bars import Bar
from tradebot.risk.data_validity import DataValidity, DvsConfig


class FeedValidity:
    """``on_bar(bar, now)``, ``on_rejected_bar(code, symbol)``, ``score(now, symbol)``, per symbol."""

    def __init__(self, config: DvsConfig | None = None) -> None:
        self.config = config or DvsConfig()
        self._by_symbol: dict[str, DataValidity] = {}

    def of(self, symbol: str) -> DataValidity:
        validity = self._by_symbol.get(symbol)
        if validity is None:
            validity = self._by_symbol[symbol] = DataValidity(self.config)
        return validity

    def on_bar(self, bar: Bar, now: datetime) -> float:
        return self.of(bar.symbol).on_bar(bar, now)

    def on_rejected_bar(self, code: str, symbol: str | None) -> None:
        self.of(symbol or "").on_rejected_bar(code)

    def score(self, now: datetime | None, symbol: str) -> float:
        return self.of(symbol).score(now)
