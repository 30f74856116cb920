"""Constitution gate: no entries while the execution quality score is under the floor (MES: 0.75)."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.verdict import Verdict


class EqsFloorGate(RulesGate):
    name = "eqs_floor"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        floor = self.rules(intent.symbol).limits.eqs_min
        score = ctx.eqs
        if not score >= floor:  # NaN fails too
            return Verdict.blocked(self.name, reasons.EQS_BLOCK, eqs=score, min=floor)
        return Verdict.passed(self.name, eqs=score)
