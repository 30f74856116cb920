"""Constitution gate: no entries while the execution quality score is under the floor (MES: 0.75)."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.shared_verdicts import SharedPasses, exact_float
from tradebot.risk.verdict import Verdict


class EqsFloorGate(RulesGate):
    name = "eqs_floor"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)
        self._floor = self.per_symbol(lambda rules: rules.limits.eqs_min)
        self._passes = SharedPasses(self.name)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        floor = self._floor(intent.symbol)
        score = ctx.eqs
        if not score >= floor:  # NaN fails too
            return Verdict.blocked(self.name, reasons.EQS_BLOCK, eqs=score, min=floor)
        if exact_float(score):  # the score fixes the details: one shared verdict per score
            return self._passes.passed(score, eqs=score)
        return Verdict.passed(self.name, eqs=score)
