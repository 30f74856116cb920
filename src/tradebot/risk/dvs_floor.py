"""Constitution gate: no entries while the data validity score is under the floor (MES: 0.80)."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.shared_verdicts import SharedPasses, exact_float
from tradebot.risk.verdict import Verdict


class DvsFloorGate(RulesGate):
    name = "dvs_floor"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)
        self._floor = self.per_symbol(lambda rules: rules.limits.dvs_min)
        self._passes = SharedPasses(self.name)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        floor = self._floor(intent.symbol)
        score = ctx.dvs
        if not score >= floor:  # NaN fails too
            return Verdict.blocked(self.name, reasons.DVS_BLOCK, dvs=score, min=floor)
        if exact_float(score):  # the score fixes the details: one shared verdict per score
            return self._passes.passed(score, dvs=score)
        return Verdict.passed(self.name, dvs=score)
