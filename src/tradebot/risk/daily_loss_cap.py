"""Constitution gate: no entries once today's PnL (realized with fees, plus unrealized) reaches -cap."""

from __future__ import annotations

from decimal import Decimal

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.shared_verdicts import SharedPasses
from tradebot.risk.verdict import Verdict


class DailyLossCapGate(RulesGate):
    name = "daily_loss_cap"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)
        # per symbol, from the (frozen) constitution: (cap, -cap), None without a cap
        self._caps: dict[str, tuple[Decimal, Decimal] | None] = {}
        self._passes = SharedPasses(self.name)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        symbol = intent.symbol
        try:
            caps = self._caps[symbol]
        except KeyError:
            cap = self.rules(symbol).limits.daily_loss_cap_usd
            caps = self._caps[symbol] = None if cap is None else (cap, -cap)
        pnl = ctx.pnl_today
        if caps is not None and pnl <= caps[1]:
            return Verdict.blocked(
                self.name, reasons.DAILY_LOSS_CAP_BLOCK, pnl_today=str(pnl), cap_usd=str(caps[0])
            )
        text = str(pnl)  # the text fixes the details: one shared verdict per text
        return self._passes.get(text) or self._passes.keep(text, Verdict.passed(self.name, pnl_today=text))
