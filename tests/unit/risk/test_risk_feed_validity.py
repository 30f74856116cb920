"""Each instrument's feed is judged on its own bars: a gap in one does not lower another's DVS."""

from datetime import UTC, datetime, timedelta

from tradebot.domain.bars import Bar
from tradebot.risk.feed_validity import FeedValidity

T0 = datetime(2013, 10, 7, 13, 30, tzinfo=UTC)


def _bar(symbol: str, minute: int) -> Bar:
    return Bar(symbol, T0 + timedelta(minutes=minute), 100.0, 100.0, 100.0, 100.0, 1.0)


def test_a_gap_in_one_feed_leaves_the_other_whole() -> None:
    dvs = FeedValidity()
    for minute in range(20):
        bar = _bar("MES", minute)
        dvs.on_bar(bar, bar.end)
    for minute in (0, 5, 10, 15, 19):  # SPY: sparse, a gap of four bars each time
        bar = _bar("SPY", minute)
        dvs.on_bar(bar, bar.end)
    now = T0 + timedelta(minutes=20)
    assert dvs.score(now, "MES") == 1.0
    assert dvs.score(now, "SPY") < 0.5


def test_a_refused_bar_counts_against_its_own_feed() -> None:
    dvs = FeedValidity()
    for symbol in ("A", "B"):
        bar = _bar(symbol, 0)
        dvs.on_bar(bar, bar.end)
    dvs.on_rejected_bar("BAR_MALFORMED", "B")
    now = T0 + timedelta(minutes=1)
    assert dvs.score(now, "A") == 1.0 and dvs.score(now, "B") == 0.5
