from decimal import Decimal

from risk_testkit import constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.domain.orders import OrderType
from tradebot.risk.pretrade_price_collar import PriceCollarGate
from tradebot.risk.verdict import Outcome

GATE = PriceCollarGate(constitution())


def test_collar_against_last() -> None:  # MES collar 0.5 %
    assert GATE.check(intent(reference_price=Decimal(4522)), ctx()).outcome is Outcome.PASS
    verdict = GATE.check(intent(reference_price=Decimal(4523)), ctx())
    assert (verdict.code, verdict.details["basis"]) == (reasons.PRICE_COLLAR_BLOCK, "last")


def test_collar_prefers_mid_and_checks_limit_price() -> None:
    limit = intent(order_type=OrderType.LIMIT, limit_price=Decimal(4400))
    verdict = GATE.check(limit, ctx(mid_price=Decimal(4500)))
    assert (verdict.code, verdict.details["basis"]) == (reasons.PRICE_COLLAR_BLOCK, "mid")
    assert GATE.check(limit, ctx(last_price=Decimal(4500), mid_price=Decimal(4401))).outcome is Outcome.PASS


def test_no_reference_price_blocks() -> None:
    assert GATE.check(intent(), ctx(last_price=Decimal(0))).code == reasons.PRICE_COLLAR_BLOCK
