"""Breakout: a close outside the Donchian channel of the previous ``period`` bars."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tradebot.domain.bars import Bar
from tradebot.signals.base import ComponentReading


class BreakoutParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    period: int = Field(20, ge=2)
    base_strength: float = Field(0.5, ge=0, le=1)  # strength of a close just outside the channel


class MonotonicWindow:
    """Running max (or min) of the last ``size`` values pushed, amortised O(1) per push."""

    def __init__(self, size: int, *, maximum: bool) -> None:
        self.size = size
        self.maximum = maximum
        self._items: deque[tuple[int, float]] = deque()
        self._index = 0

    def push(self, value: float) -> None:
        items = self._items
        if self.maximum:
            while items and items[-1][1] <= value:
                items.pop()
        else:
            while items and items[-1][1] >= value:
                items.pop()
        items.append((self._index, value))
        self._index += 1
        while items[0][0] <= self._index - 1 - self.size:
            items.popleft()

    @property
    def full(self) -> bool:
        return self._index >= self.size

    @property
    def value(self) -> float:
        return self._items[0][1]


class DonchianBreakout:
    """upper = max(high), lower = min(low) of the ``period`` bars BEFORE this one.

    close > upper: direction +1; close < lower: direction -1; strength = min(1, base + excess / width)
    where excess is the distance beyond the channel and width = upper - lower. Inside: direction 0.
    Warm-up: period + 1 bars.
    """

    name = "breakout"

    def __init__(self, params: BreakoutParams | None = None) -> None:
        self.params = params or BreakoutParams()
        self.warmup_bars = self.params.period + 1
        self._highs = MonotonicWindow(self.params.period, maximum=True)
        self._lows = MonotonicWindow(self.params.period, maximum=False)

    def update(self, bar: Bar) -> ComponentReading | None:
        reading: ComponentReading | None = None
        if self._highs.full:
            upper, lower = self._highs.value, self._lows.value
            width = upper - lower
            values = {"upper": upper, "lower": lower}
            if bar.close > upper:
                excess = bar.close - upper
                reading = ComponentReading(1.0, self._strength(excess, width), values)
            elif bar.close < lower:
                excess = lower - bar.close
                reading = ComponentReading(-1.0, self._strength(excess, width), values)
            else:
                reading = ComponentReading(0.0, 0.0, values)
        self._highs.push(bar.high)
        self._lows.push(bar.low)
        return reading

    def _strength(self, excess: float, width: float) -> float:
        if width <= 0.0:
            return 1.0
        return min(1.0, self.params.base_strength + excess / width)


def make_breakout(params: Mapping[str, Any]) -> DonchianBreakout:
    return DonchianBreakout(BreakoutParams.model_validate(dict(params)))
