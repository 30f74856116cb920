"""Entry policy step 1: the signal's confidence is at least the minimum (0.7)."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.shared_verdicts import SharedPasses, exact_float
from tradebot.risk.verdict import Verdict


class EntryConfidenceGate(RulesGate):
    name = "entry_confidence"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)
        self._minimum = self.per_symbol(lambda rules: rules.entry_policy.min_confidence)
        self._passes = SharedPasses(self.name)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        minimum = self._minimum(intent.symbol)
        confidence = intent.confidence
        if not confidence >= minimum:
            return Verdict.blocked(
                self.name, reasons.BLOCK_LOW_CONFIDENCE, confidence=confidence, min=minimum
            )
        if exact_float(confidence):  # the value fixes the details: one shared verdict per value
            return self._passes.passed(confidence, confidence=confidence)
        return Verdict.passed(self.name, confidence=confidence)
