"""The rules that keep their own state, one state object each, in the order the tracker feeds them."""

from __future__ import annotations

from collections.abc import Mapping

from tradebot.domain.instruments import Instrument
from tradebot.risk.constitution import Constitution
from tradebot.risk.liquidity_participation import BarVolumes
from tradebot.risk.liquidity_regime import RegimeBars
from tradebot.risk.portfolio_returns import ReturnHistory
from tradebot.risk.quarantine import Quarantine
from tradebot.risk.rule_state import RuleState
from tradebot.risk.sleeve_allocation import SINGLE_STRATEGY, AllocationRules, SleeveAllocation


def rule_states(
    instruments: Mapping[str, Instrument],
    *,
    allocation: AllocationRules | None = None,
    constitution: Constitution | None = None,
) -> tuple[RuleState, ...]:
    """``allocation``: the sleeves' base weights and how they move (None: the single [strategy]);
    ``constitution``: the rules the quarantine's triggers read (None: nothing is ever quarantined)."""
    return (
        BarVolumes(),
        RegimeBars(),
        ReturnHistory(instruments),
        SleeveAllocation(allocation or SINGLE_STRATEGY),
        Quarantine(constitution),
    )
