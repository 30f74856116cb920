"""Each kind of bad bar is refused with its own reason code, counted, and does not move the clock of its
symbol; good bars do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.ingest import BarValidator, bar_fault

T0 = datetime(2013, 10, 7, 13, 30, tzinfo=UTC)
GOOD = (1676.75, 1677.25, 1673.5, 1675.25, 1884.0)


def bar(minute: int = 0, ohlcv: tuple[float, ...] = GOOD, symbol: str = "MES") -> Bar:
    o, h, low, c, v = ohlcv
    return Bar(symbol, T0 + timedelta(minutes=minute), o, h, low, c, v)


@pytest.mark.parametrize(("ohlcv", "code"), [
    ((float("nan"), 1677.25, 1673.5, 1675.25, 1884.0), reasons.BAR_NAN),
    ((1676.75, float("inf"), 1673.5, 1675.25, 1884.0), reasons.BAR_NAN),
    ((1676.75, 1677.25, 1673.5, 1675.25, float("-inf")), reasons.BAR_NAN),
    ((1676.75, 1677.25, 1673.5, 1675.25, float("nan")), reasons.BAR_NAN),
    ((1676.75, 1677.25, -1673.5, 1675.25, 1884.0), reasons.BAR_NON_POSITIVE_PRICE),
    ((0.0, 1677.25, 1673.5, 1675.25, 1884.0), reasons.BAR_NON_POSITIVE_PRICE),
    ((1676.75, 1673.0, 1673.5, 1673.25, 1884.0), reasons.BAR_HIGH_BELOW_LOW),
    ((1678.0, 1677.25, 1673.5, 1675.25, 1884.0), reasons.BAR_OHLC_INCONSISTENT),
    ((1676.75, 1677.25, 1673.5, 1673.0, 1884.0), reasons.BAR_OHLC_INCONSISTENT),
    ((1676.75, 1677.25, 1673.5, 1675.25, -1.0), reasons.BAR_NEGATIVE_VOLUME),
])
def test_bad_values(ohlcv: tuple[float, ...], code: str) -> None:
    validator = BarValidator()
    assert validator.check(bar(0, ohlcv)) == code
    assert validator.refused == {code: 1} and validator.accepted == 0
    assert validator.last_ts("MES") is None  # a refused bar does not advance the symbol's time
    assert validator.check(bar(0)) is None


def test_good_bar_and_zero_volume_pass() -> None:
    assert bar_fault(bar()) is None
    assert bar_fault(bar(ohlcv=(1.0, 1.0, 1.0, 1.0, 0.0))) is None


def test_duplicate_and_out_of_order_timestamps_per_symbol() -> None:
    validator = BarValidator()
    assert validator.check(bar(0)) is None
    assert validator.check(bar(1)) is None
    assert validator.check(bar(1)) == reasons.BAR_DUPLICATE_TS
    assert validator.check(bar(0)) == reasons.BAR_OUT_OF_ORDER
    assert validator.check(bar(0, symbol="BTCUSDT")) is None  # other symbols keep their own time
    assert validator.check(bar(2)) is None
    assert validator.refused == {reasons.BAR_DUPLICATE_TS: 1, reasons.BAR_OUT_OF_ORDER: 1}
    assert validator.accepted == 4
    assert validator.last_ts("MES") == T0 + timedelta(minutes=2)


def test_refused_bar_does_not_move_time_forward() -> None:
    validator = BarValidator()
    assert validator.check(bar(0)) is None
    assert validator.check(bar(5, (float("nan"), *GOOD[1:]))) == reasons.BAR_NAN
    assert validator.check(bar(3)) is None  # would be out of order had the NaN bar moved the clock


def test_seed_resumes_after_a_restart() -> None:
    validator = BarValidator()
    validator.seed("MES", T0 + timedelta(minutes=10))
    assert validator.check(bar(10)) == reasons.BAR_DUPLICATE_TS
    assert validator.check(bar(9)) == reasons.BAR_OUT_OF_ORDER
    assert validator.check(bar(11)) is None
