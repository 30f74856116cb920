"""Spread models for when no quote is known: each gives a FULL bid-ask spread in bps and names itself, so
every figure computed from it can be marked as a proxy with the model used.

- ``FixedBps(bps)``: a configured spread (``fixed_bps(2)``: 2 bps, so 1 bp per side).
- ``CorwinSchultz``: the high-low estimator of Corwin and Schultz (2012) on the last two bars completed at
  or before the instant: with ``b = ln(H1/L1)² + ln(H2/L2)²`` and ``g = ln(max(H1,H2)/min(L1,L2))²``,
  ``a = (√(2b) − √b)/(3 − 2√2) − √(g/(3 − 2√2))`` and ``S = 2(eᵃ − 1)/(1 + eᵃ)``; a negative estimate is 0.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tradebot.analytics.store_view import BarRow

_K = 3 - 2 * math.sqrt(2)


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
    h1, l1, h2, l2 = float(first.high), float(first.low), float(second.high), float(second.low)
    if min(h1, l1, h2, l2) <= 0:
        return 0.0
    beta = math.log(h1 / l1) ** 2 + math.log(h2 / l2) ** 2
    gamma = math.log(max(h1, h2) / min(l1, l2)) ** 2
    alpha = (math.sqrt(2 * beta) - math.sqrt(beta)) / _K - math.sqrt(gamma / _K)
    spread = 2 * (math.exp(alpha) - 1) / (1 + math.exp(alpha))
    return max(spread, 0.0) * 10_000
