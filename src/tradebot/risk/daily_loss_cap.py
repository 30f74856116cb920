"""Constitution gate: no entries once today's PnL (realized with fees, plus unrealized) reaches -cap."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.verdict import Verdict


class DailyLossCapGate(RulesGate):
    name = "daily_loss_cap"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        cap = self.rules(intent.symbol).limits.daily_loss_cap_usd
        pnl = ctx.pnl_today
        if cap is not None and pnl <= -cap:
            return Verdict.blocked(
                self.name, reasons.DAILY_LOSS_CAP_BLOCK, pnl_today=str(pnl), cap_usd=str(cap)
            )
        return Verdict.passed(self.name, pnl_today=str(pnl))
