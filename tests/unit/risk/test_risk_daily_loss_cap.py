from decimal import Decimal

from risk_testkit import constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.daily_loss_cap import DailyLossCapGate
from tradebot.risk.verdict import Outcome

GATE = DailyLossCapGate(constitution())


def test_blocks_at_minus_30() -> None:
    assert GATE.check(intent(), ctx(pnl_today=Decimal("-29.99"))).outcome is Outcome.PASS
    verdict = GATE.check(intent(), ctx(pnl_today=Decimal(-30)))
    assert (verdict.outcome, verdict.code) == (Outcome.BLOCK, reasons.DAILY_LOSS_CAP_BLOCK)
    assert GATE.applies_to_exits is False
