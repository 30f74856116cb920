"""Entry policy step 9: fewer than ``max_positions_per_regime`` (5) open positions in the
intent's regime."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate, adds_to_position
from tradebot.risk.verdict import Verdict


class EntryRegimeGate(RulesGate):
    name = "entry_regime"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        if adds_to_position(intent, ctx.position_qty):
            return Verdict.passed(self.name, scale_in=True)  # judged by step 6
        maximum = self.rules(intent.symbol).entry_policy.max_positions_per_regime
        regime = intent.regime
        count = ctx.positions_by_regime.get(regime, 0)
        if count >= maximum:
            return Verdict.blocked(
                self.name, reasons.BLOCK_REGIME_RULE, regime=regime, positions=count, max=maximum
            )
        return Verdict.passed(self.name, regime=regime, positions=count)
