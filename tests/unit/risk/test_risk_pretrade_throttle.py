from datetime import timedelta

from risk_testkit import NOW, constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.pretrade_throttle import RateThrottleGate
from tradebot.risk.verdict import Outcome

GATE = RateThrottleGate(constitution())


def _times(n: int, spacing_s: int = 5) -> tuple:  # type: ignore[type-arg]
    return tuple(NOW - timedelta(seconds=spacing_s * i) for i in range(n))


def test_global_orders_per_minute() -> None:  # MES: 6 global, 4 per symbol
    assert GATE.check(intent(), ctx(recent_orders=_times(5))).outcome is Outcome.PASS
    verdict = GATE.check(intent(), ctx(recent_orders=_times(6)))
    assert (verdict.code, verdict.details["scope"]) == (reasons.RATE_THROTTLE_BLOCK, "global")


def test_per_symbol_orders_per_minute_and_window_expiry() -> None:
    verdict = GATE.check(intent(), ctx(recent_orders_symbol=_times(4)))
    assert verdict.details["scope"] == "symbol"
    old = _times(4, spacing_s=20)  # 0, 20, 40, 60 s ago: the 60 s one has left the window
    assert GATE.check(intent(), ctx(recent_orders_symbol=old)).outcome is Outcome.PASS
