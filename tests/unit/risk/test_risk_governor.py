from decimal import Decimal

from risk_testkit import BTC, constitution, ctx, intent, with_rules

from tradebot.domain import reasons
from tradebot.domain.orders import ExitPlan
from tradebot.risk.governor import GovernorGate
from tradebot.risk.verdict import Outcome

GATE = GovernorGate(constitution())


def _btc(**kw):  # type: ignore[no-untyped-def]
    values = {
        "symbol": "BTCUSDT",
        "intent_id": "BTCUSDT-1",
        "reference_price": Decimal(1000),
        "quantity": Decimal(1),
        "exit_plan": ExitPlan(stop_loss=Decimal(990)),
    }
    values.update(kw)
    return intent(**values)


def test_leverage_is_clamped_to_5_80() -> None:
    low = GATE.check(_btc(leverage=Decimal(2)), ctx(instrument=BTC))
    assert (low.outcome, low.code) == (Outcome.CLAMP, reasons.GOVERNOR_CLAMP_LEVERAGE)
    assert low.intent is not None and low.intent.leverage == Decimal(5)
    high = GATE.check(_btc(quantity=Decimal(10), leverage=Decimal(125)), ctx(instrument=BTC))
    assert high.intent is not None and high.intent.leverage == Decimal(80)


def test_leverage_is_removed_where_the_venue_has_none() -> None:
    verdict = GATE.check(intent(leverage=Decimal(10)), ctx())
    assert verdict.code == reasons.GOVERNOR_CLAMP_LEVERAGE and verdict.intent is not None
    assert verdict.intent.leverage is None


def test_size_is_clamped_not_rejected() -> None:
    # 20 BTC at 1,000 = 20,000 at 1x > max_position_usd 10,000 -> 10 BTC
    verdict = GATE.check(_btc(quantity=Decimal(20)), ctx(instrument=BTC))
    assert (verdict.code, verdict.intent.quantity if verdict.intent else None) == (
        reasons.GOVERNOR_CLAMP_SIZE,
        Decimal(10),
    )


def test_notional_cap_binds_with_leverage() -> None:
    # 50x: size cap 10,000 x 50 = 500 BTC, notional cap 100,000 -> 100 BTC
    verdict = GATE.check(_btc(quantity=Decimal(300), leverage=Decimal(50)), ctx(instrument=BTC))
    assert verdict.code == reasons.GOVERNOR_CLAMP_NOTIONAL
    assert verdict.intent is not None and verdict.intent.quantity == Decimal(100)


def test_risk_budget_clamps() -> None:
    verdict = GATE.check(_btc(quantity=Decimal(5), risk_budget_usd=Decimal(20)), ctx(instrument=BTC))
    assert verdict.code == reasons.GOVERNOR_RISK_BUDGET  # 10 per BTC at risk -> 2 BTC
    assert verdict.intent is not None and verdict.intent.quantity == Decimal(2)


def test_confidence_floor_and_min_order_block() -> None:
    gate = GovernorGate(with_rules("BTCUSDT", governor={"min_confidence": 0.9}))
    assert gate.check(_btc(), ctx(instrument=BTC)).code == reasons.GOVERNOR_CONFIDENCE_FLOOR
    tiny = GATE.check(_btc(quantity=Decimal("0.01")), ctx(instrument=BTC))  # $10 < $50
    assert tiny.code == reasons.GOVERNOR_MIN_ORDER


def test_an_exception_inside_rejects() -> None:
    verdict = GATE.check(intent(reference_price=Decimal(0)), ctx())
    assert (verdict.outcome, verdict.code) == (Outcome.BLOCK, reasons.GOVERNOR_FAILURE)


def test_mes_one_contract_passes_unchanged() -> None:
    verdict = GATE.check(intent(), ctx())
    assert verdict.outcome is Outcome.PASS
