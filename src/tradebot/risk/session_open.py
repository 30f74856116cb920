"""Gate: the market is open (exchange calendar: holidays, early closes) and, where the instrument has
trading hours (MES: RTH), the local time is inside them. Otherwise MARKET_CLOSED_BLOCK."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.calendars import Calendars
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.session_times import outside_trading_hours
from tradebot.risk.verdict import Verdict


class SessionOpenGate(RulesGate):
    name = "session_open"
    applies_to_exits = False

    def __init__(self, constitution: Constitution, calendars: Calendars) -> None:
        super().__init__(constitution)
        self.calendars = calendars

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        code = ctx.instrument.calendar
        if not self.calendars.is_open(code, ctx.now):
            return Verdict.blocked(
                self.name, reasons.MARKET_CLOSED_BLOCK, calendar=code, now=ctx.now.isoformat()
            )
        session = self.rules(intent.symbol).session
        if session.trading_hours is not None and outside_trading_hours(ctx.now, session):
            return Verdict.blocked(
                self.name,
                reasons.MARKET_CLOSED_BLOCK,
                calendar=code,
                window=session.trading_hours.name,
                local_time=ctx.now.astimezone(session.tz).strftime("%H:%M:%S"),
            )
        return Verdict.passed(self.name, calendar=code)
