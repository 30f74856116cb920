from risk_testkit import constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.entry_confidence import EntryConfidenceGate
from tradebot.risk.verdict import Outcome

GATE = EntryConfidenceGate(constitution())


def test_min_confidence_is_0_7() -> None:
    assert GATE.check(intent(confidence=0.7), ctx()).outcome is Outcome.PASS
    assert GATE.check(intent(confidence=0.69), ctx()).code == reasons.BLOCK_LOW_CONFIDENCE
