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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

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
        self._intervals: dict[int, timedelta] = {}
        self.last_reasons: tuple[str, ...] = ()

    def on_rejected_bar(self, code: str) -> None:
        self._penalties.append(1.0)
        self.last_reasons = ("rejected", code)

    def _lag_s(self, bar: Bar, now: datetime) -> float:
        """Seconds from the bar's end (``bar.end``) to ``now``."""
        interval = self._intervals.get(bar.interval_s)
        if interval is None:
            interval = self._intervals[bar.interval_s] = timedelta(seconds=bar.interval_s)
        return (now - (bar.ts + interval)).total_seconds()

    def on_bar(self, bar: Bar, now: datetime) -> float:
        """Record one accepted bar; returns its penalty."""
        cfg = self.config
        reasons: list[str] | None = None  # made only when there is a reason (most bars have none)
        previous = self._last_bar
        gap_s = 0.0
        if previous is not None:
            gap_s = (bar.ts - previous.ts).total_seconds()
            missing = round(gap_s / bar.interval_s) - 1
            if missing > 0 and gap_s <= cfg.session_break_s:
                for _ in range(missing):
                    self._penalties.append(1.0)
                reasons = [f"gap:{missing}"]
        penalty = 0.0
        # the lag of ``_lag_s``, inline: seconds from the bar's end to ``now``
        interval = self._intervals.get(bar.interval_s)
        if interval is None:
            interval = self._intervals[bar.interval_s] = timedelta(seconds=bar.interval_s)
        if (now - (bar.ts + interval)).total_seconds() > cfg.max_lag_s:
            penalty += cfg.stale_penalty
            if reasons is None:
                reasons = ["stale"]
            else:
                reasons.append("stale")
        if previous is not None and previous.close > 0 and gap_s <= cfg.session_break_s:
            r = bar.close / previous.close - 1.0
            if abs(r) > cfg.outlier_return or self._is_outlier(r):
                penalty += cfg.outlier_penalty
                if reasons is None:
                    reasons = ["outlier"]
                else:
                    reasons.append("outlier")
            self._returns.append(r)
        if penalty > 1.0:  # min(penalty, 1.0)
            penalty = 1.0
        self._penalties.append(penalty)
        self._last_bar = bar
        self.last_reasons = () if reasons is None else tuple(reasons)
        return penalty

    def _is_outlier(self, r: float) -> bool:
        cfg = self.config
        if abs(r) > cfg.outlier_return:
            return True
        if len(self._returns) >= cfg.mad_min_samples and abs(r) > cfg.mad_min_return:
            med = _median(self._returns)
            mad = _median([abs(x - med) for x in self._returns])
            return mad > 0 and abs(r - med) > cfg.mad_k * mad
        return False

    def score(self, now: datetime | None = None) -> float:
        penalties = self._penalties
        if not penalties:
            return 0.0
        last = self._last_bar
        if now is not None and last is not None and self._lag_s(last, now) > self.config.max_lag_s:
            adjusted = list(penalties)
            adjusted[-1] = min(1.0, adjusted[-1] + self.config.stale_penalty)
            total = sum(adjusted)
        else:
            total = sum(penalties)  # the same additions, in the same order, as over a copy
        return max(0.0, min(1.0, 1.0 - total / len(penalties)))


def _median(values: Iterable[float]) -> float:
    """``statistics.median``, exactly (sorted; the middle one, or the mean of the middle two)."""
    data = sorted(values)
    n = len(data)
    if n == 0:
        raise statistics.StatisticsError("no median for empty data")
    if n % 2 == 1:
        return data[n // 2]
    i = n // 2
    return (data[i - 1] + data[i]) / 2
