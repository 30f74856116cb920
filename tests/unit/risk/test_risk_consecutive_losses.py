from risk_testkit import constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.consecutive_losses import ConsecutiveLossesGate
from tradebot.risk.verdict import Outcome

GATE = ConsecutiveLossesGate(constitution())


def test_blocks_after_two_losses_in_a_row() -> None:
    assert GATE.check(intent(), ctx(consecutive_losses=1)).outcome is Outcome.PASS
    assert GATE.check(intent(), ctx(consecutive_losses=2)).code == reasons.CONSECUTIVE_LOSSES_BLOCK
