"""Where real bars change character: chop, then a trend, then chop again, found by numbers, not by eye.

Two measures of a window of closes c[0..n]:

- efficiency ratio ER = |c[n] - c[0]| / sum |c[i] - c[i-1]| (Kaufman): 1 for a straight line, near 0 when
  the path goes nowhere;
- R² of the least-squares line through (i, c[i]): near 1 when the move is steady, near 0 when the closes
  scatter around a level. ER alone rewards one jump (a single bar carries the net move); R² alone rewards a
  slow drift. Their product ranks trends that are both efficient and steady.

``chop_trend_chop`` scans every start (one bar apart) for a ``trend_bars`` window with the highest ER x R²
whose ``chop_bars`` windows on each side have ER < ``chop_max_er`` and R² < ``chop_max_r2``, and no gap in
the whole span longer than ``max_gap``: three consecutive windows of one real session, no splice.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate, pairwise
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Window:
    start: int  # index of its first close
    end: int  # index of its last close (inclusive): the window spans end - start bars
    er: float
    r2: float


@dataclass(frozen=True, slots=True)
class ChopTrendChop:
    chop1: Window
    trend: Window
    chop2: Window


def read_closes(path: Path) -> tuple[list[datetime], list[float]]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    times = [datetime.fromisoformat(r["ts"].replace("Z", "+00:00")) for r in rows]
    return times, [float(r["close"]) for r in rows]


class _Sums:
    """Prefix sums for O(1) ER and R² of any window."""

    def __init__(self, closes: list[float]) -> None:
        self.c = closes
        self.path = [0.0, *accumulate(abs(b - a) for a, b in pairwise(closes))]
        self.s_y = [0.0, *accumulate(closes)]
        self.s_yy = [0.0, *accumulate(y * y for y in closes)]
        self.s_iy = [0.0, *accumulate(i * y for i, y in enumerate(closes))]

    def window(self, start: int, end: int) -> Window:
        c = self.c
        path = self.path[end] - self.path[start]
        er = abs(c[end] - c[start]) / path if path > 0 else 0.0
        n = end - start + 1
        sy = self.s_y[end + 1] - self.s_y[start]
        syy = self.s_yy[end + 1] - self.s_yy[start]
        # x = i - start, 0..n-1
        sxy = (self.s_iy[end + 1] - self.s_iy[start]) - start * sy
        sx = n * (n - 1) / 2
        sxx = (n - 1) * n * (2 * n - 1) / 6
        cov = sxy - sx * sy / n
        var_x = sxx - sx * sx / n
        var_y = syy - sy * sy / n
        r2 = cov * cov / (var_x * var_y) if var_y > 1e-12 else 0.0
        return Window(start, end, er, r2)


def chop_trend_chop(
    times: list[datetime],
    closes: list[float],
    *,
    trend_bars: int,
    chop_bars: int,
    chop_max_er: float = 0.1,
    chop_max_r2: float = 0.3,
    max_gap: timedelta = timedelta(minutes=3),
) -> ChopTrendChop:
    sums = _Sums(closes)
    gap_ends = [i for i in range(1, len(times)) if times[i] - times[i - 1] > max_gap]
    best: tuple[float, ChopTrendChop] | None = None
    for t0 in range(chop_bars, len(closes) - trend_bars - chop_bars):
        first, last = t0 - chop_bars, t0 + trend_bars + chop_bars
        if any(first < g <= last for g in gap_ends):
            continue
        chop1 = sums.window(first, t0)
        trend = sums.window(t0, t0 + trend_bars)
        chop2 = sums.window(t0 + trend_bars, last)
        if not all(w.er < chop_max_er and w.r2 < chop_max_r2 for w in (chop1, chop2)):
            continue
        score = trend.er * trend.r2
        if best is None or score > best[0]:
            best = (score, ChopTrendChop(chop1, trend, chop2))
    if best is None:
        raise ValueError("no chop -> trend -> chop windows of these lengths in these bars")
    return best[1]
