"""Quotes from a file: the best bid and ask known at an instant.

Two CSV shapes are read (``ts`` is ISO-8601 UTC):

- quote bars: ``ts,bid_open,bid_high,bid_low,bid_close,bid_size,ask_open,ask_high,ask_low,ask_close,ask_size``
  where ``ts`` is the bar's OPEN time; a bar's closing bid and ask are known at ``ts + interval`` (the
  interval is the smallest step between rows);
- best bid/ask updates: ``ts`` (or ``ts_event``) with ``bid_price``/``ask_price`` (or ``bid_px``/``ask_px``,
  or ``bid``/``ask``); each row is known at its ``ts``.

A row without both a bid and an ask (an empty side) is skipped. ``QuoteBook.at(t)`` gives the latest quote
known at ``t`` (at or before it), or None when there is none or it is older than ``max_age``.
"""

from __future__ import annotations

import bisect
import csv
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from tradebot.domain.quotes import Quote

_BID = ("bid_close", "bid_price", "bid_px", "bid")
_ASK = ("ask_close", "ask_price", "ask_px", "ask")
_TS = ("ts", "ts_event")


class QuoteFileError(ValueError):
    """A quote file that cannot be read: the message names the file, and the line or column."""


@dataclass(frozen=True, slots=True)
class QuoteBook:
    source: str  # the file name
    quotes: tuple[Quote, ...]  # by ``ts``
    max_age: timedelta
    times: tuple[datetime, ...] = ()  # ``quote.ts`` of each quote, for the search

    def at(self, when: datetime) -> Quote | None:
        index = bisect.bisect_right(self.times, when)
        if index == 0:
            return None
        quote = self.quotes[index - 1]
        return quote if when - quote.ts <= self.max_age else None


def load_quotes(path: Path, *, max_age: timedelta = timedelta(minutes=5)) -> QuoteBook:
    try:
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            header = list(reader.fieldnames or [])
            ts_col = _column(header, _TS, path, "time column (ts)")
            bid_col = _column(header, _BID, path, "bid column (bid_close, bid_price, bid_px or bid)")
            ask_col = _column(header, _ASK, path, "ask column (ask_close, ask_price, ask_px or ask)")
            rows: list[tuple[datetime, Decimal, Decimal]] = []
            for line, row in enumerate(reader, start=2):
                bid, ask = (row.get(bid_col) or "").strip(), (row.get(ask_col) or "").strip()
                if not bid or not ask:
                    continue
                rows.append(
                    (
                        _ts(row.get(ts_col) or "", path, line),
                        _price(bid, path, line, bid_col),
                        _price(ask, path, line, ask_col),
                    )
                )
    except OSError as exc:
        raise QuoteFileError(f"quotes file {path}: {exc.strerror or exc}") from None
    if not rows:
        raise QuoteFileError(f"quotes file {path}: no row with both a bid and an ask")
    rows.sort(key=lambda r: r[0])
    delay = _bar_interval(rows) if bid_col == "bid_close" else timedelta(0)
    quotes = tuple(Quote(ts + delay, bid, ask) for ts, bid, ask in rows)
    return QuoteBook(Path(path).name, quotes, max_age, tuple(q.ts for q in quotes))


def _column(header: list[str], names: tuple[str, ...], path: Path, what: str) -> str:
    for name in names:
        if name in header:
            return name
    raise QuoteFileError(f"quotes file {path}: line 1 has no {what}; columns are {', '.join(header)}")


def _ts(text: str, path: Path, line: int) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())  # a nanosecond time is cut to the microsecond
    except ValueError:
        raise QuoteFileError(f"quotes file {path} line {line}: ts {text!r} is not an ISO-8601 time") from None
    if value.tzinfo is None:
        raise QuoteFileError(f"quotes file {path} line {line}: ts {text!r} has no time zone (UTC: add Z)")
    return value


def _price(text: str, path: Path, line: int, column: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise QuoteFileError(f"quotes file {path} line {line}: {column} {text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise QuoteFileError(f"quotes file {path} line {line}: {column} {text!r} is not a positive price")
    return value


def _bar_interval(rows: list[tuple[datetime, Decimal, Decimal]]) -> timedelta:
    steps = [b[0] - a[0] for a, b in itertools.pairwise(rows) if b[0] > a[0]]
    return min(steps) if steps else timedelta(minutes=1)
