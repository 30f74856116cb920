from risk_testkit import constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.eqs_floor import EqsFloorGate
from tradebot.risk.verdict import Outcome

GATE = EqsFloorGate(constitution())


def test_eqs_floor_is_0_75() -> None:
    assert GATE.check(intent(), ctx(eqs=0.75)).outcome is Outcome.PASS
    assert GATE.check(intent(), ctx(eqs=0.74)).code == reasons.EQS_BLOCK
