from decimal import Decimal

from risk_testkit import constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.domain.orders import ExitPlan, OrderType, Side
from tradebot.risk.per_trade_risk import PerTradeRiskGate
from tradebot.risk.verdict import Outcome

GATE = PerTradeRiskGate(constitution())


def test_twelve_ticks_is_fifteen_dollars_and_passes() -> None:
    verdict = GATE.check(intent(), ctx())
    assert verdict.outcome is Outcome.PASS
    assert Decimal(verdict.details["risk_usd"]) == Decimal(15)


def test_thirteen_ticks_is_blocked() -> None:
    wide = intent(exit_plan=ExitPlan(stop_loss=Decimal("4496.75")))
    verdict = GATE.check(wide, ctx())
    assert (verdict.code, verdict.details["problem"]) == (reasons.PER_TRADE_RISK_BLOCK, "stop_too_far")


def test_two_contracts_at_twelve_ticks_exceed_the_cap() -> None:
    verdict = GATE.check(intent(quantity=Decimal(2)), ctx())
    assert verdict.details["problem"] == "risk_over_cap"


def test_no_stop_and_wrong_side_stop_are_blocked() -> None:
    assert GATE.check(intent(exit_plan=None), ctx()).details["problem"] == "no_stop"
    short = intent(side=Side.SELL, exit_plan=ExitPlan(stop_loss=Decimal(4497)))
    assert GATE.check(short, ctx()).details["problem"] == "stop_wrong_side"


def test_risk_is_measured_from_the_limit_price() -> None:
    limit = intent(
        order_type=OrderType.LIMIT, limit_price=Decimal(4498), exit_plan=ExitPlan(stop_loss=Decimal(4495))
    )
    assert GATE.check(limit, ctx()).outcome is Outcome.PASS
