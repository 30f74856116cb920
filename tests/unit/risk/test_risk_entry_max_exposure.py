from decimal import Decimal

from risk_testkit import constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.entry_max_exposure import EntryMaxExposureGate
from tradebot.risk.verdict import Outcome

GATE = EntryMaxExposureGate(constitution())


def test_default_total_exposure_cap_is_5000() -> None:
    spy = intent(symbol="SPY", intent_id="SPY-1")
    assert GATE.check(spy, ctx(exposure_by_symbol={"A": Decimal(4999)})).outcome is Outcome.PASS
    verdict = GATE.check(spy, ctx(exposure_by_symbol={"A": Decimal(3000), "B": Decimal(2000)}))
    assert (verdict.code, verdict.details["scope"]) == (reasons.BLOCK_MAX_EXPOSURE, "total")
