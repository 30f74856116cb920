"""Entry policy step 2: at least ``cooldown_global_s`` (60 s) since any entry."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.verdict import Verdict


class EntryGlobalCooldownGate(RulesGate):
    name = "entry_global_cooldown"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        last = ctx.last_entry_at
        if last is not None:
            cooldown = self.rules(intent.symbol).entry_policy.cooldown_global_s
            elapsed = (ctx.now - last).total_seconds()
            if elapsed < cooldown:
                return Verdict.blocked(
                    self.name, reasons.BLOCK_COOLDOWN, scope="global", elapsed_s=elapsed, cooldown_s=cooldown
                )
        return Verdict.passed(self.name)
