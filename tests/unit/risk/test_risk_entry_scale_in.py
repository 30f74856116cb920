from decimal import Decimal

from risk_testkit import SPY, constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.domain.orders import Side
from tradebot.risk.entry_scale_in import EntryScaleInGate
from tradebot.risk.verdict import Outcome

GATE = EntryScaleInGate(constitution())


def _spy(**kw):  # type: ignore[no-untyped-def]
    return intent(symbol="SPY", intent_id="SPY-1", reference_price=Decimal(500), **kw)


def _ctx(**kw):  # type: ignore[no-untyped-def]
    base = {
        "instrument": SPY,
        "position_qty": Decimal(1),
        "entries_in_position": 1,
        "position_confidence": 0.75,
        "exposure_by_symbol": {"SPY": Decimal(500)},
    }
    base.update(kw)
    return ctx(**base)


def test_no_position_is_a_new_entry() -> None:
    assert GATE.check(_spy(), ctx(instrument=SPY)).details == {"new_entry": True}


def test_scale_in_allowed_with_better_confidence() -> None:
    verdict = GATE.check(_spy(confidence=0.81), _ctx())
    assert (verdict.outcome, verdict.code) == (Outcome.PASS, reasons.ALLOW_SCALE_IN)


def test_scale_in_rules_block() -> None:
    assert GATE.check(_spy(confidence=0.80), _ctx()).details["problem"] == "confidence_not_improved"
    assert (
        GATE.check(_spy(confidence=0.9), _ctx(entries_in_position=3)).details["problem"] == "scale_in_count"
    )
    rich = _ctx(exposure_by_symbol={"SPY": Decimal(1000)})
    assert GATE.check(_spy(confidence=0.9), rich).details["problem"] == "symbol_exposure"
    assert GATE.check(_spy(confidence=0.9), _ctx()).code == reasons.ALLOW_SCALE_IN


def test_opposite_direction_and_disabled_scale_in_block() -> None:
    assert GATE.check(_spy(side=Side.SELL), _ctx()).code == reasons.BLOCK_EXISTING_POSITION
    # MES has scale-in off
    verdict = GATE.check(intent(confidence=0.99), ctx(position_qty=Decimal(1), entries_in_position=1))
    assert (verdict.code, verdict.details["problem"]) == (
        reasons.BLOCK_EXISTING_POSITION,
        "scale_in_disabled",
    )
