import math
from datetime import UTC, date, datetime, timedelta

from risk_testkit import BTC, INSTRUMENTS, MES, SPY, intent

from tradebot.domain.bars import Bar
from tradebot.risk.portfolio_returns import MIN_RETURNS, DaySums, ReturnHistory, annual_vol, correlation

START = datetime(2024, 3, 11, 14, 0, tzinfo=UTC)


def bar(symbol: str, sample: int, close: float, day: int = 0) -> Bar:
    """The one-minute bar ending on the ``sample``-th 15-minute grid time of the day."""
    ts = START + timedelta(days=day, minutes=15 * sample - 1)
    return Bar(symbol, ts, close, close, close, close, 1.0)


def feed(history: ReturnHistory, symbol: str, closes: list[float], day: int = 0) -> None:
    for minute, close in enumerate(closes):
        history.on_bar(bar(symbol, minute, close, day), date(2024, 3, 11 + day), START)


def test_annualized_vol_is_the_mean_squared_return_times_a_full_day_times_the_year() -> None:
    history = ReturnHistory(INSTRUMENTS)
    closes = [100.0 * (1.001 if n % 2 else 1.0) for n in range(61)]  # 60 returns of about ±0.1 %
    feed(history, "SPY", closes)
    view = history.view(intent(symbol="SPY"), START)
    per_bar = sum(d.squares for d in view.days["SPY"]) / 60
    assert view.vol("SPY", 20) == math.sqrt(per_bar * 60 * 252)
    assert view.days_per_year == {"MES": 252, "BTCUSDT": 365, "SPY": 252}


def test_only_bars_ending_on_the_15_minute_grid_are_sampled() -> None:
    history = ReturnHistory({"SPY": SPY})
    for minute in range(1, 121):  # two hours of one-minute bars: 8 samples, 7 returns
        ts = START + timedelta(minutes=minute - 1)
        history.on_bar(Bar("SPY", ts, 100.0, 100.0, 100.0, 100.0 + minute % 2, 1.0), date(2024, 3, 11), START)
    view = history.view(intent(symbol="SPY"), START)
    assert [d.count for d in view.days["SPY"]] == [7]
    assert view.unit_notional["SPY"] == 100  # the last close, sampled or not (minute 120 closes at 100)


def test_too_few_returns_is_unknown_and_a_flat_price_has_no_correlation() -> None:
    history = ReturnHistory(INSTRUMENTS)
    feed(history, "SPY", [100.0 + n for n in range(MIN_RETURNS)])  # MIN_RETURNS - 1 returns
    view = history.view(intent(), START)
    assert view.vol("SPY", 20) is None and view.vol("ES", 20) is None
    assert annual_vol([DaySums(date(2024, 3, 11), MIN_RETURNS, 0.01)], 20, 252) is not None
    assert correlation([], 30) is None


def test_returns_ending_together_are_a_synchronized_pair() -> None:
    history = ReturnHistory(INSTRUMENTS)
    for minute in range(80):
        wiggle = 1.0 + 0.001 * ((minute * 7) % 5 - 2)
        history.on_bar(bar("MES", minute, 5000.0 * wiggle), date(2024, 3, 11), START)
        history.on_bar(bar("SPY", minute, 500.0 * wiggle), date(2024, 3, 11), START)
        history.on_bar(bar("BTCUSDT", minute, 60000.0 / wiggle), date(2024, 3, 11), START)
    view = history.view(intent(), START)
    assert math.isclose(view.corr("MES", "SPY", 30) or 0.0, 1.0, rel_tol=1e-6)
    assert math.isclose(view.corr("SPY", "BTCUSDT", 30) or 0.0, -1.0, rel_tol=1e-2)
    assert view.corr("MES", "MES", 30) == 1.0
    assert view.unit_notional["MES"] == MES.notional(view.unit_notional["MES"] / 5, 1)
    assert set(view.unit_notional) == {"MES", "SPY", "BTCUSDT"} and BTC.symbol in view.days


def test_days_are_kept_as_buckets_and_a_lookback_reads_the_last_ones() -> None:
    history = ReturnHistory({"SPY": SPY})
    feed(history, "SPY", [100.0 + (n % 2) for n in range(40)], day=0)  # a wild day
    feed(history, "SPY", [100.0 + 0.01 * (n % 2) for n in range(40)], day=1)  # a calm one
    view = history.view(intent(symbol="SPY"), START)
    assert [d.day for d in view.days["SPY"]] == [date(2024, 3, 11), date(2024, 3, 12)]
    calm, both = view.vol("SPY", 1), view.vol("SPY", 2)
    assert calm is not None and both is not None and calm < both


def test_until_the_sampled_returns_are_enough_volatility_comes_from_every_bars_return() -> None:
    history = ReturnHistory({"SPY": SPY})
    for minute in range(1, 41):  # 40 one-minute bars: 39 bar returns, 2 sampled ones
        ts = START + timedelta(minutes=minute - 1)
        history.on_bar(Bar("SPY", ts, 100.0, 100.0, 100.0, 100.0 + minute % 2, 1.0), date(2024, 3, 11), START)
    view = history.view(intent(symbol="SPY"), START)
    estimate = view.vol_estimate("SPY", 20)
    assert estimate is not None and estimate[1] == "bar"
    assert view.vol("SPY", 20) == estimate[0] and view.corr("SPY", "MES", 30) is None


def test_a_full_lookback_of_daily_returns_is_enough_however_few() -> None:
    days = [DaySums(date(2024, 3, day), 1, 0.0001) for day in range(1, 21)]
    assert annual_vol(days, 20, 252) == math.sqrt(0.0001 * 252)
    assert annual_vol(days[:19], 20, 252) is None
