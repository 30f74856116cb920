from risk_testkit import constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.trades_per_day import TradesPerDayGate
from tradebot.risk.verdict import Outcome

GATE = TradesPerDayGate(constitution())


def test_third_trade_of_the_day_is_blocked() -> None:
    assert GATE.check(intent(), ctx(trades_today=1)).outcome is Outcome.PASS
    assert GATE.check(intent(), ctx(trades_today=2)).code == reasons.TRADES_PER_DAY_BLOCK
