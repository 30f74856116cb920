from risk_testkit import constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.entry_regime import EntryRegimeGate
from tradebot.risk.verdict import Outcome

GATE = EntryRegimeGate(constitution())


def test_five_positions_in_a_regime_block() -> None:
    assert GATE.check(intent(regime="trend"), ctx(positions_by_regime={"trend": 4})).outcome is Outcome.PASS
    verdict = GATE.check(intent(regime="trend"), ctx(positions_by_regime={"trend": 5}))
    assert verdict.code == reasons.BLOCK_REGIME_RULE
    assert GATE.check(intent(regime="chop"), ctx(positions_by_regime={"trend": 5})).outcome is Outcome.PASS
