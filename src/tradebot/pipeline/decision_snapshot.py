"""Everything a decision was made with, stored once per run as a ``decision_snapshot`` event and named by
its sha256 in every decision record (``snapshot``): the settings sections that shape a decision (strategy,
sleeves, allocation, gates, intents, portfolio, instruments), the constitution as resolved (its environment
overrides applied), the gate chain and its hash, and each instrument's (and sleeve's) resolved ensemble —
profile, components with their parameters and weights, thresholds, the model artifact they came from — and
the learned overrides in force (already applied to the constitution and the ensembles; named with their
version).
Allocation weights in force travel in each record (``sleeve_weights``), as they move during a run.

Nothing that only says where a run lives (run directory, store, data files, broker, ops) is in it, so two
runs that decide alike share one snapshot, and ``tradebot explain`` can rebuild the chain from it alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson

from tradebot.pipeline.app import instrument_body
from tradebot.pipeline.run_parts import RunParts
from tradebot.settings import Settings

KIND = "decision_snapshot"
# the settings sections a decision depends on (the rest: where the run lives and how it talks to the world)
DECISION_SECTIONS = ("strategy", "sleeves", "allocation", "gates", "intents", "portfolio", "instruments")
# where a file lives is not what a decision is made with; its content is (the constitution, the ensembles)
_LOCATIONS: dict[str, Any] = {
    "gates": {"constitution"},
    "strategy": {"model"},
    "sleeves": {"__all__": {"model"}},
}


def ensemble_params(source: Any) -> dict[str, Any]:
    """An instrument's resolved ensemble (``{"": params}``), or its sleeves' (``{sleeve: params}``)."""
    sleeves = getattr(source, "ensembles", None)
    if sleeves is not None:
        return {name: ensemble.params.model_dump(mode="json") for name, ensemble in sleeves}
    params = getattr(source, "params", None)
    return {"": params.model_dump(mode="json")} if params is not None else {}


def build_snapshot(settings: Settings, parts: RunParts, learned: Any = None) -> dict[str, Any]:
    """``learned``: the learned overrides applied to ``parts`` (already in its constitution and ensembles;
    named here with their version)."""
    return {
        "learned_overrides": learned.as_dict() if learned is not None else None,
        "settings": settings.model_dump(mode="json", include=set(DECISION_SECTIONS), exclude=_LOCATIONS),
        "constitution": parts.constitution.model_dump(mode="json"),
        "constitution_sha256": parts.constitution.sha256,
        "chain": [gate.name for gate in parts.chain.gates],
        "config_hash": parts.chain.config_hash,
        "instruments": {symbol: instrument_body(i) for symbol, i in sorted(parts.instruments.items())},
        "ensembles": {symbol: ensemble_params(source) for symbol, source in sorted(parts.ensembles.items())},
    }


def snapshot_sha256(snapshot: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(snapshot, option=orjson.OPT_SORT_KEYS)).hexdigest()
