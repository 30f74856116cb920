"""Gate: no new entries from the flatten deadline (MES 15:55 America/New_York, earlier on early closes)."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.calendars import Calendars
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.session_times import flatten_deadline
from tradebot.risk.verdict import Verdict


class FlattenDeadlineGate(RulesGate):
    name = "flatten_deadline"
    applies_to_exits = False

    def __init__(self, constitution: Constitution, calendars: Calendars) -> None:
        super().__init__(constitution)
        self.calendars = calendars

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        session = self.rules(intent.symbol).session
        if session.flatten_at is None:  # no deadline (what ``flatten_deadline`` gives)
            return Verdict.passed(self.name, deadline=None)
        deadline = flatten_deadline(ctx.now, ctx.instrument, session, self.calendars)
        if deadline is not None and ctx.now >= deadline:
            return Verdict.blocked(self.name, reasons.FLATTEN_DEADLINE_BLOCK, deadline=deadline.isoformat())
        if deadline is None:
            return Verdict.passed(self.name, deadline=None)
        return Verdict.passed(self.name, deadline=deadline.isoformat())
