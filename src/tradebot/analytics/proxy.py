"""Spread models for when no quote is known: each gives a FULL bid-ask spread in bps and names itself, so
every figure computed from it can be marked as a proxy with the model used.

- ``FixedBps(bps)``: a configured spread (``fixed_bps(2)``: 2 bps, so 1 bp per side).
- ``CorwinSchultz``: the high-low estimator of Corwin and Schultz (2012, ``domain.range_spread``) on the
  last two bars completed at or before the instant.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tradebot.analytics.store_view import BarRow
from tradebot.domain import range_spread


class SpreadModel(Protocol):
    @property
    def name(self) -> str: ...

    def spread_bps(self, bars: Sequence[BarRow], closes: Sequence[datetime], when: datetime) -> float | None:
        """The full spread in bps at ``when``; ``closes`` are the close times of ``bars`` (for the search)."""
        ...


@dataclass(frozen=True, slots=True)
class FixedBps:
    bps: float

    @property
    def name(self) -> str:
        return f"fixed_bps({self.bps:g})"

    def spread_bps(self, bars: Sequence[BarRow], closes: Sequence[datetime], when: datetime) -> float | None:
        return self.bps


@dataclass(frozen=True, slots=True)
class CorwinSchultz:
    @property
    def name(self) -> str:
        return "corwin_schultz(high-low of the last 2 bars)"

    def spread_bps(self, bars: Sequence[BarRow], closes: Sequence[datetime], when: datetime) -> float | None:
        index = bisect.bisect_right(closes, when)
        if index < 2:
            return None
        return corwin_schultz_bps(bars[index - 2], bars[index - 1])


def corwin_schultz_bps(first: BarRow, second: BarRow) -> float:
    return range_spread.corwin_schultz_bps(
        float(first.high), float(first.low), float(second.high), float(second.low)
    )
