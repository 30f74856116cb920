"""DVS, the data validity score of one instrument's bar feed, in [0, 1].

Over a rolling window of the last ``window`` observations, where an observation is one accepted bar, one
rejected bar (``on_rejected_bar``) or one missing bar (a gap), each observation gets a penalty in [0, 1]:

    rejected bar (NaN, high < low, out of order, ...)   1.0
    missing bar  (gap of up to ``session_break_s``)      1.0 each
    stale bar    (arrived > ``max_lag_s`` after its end) ``stale_penalty``   (0.5)
    outlier      (|close / previous close - 1| > ``outlier_return``, or, with
                  >= ``mad_min_samples`` returns, |r - median| > ``mad_k`` x MAD
                  and |r| > ``mad_min_return``)          ``outlier_penalty`` (0.5)

(a bar both stale and an outlier gets the sum, capped at 1) and

    DVS = 1 - sum(penalties) / observations

Gaps longer than ``session_break_s`` are a session break, not missing data. At query time, when the
newest bar is older than ``max_lag_s`` (the feed stopped), it counts as stale. No observation yet: 0.0
(no data, no trade).
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from tradebot.domain.bars import Bar


@dataclass(frozen=True, slots=True)
class DvsConfig:
    window: int = 60
    max_lag_s: float = 30.0
    session_break_s: float = 1800.0
    outlier_return: float = 0.03
    mad_k: float = 12.0
    mad_min_samples: int = 20
    mad_min_return: float = 0.005
    stale_penalty: float = 0.5
    outlier_penalty: float = 0.5


class DataValidity:
    """Feed it ``on_bar(bar, now)`` for accepted bars and ``on_rejected_bar(code)``; read ``score(now)``."""

    def __init__(self, config: DvsConfig | None = None) -> None:
        self.config = config or DvsConfig()
        self._penalties: deque[float] = deque(maxlen=self.config.window)
        self._returns: deque[float] = deque(maxlen=max(self.config.window, self.config.mad_min_samples))
        self._last_bar: Bar | None = None
        self.last_reasons: tuple[str, ...] = ()

    def on_rejected_bar(self, code: str) -> None:
        self._penalties.append(1.0)
        self.last_reasons = ("rejected", code)

    def on_bar(self, bar: Bar, now: datetime) -> float:
        """Record one accepted bar; returns its penalty."""
        cfg = self.config
        reasons: list[str] = []
        previous = self._last_bar
        if previous is not None:
            gap_s = (bar.ts - previous.ts).total_seconds()
            missing = round(gap_s / bar.interval_s) - 1
            if missing > 0 and gap_s <= cfg.session_break_s:
                for _ in range(missing):
                    self._penalties.append(1.0)
                reasons.append(f"gap:{missing}")
        penalty = 0.0
        if (now - bar.end).total_seconds() > cfg.max_lag_s:
            penalty += cfg.stale_penalty
            reasons.append("stale")
        if (
            previous is not None
            and previous.close > 0
            and (bar.ts - previous.ts).total_seconds() <= cfg.session_break_s
        ):
            r = bar.close / previous.close - 1.0
            if self._is_outlier(r):
                penalty += cfg.outlier_penalty
                reasons.append("outlier")
            self._returns.append(r)
        penalty = min(penalty, 1.0)
        self._penalties.append(penalty)
        self._last_bar = bar
        self.last_reasons = tuple(reasons)
        return penalty

    def _is_outlier(self, r: float) -> bool:
        cfg = self.config
        if abs(r) > cfg.outlier_return:
            return True
        if len(self._returns) >= cfg.mad_min_samples and abs(r) > cfg.mad_min_return:
            med = statistics.median(self._returns)
            mad = statistics.median(abs(x - med) for x in self._returns)
            return mad > 0 and abs(r - med) > cfg.mad_k * mad
        return False

    def score(self, now: datetime | None = None) -> float:
        if not self._penalties:
            return 0.0
        penalties = list(self._penalties)
        last = self._last_bar
        if now is not None and last is not None and (now - last.end).total_seconds() > self.config.max_lag_s:
            penalties[-1] = min(1.0, penalties[-1] + self.config.stale_penalty)
        return max(0.0, min(1.0, 1.0 - sum(penalties) / len(penalties)))
