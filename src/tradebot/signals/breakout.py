"""Breakout: a close outside the Donchian channel of the previous ``period`` bars."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tradebot.domain.bars import Bar
from tradebot.signals.base import ComponentReading, refuse_reading


class BreakoutParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    period: int = Field(20, ge=2)
    base_strength: float = Field(0.5, ge=0, le=1)  # strength of a close just outside the channel


class MonotonicWindow:
    """Running max (or min) of the last ``size`` values pushed, amortised O(1) per push.

    Candidates are kept in two parallel deques (push index, value), values monotonic from the front.
    """

    def __init__(self, size: int, *, maximum: bool) -> None:
        self.size = size
        self.maximum = maximum
        self._indices: deque[int] = deque()
        self._values: deque[float] = deque()
        self._index = 0

    def push(self, value: float) -> None:
        indices, values = self._indices, self._values
        if self.maximum:
            while values and values[-1] <= value:
                values.pop()
                indices.pop()
        else:
            while values and values[-1] >= value:
                values.pop()
                indices.pop()
        index = self._index
        values.append(value)
        indices.append(index)
        self._index = index = index + 1
        oldest = index - 1 - self.size
        while indices[0] <= oldest:
            indices.popleft()
            values.popleft()

    @property
    def full(self) -> bool:
        return self._index >= self.size

    @property
    def value(self) -> float:
        return self._values[0]


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
        self._base_strength = self.params.base_strength
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

    def update_vote(self, bar: Bar) -> float | None:
        """``update(bar).vote``: +-strength outside the channel, 0.0 inside, without the reading."""
        vote: float | None = None
        highs, lows = self._highs, self._lows
        if highs._index >= highs.size:  # highs.full, without the property call
            upper, lower = highs._values[0], lows._values[0]
            close = bar.close
            if close > upper:
                vote = self._checked(1.0, self._strength(close - upper, upper - lower))
            elif close < lower:
                vote = -self._checked(-1.0, self._strength(lower - close, upper - lower))
            else:
                vote = 0.0
        highs.push(bar.high)
        lows.push(bar.low)
        return vote

    @staticmethod
    def _checked(direction: float, strength: float) -> float:
        if not 0.0 <= strength <= 1.0:
            refuse_reading(direction, strength)
        return strength

    def _strength(self, excess: float, width: float) -> float:
        if width <= 0.0:
            return 1.0
        return min(1.0, self._base_strength + excess / width)


def make_breakout(params: Mapping[str, Any]) -> DonchianBreakout:
    return DonchianBreakout(BreakoutParams.model_validate(dict(params)))
