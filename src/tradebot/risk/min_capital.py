"""Constitution gate: no entries while equity is under the minimum capital (MES Tier S: $1,500)."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.verdict import Verdict


class MinCapitalGate(RulesGate):
    name = "min_capital"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)
        self._minimum = self.per_symbol(lambda rules: rules.limits.min_capital_usd)
        self._pass = Verdict.passed(self.name)  # frozen: one instance for every intent it passes

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        minimum = self._minimum(intent.symbol)
        if minimum is not None and ctx.equity < minimum:
            return Verdict.blocked(
                self.name, reasons.MIN_CAPITAL_BLOCK, equity=str(ctx.equity), min_capital_usd=str(minimum)
            )
        return self._pass
