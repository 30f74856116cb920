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
