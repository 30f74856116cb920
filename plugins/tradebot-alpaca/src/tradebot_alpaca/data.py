"""Market data: minute bars from the stream, gaps filled from REST bars, in order and without duplicates.

Every ``bars()`` caller gets its own bounded queue (a full queue holds the stream back, nothing is dropped).
A gap is noticed two ways: a streamed bar more than a minute after the last one delivered, or the stream
(re)connecting; either way the missing bars are fetched from the REST bars endpoint before going on.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tradebot.domain.bars import Bar
from tradebot.domain.clock import Clock
from tradebot.domain.errors import BrokerError
from tradebot_alpaca.errors import schema_error

log = logging.getLogger(__name__)
BAR_SECONDS = 60
ONE_BAR = timedelta(seconds=BAR_SECONDS)

FetchBars = Callable[[str, datetime, datetime | None], Awaitable[list[Bar]]]


def stream_time(value: Any) -> datetime:
    if hasattr(value, "to_datetime"):  # msgpack.Timestamp
        converted = value.to_datetime()
        if isinstance(converted, datetime):
            return converted.astimezone(UTC)
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return datetime.fromisoformat(value).astimezone(UTC)
    raise ValueError(f"unparsable bar time {value!r}")


def bar_from_stream(msg: Mapping[str, Any]) -> Bar:
    """A raw stream bar ``{"T":"b","S","o","h","l","c","v","t"}`` as a Bar (``t`` is the bar's open)."""
    try:
        return Bar(
            symbol=str(msg["S"]),
            ts=stream_time(msg["t"]),
            open=float(msg["o"]),
            high=float(msg["h"]),
            low=float(msg["l"]),
            close=float(msg["c"]),
            volume=float(msg["v"]),
            interval_s=BAR_SECONDS,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise schema_error("stream bar", f"{exc!r} in {dict(msg)!r}"[:300]) from exc


def bar_from_rest(symbol: str, item: Any) -> Bar:
    """An alpaca-py REST Bar model as a Bar."""
    return Bar(
        symbol=symbol,
        ts=stream_time(item.timestamp),
        open=float(item.open),
        high=float(item.high),
        low=float(item.low),
        close=float(item.close),
        volume=float(item.volume),
        interval_s=BAR_SECONDS,
    )


_RESYNC = object()


@dataclass(eq=False)
class BarSubscription:
    symbol: str
    queue: asyncio.Queue[object]
    last_ts: datetime | None = None
    backfilled: int = field(default=0)


class BarHub:
    """Fans streamed bars out to subscribers and fills their gaps from REST."""

    def __init__(self, fetch_bars: FetchBars, clock: Clock, queue_size: int) -> None:
        self._fetch = fetch_bars
        self._clock = clock
        self._queue_size = queue_size
        self._subs: dict[str, set[BarSubscription]] = {}

    @property
    def symbols(self) -> set[str]:
        return {s for s, subs in self._subs.items() if subs}

    def subscribe(self, symbol: str) -> BarSubscription:
        sub = BarSubscription(symbol, asyncio.Queue(maxsize=self._queue_size))
        self._subs.setdefault(symbol, set()).add(sub)
        return sub

    def unsubscribe(self, sub: BarSubscription) -> None:
        self._subs.get(sub.symbol, set()).discard(sub)

    async def on_stream_bar(self, msg: Any) -> None:
        """Handler for the data stream's bars (raw messages)."""
        bar = bar_from_stream(msg)
        for sub in list(self._subs.get(bar.symbol, ())):
            await sub.queue.put(bar)  # backpressure: a full queue holds the stream back

    async def on_connected(self) -> None:
        """The stream (re)connected: every subscriber checks REST for bars it may have missed."""
        for subs in self._subs.values():
            for sub in subs:
                await sub.queue.put(_RESYNC)

    async def _backfill(self, sub: BarSubscription, end: datetime | None) -> list[Bar]:
        assert sub.last_ts is not None
        start = sub.last_ts + ONE_BAR
        try:
            fetched = await self._fetch(sub.symbol, start, end)
        except BrokerError as exc:
            log.warning("alpaca bars backfill %s from %s failed (%s); gap left for ingest to flag",
                        sub.symbol, start.isoformat(), exc.error_class.code)
            return []
        now = self._clock.now()
        bars = sorted((b for b in fetched if b.ts >= start and b.end <= now), key=lambda b: b.ts)
        return [b for b in bars if end is None or b.ts < end]

    async def process(self, sub: BarSubscription, item: object) -> list[Bar]:
        """The bars one queue item releases (backfill first), in order, never one already delivered.

        ``sub.last_ts`` moves only after the last await, so a cancelled call can simply be repeated."""
        if sub.last_ts is None:
            out = [item] if isinstance(item, Bar) else []
        elif item is _RESYNC:
            out = await self._backfill(sub, None)
        elif isinstance(item, Bar) and item.ts > sub.last_ts + ONE_BAR:
            out = [*await self._backfill(sub, item.ts), item]
        else:
            out = [item] if isinstance(item, Bar) else []
        fresh: list[Bar] = []
        last = sub.last_ts
        for bar in out:
            if last is None or bar.ts > last:
                fresh.append(bar)
                last = bar.ts
        sub.backfilled += sum(1 for b in fresh if b is not item)
        sub.last_ts = last
        return fresh


class BarStream:
    """``broker.bars()``: an async iterator that survives a cancelled ``__anext__`` (a caller timeout)."""

    def __init__(self, hub: BarHub, symbol: str, start: Callable[[], Awaitable[None]]) -> None:
        self._hub = hub
        self._sub = hub.subscribe(symbol)  # subscribe before the stream starts, so nothing is missed
        self._start: Callable[[], Awaitable[None]] | None = start
        self._current: object | None = None
        self._pending: deque[Bar] = deque()
        self._finalizer = weakref.finalize(self, hub.unsubscribe, self._sub)

    @property
    def subscription(self) -> BarSubscription:
        return self._sub

    def __aiter__(self) -> BarStream:
        return self

    async def __anext__(self) -> Bar:
        if self._start is not None:
            await self._start()
            self._start = None
        while not self._pending:
            if self._current is None:
                self._current = await self._sub.queue.get()
            self._pending.extend(await self._hub.process(self._sub, self._current))
            self._current = None
        return self._pending.popleft()

    async def aclose(self) -> None:
        self._finalizer()
