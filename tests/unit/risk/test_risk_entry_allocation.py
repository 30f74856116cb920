from decimal import Decimal

from risk_testkit import BTC, SPY, constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.entry_allocation import EntryAllocationGate
from tradebot.risk.verdict import Outcome

GATE = EntryAllocationGate(constitution())


def test_formula_clamps_spy_quantity() -> None:
    # equity 10,000: base 2,000 x (0.7 + 0.8 x 0.3 = 0.94) = 1,880; symbol cap 1,000 wins -> 2 shares at 400
    big = intent(symbol="SPY", intent_id="SPY-1", quantity=Decimal(10), reference_price=Decimal(400))
    verdict = GATE.check(big, ctx(instrument=SPY))
    assert (verdict.outcome, verdict.code) == (Outcome.CLAMP, reasons.ENTRY_ALLOCATION_CLAMP)
    assert verdict.intent is not None and verdict.intent.quantity == Decimal(2)


def test_formula_without_caps_binding() -> None:
    # equity 2,000: 400 x 0.94 = 376 -> 0.376 BTC at 1,000 x leverage 1 -> 0.376
    btc = intent(symbol="BTCUSDT", intent_id="BTCUSDT-1", quantity=Decimal(1), reference_price=Decimal(1000))
    verdict = GATE.check(btc, ctx(instrument=BTC, equity=Decimal(2000)))
    assert verdict.intent is not None and verdict.intent.quantity == Decimal("0.376")
    levered = GATE.check(
        intent(
            symbol="BTCUSDT",
            intent_id="BTCUSDT-2",
            quantity=Decimal(1),
            reference_price=Decimal(1000),
            leverage=Decimal(2),
        ),
        ctx(instrument=BTC, equity=Decimal(2000)),
    )
    assert levered.intent is not None and levered.intent.quantity == Decimal("0.752")


def test_small_orders_pass_and_no_room_blocks() -> None:
    small = intent(symbol="SPY", intent_id="SPY-1", quantity=Decimal(1), reference_price=Decimal(400))
    assert GATE.check(small, ctx(instrument=SPY)).outcome is Outcome.PASS
    full = ctx(instrument=SPY, exposure_by_symbol={"SPY": Decimal(1000)})
    assert GATE.check(small, full).code == reasons.BLOCK_MAX_EXPOSURE
    tight = ctx(instrument=SPY, exposure_by_symbol={"SPY": Decimal(700)})  # room 300 < one 400 share
    assert GATE.check(small, tight).details["problem"] == "allocation_under_min_qty"


def test_mes_uses_hard_caps_only() -> None:
    assert GATE.check(intent(), ctx()).outcome is Outcome.PASS  # 22,500 notional under the 40,000 cap
    assert (
        GATE.check(intent(), ctx(exposure_by_symbol={"MES": Decimal(22500)})).code
        == reasons.BLOCK_MAX_EXPOSURE
    )
