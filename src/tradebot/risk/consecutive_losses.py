"""Constitution gate: no entries after the maximum number of losing round trips in a row today."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.verdict import Verdict


class ConsecutiveLossesGate(RulesGate):
    name = "consecutive_losses"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        maximum = self.rules(intent.symbol).limits.max_consecutive_losses
        losses = ctx.consecutive_losses
        if maximum is not None and losses >= maximum:
            return Verdict.blocked(
                self.name,
                reasons.CONSECUTIVE_LOSSES_BLOCK,
                consecutive_losses=losses,
                max=maximum,
            )
        return Verdict.passed(self.name, consecutive_losses=losses)
