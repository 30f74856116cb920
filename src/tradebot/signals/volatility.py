"""Volatility regime: Wilder's ATR and where it sits among its own recent values (percentile rank)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradebot.domain.bars import Bar
from tradebot.signals.base import ComponentReading

LOW_VOL = "low_vol"
NORMAL_VOL = "normal_vol"
HIGH_VOL = "high_vol"
REGIMES = (LOW_VOL, NORMAL_VOL, HIGH_VOL)


class VolatilityParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    atr_period: int = Field(14, ge=1)
    percentile_window: int = Field(100, ge=2)
    low_pct: float = Field(0.2, ge=0, le=1)
    high_pct: float = Field(0.8, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> VolatilityParams:
        if self.low_pct >= self.high_pct:
            raise ValueError(f"low_pct ({self.low_pct}) must be smaller than high_pct ({self.high_pct})")
        return self


class VolatilityRegime:
    """True range TR = max(high - low, |high - prev close|, |low - prev close|) (first bar: high - low).

    ATR: the mean of the first ``atr_period`` TRs, then ATR = (ATR * (n - 1) + TR) / n (Wilder).
    percentile = share of the last ``percentile_window`` ATR values (this one included) that are <= ATR,
    kept in a sorted window (bisect), so a bar costs O(log w) compares plus a bounded memmove.
    regime: percentile < low_pct -> low_vol, > high_pct -> high_vol, else normal_vol.
    The reading has direction 0 and strength = percentile. Warm-up: atr_period + percentile_window - 1 bars.
    """

    name = "volatility"

    def __init__(self, params: VolatilityParams | None = None) -> None:
        self.params = params or VolatilityParams()
        p = self.params
        self.warmup_bars = p.atr_period + p.percentile_window - 1
        self._n = p.atr_period
        self._n_minus_1 = p.atr_period - 1
        self._window = p.percentile_window
        self._low_pct = p.low_pct
        self._high_pct = p.high_pct
        self._prev_close: float | None = None
        self._tr_count = 0
        self._tr_sum = 0.0
        self._atr: float | None = None
        self._recent: deque[float] = deque()
        self._sorted: list[float] = []
        self.percentile: float | None = None
        self.regime: str | None = None

    @property
    def atr(self) -> float | None:
        return self._atr

    def advance(self, bar: Bar) -> bool:
        """Take ``bar`` in (ATR, percentile, regime); True once warm. ``update`` without the reading."""
        high, low, prev = bar.high, bar.low, self._prev_close
        self._prev_close = bar.close
        tr = high - low
        if prev is not None:
            # max(high - low, |high - prev|, |low - prev|): a later value wins only when greater, as in max()
            up = abs(high - prev)
            if up > tr:
                tr = up
            down = abs(low - prev)
            if down > tr:
                tr = down
        n = self._n
        count = self._tr_count = self._tr_count + 1
        if count < n:
            self._tr_sum += tr
            return False
        if count == n:
            atr = (self._tr_sum + tr) / n
        else:
            previous = self._atr
            assert previous is not None
            atr = (previous * self._n_minus_1 + tr) / n
        self._atr = atr
        recent, ordered = self._recent, self._sorted
        recent.append(atr)
        insort(ordered, atr)
        window = self._window
        size = len(recent)
        if size > window:
            del ordered[bisect_left(ordered, recent.popleft())]
            size -= 1
        if size < window:
            return False
        percentile = bisect_right(ordered, atr) / size
        self.percentile = percentile
        if percentile < self._low_pct:
            self.regime = LOW_VOL
        elif percentile > self._high_pct:
            self.regime = HIGH_VOL
        else:
            self.regime = NORMAL_VOL  # as regime_for(percentile, self.params)
        return True

    def update(self, bar: Bar) -> ComponentReading | None:
        if not self.advance(bar):
            return None
        percentile, atr = self.percentile, self._atr
        assert percentile is not None and atr is not None
        return ComponentReading(0.0, percentile, {"atr": atr, "percentile": percentile})


def regime_for(percentile: float, params: VolatilityParams) -> str:
    if percentile < params.low_pct:
        return LOW_VOL
    if percentile > params.high_pct:
        return HIGH_VOL
    return NORMAL_VOL


def make_volatility(params: Mapping[str, Any]) -> VolatilityRegime:
    return VolatilityRegime(VolatilityParams.model_validate(dict(params)))
