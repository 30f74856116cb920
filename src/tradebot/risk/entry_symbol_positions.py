"""Entry policy step 8: fewer than ``max_positions_per_symbol`` (3) entries stacked in the
symbol (filled or working)."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate, adds_to_position
from tradebot.risk.shared_verdicts import SharedPasses
from tradebot.risk.verdict import Verdict


class EntrySymbolPositionsGate(RulesGate):
    name = "entry_symbol_positions"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)
        self._maximum = self.per_symbol(lambda rules: rules.entry_policy.max_positions_per_symbol)
        self._scale_in = Verdict.passed(self.name, scale_in=True)  # frozen: shared by every intent
        self._passes = SharedPasses(self.name)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        if adds_to_position(intent, ctx.position_qty):
            return self._scale_in  # judged by step 6
        symbol = intent.symbol
        maximum = self._maximum(symbol)
        entries = ctx.entries_in_position
        if entries >= maximum:
            return Verdict.blocked(
                self.name,
                reasons.BLOCK_MAX_POSITIONS,
                scope="symbol",
                entries=entries,
                max=maximum,
            )
        if type(entries) is int:  # the count fixes the details: one shared verdict per count
            return self._passes.passed(entries, entries=entries)
        return Verdict.passed(self.name, entries=entries)
