"""What the signal ensemble says about one instrument at one bar."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Signal:
    """``direction`` in [-1, 1] (sign = side), ``confidence`` in [0, 1], ``regime`` a label.

    ``ts`` is the decision time: the close of the bar that produced it. ``reference_price`` is that
    bar's close. ``atr`` is the volatility estimate (price units) the sizer uses, if known.
    ``bar_ts`` is the OPEN time of the bar that produced it (deterministic intent ids use it).
    """

    symbol: str
    ts: datetime
    direction: float
    confidence: float
    regime: str
    reference_price: float
    atr: float | None = None
    profile: str = "balanced"
    components: Mapping[str, float] = field(default_factory=dict)
    bar_ts: datetime | None = None


@dataclass(frozen=True, slots=True)
class SleeveSignal:
    sleeve: str
    signal: Signal | None


@dataclass(frozen=True, slots=True)
class SleeveSignals:
    """The signals of every sleeve trading one instrument on one bar, in the sleeves' configured order."""

    symbol: str
    signals: tuple[SleeveSignal, ...]
