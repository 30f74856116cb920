"""Entry policy step 4: fewer than ``max_positions_total`` (10) open positions."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.verdict import Verdict


class EntryMaxPositionsGate(RulesGate):
    name = "entry_max_positions"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        maximum = self.rules(intent.symbol).entry_policy.max_positions_total
        open_positions = ctx.open_positions
        if open_positions >= maximum:
            return Verdict.blocked(
                self.name,
                reasons.BLOCK_MAX_POSITIONS,
                scope="total",
                open_positions=open_positions,
                max=maximum,
            )
        return Verdict.passed(self.name, open_positions=open_positions)
