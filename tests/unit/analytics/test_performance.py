"""Performance statistics on the hand-built store (see conftest).

Equity at each bar close (fills before a bar are applied before its mark), starting cash 100000:
day 1: 14:31 100000, 14:32 100000 (the fills come after that bar), 14:33 99998 + (99.5 − 100.375)·100 =
99910.5, 14:34 99998 + (104.25 − 100.375)·100 = 100385.5, 14:35 100358.5 (closed: +358.5);
day 2: 14:31 100358.5, 14:32 100357.5 + (104.75 − 106)·50 = 100295, 14:33 100281.5;
day 3: 14:31 100281.5, 14:32 100280.5 + (104.75 − 106)·50 = 100218, 14:33 100217.
Daily returns: 358.5/100000 = 0.003585, −77/100358.5 = −0.00076725, −64.5/100281.5 = −0.00064319.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tradebot.analytics.performance import performance, probabilistic_sharpe
from tradebot.analytics.store_view import load_view
from tradebot.analytics.trades import round_trips


@pytest.fixture
def perf(hand_store: Path) -> dict[str, object]:
    view = load_view(hand_store)
    trades, _ = round_trips(view)
    return performance(view, trades)


def test_equity_and_max_drawdown(perf: dict[str, object]) -> None:
    assert (perf["start_equity"], perf["end_equity"], perf["net_pnl"]) == (100000, Decimal(100217), 217)
    # the peak 100385.5 (day 1 14:34) down to 100217 (day 3 14:33): −168.5, 100217/100385.5 − 1 = −0.0016785
    assert perf["max_drawdown"] == Decimal("-168.5")
    assert perf["max_drawdown_pct"] == pytest.approx(-0.001679, abs=1e-6)
    assert str(perf["max_drawdown_start"]) == "2024-01-02 14:34:00+00:00"
    assert str(perf["max_drawdown_end"]) == "2024-01-04 14:33:00+00:00"
    assert perf["max_drawdown_recovered"] is None


def test_daily_ratios(perf: dict[str, object]) -> None:
    # mean 0.00072485, std(ddof=1) 0.00247774: Sharpe = 0.00072485/0.00247774·√252 = 4.644037
    assert perf["sharpe"] == pytest.approx(4.644037, abs=1e-6)
    # downside deviation √((0.00076725² + 0.00064319²)/3) = 0.00057803: Sortino = mean·252/(0.00057803·√252)
    # = 19.906664
    assert perf["sortino"] == pytest.approx(19.906664, abs=1e-6)
    # compounded: 1.00217^(252/3) − 1 = 0.199713 a year; daily-equity max drawdown 100217/100358.5 − 1 =
    # −0.00140995: Calmar 0.199713/0.00140995 = 141.646044
    assert perf["annual_return"] == pytest.approx(0.199713, abs=1e-6)
    assert perf["calmar"] == pytest.approx(141.646044, abs=1e-5)
    # daily SR 0.29254680, skew 0.70511300, kurtosis 1.5: z = 0.2925468·√2/√(1 − 0.705113·0.2925468 +
    # (1.5 − 1)/4·0.2925468²) = 0.46128474, PSR = Φ(z) = 0.677703
    assert perf["psr"] == pytest.approx(0.677703, abs=1e-6)
    assert (perf["best_day"], perf["best_day_pnl"], perf["worst_day"], perf["worst_day_pnl"]) == (
        "2024-01-02",
        Decimal("358.5"),
        "2024-01-03",
        -77,
    )
    assert perf["monthly_returns"] == {"2024-01": pytest.approx(0.00217, abs=1e-6)}


def test_trade_statistics(perf: dict[str, object]) -> None:
    # net PnL per trade 358.5, −77, −64.5
    assert (perf["trades"], perf["wins"], perf["losses"], perf["win_rate"]) == (3, 1, 2, 0.333333)
    assert (perf["pnl_gross"], perf["fees"], perf["pnl_net"]) == (225, 8, 217)
    assert perf["expectancy"] == Decimal("72.33333333")  # 217/3
    assert (perf["avg_win"], perf["avg_loss"]) == (Decimal("358.5"), Decimal("-70.75"))
    assert perf["profit_factor"] == pytest.approx(358.5 / 141.5, abs=1e-6)  # 2.533569
    # SQN = √3 · 72.3333 / std(358.5, −77, −64.5; ddof=1 → 247.9065) = 0.505372
    assert perf["sqn"] == pytest.approx(0.505372, abs=1e-6)
    assert (perf["max_consecutive_wins"], perf["max_consecutive_losses"]) == (1, 2)


def test_exposure_and_turnover(perf: dict[str, object]) -> None:
    # a position is open at 4 of the 11 marks (day 1 14:33 and 14:34, day 2 14:32, day 3 14:32)
    assert perf["exposure"] == pytest.approx(4 / 11, abs=1e-6)
    # notional: (100.25 + 100.5)·50 + 104·2·50 + 104.75·50 + 106.25·50 + 106·50 + 104.75·50 = 41525;
    # mean equity of the 11 marks = 100209.318..., turnover 0.414381
    assert perf["traded_notional"] == 41525
    assert perf["turnover"] == pytest.approx(0.414381, abs=1e-6)


def test_probabilistic_sharpe_needs_three_returns_and_a_spread() -> None:
    assert probabilistic_sharpe([0.01, 0.02]) is None
    assert probabilistic_sharpe([0.01, 0.01, 0.01]) is None


def test_rolling_sharpe_is_the_annualized_sharpe_of_each_trailing_window() -> None:
    import math
    import statistics

    import pandas as pd

    from tradebot.analytics.performance import rolling_sharpe

    values = [0.01, -0.005, 0.002, 0.007, -0.01, 0.004, 0.0, 0.003, -0.002, 0.006]
    returns = pd.Series(values, index=pd.date_range("2024-01-01", periods=len(values), tz="UTC"))
    points = rolling_sharpe(returns, window=4)
    assert [p["date"] for p in points] == [f"2024-01-{d:02d}" for d in range(4, 11)]
    for i, point in enumerate(points):
        window = values[i : i + 4]  # by hand: mean / sample std × √252
        expected = statistics.mean(window) / statistics.stdev(window) * math.sqrt(252)
        assert point["sharpe"] == round(expected, 6)
    assert rolling_sharpe(returns, window=11) == []  # fewer days than the window: nothing drawn


def test_the_bar_closing_at_midnight_ends_its_own_day_not_a_new_one() -> None:
    """A 24/7 day's last minute bar (23:59-00:00) is that day's close; no empty day follows it."""
    from datetime import UTC, date, datetime

    from tradebot.analytics.performance import EquityCurve, EquityPoint, daily_equity

    def point(ts: datetime, equity: str) -> EquityPoint:
        return EquityPoint(ts, Decimal(equity), 0.0, Decimal(0), False)

    curve = EquityCurve(Decimal(100), [
        point(datetime(2022, 12, 13, 0, 1, tzinfo=UTC), "100"),
        point(datetime(2022, 12, 13, 23, 59, tzinfo=UTC), "101"),
        point(datetime(2022, 12, 14, 0, 0, tzinfo=UTC), "102"),
        point(datetime(2022, 12, 14, 0, 1, tzinfo=UTC), "103"),
    ], Decimal(0))
    assert daily_equity(curve) == [(date(2022, 12, 13), Decimal(102)), (date(2022, 12, 14), Decimal(103))]
