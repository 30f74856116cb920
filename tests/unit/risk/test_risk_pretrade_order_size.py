from decimal import Decimal

from risk_testkit import SPY, constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.domain.orders import Side
from tradebot.risk.pretrade_order_size import OrderSizeGate
from tradebot.risk.verdict import Outcome

GATE = OrderSizeGate(constitution())


def test_max_order_shares_and_dollars() -> None:
    assert GATE.check(intent(), ctx()).outcome is Outcome.PASS
    assert (
        GATE.check(intent(quantity=Decimal(2), reference_price=Decimal(3000)), ctx()).details["problem"]
        == "quantity"
    )
    spy = intent(symbol="SPY", intent_id="SPY-1", quantity=Decimal(21), reference_price=Decimal(500))
    verdict = GATE.check(spy, ctx(instrument=SPY))
    assert (verdict.code, verdict.details["problem"]) == (reasons.ORDER_SIZE_BLOCK, "dollars")


def test_applies_to_exits() -> None:
    exit_ = intent(side=Side.SELL, quantity=Decimal(2), reduce_only=True)
    assert GATE.applies_to_exits and GATE.check(exit_, ctx(position_qty=Decimal(2))).outcome is Outcome.BLOCK
