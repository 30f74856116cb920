"""Quotes from a broker's stream (``QuoteStream``) for the TCA of a live or observe run on that broker's feed.

A ``LiveQuoteBook`` answers ``at(t)`` like a file's ``QuoteBook``: the latest quote known at or before ``t``,
none when it is older than ``max_age``. It keeps the ``KEEP`` most recent quotes (an order's arrival and
first fill are recent: the book need not hold the day). ``follow`` copies a stream into a book until the
stream ends or the run stops; a stream that fails is logged, and from then on the book's quotes age out, so
the figures fall back to the proxy (marked as such) instead of using a stale quote.
"""

from __future__ import annotations

import bisect
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from loguru import logger

from tradebot.domain.quotes import Quote

KEEP = 20_000


class LiveQuoteBook:
    def __init__(self, source: str, max_age: timedelta, keep: int = KEEP) -> None:
        self.source = source
        self.max_age = max_age
        self.keep = keep
        self._quotes: list[Quote] = []
        self._times: list[datetime] = []

    def __len__(self) -> int:
        return len(self._quotes)

    def add(self, quote: Quote) -> None:
        """Append a quote; one older than the last is ignored (the book is in venue time order)."""
        if self._times and quote.ts < self._times[-1]:
            return
        self._quotes.append(quote)
        self._times.append(quote.ts)
        if len(self._quotes) > 2 * self.keep:
            del self._quotes[: -self.keep]
            del self._times[: -self.keep]

    def at(self, when: datetime) -> Quote | None:
        index = bisect.bisect_right(self._times, when)
        if index == 0:
            return None
        quote = self._quotes[index - 1]
        return quote if when - quote.ts <= self.max_age else None


async def follow(
    stream: AsyncIterator[Quote], book: LiveQuoteBook, on_error: Callable[[BaseException], None]
) -> None:
    try:
        async for quote in stream:
            book.add(quote)
    except Exception as exc:  # noqa: BLE001 - quotes only inform the TCA: told, never fatal to trading
        logger.warning("quote stream {} stopped: {!r}; TCA falls back to the proxy spread", book.source, exc)
        on_error(exc)
