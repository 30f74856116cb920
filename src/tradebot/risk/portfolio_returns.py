"""The instruments' recent returns, as the portfolio rules need them: realized volatility per instrument and
realized correlation per pair.

``ReturnHistory`` is a ``RuleState``: a reducer over the bars. Prices are sampled every
``SAMPLE_MINUTES`` (15) minutes, at the bars that end on that grid (UTC): one-minute returns are mostly the
bid-ask bounce, which inflates volatility and hides correlation (ES and SPY over one week: 0.69 from
one-minute returns, 0.99 from 15-minute ones). Each sampled return (the close against the instrument's
previous sample) is summed into its session day's bucket (the sum of squared returns and their count); when
two instruments' returns span the same two grid times, they are a synchronized pair and the products go
into the pair's bucket of that day. Only the last ``MAX_LOOKBACK_DAYS`` day buckets are
kept: the state is small whatever the bar interval, and the rules choose their own lookback inside it.

The view (``ReturnSums``) is the day buckets of every instrument (and pair) for one decision; the rules
turn them into numbers with the functions below, so each rule's lookback is its own setting:

- ``annual_vol``: the mean squared return per bar over the lookback, times the bars of a full day (the
  busiest day of the lookback counts as a full day), times the days of a year (252 on an exchange
  calendar, 365 on 24/7) — realized volatility from intraday returns, annualized;
- ``correlation``: the realized (uncentred) correlation of the synchronized returns over the lookback,
  sum(a·b) / sqrt(sum(a²)·sum(b²)); minute returns have a mean near zero, so it is the usual estimator.

Both say None (unknown) with fewer than ``MIN_RETURNS`` returns, unless the lookback's days are all there
(daily bars: 20 days are 20 returns): the rules decide what unknown means. Until the sampled returns are
enough, volatility falls back to every bar's return (``source: "bar"``): known after 30 bars, and biased
high by the bounce, so the early estimate errs on the safe side; correlation has no such fallback (the
bounce biases it toward zero, which would hide a group).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from tradebot.domain.bars import Bar
from tradebot.domain.calendars import ALWAYS_OPEN
from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import OrderIntent
from tradebot.risk.rule_state import RuleState
from tradebot.risk.rules import MAX_LOOKBACK_DAYS

MIN_RETURNS = 30  # fewer returns than this in a lookback: the estimate is unknown
SAMPLE_MINUTES = 15  # prices are sampled at bars ending on this grid (UTC)
_SAMPLE_S = SAMPLE_MINUTES * 60
K = TypeVar("K")
TRADING_DAYS = 252
CALENDAR_DAYS = 365


@dataclass(frozen=True, slots=True)
class DaySums:
    """One instrument's returns on one session day: their count and the sum of their squares."""

    day: date
    count: int
    squares: float


@dataclass(frozen=True, slots=True)
class PairSums:
    """Two instruments' synchronized returns on one day: count, sum of products, sums of squares."""

    day: date
    count: int
    products: float
    squares_a: float
    squares_b: float


@dataclass(frozen=True, slots=True)
class ReturnSums:
    """The view for one decision: day buckets per instrument and per pair (a, b with a < b), oldest first,
    each instrument's days per year, and one unit's notional at its last close (for weights)."""

    days: Mapping[str, tuple[DaySums, ...]]
    pairs: Mapping[tuple[str, str], tuple[PairSums, ...]]
    days_per_year: Mapping[str, int]
    unit_notional: Mapping[str, Decimal]
    bar_days: Mapping[str, tuple[DaySums, ...]] = field(default_factory=dict)  # every bar's return

    def vol(self, symbol: str, lookback_days: int) -> float | None:
        estimate = self.vol_estimate(symbol, lookback_days)
        return None if estimate is None else estimate[0]

    def vol_estimate(self, symbol: str, lookback_days: int) -> tuple[float, str] | None:
        """The annualized volatility and the returns it came from: the sampled ones ("15m"), else every
        bar's ("bar"), else None."""
        per_year = self.days_per_year.get(symbol, 0)
        for source, days in (("15m", self.days), ("bar", self.bar_days)):
            vol = annual_vol(days.get(symbol, ()), lookback_days, per_year)
            if vol is not None:
                return vol, source
        return None

    def corr(self, a: str, b: str, lookback_days: int) -> float | None:
        if a == b:
            return 1.0
        key = (a, b) if a < b else (b, a)
        return correlation(self.pairs.get(key, ()), lookback_days)


def annual_vol(days: Sequence[DaySums], lookback_days: int, days_per_year: int) -> float | None:
    window = days[-lookback_days:]
    count = sum(d.count for d in window)
    if count == 0 or (count < MIN_RETURNS and len(window) < lookback_days) or days_per_year <= 0:
        return None
    per_bar = sum(d.squares for d in window) / count
    full_day = max(d.count for d in window)
    return math.sqrt(per_bar * full_day * days_per_year)


def correlation(pairs: Sequence[PairSums], lookback_days: int) -> float | None:
    window = pairs[-lookback_days:]
    if sum(p.count for p in window) < MIN_RETURNS:
        return None
    squares_a = sum(p.squares_a for p in window)
    squares_b = sum(p.squares_b for p in window)
    if squares_a <= 0.0 or squares_b <= 0.0:
        return None  # a price that never moved has no correlation to measure
    return sum(p.products for p in window) / math.sqrt(squares_a * squares_b)


class _Days:
    """Day buckets being summed: the finished ones (frozen) and today's (open)."""

    __slots__ = ("buckets", "count", "day", "sums")

    def __init__(self) -> None:
        self.buckets: deque[tuple[date, int, tuple[float, ...]]] = deque(maxlen=MAX_LOOKBACK_DAYS)
        self.day: date | None = None
        self.count = 0
        self.sums: list[float] = []

    def add(self, day: date, values: tuple[float, ...]) -> None:
        if day != self.day:
            if self.day is not None:
                self.buckets.append((self.day, self.count, tuple(self.sums)))
            self.day, self.count, self.sums = day, 0, [0.0] * len(values)
        self.count += 1
        for n, value in enumerate(values):
            self.sums[n] += value

    def all(self) -> list[tuple[date, int, tuple[float, ...]]]:
        done = list(self.buckets)
        if self.day is not None:
            done.append((self.day, self.count, tuple(self.sums)))
        return done[-MAX_LOOKBACK_DAYS:]


class ReturnHistory(RuleState):
    def __init__(self, instruments: Mapping[str, Instrument]) -> None:
        self.instruments = instruments
        self._close: dict[str, float] = {}  # each symbol's last close
        self._sample: dict[str, tuple[datetime, float]] = {}  # ... and its last sampled close, with its time
        # each symbol's latest return: the grid times it spans, and the return
        self._last: dict[str, tuple[datetime, datetime, float]] = {}
        self._days: dict[str, _Days] = {}
        self._bar_days: dict[str, _Days] = {}
        self._pairs: dict[tuple[str, str], _Days] = {}

    def on_bar(self, bar: Bar, day: date, now: datetime) -> None:
        symbol = bar.symbol
        close = self._close.get(symbol)
        self._close[symbol] = bar.close
        if close is not None and close > 0.0:
            bar_ret = bar.close / close - 1.0
            _bucket(self._bar_days, symbol).add(day, (bar_ret * bar_ret,))
        end = bar.end
        if end.timestamp() % _SAMPLE_S:
            return  # not on the sampling grid
        previous = self._sample.get(symbol)
        self._sample[symbol] = (end, bar.close)
        if previous is None or previous[1] <= 0.0:
            return
        start, ret = previous[0], bar.close / previous[1] - 1.0
        _bucket(self._days, symbol).add(day, (ret * ret,))
        for other, (other_start, at, other_ret) in self._last.items():
            if other != symbol and at == end and other_start == start:
                key, a, b = (
                    ((symbol, other), ret, other_ret) if symbol < other else ((other, symbol), other_ret, ret)
                )
                _bucket(self._pairs, key).add(day, (a * b, a * a, b * b))
        self._last[symbol] = (start, end, ret)

    def view(self, intent: OrderIntent, now: datetime) -> ReturnSums:
        days = _day_sums(self._days)
        pairs = {
            key: tuple(PairSums(d, n, *sums) for d, n, sums in each.all())
            for key, each in self._pairs.items()
        }
        per_year = {
            s: CALENDAR_DAYS if i.calendar == ALWAYS_OPEN else TRADING_DAYS
            for s, i in self.instruments.items()
        }
        unit = {
            s: self.instruments[s].notional(Decimal(repr(close)), Decimal(1))
            for s, close in self._close.items()
            if s in self.instruments and close > 0.0
        }
        return ReturnSums(days, pairs, per_year, unit, _day_sums(self._bar_days))


def _bucket(buckets: dict[K, _Days], key: K) -> _Days:
    """``buckets[key]``, started empty the first time (not built on every bar to be thrown away)."""
    days = buckets.get(key)
    if days is None:
        days = buckets[key] = _Days()
    return days


def _day_sums(buckets: Mapping[str, _Days]) -> dict[str, tuple[DaySums, ...]]:
    return {s: tuple(DaySums(d, n, sums[0]) for d, n, sums in each.all()) for s, each in buckets.items()}
