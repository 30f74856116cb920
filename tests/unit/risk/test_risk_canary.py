from risk_testkit import ctx, intent

from tradebot.domain import reasons
from tradebot.risk.canary import CanaryGate
from tradebot.risk.verdict import Outcome


def test_no_canary_symbols_passes_everything() -> None:
    assert CanaryGate().check(intent(), ctx()).outcome is Outcome.PASS


def test_canary_blocks_other_symbols() -> None:
    gate = CanaryGate(["SPY"])
    verdict = gate.check(intent(), ctx())
    assert (verdict.outcome, verdict.code) == (Outcome.BLOCK, reasons.CANARY_SYMBOL_BLOCK)
    assert CanaryGate(["MES"]).check(intent(), ctx()).outcome is Outcome.PASS
    assert gate.applies_to_exits is False
