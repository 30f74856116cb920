"""Entry policy step 7: the symbol's exposure is under ``max_exposure_per_symbol_usd``."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate, adds_to_position
from tradebot.risk.shared_verdicts import SharedPasses
from tradebot.risk.verdict import Verdict


class EntrySymbolExposureGate(RulesGate):
    name = "entry_symbol_exposure"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)
        self._cap = self.per_symbol(lambda rules: rules.entry_policy.max_exposure_per_symbol_usd)
        self._scale_in = Verdict.passed(self.name, scale_in=True)  # frozen: shared by every intent
        self._passes = SharedPasses(self.name)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        if adds_to_position(intent, ctx.position_qty):
            return self._scale_in  # judged by step 6
        symbol = intent.symbol
        cap = self._cap(symbol)
        exposure = ctx.exposure_by_symbol.get(symbol, 0)
        if exposure >= cap:
            return Verdict.blocked(
                self.name,
                reasons.BLOCK_MAX_EXPOSURE,
                scope="symbol",
                exposure=str(exposure),
                cap_usd=str(cap),
            )
        text = str(exposure)  # the text fixes the details: one shared verdict per text
        return self._passes.passed(text, exposure=text)
