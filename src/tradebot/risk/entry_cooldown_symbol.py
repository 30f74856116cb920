"""Entry policy step 3: at least ``cooldown_symbol_s`` (300 s) since this symbol's last entry."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.verdict import Verdict


class EntrySymbolCooldownGate(RulesGate):
    name = "entry_symbol_cooldown"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        last = ctx.last_entry_at_symbol
        if last is not None:
            symbol = intent.symbol
            cooldown = self.rules(symbol).entry_policy.cooldown_symbol_s
            elapsed = (ctx.now - last).total_seconds()
            if elapsed < cooldown:
                return Verdict.blocked(
                    self.name, reasons.BLOCK_COOLDOWN, scope="symbol", elapsed_s=elapsed, cooldown_s=cooldown
                )
        return Verdict.passed(self.name)
