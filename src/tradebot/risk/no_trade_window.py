"""Gate: configured no-trade windows (open, lunch, close) in the session's local time."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.verdict import Verdict


class NoTradeWindowGate(RulesGate):
    name = "no_trade_window"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        session = self.rules(intent.symbol).session
        if not session.no_trade_windows:
            return Verdict.passed(self.name)
        local = ctx.now.astimezone(session.tz).time()
        for window in session.no_trade_windows:
            if window.contains(local):
                return Verdict.blocked(
                    self.name,
                    reasons.NO_TRADE_WINDOW_BLOCK,
                    window=window.name,
                    start=window.start.isoformat(),
                    end=window.end.isoformat(),
                    local_time=local.strftime("%H:%M:%S"),
                )
        return Verdict.passed(self.name)
