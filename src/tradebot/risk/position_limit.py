"""Constitution gate: |position + working entries + this order| never exceeds the limit (MES: 1)."""

from __future__ import annotations

from decimal import Decimal

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate, signed_qty
from tradebot.risk.rules import InstrumentRules
from tradebot.risk.shared_verdicts import SharedPasses
from tradebot.risk.verdict import Verdict


class PositionLimitGate(RulesGate):
    name = "position_limit"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)
        self._limits = self.per_symbol(self._setting)  # the limit, its text and its passes
        self._no_limit = Verdict.passed(self.name)  # frozen: one instance for every intent it passes

    def _setting(self, rules: InstrumentRules) -> tuple[Decimal, str, SharedPasses] | None:
        limit = rules.limits.position_limit
        return None if limit is None else (limit, str(limit), SharedPasses(self.name))

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        setting = self._limits(intent.symbol)
        if setting is None:
            return self._no_limit
        limit, limit_text, passes = setting
        delta = signed_qty(intent)
        # worst case: the working entries fill, or they are canceled
        position = ctx.position_qty
        worst = max(abs(position + ctx.pending_qty + delta), abs(position + delta))
        if worst > limit:
            return Verdict.blocked(
                self.name,
                reasons.POSITION_LIMIT_BLOCK,
                position=str(position),
                pending=str(ctx.pending_qty),
                order=str(delta),
                limit=limit_text,
            )
        text = str(worst)  # with the limit, the text fixes the details: one shared verdict per text
        return passes.passed(text, resulting=text, limit=limit_text)
