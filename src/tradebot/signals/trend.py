"""Trend: a fast and a slow exponential moving average of the close, and how far apart they are."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradebot.domain.bars import Bar
from tradebot.signals.base import ComponentReading, refuse_reading, sign


class TrendParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fast: int = Field(10, ge=2)
    slow: int = Field(30, ge=3)
    scale_bps: float = Field(5.0, gt=0)  # spread (in bps of the slow EMA) that maps to strength tanh(1)

    @model_validator(mode="after")
    def _fast_below_slow(self) -> TrendParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be smaller than slow ({self.slow})")
        return self


class TrendEma:
    """EMA crossover. EMA(n) uses alpha = 2 / (n + 1) and starts at the first close.

    direction = sign(fast - slow); strength = tanh(|fast - slow| / slow in bps / scale_bps).
    Warm-up: ``slow`` bars.
    """

    name = "trend_ema"

    def __init__(self, params: TrendParams | None = None) -> None:
        self.params = params or TrendParams()
        self.warmup_bars = self.params.slow
        self._alpha_fast = 2.0 / (self.params.fast + 1)
        self._alpha_slow = 2.0 / (self.params.slow + 1)
        self._scale_bps = self.params.scale_bps
        self._fast: float | None = None
        self._slow = 0.0
        self._seen = 0

    @property
    def fast_ema(self) -> float | None:
        return self._fast

    @property
    def slow_ema(self) -> float | None:
        return self._slow if self._fast is not None else None

    def _spread_bps(self, close: float) -> float | None:
        """Advance both EMAs by ``close``; the spread (bps of the slow EMA) once warm, else None."""
        fast = self._fast
        if fast is None:
            self._fast = fast = close
            self._slow = slow = close
        else:
            fast += self._alpha_fast * (close - fast)
            slow = self._slow
            slow += self._alpha_slow * (close - slow)
            self._fast = fast
            self._slow = slow
        self._seen += 1
        if self._seen < self.warmup_bars:
            return None
        return (fast - slow) / slow * 1e4

    def update(self, bar: Bar) -> ComponentReading | None:
        spread_bps = self._spread_bps(bar.close)
        if spread_bps is None:
            return None
        strength = math.tanh(abs(spread_bps) / self._scale_bps)
        fast = self._fast
        assert fast is not None
        return ComponentReading(
            sign(spread_bps), strength, {"fast": fast, "slow": self._slow, "spread_bps": spread_bps}
        )

    def update_vote(self, bar: Bar) -> float | None:
        """``update(bar).vote``: sign(spread) * strength, without the reading."""
        spread_bps = self._spread_bps(bar.close)
        if spread_bps is None:
            return None
        strength = math.tanh(abs(spread_bps) / self._scale_bps)
        if not 0.0 <= strength <= 1.0:
            refuse_reading(sign(spread_bps), strength)
        return strength if spread_bps > 0.0 else -strength if spread_bps < 0.0 else 0.0


def make_trend(params: Mapping[str, Any]) -> TrendEma:
    return TrendEma(TrendParams.model_validate(dict(params)))
