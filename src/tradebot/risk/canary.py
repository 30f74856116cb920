"""Gate: canary mode. With canary symbols configured, entries trade only those symbols."""

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
        # the two passes never change: made once, shared by every intent (a Verdict is frozen)
        self._off = Verdict.passed(self.name)
        self._in_canary = Verdict.passed(self.name, canary=reasons.CANARY_MODE_ACTIVE)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        if not self.symbols:
            return self._off
        if intent.symbol in self.symbols:
            return self._in_canary
        return Verdict.blocked(
            self.name, reasons.CANARY_SYMBOL_BLOCK, symbol=intent.symbol, canary_symbols=sorted(self.symbols)
        )
