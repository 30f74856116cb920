from decimal import Decimal

from risk_testkit import constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.min_capital import MinCapitalGate
from tradebot.risk.verdict import Outcome

GATE = MinCapitalGate(constitution())


def test_mes_needs_1500() -> None:
    assert GATE.check(intent(), ctx(equity=Decimal(1500))).outcome is Outcome.PASS
    verdict = GATE.check(intent(), ctx(equity=Decimal("1499.99")))
    assert (verdict.outcome, verdict.code) == (Outcome.BLOCK, reasons.MIN_CAPITAL_BLOCK)
