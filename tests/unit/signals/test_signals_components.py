"""Each streaming component against a straightforward reference computation on the real ES week."""

from __future__ import annotations

import itertools
import math
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from tradebot.domain.bars import Bar
from tradebot.signals.base import ComponentReading
from tradebot.signals.breakout import DonchianBreakout, MonotonicWindow
from tradebot.signals.mean_reversion import MeanReversionParams, MeanReversionZ
from tradebot.signals.momentum import Momentum, MomentumParams
from tradebot.signals.trend import TrendEma, TrendParams
from tradebot.signals.volatility import VolatilityParams, VolatilityRegime

CHECKPOINT_STEP = 97  # reference computations that re-read history are evaluated on every 97th bar


def run(component: object, bars: list[Bar]) -> list[ComponentReading | None]:
    return [component.update(bar) for bar in bars]  # type: ignore[attr-defined]


def first_reading(readings: list[ComponentReading | None]) -> int:
    return next(i for i, r in enumerate(readings) if r is not None)


def ema_closed_form(closes: list[float], t: int, n: int) -> float:
    """EMA at t as an explicit weighted sum: sum_k a(1-a)^k x[t-k] + (1-a)^t x[0]."""
    a = 2.0 / (n + 1)
    total = sum(a * (1 - a) ** k * closes[t - k] for k in range(t))
    return total + (1 - a) ** t * closes[0]


def test_trend_matches_closed_form_ema(es_bars: list[Bar]) -> None:
    params = TrendParams(fast=10, slow=30, scale_bps=5.0)
    readings = run(TrendEma(params), es_bars)
    closes = [b.close for b in es_bars]
    assert first_reading(readings) == params.slow - 1
    for t in range(params.slow - 1, len(es_bars), CHECKPOINT_STEP):
        fast, slow = ema_closed_form(closes, t, 10), ema_closed_form(closes, t, 30)
        reading = readings[t]
        assert reading is not None
        assert reading.values["fast"] == pytest.approx(fast, abs=1e-7)
        assert reading.values["slow"] == pytest.approx(slow, abs=1e-7)
        spread_bps = (fast - slow) / slow * 1e4
        assert reading.direction == (1.0 if spread_bps > 0 else -1.0 if spread_bps < 0 else 0.0)
        assert reading.strength == pytest.approx(math.tanh(abs(spread_bps) / 5.0), abs=1e-6)


def reference_rsi(closes: list[float], n: int) -> list[float | None]:
    """Wilder's RSI the textbook way: all changes first, SMA seed, then Wilder smoothing."""
    changes = [b - a for a, b in itertools.pairwise(closes)]
    out: list[float | None] = [None] * len(closes)
    avg_gain = sum(max(c, 0) for c in changes[:n]) / n
    avg_loss = sum(max(-c, 0) for c in changes[:n]) / n
    for i in range(n, len(closes)):
        if i > n:
            c = changes[i - 1]
            avg_gain = (avg_gain * (n - 1) + max(c, 0)) / n
            avg_loss = (avg_loss * (n - 1) + max(-c, 0)) / n
        out[i] = 100.0 if avg_loss == 0 else 100 - 100 / (1 + avg_gain / avg_loss)
    return out


def test_momentum_matches_reference_roc_and_rsi(es_bars: list[Bar]) -> None:
    params = MomentumParams(roc_period=10, rsi_period=14, roc_scale_bps=10.0, roc_weight=0.5)
    readings = run(Momentum(params), es_bars)
    closes = [b.close for b in es_bars]
    rsi = reference_rsi(closes, 14)
    assert first_reading(readings) == 14
    checked = 0
    for t in range(14, len(es_bars)):
        reading = readings[t]
        assert reading is not None
        roc_bps = (closes[t] / closes[t - 10] - 1) * 1e4
        rsi_t = rsi[t]
        assert rsi_t is not None
        assert reading.values["rsi"] == pytest.approx(rsi_t, abs=1e-6)
        assert reading.values["roc_bps"] == pytest.approx(roc_bps, abs=1e-9)
        score = 0.5 * math.tanh(roc_bps / 10.0) + 0.5 * (rsi_t - 50) / 50
        assert reading.vote == pytest.approx(score, abs=1e-6)
        checked += 1
    assert checked == len(es_bars) - 14


def test_mean_reversion_matches_statistics_zscore(es_bars: list[Bar]) -> None:
    params = MeanReversionParams(window=30, z_entry=1.5, z_max=3.0)
    readings = run(MeanReversionZ(params), es_bars)
    closes = [b.close for b in es_bars]
    assert first_reading(readings) == 29
    nonzero = 0
    for t in range(29, len(es_bars)):
        window = closes[t - 29 : t + 1]
        mean, std = statistics.fmean(window), statistics.pstdev(window)
        z = 0.0 if std == 0 else (closes[t] - mean) / std
        reading = readings[t]
        assert reading is not None
        assert reading.values["z"] == pytest.approx(z, abs=1e-6)
        if abs(z) < 1.5 - 1e-6:
            assert reading.vote == 0.0
        elif abs(z) > 1.5 + 1e-6:
            nonzero += 1
            assert reading.direction == (-1.0 if z > 0 else 1.0)
            assert reading.strength == pytest.approx(min(1.0, abs(z) / 3.0), abs=1e-6)
    assert nonzero > 100  # the real week does stretch


def test_breakout_matches_slice_max_min(es_bars: list[Bar]) -> None:
    readings = run(DonchianBreakout(), es_bars)
    assert first_reading(readings) == 20
    ups = downs = 0
    for t in range(20, len(es_bars)):
        upper = max(b.high for b in es_bars[t - 20 : t])
        lower = min(b.low for b in es_bars[t - 20 : t])
        reading = readings[t]
        assert reading is not None
        assert (reading.values["upper"], reading.values["lower"]) == (upper, lower)
        close = es_bars[t].close
        if close > upper:
            ups += 1
            assert reading.direction == 1.0
            assert reading.strength == pytest.approx(min(1.0, 0.5 + (close - upper) / (upper - lower)))
        elif close < lower:
            downs += 1
            assert reading.direction == -1.0
            assert reading.strength == pytest.approx(min(1.0, 0.5 + (lower - close) / (upper - lower)))
        else:
            assert reading.vote == 0.0
    assert ups > 20 and downs > 20


def test_volatility_matches_reference_atr_and_percentile(es_bars: list[Bar]) -> None:
    params = VolatilityParams(atr_period=14, percentile_window=100, low_pct=0.2, high_pct=0.8)
    component = VolatilityRegime(params)
    readings = run(component, es_bars)
    trs = [es_bars[0].high - es_bars[0].low] + [
        max(b.high - b.low, abs(b.high - p.close), abs(b.low - p.close))
        for p, b in itertools.pairwise(es_bars)
    ]
    atrs: list[float] = []
    atr = sum(trs[:14]) / 14
    atrs.append(atr)
    for tr in trs[14:]:
        atr = (atr * 13 + tr) / 14
        atrs.append(atr)  # atrs[i] is the ATR at bar i + 13
    assert first_reading(readings) == 13 + 99
    regimes = set()
    for t in range(13 + 99, len(es_bars), 7):
        window = atrs[t - 13 - 99 : t - 13 + 1]
        current = atrs[t - 13]
        pct = sum(1 for a in window if a <= current) / len(window)
        reading = readings[t]
        assert reading is not None
        assert reading.values["atr"] == pytest.approx(current, rel=1e-9)
        assert reading.values["percentile"] == pytest.approx(pct)
        assert reading.direction == 0.0 and reading.strength == pytest.approx(pct)
    for reading in readings[112:]:
        assert reading is not None
        pct = reading.values["percentile"]
        regimes.add("low" if pct < 0.2 else "high" if pct > 0.8 else "normal")
    assert regimes == {"low", "normal", "high"}
    assert component.atr == pytest.approx(atrs[-1])


def _flat_bars(n: int, price: float = 100.0) -> list[Bar]:
    start = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    return [Bar("X", start + timedelta(minutes=i), price, price, price, price, 1.0) for i in range(n)]


def test_flat_prices_say_nothing() -> None:
    bars = _flat_bars(60)
    for component in (TrendEma(), MeanReversionZ(), DonchianBreakout()):
        last = run(component, bars)[-1]
        assert last is not None and last.vote == 0.0
    momentum = run(Momentum(), bars)[-1]
    assert momentum is not None and momentum.values["rsi"] == 50.0 and momentum.vote == 0.0


def test_monotonic_window_tracks_max_and_min() -> None:
    values = [5.0, 1.0, 4.0, 4.0, 2.0, 9.0, 3.0, 3.0, 0.5, 7.0]
    highs, lows = MonotonicWindow(3, maximum=True), MonotonicWindow(3, maximum=False)
    for i, v in enumerate(values):
        highs.push(v)
        lows.push(v)
        window = values[max(0, i - 2) : i + 1]
        assert (highs.value, lows.value) == (max(window), min(window))
        assert highs.full == (i >= 2)


def test_component_parameters_are_validated() -> None:
    with pytest.raises(ValueError, match="fast"):
        TrendParams(fast=30, slow=10)
    with pytest.raises(ValueError, match="z_entry"):
        MeanReversionParams(z_entry=3.0, z_max=2.0)
    with pytest.raises(ValueError, match="low_pct"):
        VolatilityParams(low_pct=0.9, high_pct=0.1)
    with pytest.raises(ValueError, match="direction"):
        ComponentReading(1.5, 0.5)
    with pytest.raises(ValueError, match="strength"):
        ComponentReading(1.0, float("nan"))
