"""Constitution gate: at most N entry orders per instrument per session day (MES: 2)."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.shared_verdicts import SharedPasses
from tradebot.risk.verdict import Verdict


class TradesPerDayGate(RulesGate):
    name = "trades_per_day"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)
        self._maximum = self.per_symbol(lambda rules: rules.limits.max_trades_per_day)
        self._passes = SharedPasses(self.name)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        maximum = self._maximum(intent.symbol)
        trades = ctx.trades_today
        if maximum is not None and trades >= maximum:
            return Verdict.blocked(
                self.name,
                reasons.TRADES_PER_DAY_BLOCK,
                trades_today=trades,
                max=maximum,
                session_day=ctx.session_day.isoformat() if ctx.session_day else None,
            )
        if type(trades) is int:  # the count fixes the details: one shared verdict per count
            return self._passes.passed(trades, trades_today=trades)
        return Verdict.passed(self.name, trades_today=trades)
