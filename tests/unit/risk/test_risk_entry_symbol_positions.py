from decimal import Decimal

from risk_testkit import SPY, constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.entry_symbol_positions import EntrySymbolPositionsGate
from tradebot.risk.verdict import Outcome

GATE = EntrySymbolPositionsGate(constitution())
SPY_INTENT = intent(symbol="SPY", intent_id="SPY-1", reference_price=Decimal(500))


def test_three_stacked_entries_block_a_new_one() -> None:
    assert GATE.check(SPY_INTENT, ctx(instrument=SPY, entries_in_position=2)).outcome is Outcome.PASS
    assert (
        GATE.check(SPY_INTENT, ctx(instrument=SPY, entries_in_position=3)).code == reasons.BLOCK_MAX_POSITIONS
    )


def test_scale_ins_pass_to_step_six() -> None:
    held = ctx(instrument=SPY, position_qty=Decimal(1), entries_in_position=3)
    assert GATE.check(SPY_INTENT, held).outcome is Outcome.PASS
