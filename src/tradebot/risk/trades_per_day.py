"""Constitution gate: at most N entry orders per instrument per session day (MES: 2)."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.verdict import Verdict


class TradesPerDayGate(RulesGate):
    name = "trades_per_day"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        maximum = self.rules(intent.symbol).limits.max_trades_per_day
        trades = ctx.trades_today
        if maximum is not None and trades >= maximum:
            return Verdict.blocked(
                self.name,
                reasons.TRADES_PER_DAY_BLOCK,
                trades_today=trades,
                max=maximum,
                session_day=ctx.session_day.isoformat() if ctx.session_day else None,
            )
        return Verdict.passed(self.name, trades_today=trades)
