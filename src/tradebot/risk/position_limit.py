"""Constitution gate: |position + working entries + this order| never exceeds the limit (MES: 1)."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate, signed_qty
from tradebot.risk.verdict import Verdict


class PositionLimitGate(RulesGate):
    name = "position_limit"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        limit = self.rules(intent.symbol).limits.position_limit
        if limit is None:
            return Verdict.passed(self.name)
        delta = signed_qty(intent)
        # worst case: the working entries fill, or they are canceled
        position = ctx.position_qty
        worst = max(abs(position + ctx.pending_qty + delta), abs(position + delta))
        if worst > limit:
            return Verdict.blocked(
                self.name,
                reasons.POSITION_LIMIT_BLOCK,
                position=str(position),
                pending=str(ctx.pending_qty),
                order=str(delta),
                limit=str(limit),
            )
        return Verdict.passed(self.name, resulting=str(worst), limit=str(limit))
