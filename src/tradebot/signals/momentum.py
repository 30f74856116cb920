"""Momentum: rate of change over ``roc_period`` bars blended with Wilder's RSI."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tradebot.domain.bars import Bar
from tradebot.signals.base import ComponentReading, clamp, sign


class MomentumParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    roc_period: int = Field(10, ge=1)
    rsi_period: int = Field(14, ge=2)
    roc_scale_bps: float = Field(10.0, gt=0)
    roc_weight: float = Field(0.5, ge=0, le=1)  # the RSI gets 1 - roc_weight


class Momentum:
    """score = w * tanh(ROC_bps / scale) + (1 - w) * (RSI - 50) / 50, in [-1, 1].

    ROC = close / close[roc_period bars ago] - 1. RSI is Wilder's: the first average gain/loss is the
    simple mean of the first ``rsi_period`` changes, then avg = (avg * (n - 1) + x) / n; RSI = 100 when
    the average loss is 0 (50 when both are 0). direction = sign(score), strength = |score|.
    Warm-up: max(roc_period, rsi_period) + 1 bars.
    """

    name = "momentum"

    def __init__(self, params: MomentumParams | None = None) -> None:
        self.params = params or MomentumParams()
        p = self.params
        self.warmup_bars = max(p.roc_period, p.rsi_period) + 1
        self._closes: deque[float] = deque(maxlen=p.roc_period + 1)
        self._prev: float | None = None
        self._changes = 0
        self._gain_sum = 0.0
        self._loss_sum = 0.0
        self._avg_gain = 0.0
        self._avg_loss = 0.0
        self._seen = 0

    @property
    def rsi(self) -> float | None:
        if self._changes < self.params.rsi_period:
            return None
        if self._avg_loss == 0.0:
            return 50.0 if self._avg_gain == 0.0 else 100.0
        rs = self._avg_gain / self._avg_loss
        return 100.0 - 100.0 / (1.0 + rs)

    def _update_rsi(self, close: float) -> None:
        if self._prev is not None:
            change = close - self._prev
            gain, loss = max(change, 0.0), max(-change, 0.0)
            n = self.params.rsi_period
            self._changes += 1
            if self._changes <= n:
                self._gain_sum += gain
                self._loss_sum += loss
                if self._changes == n:
                    self._avg_gain = self._gain_sum / n
                    self._avg_loss = self._loss_sum / n
            else:
                self._avg_gain = (self._avg_gain * (n - 1) + gain) / n
                self._avg_loss = (self._avg_loss * (n - 1) + loss) / n
        self._prev = close

    def update(self, bar: Bar) -> ComponentReading | None:
        self._closes.append(bar.close)
        self._update_rsi(bar.close)
        self._seen += 1
        rsi = self.rsi
        if self._seen < self.warmup_bars or rsi is None:
            return None
        p = self.params
        roc_bps = (bar.close / self._closes[0] - 1.0) * 1e4
        roc_part = math.tanh(roc_bps / p.roc_scale_bps)
        rsi_part = (rsi - 50.0) / 50.0
        score = clamp(p.roc_weight * roc_part + (1.0 - p.roc_weight) * rsi_part, -1.0, 1.0)
        return ComponentReading(sign(score), abs(score), {"roc_bps": roc_bps, "rsi": rsi})


def make_momentum(params: Mapping[str, Any]) -> Momentum:
    return Momentum(MomentumParams.model_validate(dict(params)))
