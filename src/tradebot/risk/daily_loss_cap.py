"""Constitution gate: no entries once today's PnL (realized with fees, plus unrealized) reaches -cap."""

from __future__ import annotations

from decimal import Decimal

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.rules import InstrumentRules
from tradebot.risk.shared_verdicts import SharedPasses
from tradebot.risk.verdict import Verdict


class DailyLossCapGate(RulesGate):
    name = "daily_loss_cap"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)
        self._caps = self.per_symbol(_caps)  # (cap, -cap), None without a cap
        self._passes = SharedPasses(self.name)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        caps = self._caps(intent.symbol)
        pnl = ctx.pnl_today
        if caps is not None and pnl <= caps[1]:
            return Verdict.blocked(
                self.name, reasons.DAILY_LOSS_CAP_BLOCK, pnl_today=str(pnl), cap_usd=str(caps[0])
            )
        text = str(pnl)  # the text fixes the details: one shared verdict per text
        return self._passes.passed(text, pnl_today=text)


def _caps(rules: InstrumentRules) -> tuple[Decimal, Decimal] | None:
    cap = rules.limits.daily_loss_cap_usd
    return None if cap is None else (cap, -cap)
