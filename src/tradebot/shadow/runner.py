"""The shadow sets of a run, fed each bar beside the live pipeline (by the decision engine, in the bar's
commit unit): each set's own ensemble per instrument, and a paper record (``paper.PaperBook``) per set and
instrument — the live set's from the signals the live ensemble gave. A closed paper trade is stored as a
``shadow_trade`` event; nothing here sends an order, sizes one or reaches a gate.

Deterministic in the bars alone, so a restart rebuilds it by reading the bars again: the engine feeds it the
bars a stopped run had decided already with ``record=False`` (their trades are in the store)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tradebot.domain.bars import Bar
from tradebot.domain.signals import Signal
from tradebot.shadow.config import LIVE, ShadowSetConfig
from tradebot.shadow.paper import PaperBook, PaperTrade

if TYPE_CHECKING:
    from tradebot.domain.instruments import Instrument
    from tradebot.signals.params import EnsembleParams

KIND = "shadow_trade"
SETS_KIND = "shadow_sets"  # at a run's start: each set's resolved profile and parameters


class ShadowRunner:
    def __init__(
        self, ensembles: Mapping[str, Mapping[str, Any]], books: Mapping[tuple[str, str], PaperBook]
    ):
        self.ensembles = ensembles  # set -> symbol -> ensemble
        self.books = books  # (set, symbol) -> its paper record; set LIVE: the live ensemble's signals

    def resolved(self) -> dict[str, Any]:
        """Each set's profile and parameters as its ensembles run them (those of its first instrument)."""
        out: dict[str, Any] = {}
        for name, by_symbol in self.ensembles.items():
            symbol, ensemble = next(iter(sorted(by_symbol.items())))
            out[name] = {"symbol": symbol, "params": ensemble.params.model_dump(mode="json")}
        return {"sets": out}

    def on_bar(self, bar: Bar, live: object) -> list[PaperTrade]:
        closed: list[PaperTrade] = []
        book = self.books.get((LIVE, bar.symbol))
        if book is not None:
            closed += book.on_bar(bar, live.direction if isinstance(live, Signal) else None)
        for name, by_symbol in self.ensembles.items():
            ensemble = by_symbol.get(bar.symbol)
            if ensemble is None:
                continue
            signal = ensemble.on_bar(bar)
            closed += self.books[(name, bar.symbol)].on_bar(
                bar, signal.direction if signal is not None else None
            )
        return closed


def with_params(
    base: EnsembleParams, overrides: Mapping[str, Mapping[str, float | int]], where: str
) -> EnsembleParams:
    """``base`` with component parameters laid over it; a component the profile lacks is an error."""
    names = {spec.name for spec in base.components}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ValueError(
            f"{where}.params: {unknown[0]!r} is not a component of profile {base.profile!r} "
            f"({', '.join(sorted(names))})"
        )
    return base.with_component_params(overrides)


def build_runner(
    sets: Mapping[str, ShadowSetConfig],
    live_params: Mapping[str, EnsembleParams],
    live_profile: str,
    instruments: Mapping[str, Instrument],
    *,
    stop_ticks: int,
    target_ticks: int,
    per_side_bps: Decimal,
) -> ShadowRunner:
    """``live_params``: each instrument's live ensemble parameters (a set of the live profile starts from
    them: the run's model artifact and learned overrides included)."""
    from tradebot.models.loader import default_ensemble_params
    from tradebot.signals.profiles import build_ensemble

    ensembles: dict[str, dict[str, Any]] = {}
    books: dict[tuple[str, str], PaperBook] = {}
    for symbol, instrument in instruments.items():
        tick = instrument.tick_size
        kw = {"stop": tick * stop_ticks, "target": tick * target_ticks, "per_side_bps": per_side_bps}
        books[(LIVE, symbol)] = PaperBook(LIVE, symbol, **kw)
        for name, cfg in sets.items():
            profile = cfg.profile or live_profile
            base = live_params[symbol] if profile == live_profile else default_ensemble_params(profile)
            params = with_params(base, cfg.params, f"shadow.{name}")
            ensembles.setdefault(name, {})[symbol] = build_ensemble(profile, symbol, params)
            books[(name, symbol)] = PaperBook(name, symbol, **kw)
    return ShadowRunner(ensembles, books)
