"""Mean reversion: the z-score of the close against its rolling mean; a stretched price leans back."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradebot.domain.bars import Bar
from tradebot.signals.base import ComponentReading, sign


class MeanReversionParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    window: int = Field(30, ge=2)
    z_entry: float = Field(1.5, ge=0)  # below this |z| the component says nothing
    z_max: float = Field(3.0, gt=0)  # |z| at which strength reaches 1

    @model_validator(mode="after")
    def _entry_below_max(self) -> MeanReversionParams:
        if self.z_entry >= self.z_max:
            raise ValueError(f"z_entry ({self.z_entry}) must be smaller than z_max ({self.z_max})")
        return self


class MeanReversionZ:
    """z = (close - mean) / std over the last ``window`` closes (population std, current bar included).

    |z| < z_entry: direction 0. Otherwise direction = -sign(z), strength = min(1, |z| / z_max).
    The running sums are kept relative to the first close so that large prices lose no precision.
    Warm-up: ``window`` bars.
    """

    name = "mean_reversion"

    def __init__(self, params: MeanReversionParams | None = None) -> None:
        self.params = params or MeanReversionParams()
        self.warmup_bars = self.params.window
        self._n = self.params.window
        self._z_entry = self.params.z_entry
        self._z_max = self.params.z_max
        self._window: deque[float] = deque()
        self._origin: float | None = None
        self._sum = 0.0
        self._sum_sq = 0.0
        self._mean = 0.0
        self._std = 0.0

    def _z(self, close: float) -> float | None:
        """Take ``close`` in; its z-score once the window is full (mean and std kept on self), else None."""
        origin = self._origin
        if origin is None:
            self._origin = origin = close
        x = close - origin
        window = self._window
        window.append(x)
        self._sum += x
        self._sum_sq += x * x
        n = self._n
        if len(window) > n:
            old = window.popleft()
            self._sum -= old
            self._sum_sq -= old * old
        if len(window) < n:
            return None
        mean = self._sum / n
        variance = self._sum_sq / n - mean * mean
        variance = 0.0 if variance < 0.0 else variance  # max(variance, 0.0)
        std = math.sqrt(variance)
        self._mean = mean
        self._std = std
        # below ~1e-9 of a price unit the window is flat: rounding noise, not a deviation
        return 0.0 if std < 1e-9 else (x - mean) / std

    def update(self, bar: Bar) -> ComponentReading | None:
        z = self._z(bar.close)
        if z is None:
            return None
        assert self._origin is not None
        values = {"z": z, "mean": self._mean + self._origin, "std": self._std}
        if abs(z) < self._z_entry:
            return ComponentReading(0.0, 0.0, values)
        return ComponentReading(-sign(z), min(1.0, abs(z) / self._z_max), values)

    def update_vote(self, bar: Bar) -> float | None:
        """``update(bar).vote``: -sign(z) * min(1, |z| / z_max), 0.0 inside the entry band."""
        z = self._z(bar.close)
        if z is None:
            return None
        if abs(z) < self._z_entry:
            return 0.0
        ratio = abs(z) / self._z_max
        strength = ratio if ratio < 1.0 else 1.0  # min(1.0, ratio)
        return -strength if z > 0.0 else strength if z < 0.0 else -0.0 * strength


def make_mean_reversion(params: Mapping[str, Any]) -> MeanReversionZ:
    return MeanReversionZ(MeanReversionParams.model_validate(dict(params)))
