"""The overrides in force, applied to a run's parts at startup: the constitution's entry cost buffer of a
symbol and an ensemble's deadband (``min_direction``) and confirmation (``min_agreement``).

``targets_of`` lists what learning may move with the configured values (the bases). ``apply_overrides``
returns the constitution and the signal sources with the learned values in place, and ``AppliedOverrides``
says per symbol which were applied (the ``learned_overrides`` field of each decision record).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tradebot.learning.job import Target
from tradebot.learning.overrides import CONFIRMATION, COST_BUFFER, DEADBAND, NO_SLEEVE, Override
from tradebot.risk.constitution import Constitution
from tradebot.signals.ensemble import Ensemble
from tradebot.signals.sleeves import SleeveEnsembles

STRATEGY_SLEEVE = "strategy"  # the sleeve key of a run without [sleeves] (one ensemble per instrument)
APPLIED_KIND = "learned_overrides"  # the stored event: the version and the overrides a run applied


@dataclass(frozen=True, slots=True)
class AppliedOverrides:
    version: int
    overrides: tuple[Override, ...] = field(default_factory=tuple)

    def for_symbol(self, symbol: str) -> dict[str, Any] | None:
        """The decision record's ``learned_overrides``: the version and the symbol's values (None: none)."""
        mine = [o for o in self.overrides if o.symbol == symbol]
        if not mine:
            return None
        return {"version": self.version,
                "values": {_name(o): str(o.value) for o in mine}}

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "overrides": [o.as_dict() for o in self.overrides]}

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> AppliedOverrides:
        return cls(int(body["version"]), tuple(Override.from_dict(o) for o in body["overrides"]))


def _name(o: Override) -> str:
    return o.parameter if o.sleeve == NO_SLEEVE else f"{o.sleeve}.{o.parameter}"


def _ensembles_of(source: Any) -> list[tuple[str, Ensemble]]:
    if isinstance(source, SleeveEnsembles):
        return [(sleeve, each) for sleeve, each in source.ensembles if isinstance(each, Ensemble)]
    if isinstance(source, Ensemble):
        return [(STRATEGY_SLEEVE, source)]
    return []


def targets_of(constitution: Constitution, ensembles: Mapping[str, Any]) -> list[Target]:
    """Every parameter learning may move in this run, with its configured value. A symbol whose cost gate
    is off (``entry_cost_buffer_bps: null``) has no cost-buffer target: learning never turns a gate on."""
    targets: list[Target] = []
    for symbol in sorted(ensembles):
        buffer = constitution.rules_for(symbol).liquidity.entry_cost_buffer_bps
        if buffer is not None:
            targets.append(Target(COST_BUFFER, symbol, NO_SLEEVE, buffer))
        for sleeve, ensemble in _ensembles_of(ensembles[symbol]):
            targets.append(Target(DEADBAND, symbol, sleeve, Decimal(str(ensemble.params.min_direction))))
            targets.append(Target(CONFIRMATION, symbol, sleeve, Decimal(str(ensemble.params.min_agreement))))
    return targets


def apply_overrides(
    constitution: Constitution, ensembles: Mapping[str, Any], overrides: Sequence[Override]
) -> tuple[Constitution, dict[str, Any], tuple[Override, ...]]:
    """The constitution and signal sources with ``overrides`` in place, and the overrides that applied (one
    for a symbol or sleeve this run does not trade, or a cost gate that is off, is left out)."""
    by_key = {o.key: o for o in overrides}
    applied: list[Override] = []
    instruments = dict(constitution.instruments)
    for symbol in sorted(ensembles):
        buffer = by_key.get((COST_BUFFER, symbol, NO_SLEEVE))
        rules = constitution.rules_for(symbol)
        if buffer is not None and rules.liquidity.entry_cost_buffer_bps is not None:
            liquidity = rules.liquidity.model_copy(update={"entry_cost_buffer_bps": buffer.value})
            instruments[symbol] = rules.model_copy(update={"liquidity": liquidity})
            applied.append(buffer)
    out_constitution = (
        constitution.model_copy(update={"instruments": instruments}) if applied else constitution
    )
    out_ensembles: dict[str, Any] = {}
    for symbol, source in ensembles.items():
        rebuilt: list[tuple[str, Ensemble]] = []
        for sleeve, ensemble in _ensembles_of(source):
            update: dict[str, float] = {}
            for parameter in (DEADBAND, CONFIRMATION):
                hit = by_key.get((parameter, symbol, sleeve))
                if hit is not None:
                    update[parameter] = float(hit.value)
                    applied.append(hit)
            if update:
                params = ensemble.params.model_copy(update=update)
                ensemble = Ensemble(symbol, params, ensemble.components, ensemble.volatility)
            rebuilt.append((sleeve, ensemble))
        if isinstance(source, SleeveEnsembles):
            out_ensembles[symbol] = SleeveEnsembles(symbol, rebuilt)
        elif rebuilt:
            out_ensembles[symbol] = rebuilt[0][1]
        else:
            out_ensembles[symbol] = source
    return out_constitution, out_ensembles, tuple(sorted(applied, key=lambda o: o.key))
