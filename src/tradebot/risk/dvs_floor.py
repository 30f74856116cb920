"""Constitution gate: no entries while the data validity score is under the floor (MES: 0.80)."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.verdict import Verdict


class DvsFloorGate(RulesGate):
    name = "dvs_floor"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        floor = self.rules(intent.symbol).limits.dvs_min
        score = ctx.dvs
        if not score >= floor:  # NaN fails too
            return Verdict.blocked(self.name, reasons.DVS_BLOCK, dvs=score, min=floor)
        return Verdict.passed(self.name, dvs=score)
