from datetime import timedelta

from risk_testkit import NOW, constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.pretrade_cancel_loop import CancelLoopGate
from tradebot.risk.verdict import Outcome

GATE = CancelLoopGate(constitution())


def test_cancels_per_minute() -> None:  # MES: 6
    cancels = tuple(NOW - timedelta(seconds=i) for i in range(6))
    verdict = GATE.check(intent(), ctx(recent_cancels=cancels))
    assert (verdict.code, verdict.details["problem"]) == (reasons.CANCEL_LOOP_BLOCK, "cancels_per_min")


def test_cancel_replace_loop_blocks_for_n_bars() -> None:  # MES: 3 cancels without a fill, 5 bars
    looping = ctx(cancels_without_fill=3, bars_since_last_cancel=4)
    assert GATE.check(intent(), looping).details["problem"] == "cancel_replace_loop"
    assert GATE.check(intent(), ctx(cancels_without_fill=3, bars_since_last_cancel=5)).outcome is Outcome.PASS
    assert GATE.check(intent(), ctx(cancels_without_fill=2, bars_since_last_cancel=0)).outcome is Outcome.PASS
