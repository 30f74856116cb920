"""Canary gate (seed 002 F): with ``canary_symbols`` configured, new exposure only in those symbols.

Entries in any other symbol are blocked with CANARY_SYMBOL_BLOCK. Exits pass (``applies_to_exits`` is
False, and ``check`` passes reduce-only intents too): a canary never traps an open position.
"""

from __future__ import annotations

from collections.abc import Iterable

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.verdict import Verdict


class CanarySymbolsGate:
    def __init__(self, canary_symbols: Iterable[str], name: str = "canary_symbols") -> None:
        symbols = frozenset(s.strip() for s in canary_symbols)
        if not symbols or "" in symbols:
            raise ValueError(
                "canary_symbols: list at least one non-empty symbol (omit the key to disable canary mode)"
            )
        self.name = name
        self.applies_to_exits = False
        self.canary_symbols = symbols

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        if intent.reduce_only or intent.symbol in self.canary_symbols:
            return Verdict.passed(self.name)
        return Verdict.blocked(
            self.name,
            reasons.CANARY_SYMBOL_BLOCK,
            symbol=intent.symbol,
            canary_symbols=sorted(self.canary_symbols),
        )
