from decimal import Decimal

from risk_testkit import SPY, constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.entry_symbol_exposure import EntrySymbolExposureGate
from tradebot.risk.verdict import Outcome

GATE = EntrySymbolExposureGate(constitution())
SPY_INTENT = intent(symbol="SPY", intent_id="SPY-1", reference_price=Decimal(500))


def test_symbol_cap_1000_for_new_entries() -> None:
    working = ctx(instrument=SPY, exposure_by_symbol={"SPY": Decimal(1000)})
    assert GATE.check(SPY_INTENT, working).code == reasons.BLOCK_MAX_EXPOSURE
    assert (
        GATE.check(SPY_INTENT, ctx(instrument=SPY, exposure_by_symbol={"SPY": Decimal(999)})).outcome
        is Outcome.PASS
    )


def test_scale_ins_are_left_to_step_six() -> None:
    held = ctx(instrument=SPY, position_qty=Decimal(2), exposure_by_symbol={"SPY": Decimal(1000)})
    assert GATE.check(SPY_INTENT, held).details == {"scale_in": True}
