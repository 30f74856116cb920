"""Best bid and ask: the market-data stream's quotes, on the same socket as the bars.

A raw quote ``{"T": "q", "S": symbol, "bp": bid, "bs": size, "ap": ask, "as": size, "t": time, ...}``
becomes a ``Quote`` stamped with the venue's time. A side that is empty or zero is not a quote: skipped.
Every ``quotes()`` caller gets its own bounded queue; a full queue drops its oldest quote (a quote is only
ever the latest one, so a slow reader loses stale quotes, never the stream). After a reconnect the stream
resumes with the next quote: there is nothing to backfill.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from tradebot.domain.quotes import Quote
from tradebot_alpaca.data import stream_time

log = logging.getLogger(__name__)


def quote_from_stream(msg: Mapping[str, Any]) -> Quote | None:
    """One raw stream quote as a Quote; None for a quote without both sides or without a time."""
    try:
        bid, ask = Decimal(str(msg.get("bp") or "0")), Decimal(str(msg.get("ap") or "0"))
        if bid <= 0 or ask <= 0 or msg.get("t") is None:
            return None
        return Quote(stream_time(msg["t"]), bid, ask)
    except (InvalidOperation, ValueError, TypeError):
        log.warning("alpaca quote skipped (unreadable): %r", dict(msg))
        return None


class QuoteHub:
    """Fans streamed quotes out to subscribers, each with a bounded, drop-oldest queue."""

    def __init__(self, queue_size: int) -> None:
        self._queue_size = queue_size
        self._subs: dict[str, set[asyncio.Queue[Quote]]] = {}

    @property
    def symbols(self) -> set[str]:
        return {s for s, subs in self._subs.items() if subs}

    def subscribe(self, symbol: str) -> asyncio.Queue[Quote]:
        queue: asyncio.Queue[Quote] = asyncio.Queue(maxsize=self._queue_size)
        self._subs.setdefault(symbol, set()).add(queue)
        return queue

    def unsubscribe(self, symbol: str, queue: asyncio.Queue[Quote]) -> None:
        self._subs.get(symbol, set()).discard(queue)

    async def on_stream_quote(self, msg: Any) -> None:
        """Handler for the data stream's quotes (raw messages)."""
        quote = quote_from_stream(msg)
        if quote is None:
            return
        for queue in list(self._subs.get(str(msg.get("S")), ())):
            if queue.full():
                queue.get_nowait()  # the oldest quote is stale once a newer one exists
            queue.put_nowait(quote)


class QuoteFeed:
    """``broker.quotes()``: one symbol's best bid/ask updates, as an async iterator."""

    def __init__(self, hub: QuoteHub, symbol: str, start: Callable[[], Awaitable[None]]) -> None:
        self._queue = hub.subscribe(symbol)  # subscribe before the stream starts, so nothing is missed
        self._start: Callable[[], Awaitable[None]] | None = start
        self._finalizer = weakref.finalize(self, hub.unsubscribe, symbol, self._queue)

    def __aiter__(self) -> QuoteFeed:
        return self

    async def __anext__(self) -> Quote:
        if self._start is not None:
            await self._start()
            self._start = None
        return await self._queue.get()

    async def aclose(self) -> None:
        self._finalizer()
