"""Constitution gate: no entries while equity is under the minimum capital (MES Tier S: $1,500)."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.verdict import Verdict


class MinCapitalGate(RulesGate):
    name = "min_capital"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        minimum = self.rules(intent.symbol).limits.min_capital_usd
        if minimum is not None and ctx.equity < minimum:
            return Verdict.blocked(
                self.name, reasons.MIN_CAPITAL_BLOCK, equity=str(ctx.equity), min_capital_usd=str(minimum)
            )
        return Verdict.passed(self.name)
