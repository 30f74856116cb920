"""The rules that keep their own state, one state object each, in the order the tracker feeds them."""

from __future__ import annotations

from collections.abc import Mapping

from tradebot.domain.instruments import Instrument
from tradebot.risk.liquidity_participation import BarVolumes
from tradebot.risk.rule_state import RuleState


def rule_states(instruments: Mapping[str, Instrument]) -> tuple[RuleState, ...]:
    return (BarVolumes(),)
