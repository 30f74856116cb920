"""Gate: no new entries from the flatten deadline (MES 15:55 America/New_York, earlier on early closes)."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.ops.calendars import Calendars
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.session_times import flatten_deadline
from tradebot.risk.shared_verdicts import SharedPasses
from tradebot.risk.verdict import Verdict


class FlattenDeadlineGate(RulesGate):
    name = "flatten_deadline"
    applies_to_exits = False

    def __init__(self, constitution: Constitution, calendars: Calendars) -> None:
        super().__init__(constitution)
        self.calendars = calendars
        # its session rules when they set ``flatten_at``
        self._sessions = self.per_symbol(
            lambda rules: rules.session if rules.session.flatten_at is not None else None
        )
        self._no_deadline = Verdict.passed(self.name, deadline=None)  # frozen: shared by every intent
        self._passes = SharedPasses(self.name)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        session = self._sessions(intent.symbol)
        if session is None:  # no flatten_at: no deadline (what ``flatten_deadline`` gives)
            return self._no_deadline
        deadline = flatten_deadline(ctx.now, ctx.instrument, session, self.calendars)
        if deadline is not None and ctx.now >= deadline:
            return Verdict.blocked(self.name, reasons.FLATTEN_DEADLINE_BLOCK, deadline=deadline.isoformat())
        if deadline is None:
            return self._no_deadline
        text = deadline.isoformat()  # the text fixes the details: one shared verdict per deadline
        return self._passes.passed(text, deadline=text)
