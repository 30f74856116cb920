from datetime import UTC, datetime, timedelta

from tradebot.domain.bars import Bar
from tradebot.risk.data_validity import DataValidity, DvsConfig

T0 = datetime(2024, 3, 12, 14, 0, tzinfo=UTC)


def _bar(i: int, close: float = 100.0) -> Bar:
    return Bar("X", T0 + timedelta(minutes=i), close, close, close, close, 1.0)


def _feed(
    dvs: DataValidity, minutes: list[int], closes: dict[int, float] | None = None, lag_s: int = 0
) -> None:
    for i in minutes:
        bar = _bar(i, (closes or {}).get(i, 100.0))
        dvs.on_bar(bar, bar.end + timedelta(seconds=lag_s))


def test_clean_feed_scores_one_and_empty_scores_zero() -> None:
    dvs = DataValidity()
    assert dvs.score() == 0.0
    _feed(dvs, list(range(10)))
    assert dvs.score(_bar(9).end) == 1.0


def test_gaps_rejections_outliers_and_lag_lower_the_score() -> None:
    dvs = DataValidity(DvsConfig(window=20))
    _feed(dvs, [0, 1, 2, 3, 4, 5, 6, 7, 10])  # 2 missing bars: 11 observations, 2 bad
    assert abs(dvs.score(_bar(10).end) - (1 - 2 / 11)) < 1e-9
    dvs.on_rejected_bar("BAR_NAN")
    assert abs(dvs.score(_bar(10).end) - (1 - 3 / 12)) < 1e-9
    _feed(dvs, [11], closes={11: 110.0})  # +10 %: outlier, half penalty
    assert abs(dvs.score(_bar(11).end) - (1 - 3.5 / 13)) < 1e-9
    assert dvs.score(_bar(11).end + timedelta(seconds=31)) < dvs.score(_bar(11).end)  # the feed stopped


def test_a_session_break_is_not_a_gap_and_a_run_of_bad_bars_drops_below_080() -> None:
    dvs = DataValidity()
    _feed(dvs, [0, 1, 2, 600])  # 10 hours later: a break
    assert dvs.score(_bar(600).end) == 1.0
    for _ in range(2):
        dvs.on_rejected_bar("BAR_HIGH_BELOW_LOW")
    assert dvs.score(_bar(600).end) < 0.80
