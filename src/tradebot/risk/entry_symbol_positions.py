"""Entry policy step 8: fewer than ``max_positions_per_symbol`` (3) entries stacked in the
symbol (filled or working)."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate, adds_to_position
from tradebot.risk.verdict import Verdict


class EntrySymbolPositionsGate(RulesGate):
    name = "entry_symbol_positions"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        if adds_to_position(intent, ctx.position_qty):
            return Verdict.passed(self.name, scale_in=True)  # judged by step 6
        symbol = intent.symbol
        maximum = self.rules(symbol).entry_policy.max_positions_per_symbol
        entries = ctx.entries_in_position
        if entries >= maximum:
            return Verdict.blocked(
                self.name,
                reasons.BLOCK_MAX_POSITIONS,
                scope="symbol",
                entries=entries,
                max=maximum,
            )
        return Verdict.passed(self.name, entries=entries)
