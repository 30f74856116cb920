"""Entry policy step 1: the signal's confidence is at least the minimum (0.7)."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.verdict import Verdict


class EntryConfidenceGate(RulesGate):
    name = "entry_confidence"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        minimum = self.rules(intent.symbol).entry_policy.min_confidence
        confidence = intent.confidence
        if not confidence >= minimum:
            return Verdict.blocked(
                self.name, reasons.BLOCK_LOW_CONFIDENCE, confidence=confidence, min=minimum
            )
        return Verdict.passed(self.name, confidence=confidence)
