from decimal import Decimal

from risk_testkit import constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.domain.orders import Side
from tradebot.risk.position_limit import PositionLimitGate
from tradebot.risk.verdict import Outcome

GATE = PositionLimitGate(constitution())


def test_one_contract_limit_counts_position_and_working_orders() -> None:
    assert GATE.check(intent(), ctx()).outcome is Outcome.PASS
    assert GATE.check(intent(quantity=Decimal(2)), ctx()).code == reasons.POSITION_LIMIT_BLOCK
    assert GATE.check(intent(), ctx(position_qty=Decimal(1))).code == reasons.POSITION_LIMIT_BLOCK
    assert GATE.check(intent(), ctx(pending_qty=Decimal(1))).code == reasons.POSITION_LIMIT_BLOCK


def test_short_side_is_limited_too_and_flat_after_close_passes() -> None:
    assert GATE.check(intent(side=Side.SELL, quantity=Decimal(2)), ctx()).outcome is Outcome.BLOCK
    assert GATE.check(intent(side=Side.SELL), ctx(position_qty=Decimal(1))).outcome is Outcome.PASS
