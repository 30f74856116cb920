"""Entry policy step 7: the symbol's exposure is under ``max_exposure_per_symbol_usd``."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate, adds_to_position
from tradebot.risk.verdict import Verdict


class EntrySymbolExposureGate(RulesGate):
    name = "entry_symbol_exposure"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        if adds_to_position(intent, ctx.position_qty):
            return Verdict.passed(self.name, scale_in=True)  # judged by step 6
        symbol = intent.symbol
        cap = self.rules(symbol).entry_policy.max_exposure_per_symbol_usd
        exposure = ctx.exposure_by_symbol.get(symbol, 0)
        if exposure >= cap:
            return Verdict.blocked(
                self.name,
                reasons.BLOCK_MAX_EXPOSURE,
                scope="symbol",
                exposure=str(exposure),
                cap_usd=str(cap),
            )
        return Verdict.passed(self.name, exposure=str(exposure))
