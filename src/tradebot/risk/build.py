"""Build the gate chain from configuration: an ordered list of gate names, the constitution, settings."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from tradebot.domain.calendars import Calendars, shared_calendars
from tradebot.risk.chain import GateChain
from tradebot.risk.constitution import Constitution
from tradebot.risk.registry import DEFAULT_CHAIN, GATES, GateConfig, GateDeps

__all__ = ["DEFAULT_CHAIN", "ChainConfigError", "build_chain", "chain_config_hash"]


class ChainConfigError(ValueError):
    """Unknown or repeated gate names, or bad gate settings; lists every problem."""


def chain_config_hash(names: Sequence[str], constitution: Constitution, gate_config: GateConfig) -> str:
    """sha256 of the chain order, the gate settings and the constitution's hash."""
    body = json.dumps(
        {
            "chain": list(names),
            "gate_config": gate_config.model_dump(mode="json"),
            "constitution_sha256": constitution.sha256,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def build_chain(
    names: Sequence[str],
    constitution: Constitution,
    gate_config: GateConfig | Mapping[str, Any] | None = None,
    *,
    calendars: Calendars | None = None,
    config_hash: str | None = None,
) -> GateChain:
    """A GateChain running ``names`` in order. ``config_hash`` defaults to ``chain_config_hash``."""
    settings = (
        gate_config if isinstance(gate_config, GateConfig) else GateConfig.model_validate(gate_config or {})
    )
    problems: list[str] = []
    seen: set[str] = set()
    for name in names:
        if name not in GATES:
            problems.append(f"unknown gate {name!r}")
        elif name in seen:
            problems.append(f"gate {name!r} listed twice")
        seen.add(name)
    if not names:
        problems.append("the chain is empty")
    if problems:
        raise ChainConfigError("; ".join(problems) + f" (known gates: {', '.join(GATES)})")
    deps = GateDeps(constitution, settings, calendars or shared_calendars())
    gates = [GATES[name](deps) for name in names]
    return GateChain(gates, config_hash or chain_config_hash(names, constitution, settings))
