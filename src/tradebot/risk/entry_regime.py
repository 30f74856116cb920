"""Entry policy step 9: fewer than ``max_positions_per_regime`` (5) open positions in the
intent's regime."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate, adds_to_position
from tradebot.risk.shared_verdicts import SharedPasses
from tradebot.risk.verdict import Verdict


class EntryRegimeGate(RulesGate):
    name = "entry_regime"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)
        self._maximum = self.per_symbol(lambda rules: rules.entry_policy.max_positions_per_regime)
        self._scale_in = Verdict.passed(self.name, scale_in=True)  # frozen: shared by every intent
        self._passes = SharedPasses(self.name)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        if adds_to_position(intent, ctx.position_qty):
            return self._scale_in  # judged by step 6
        maximum = self._maximum(intent.symbol)
        regime = intent.regime
        count = ctx.positions_by_regime.get(regime, 0)
        if count >= maximum:
            return Verdict.blocked(
                self.name, reasons.BLOCK_REGIME_RULE, regime=regime, positions=count, max=maximum
            )
        if type(regime) is str and type(count) is int:  # these fix the details: one shared verdict each
            key = (regime, count)
            return self._passes.passed(key, regime=regime, positions=count)
        return Verdict.passed(self.name, regime=regime, positions=count)
