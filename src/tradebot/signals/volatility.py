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

    def _true_range(self, bar: Bar) -> float:
        if self._prev_close is None:
            return bar.high - bar.low
        return max(bar.high - bar.low, abs(bar.high - self._prev_close), abs(bar.low - self._prev_close))

    def _update_atr(self, tr: float) -> float | None:
        n = self.params.atr_period
        self._tr_count += 1
        if self._tr_count < n:
            self._tr_sum += tr
            return None
        if self._tr_count == n:
            self._atr = (self._tr_sum + tr) / n
        else:
            assert self._atr is not None
            self._atr = (self._atr * (n - 1) + tr) / n
        return self._atr

    def update(self, bar: Bar) -> ComponentReading | None:
        tr = self._true_range(bar)
        self._prev_close = bar.close
        atr = self._update_atr(tr)
        if atr is None:
            return None
        self._recent.append(atr)
        insort(self._sorted, atr)
        if len(self._recent) > self.params.percentile_window:
            old = self._recent.popleft()
            del self._sorted[bisect_left(self._sorted, old)]
        if len(self._recent) < self.params.percentile_window:
            return None
        percentile = bisect_right(self._sorted, atr) / len(self._sorted)
        self.percentile = percentile
        self.regime = regime_for(percentile, self.params)
        return ComponentReading(0.0, percentile, {"atr": atr, "percentile": percentile})


def regime_for(percentile: float, params: VolatilityParams) -> str:
    if percentile < params.low_pct:
        return LOW_VOL
    if percentile > params.high_pct:
        return HIGH_VOL
    return NORMAL_VOL


def make_volatility(params: Mapping[str, Any]) -> VolatilityRegime:
    return VolatilityRegime(VolatilityParams.model_validate(dict(params)))
