from risk_testkit import constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.dvs_floor import DvsFloorGate
from tradebot.risk.verdict import Outcome

GATE = DvsFloorGate(constitution())


def test_dvs_floor_is_0_80() -> None:
    assert GATE.check(intent(), ctx(dvs=0.80)).outcome is Outcome.PASS
    assert GATE.check(intent(), ctx(dvs=0.79)).code == reasons.DVS_BLOCK
    assert GATE.check(intent(), ctx(dvs=float("nan"))).code == reasons.DVS_BLOCK
