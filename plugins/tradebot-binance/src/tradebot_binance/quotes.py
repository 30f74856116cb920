"""Best bid and ask: the USD-M ``<symbol>@bookTicker`` stream on the combined-stream endpoint.

A payload ``{"e": "bookTicker", "u": id, "s": "BTCUSDT", "b": bid, "B": bid qty, "a": ask, "A": ask qty,
"T": transaction ms, "E": event ms}`` becomes a ``Quote`` stamped with the transaction time (the event time
when there is none). A side that is empty or zero is not a quote: skipped. Updates come in venue order (a
lower update id ``u`` than the last one is dropped). After a dropped connection the stream resumes with the
next update: a quote is only ever the latest one, there is nothing to backfill.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from binance.ws.streams import BinanceSocketManager

from tradebot.domain.quotes import Quote
from tradebot_binance.config import BinanceConfig
from tradebot_binance.sockets import Resumed, market_messages


def book_ticker_quote(data: Mapping[str, Any]) -> Quote | None:
    """One bookTicker payload as a Quote; None for a payload without both sides."""
    try:
        bid, ask = Decimal(str(data.get("b") or "0")), Decimal(str(data.get("a") or "0"))
    except InvalidOperation:
        return None
    if bid <= 0 or ask <= 0:
        return None
    ms = data.get("T") or data.get("E")
    if ms is None:
        return None
    return Quote(datetime.fromtimestamp(int(ms) / 1000, tz=UTC), bid, ask)


class BookTickerFeed:
    """One symbol's best bid/ask updates, as an async iterator."""

    def __init__(
        self, socket_manager: Callable[[], BinanceSocketManager], config: BinanceConfig, symbol: str
    ) -> None:
        self._bsm = socket_manager
        self._config = config
        self._symbol = symbol
        self._last_update = -1
        self.reconnects = 0

    def _interrupted(self) -> None:
        self.reconnects += 1

    async def stream(self) -> AsyncIterator[Quote]:
        stream = f"{self._symbol.lower()}@bookTicker"
        async for data in market_messages(self._bsm, stream, self._config, self._interrupted):
            if isinstance(data, Resumed) or data.get("e") != "bookTicker":
                continue  # a quote is only ever the latest one: nothing to fetch after a reconnect
            update = int(data.get("u") or 0)
            if update and update < self._last_update:
                continue
            quote = book_ticker_quote(data)
            if quote is None:
                continue
            self._last_update = max(self._last_update, update)
            yield quote
