"""Gate: configured no-trade windows (open, lunch, close) in the session's local time."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.verdict import Verdict


class NoTradeWindowGate(RulesGate):
    name = "no_trade_window"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)
        # its windows and timezone, None without windows
        self._windows = self.per_symbol(
            lambda rules: (
                (rules.session.no_trade_windows, rules.session.tz) if rules.session.no_trade_windows else None
            )
        )
        self._pass = Verdict.passed(self.name)  # frozen: one instance for every intent it passes

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        windows = self._windows(intent.symbol)
        if windows is None:
            return self._pass
        local = ctx.now.astimezone(windows[1]).time()
        for window in windows[0]:
            if window.contains(local):
                return Verdict.blocked(
                    self.name,
                    reasons.NO_TRADE_WINDOW_BLOCK,
                    window=window.name,
                    start=window.start.isoformat(),
                    end=window.end.isoformat(),
                    local_time=local.strftime("%H:%M:%S"),
                )
        return self._pass
