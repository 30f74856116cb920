"""The signal source of an instrument several sleeves trade: each sleeve's own ensemble sees every bar, and
the bar's signals go on together (``SleeveSignals``) to be netted by the engine (sizing/netting.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tradebot.domain.bars import Bar
from tradebot.domain.signals import Signal, SleeveSignal, SleeveSignals


class Ensemble(Protocol):
    def on_bar(self, bar: Bar) -> Signal | None: ...


class SleeveEnsembles:
    def __init__(self, symbol: str, ensembles: Sequence[tuple[str, Ensemble]]) -> None:
        self.symbol = symbol
        self.ensembles = tuple(ensembles)

    def on_bar(self, bar: Bar) -> SleeveSignals:
        signals = tuple(SleeveSignal(sleeve, ensemble.on_bar(bar)) for sleeve, ensemble in self.ensembles)
        return SleeveSignals(self.symbol, signals)
