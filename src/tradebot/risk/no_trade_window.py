"""Gate: configured no-trade windows (open, lunch, close) in the session's local time."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.rules import Window
from tradebot.risk.verdict import Verdict


class NoTradeWindowGate(RulesGate):
    name = "no_trade_window"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)
        # per symbol, from the (frozen) constitution: its windows and timezone, None without windows
        self._windows: dict[str, tuple[tuple[Window, ...], ZoneInfo] | None] = {}
        self._pass = Verdict.passed(self.name)  # frozen: one instance for every intent it passes

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        symbol = intent.symbol
        try:
            windows = self._windows[symbol]
        except KeyError:
            session = self.rules(symbol).session
            windows = self._windows[symbol] = (
                (session.no_trade_windows, session.tz) if session.no_trade_windows else None
            )
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
