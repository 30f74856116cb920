"""Entry policy step 4: fewer than ``max_positions_total`` (10) open positions."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.shared_verdicts import SharedPasses
from tradebot.risk.verdict import Verdict


class EntryMaxPositionsGate(RulesGate):
    name = "entry_max_positions"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)
        self._maximum = self.per_symbol(lambda rules: rules.entry_policy.max_positions_total)
        self._passes = SharedPasses(self.name)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        maximum = self._maximum(intent.symbol)
        open_positions = ctx.open_positions
        if open_positions >= maximum:
            return Verdict.blocked(
                self.name,
                reasons.BLOCK_MAX_POSITIONS,
                scope="total",
                open_positions=open_positions,
                max=maximum,
            )
        if type(open_positions) is int:  # the count fixes the details: one shared verdict per count
            return self._passes.passed(open_positions, open_positions=open_positions)
        return Verdict.passed(self.name, open_positions=open_positions)
