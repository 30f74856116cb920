"""Does a bar file belong to the instrument it is fed as? SPY at 130 fed as MES (which trades in the
thousands) must be refused with a reason, not traded.

The first ``SAMPLE`` bars' closes are checked against the instrument's preset price band
(``domain/presets.py``); an instrument without a band is judged by its tick: most closes of a file that
belongs to it lie on its tick grid (a file of another instrument's prices rarely does).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path

from tradebot.domain.instruments import Instrument
from tradebot.domain.presets import price_band
from tradebot.feeds.csv_bars import CsvBarFeed, FeedRejection, SessionClose

SAMPLE = 200  # bars read from the start of a file
ON_GRID = 0.8  # the share of closes on the tick grid a file without a band needs


def check_price_fit(instrument: Instrument, closes: Iterable[float]) -> str | None:
    """Why these closes do not fit ``instrument``, or None when they do (or there is nothing to judge)."""
    prices = [Decimal(repr(close)) for close in closes if close > 0]
    if not prices:
        return None
    band = price_band(instrument.symbol)
    if band is not None:
        low, high = band
        outside = [p for p in prices if not low <= p <= high]
        if len(outside) * 2 > len(prices):
            return (
                f"its prices ({min(prices)} .. {max(prices)}) are outside the range {instrument.symbol} "
                f"trades in ({low} .. {high}): is this another instrument's file?"
            )
        return None
    on_grid = sum(1 for p in prices if _on_tick(p, instrument.tick_size))
    if on_grid < ON_GRID * len(prices):
        return (
            f"only {on_grid} of its first {len(prices)} closes are on {instrument.symbol}'s tick "
            f"{instrument.tick_size}: is this another instrument's file?"
        )
    return None


def file_price_fit(
    path: Path, instrument: Instrument, session_close: SessionClose | None = None
) -> str | None:
    """``check_price_fit`` of the first ``SAMPLE`` bars of the file at ``path``."""
    closes: list[float] = []
    feed = CsvBarFeed(path, symbol=instrument.symbol, session_close=session_close)
    with contextlib.closing(iter(feed)) as items:
        for item in items:
            if isinstance(item, FeedRejection):
                continue
            closes.append(item[1].close)
            if len(closes) >= SAMPLE:
                break
    return check_price_fit(instrument, closes)


def _on_tick(price: Decimal, tick: Decimal) -> bool:
    try:
        return price % tick == 0
    except InvalidOperation:
        return False
