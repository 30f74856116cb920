"""Bar validation: each bad bar is refused with its reason code and counted; no I/O, no clock.

``BarValidator.check(bar)`` returns ``None`` for a good bar, else the code of the first fault found, in
this order: BAR_NAN (NaN or infinite field), BAR_NON_POSITIVE_PRICE (a price <= 0),
BAR_HIGH_BELOW_LOW, BAR_OHLC_INCONSISTENT (open or close outside [low, high]), BAR_NEGATIVE_VOLUME,
BAR_OUTSIDE_CALENDAR (the bar's time is outside the range its symbol's exchange calendar knows, given as
``time_ranges``: no session, holiday or close could be looked up for it), then,
against the last ACCEPTED bar of the same symbol, BAR_DUPLICATE_TS (same ``ts``) and BAR_OUT_OF_ORDER
(earlier ``ts``). Only accepted bars advance the symbol's last ``ts``. ``refused`` counts refusals per code,
``accepted`` counts the bars let through (both for the run summary).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from math import isfinite

from tradebot.domain import reasons
from tradebot.domain.bars import Bar


def bar_fault(bar: Bar) -> str | None:
    """The reason code of what is wrong with the bar on its own (not its order), or None."""
    o, h, low, c, v = bar.open, bar.high, bar.low, bar.close, bar.volume
    # fast path, the same verdict: a finite sum means every field is finite (a NaN or an infinity would
    # make it NaN or infinite), and 0 < low <= open, close <= high with volume >= 0 passes every check
    if isfinite(o + h + low + c + v) and 0 < low <= o <= h and low <= c <= h and v >= 0:
        return None
    if not (isfinite(o) and isfinite(h) and isfinite(low) and isfinite(c) and isfinite(v)):
        return reasons.BAR_NAN
    if o <= 0 or h <= 0 or low <= 0 or c <= 0:
        return reasons.BAR_NON_POSITIVE_PRICE
    if h < low:
        return reasons.BAR_HIGH_BELOW_LOW
    if not (low <= o <= h and low <= c <= h):
        return reasons.BAR_OHLC_INCONSISTENT
    if v < 0:
        return reasons.BAR_NEGATIVE_VOLUME
    return None


class BarValidator:
    """Validates a stream of bars of one or more symbols, keeping each symbol's last accepted ``ts``."""

    def __init__(self, time_ranges: Mapping[str, tuple[datetime, datetime]] | None = None) -> None:
        self.refused: dict[str, int] = {}
        self.accepted = 0
        self._last_ts: dict[str, datetime] = {}
        # per symbol: the earliest and latest bar time its exchange calendar can answer for
        self._ranges = dict(time_ranges or {})

    def check(self, bar: Bar) -> str | None:
        code = bar_fault(bar)
        symbol, ts = bar.symbol, bar.ts
        if code is None and self._ranges:
            known = self._ranges.get(symbol)
            if known is not None and not (known[0] <= ts and bar.end <= known[1]):
                code = reasons.BAR_OUTSIDE_CALENDAR
        if code is None:
            last = self._last_ts.get(symbol)
            if last is not None and ts <= last:
                code = reasons.BAR_DUPLICATE_TS if ts == last else reasons.BAR_OUT_OF_ORDER
        if code is not None:
            self.refused[code] = self.refused.get(code, 0) + 1
            return code
        self._last_ts[symbol] = ts
        self.accepted += 1
        return None

    def last_ts(self, symbol: str) -> datetime | None:
        """The ``ts`` of the symbol's last accepted bar."""
        return self._last_ts.get(symbol)

    def seed(self, symbol: str, ts: datetime) -> None:
        """Resume after a restart: bars at or before ``ts`` (already processed) will be refused."""
        self._last_ts[symbol] = ts
