from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

from tradebot.analytics.proxy import CorwinSchultz, FixedBps, corwin_schultz_bps
from tradebot.analytics.store_view import BarRow

T = datetime(2024, 1, 2, tzinfo=UTC)


def _bar(high: str, low: str) -> BarRow:
    return BarRow("X", T, T, Decimal(low), Decimal(high), Decimal(low), Decimal(low))


def test_corwin_schultz_by_hand() -> None:
    # two bars of H/L 102/100: b = 2·ln(1.02)² = 0.00078429, g = ln(1.02)² = 0.00039214;
    # a = (√(2b) − √b)/(3 − 2√2) − √(g/(3 − 2√2)) = 0.01980263;
    # S = 2(eᵃ − 1)/(1 + eᵃ) = 0.01980198 = 198.0198 bps
    b = 2 * math.log(1.02) ** 2
    g = math.log(1.02) ** 2
    k = 3 - 2 * math.sqrt(2)
    a = (math.sqrt(2 * b) - math.sqrt(b)) / k - math.sqrt(g / k)
    assert round(a, 8) == 0.01980263
    assert round(corwin_schultz_bps(_bar("102", "100"), _bar("102", "100")), 4) == 198.0198


def test_a_negative_estimate_is_zero_and_two_bars_are_needed() -> None:
    # a move between two narrow bars (102/100 then 103/101) gives a < 0 (S = −40.8 bps): 0
    assert corwin_schultz_bps(_bar("102", "100"), _bar("103", "101")) == 0.0
    bars = [_bar("102", "100")]
    assert CorwinSchultz().spread_bps(bars, [T], T) is None
    assert FixedBps(3).spread_bps(bars, [T], T) == 3 and FixedBps(3).name == "fixed_bps(3)"
