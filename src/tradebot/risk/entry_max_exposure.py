"""Entry policy step 5: total exposure (notional / leverage) under ``max_exposure_total_usd``.

This compares the current exposure; the capital allocation gate then cuts the order to
the remaining room, so the two together keep exposure + order within the cap."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.verdict import Verdict


class EntryMaxExposureGate(RulesGate):
    name = "entry_max_exposure"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        cap = self.rules(intent.symbol).entry_policy.max_exposure_total_usd
        total = ctx.total_exposure
        if total >= cap:
            return Verdict.blocked(
                self.name, reasons.BLOCK_MAX_EXPOSURE, scope="total", exposure=str(total), cap_usd=str(cap)
            )
        return Verdict.passed(self.name, exposure=str(total))
