from datetime import UTC, datetime

import pytest
from risk_testkit import constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.no_trade_window import NoTradeWindowGate
from tradebot.risk.verdict import Outcome

GATE = NoTradeWindowGate(constitution())


@pytest.mark.parametrize(
    ("utc", "window"),
    [
        (datetime(2024, 3, 12, 13, 32, tzinfo=UTC), "open"),  # 09:32 EDT
        (datetime(2024, 3, 12, 16, 30, tzinfo=UTC), "lunch"),  # 12:30 EDT
        (datetime(2024, 3, 12, 19, 50, tzinfo=UTC), "close"),  # 15:50 EDT
        (datetime(2024, 3, 8, 17, 30, tzinfo=UTC), "lunch"),  # 12:30 EST (before the DST switch)
    ],
)
def test_windows_block_in_local_time(utc: datetime, window: str) -> None:
    verdict = GATE.check(intent(), ctx(now=utc))
    assert (verdict.outcome, verdict.code) == (Outcome.BLOCK, reasons.NO_TRADE_WINDOW_BLOCK)
    assert verdict.details["window"] == window


def test_outside_windows_passes() -> None:
    assert GATE.check(intent(), ctx(now=datetime(2024, 3, 12, 15, 0, tzinfo=UTC))).outcome is Outcome.PASS
    # 12:30 UTC is lunch in no timezone we use: 08:30 EDT
    assert GATE.check(intent(), ctx(now=datetime(2024, 3, 12, 12, 30, tzinfo=UTC))).outcome is Outcome.PASS
