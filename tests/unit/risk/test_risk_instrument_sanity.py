from decimal import Decimal

from risk_testkit import BTC, ctx, intent

from tradebot.domain import reasons
from tradebot.domain.orders import ExitPlan, OrderType, Side
from tradebot.risk.instrument_sanity import InstrumentSanityGate
from tradebot.risk.verdict import Outcome

GATE = InstrumentSanityGate()


def test_quantities_and_prices_are_rounded_by_the_instrument() -> None:
    raw = intent(
        quantity=Decimal("1.7"),
        order_type=OrderType.LIMIT,
        limit_price=Decimal("4500.13"),
        exit_plan=ExitPlan(stop_loss=Decimal("4497.1"), take_profit=Decimal("4506.2")),
    )
    verdict = GATE.check(raw, ctx())
    assert (verdict.outcome, verdict.code) == (Outcome.CLAMP, reasons.INSTRUMENT_ROUNDED)
    out = verdict.intent
    assert out is not None and out.quantity == Decimal(1) and out.limit_price == Decimal("4500.00")
    assert out.exit_plan is not None
    assert out.exit_plan.stop_loss == Decimal("4497.25")  # toward the entry
    assert out.exit_plan.take_profit == Decimal("4506.25")


def test_under_min_qty_or_notional_blocks() -> None:
    assert GATE.check(intent(quantity=Decimal("0.5")), ctx()).code == reasons.INSTRUMENT_INCREMENT_BLOCK
    btc = intent(
        symbol="BTCUSDT", intent_id="BTCUSDT-1", quantity=Decimal("0.001"), reference_price=Decimal(1000)
    )
    assert GATE.check(btc, ctx(instrument=BTC)).details["problem"] == "under_min_notional"


def test_reduce_only_is_cut_to_the_position_and_needs_one() -> None:
    exit_ = intent(side=Side.SELL, quantity=Decimal(3), reduce_only=True, exit_plan=None)
    verdict = GATE.check(exit_, ctx(position_qty=Decimal(2)))
    assert verdict.code == reasons.REDUCE_ONLY_CLAMP
    assert verdict.intent is not None and verdict.intent.quantity == Decimal(2)
    assert GATE.check(exit_, ctx()).code == reasons.NO_POSITION_TO_REDUCE
    assert GATE.check(exit_, ctx(position_qty=Decimal(-1))).code == reasons.NO_POSITION_TO_REDUCE
    covered = ctx(position_qty=Decimal(2), pending_exit_qty=Decimal(-2))
    assert GATE.check(exit_, covered).code == reasons.NO_POSITION_TO_REDUCE
    assert GATE.applies_to_exits is True


def test_bad_values_are_invalid() -> None:
    assert GATE.check(intent(reference_price=Decimal(-1)), ctx()).code == reasons.INTENT_INVALID
    assert GATE.check(intent(quantity=Decimal(0)), ctx()).code == reasons.INSTRUMENT_INCREMENT_BLOCK
