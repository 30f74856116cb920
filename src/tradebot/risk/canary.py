"""Gate: canary mode (seed 002 F). With canary symbols configured, entries trade only those symbols."""

from __future__ import annotations

from collections.abc import Iterable

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.verdict import Verdict


class CanaryGate:
    name = "canary"
    applies_to_exits = False

    def __init__(self, symbols: Iterable[str] = ()) -> None:
        self.symbols = frozenset(symbols)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        if not self.symbols:
            return Verdict.passed(self.name)
        if intent.symbol in self.symbols:
            return Verdict.passed(self.name, canary=reasons.CANARY_MODE_ACTIVE)
        return Verdict.blocked(
            self.name, reasons.CANARY_SYMBOL_BLOCK, symbol=intent.symbol, canary_symbols=sorted(self.symbols)
        )
