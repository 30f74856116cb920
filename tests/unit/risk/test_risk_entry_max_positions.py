from decimal import Decimal

from risk_testkit import constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.entry_max_positions import EntryMaxPositionsGate
from tradebot.risk.verdict import Outcome

GATE = EntryMaxPositionsGate(constitution())


def test_ten_open_positions_block() -> None:
    nine = {f"S{i}": Decimal(1) for i in range(9)}
    assert GATE.check(intent(), ctx(positions=nine)).outcome is Outcome.PASS
    ten = {**nine, "S9": Decimal(-1)}
    assert GATE.check(intent(), ctx(positions=ten)).code == reasons.BLOCK_MAX_POSITIONS


def test_a_working_entry_counts_as_an_open_position() -> None:
    nine = {f"S{i}": Decimal(1) for i in range(9)}
    tenth_entering = ctx(positions=nine, entering=frozenset({"S9"}))
    assert GATE.check(intent(), tenth_entering).code == reasons.BLOCK_MAX_POSITIONS
    # a held instrument with another entry working is still one position
    held_and_entering = ctx(positions=nine, entering=frozenset({"S0"}))
    assert GATE.check(intent(), held_and_entering).outcome is Outcome.PASS
