"""Momentum: rate of change over ``roc_period`` bars blended with Wilder's RSI."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tradebot.domain.bars import Bar
from tradebot.signals.base import ComponentReading, refuse_reading, sign


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
        self._n = p.rsi_period
        self._n_minus_1 = p.rsi_period - 1
        self._roc_scale_bps = p.roc_scale_bps
        self._roc_weight = p.roc_weight
        self._rsi_weight = 1.0 - p.roc_weight
        self._closes: deque[float] = deque(maxlen=p.roc_period + 1)
        self._prev: float | None = None
        self._changes = 0
        self._gain_sum = 0.0
        self._loss_sum = 0.0
        self._avg_gain = 0.0
        self._avg_loss = 0.0
        self._seen = 0
        self._roc_bps = 0.0
        self._rsi = 50.0

    @property
    def rsi(self) -> float | None:
        if self._changes < self._n:
            return None
        if self._avg_loss == 0.0:
            return 50.0 if self._avg_gain == 0.0 else 100.0
        rs = self._avg_gain / self._avg_loss
        return 100.0 - 100.0 / (1.0 + rs)

    def _score(self, close: float) -> float | None:
        """Take ``close`` in (ROC window, Wilder averages); the score once warm, else None.

        The ROC and RSI it used stay in ``_roc_bps`` and ``_rsi`` for ``update``'s reading.
        """
        self._closes.append(close)
        prev = self._prev
        self._prev = close
        n = self._n
        if prev is not None:
            change = close - prev
            gain = 0.0 if change < 0.0 else change  # max(change, 0.0), NaN and -0.0 alike
            loss = 0.0 if -change < 0.0 else -change  # max(-change, 0.0)
            changes = self._changes = self._changes + 1
            if changes <= n:
                self._gain_sum += gain
                self._loss_sum += loss
                if changes == n:
                    self._avg_gain = self._gain_sum / n
                    self._avg_loss = self._loss_sum / n
            else:
                self._avg_gain = (self._avg_gain * self._n_minus_1 + gain) / n
                self._avg_loss = (self._avg_loss * self._n_minus_1 + loss) / n
        self._seen += 1
        if self._seen < self.warmup_bars or self._changes < n:
            return None
        avg_gain, avg_loss = self._avg_gain, self._avg_loss
        if avg_loss == 0.0:
            rsi = 50.0 if avg_gain == 0.0 else 100.0
        else:
            rsi = 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
        roc_bps = (close / self._closes[0] - 1.0) * 1e4
        self._roc_bps = roc_bps
        self._rsi = rsi
        roc_part = math.tanh(roc_bps / self._roc_scale_bps)
        rsi_part = (rsi - 50.0) / 50.0
        score = self._roc_weight * roc_part + self._rsi_weight * rsi_part
        return -1.0 if score < -1.0 else 1.0 if score > 1.0 else score  # clamp(score, -1.0, 1.0)

    def update(self, bar: Bar) -> ComponentReading | None:
        score = self._score(bar.close)
        if score is None:
            return None
        return ComponentReading(sign(score), abs(score), {"roc_bps": self._roc_bps, "rsi": self._rsi})

    def update_vote(self, bar: Bar) -> float | None:
        """``update(bar).vote``: sign(score) * |score| (so -0.0 becomes 0.0), without the reading."""
        score = self._score(bar.close)
        if score is None:
            return None
        if score > 0.0 or score < 0.0:
            return score
        if score == 0.0:
            return 0.0
        refuse_reading(sign(score), abs(score))


def make_momentum(params: Mapping[str, Any]) -> Momentum:
    return Momentum(MomentumParams.model_validate(dict(params)))
