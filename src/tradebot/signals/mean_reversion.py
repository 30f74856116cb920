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
        self._window: deque[float] = deque()
        self._origin: float | None = None
        self._sum = 0.0
        self._sum_sq = 0.0

    def update(self, bar: Bar) -> ComponentReading | None:
        if self._origin is None:
            self._origin = bar.close
        x = bar.close - self._origin
        self._window.append(x)
        self._sum += x
        self._sum_sq += x * x
        n = self.params.window
        if len(self._window) > n:
            old = self._window.popleft()
            self._sum -= old
            self._sum_sq -= old * old
        if len(self._window) < n:
            return None
        mean = self._sum / n
        variance = max(self._sum_sq / n - mean * mean, 0.0)
        std = math.sqrt(variance)
        # below ~1e-9 of a price unit the window is flat: rounding noise, not a deviation
        z = 0.0 if std < 1e-9 else (x - mean) / std
        values = {"z": z, "mean": mean + self._origin, "std": std}
        if abs(z) < self.params.z_entry:
            return ComponentReading(0.0, 0.0, values)
        return ComponentReading(-sign(z), min(1.0, abs(z) / self.params.z_max), values)


def make_mean_reversion(params: Mapping[str, Any]) -> MeanReversionZ:
    return MeanReversionZ(MeanReversionParams.model_validate(dict(params)))
