"""Market data: closed klines from the USD-M kline websocket, REST backfill of gaps, no duplicates.

The stream is ``<symbol>@kline_<interval>`` on the combined-stream endpoint
(``BinanceSocketManager.futures_multiplex_socket`` → ``<stream_url>market/stream?streams=…``). Only klines
with ``x: true`` (closed) become bars. After a reconnect, and whenever a kline arrives more than one
interval after the last bar, the missing bars are fetched from ``/fapi/v1/klines``; a bar is yielded only
if its open time is later than the last one yielded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from binance.ws.streams import BinanceSocketManager
from loguru import logger

from tradebot.domain.bars import Bar
from tradebot.domain.clock import Clock
from tradebot_binance.config import BinanceConfig
from tradebot_binance.rest import BinanceRest
from tradebot_binance.sockets import Resumed, market_messages

INTERVALS: dict[int, str] = {
    60: "1m",
    180: "3m",
    300: "5m",
    900: "15m",
    1800: "30m",
    3600: "1h",
    7200: "2h",
    14400: "4h",
    21600: "6h",
    28800: "8h",
    43200: "12h",
    86400: "1d",
    259200: "3d",
    604800: "1w",
}
BACKFILL_LIMIT = 1500  # klines per REST page (the venue's maximum)


def interval_for(bar_size_s: int) -> str:
    try:
        return INTERVALS[bar_size_s]
    except KeyError:
        raise ValueError(
            f"binance has no {bar_size_s}s kline; supported bar sizes: {sorted(INTERVALS)}"
        ) from None


def _ts(ms: Any) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


def kline_to_bar(symbol: str, k: Mapping[str, Any], interval_s: int) -> Bar:
    """A websocket kline payload (``k`` of a kline event) → Bar (ts = open time)."""
    return Bar(
        symbol=symbol,
        ts=_ts(k["t"]),
        open=float(k["o"]),
        high=float(k["h"]),
        low=float(k["l"]),
        close=float(k["c"]),
        volume=float(k["v"]),
        interval_s=interval_s,
    )


def rest_row_to_bar(symbol: str, row: Sequence[Any], interval_s: int) -> Bar:
    """A /fapi/v1/klines row ``[openTime, o, h, l, c, v, closeTime, …]`` → Bar."""
    return Bar(
        symbol=symbol,
        ts=_ts(row[0]),
        open=float(row[1]),
        high=float(row[2]),
        low=float(row[3]),
        close=float(row[4]),
        volume=float(row[5]),
        interval_s=interval_s,
    )


class KlineFeed:
    """One symbol's closed bars at one interval, as an async iterator."""

    def __init__(
        self,
        rest: BinanceRest,
        socket_manager: Callable[[], BinanceSocketManager],
        config: BinanceConfig,
        clock: Clock,
        symbol: str,
        bar_size_s: int,
    ) -> None:
        self._rest = rest
        self._bsm = socket_manager
        self._config = config
        self._clock = clock
        self._symbol = symbol
        self._interval_s = bar_size_s
        self._interval = interval_for(bar_size_s)
        self._last: datetime | None = None
        self.backfills = 0
        self.reconnects = 0

    def _fresh(self, bar: Bar) -> bool:
        return self._last is None or bar.ts > self._last

    async def _backfill(self, before: datetime | None) -> list[Bar]:
        """Closed bars after the last yielded one (and before ``before``), from REST."""
        if self._last is None:
            return []
        self.backfills += 1
        start = self._last + timedelta(seconds=self._interval_s)
        now = self._clock.now()
        out: list[Bar] = []
        client = self._rest.client
        while True:
            params: dict[str, Any] = {
                "symbol": self._symbol,
                "interval": self._interval,
                "startTime": _ms(start),
                "limit": BACKFILL_LIMIT,
            }
            if before is not None:
                params["endTime"] = _ms(before) - 1
            rows = await self._rest.read("klines backfill", partial(client.futures_klines, **params))
            page = [rest_row_to_bar(self._symbol, row, self._interval_s) for row in rows]
            page = [
                b for b in page if b.end <= now or before is not None
            ]  # the still-open kline is not a bar
            out.extend(b for b in page if (not out or b.ts > out[-1].ts) and self._fresh(b))
            if len(rows) < BACKFILL_LIMIT or not page:
                break
            start = page[-1].ts + timedelta(seconds=self._interval_s)
        if out:
            logger.info("binance {} backfilled {} bar(s) from REST", self._symbol, len(out))
        return out

    def _interrupted(self) -> None:
        self.reconnects += 1

    async def stream(self) -> AsyncIterator[Bar]:
        stream = f"{self._symbol.lower()}@kline_{self._interval}"
        async for data in market_messages(self._bsm, stream, self._config, self._interrupted):
            if isinstance(data, Resumed):  # connected again: the bars closed meanwhile, from REST
                for bar in await self._backfill(None):
                    self._last = bar.ts
                    yield bar
                continue
            if data.get("e") != "kline":
                continue
            k = data.get("k", {})
            if not k.get("x"):
                continue
            bar = kline_to_bar(self._symbol, k, self._interval_s)
            if self._last is not None and bar.ts > self._last + timedelta(seconds=self._interval_s):
                for gap_bar in await self._backfill(bar.ts):
                    self._last = gap_bar.ts
                    yield gap_bar
            if self._fresh(bar):
                self._last = bar.ts
                yield bar
