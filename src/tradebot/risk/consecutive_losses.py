"""Constitution gate: no entries after the maximum number of losing round trips in a row today."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.shared_verdicts import SharedPasses
from tradebot.risk.verdict import Verdict


class ConsecutiveLossesGate(RulesGate):
    name = "consecutive_losses"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)
        self._maximum = self.per_symbol(lambda rules: rules.limits.max_consecutive_losses)
        self._passes = SharedPasses(self.name)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        maximum = self._maximum(intent.symbol)
        losses = ctx.consecutive_losses
        if maximum is not None and losses >= maximum:
            return Verdict.blocked(
                self.name,
                reasons.CONSECUTIVE_LOSSES_BLOCK,
                consecutive_losses=losses,
                max=maximum,
            )
        if type(losses) is int:  # the count fixes the details: one shared verdict per count
            return self._passes.passed(losses, consecutive_losses=losses)
        return Verdict.passed(self.name, consecutive_losses=losses)
