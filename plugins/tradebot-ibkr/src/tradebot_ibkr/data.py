"""5-second real-time bars (``reqRealTimeBars``) aggregated into the strategy's bar size.

A strategy bar is emitted once it is closed: when its last 5-second bar arrives, or when the first 5-second
bar of a later bucket shows it ended early. Bars leave in time order, never twice; late or repeated 5-second
bars are dropped and counted. ``FeedQuality`` carries the data-validity inputs (lag, missing 5-second bars)
that the ingest stage turns into a DVS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from loguru import logger

from tradebot.domain.bars import Bar
from tradebot.domain.clock import Clock

SUB_BAR_S = 5


@dataclass(slots=True)
class FeedQuality:
    """Data-validity inputs for one bar stream."""

    sub_bars: int = 0
    bars_emitted: int = 0
    missing_sub_bars: int = 0  # 5-second bars never received (inside a bar or between bars)
    incomplete_bars: int = 0  # strategy bars emitted with fewer sub-bars than their size
    dropped_late: int = 0  # 5-second bars older than (or equal to) one already seen
    last_lag_s: float | None = None  # clock.now() - bar.end when the last bar was emitted
    max_lag_s: float = 0.0
    resubscriptions: int = 0
    errors: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _Bucket:
    start: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    count: int


class BarAggregator:
    """Pure: 5-second bars in (epoch seconds of their open), closed strategy bars out."""

    def __init__(self, symbol: str, bar_size_s: int, quality: FeedQuality | None = None) -> None:
        if bar_size_s % SUB_BAR_S or bar_size_s <= 0:
            raise ValueError(f"bar_size_s must be a positive multiple of {SUB_BAR_S}, got {bar_size_s}")
        self.symbol = symbol
        self.bar_size_s = bar_size_s
        self.quality = quality or FeedQuality()
        self._bucket: _Bucket | None = None
        self._last_ts: int | None = None
        self._last_emitted_start: int | None = None

    def add(self, ts: int, o: float, h: float, low: float, c: float, volume: float) -> list[Bar]:
        q = self.quality
        if self._last_ts is not None and ts <= self._last_ts:
            q.dropped_late += 1
            return []
        start = ts - ts % self.bar_size_s
        if self._last_emitted_start is not None and start <= self._last_emitted_start:
            q.dropped_late += 1
            return []
        if self._last_ts is not None:
            q.missing_sub_bars += max(0, (ts - self._last_ts) // SUB_BAR_S - 1)
        self._last_ts = ts
        q.sub_bars += 1
        out: list[Bar] = []
        if self._bucket is not None and self._bucket.start != start:
            out.append(self._close())
        if self._bucket is None:
            self._bucket = _Bucket(start, o, h, low, c, volume, 1)
        else:
            b = self._bucket
            b.high, b.low, b.close = max(b.high, h), min(b.low, low), c
            b.volume += volume
            b.count += 1
        if ts + SUB_BAR_S >= start + self.bar_size_s:
            out.append(self._close())
        return out

    def _close(self) -> Bar:
        b = self._bucket
        assert b is not None
        self._bucket = None
        self._last_emitted_start = b.start
        expected = self.bar_size_s // SUB_BAR_S
        if b.count < expected:
            self.quality.incomplete_bars += 1
        self.quality.bars_emitted += 1
        return Bar(
            self.symbol,
            datetime.fromtimestamp(b.start, UTC),
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume,
            interval_s=self.bar_size_s,
        )


@dataclass(slots=True)
class Subscription:
    symbol: str
    contract: Any
    aggregator: BarAggregator
    queue: asyncio.Queue[Bar]
    req_id: int = -1
    active: bool = True
    handle: Any = None  # ib_async's RealTimeBarList of the live request


class BarFeed:
    """Keeps real-time bar subscriptions alive across reconnects and feeds their aggregators."""

    def __init__(self, ib: Any, clock: Clock, use_rth: bool) -> None:
        self._ib = ib
        self._clock = clock
        self._use_rth = use_rth
        self._subs: list[Subscription] = []
        self._by_req: dict[int, Subscription] = {}
        self.quality: dict[str, FeedQuality] = {}
        ib.barUpdateEvent += self._on_bar_update
        ib.errorEvent += self._on_error

    def subscribe(self, symbol: str, contract: Any, bar_size_s: int) -> Subscription:
        quality = self.quality.setdefault(f"{symbol}/{bar_size_s}", FeedQuality())
        sub = Subscription(symbol, contract, BarAggregator(symbol, bar_size_s, quality), asyncio.Queue())
        self._subs.append(sub)
        if self._ib.isConnected():
            self._request(sub)
        return sub

    def _request(self, sub: Subscription) -> None:
        bars = self._ib.reqRealTimeBars(sub.contract, SUB_BAR_S, "TRADES", self._use_rth)
        sub.req_id = int(bars.reqId)
        sub.handle = bars
        self._by_req[sub.req_id] = sub

    def resubscribe(self) -> None:
        """After a reconnect: ask again for every live subscription (IB forgets them with the socket)."""
        self._by_req.clear()
        for sub in self._subs:
            if sub.active:
                sub.aggregator.quality.resubscriptions += 1
                self._request(sub)

    def unsubscribe(self, sub: Subscription) -> None:
        sub.active = False
        if sub in self._subs:
            self._subs.remove(sub)
        self._by_req.pop(sub.req_id, None)
        if self._ib.isConnected() and sub.handle is not None:
            self._ib.cancelRealTimeBars(sub.handle)
        sub.handle = None

    def _on_bar_update(self, bars: Any, has_new_bar: bool) -> None:
        sub = self._by_req.get(int(getattr(bars, "reqId", -1)))
        if sub is None or not bars:
            return
        rt = bars[-1]
        ts = int(rt.time.timestamp())
        for bar in sub.aggregator.add(ts, rt.open_, rt.high, rt.low, rt.close, float(rt.volume)):
            lag = (self._clock.now() - bar.end).total_seconds()
            quality = sub.aggregator.quality
            quality.last_lag_s = lag
            quality.max_lag_s = max(quality.max_lag_s, lag)
            sub.queue.put_nowait(bar)

    def _on_error(self, req_id: int, code: int, text: str, contract: Any = None) -> None:
        sub = self._by_req.get(req_id)
        if sub is not None:
            sub.aggregator.quality.errors.append(code)
            logger.warning("ibkr bars {}: IB error {} {}", sub.symbol, code, text)


T = TypeVar("T")


class QueueIterator(Generic[T]):
    """An async iterator over a queue whose ``__anext__`` may be cancelled (``wait_for``) safely."""

    def __init__(self, queue: asyncio.Queue[T]) -> None:
        self._queue = queue

    def __aiter__(self) -> QueueIterator[T]:
        return self

    async def __anext__(self) -> T:
        return await self._queue.get()


class BarStream:
    """``Broker.bars()``: subscribes on first use; ``aclose()`` cancels the IB subscription."""

    def __init__(
        self, feed: BarFeed, contract_of: Callable[[str], Awaitable[Any]], symbol: str, bar_size_s: int
    ) -> None:
        if bar_size_s % SUB_BAR_S or bar_size_s <= 0:
            raise ValueError(f"bar_size_s must be a positive multiple of {SUB_BAR_S}, got {bar_size_s}")
        self._feed = feed
        self._contract_of = contract_of
        self._symbol = symbol
        self._bar_size_s = bar_size_s
        self._setup: asyncio.Task[Subscription] | None = None
        self._closed = False

    def __aiter__(self) -> BarStream:
        return self

    async def _subscribe(self) -> Subscription:
        contract = await self._contract_of(self._symbol)
        return self._feed.subscribe(self._symbol, contract, self._bar_size_s)

    async def __anext__(self) -> Bar:
        if self._closed:
            raise StopAsyncIteration
        if self._setup is None:
            self._setup = asyncio.get_running_loop().create_task(self._subscribe())
        sub = await asyncio.shield(self._setup)
        return await sub.queue.get()

    async def aclose(self) -> None:
        self._closed = True
        setup = self._setup
        if setup is not None and setup.done() and not setup.cancelled() and setup.exception() is None:
            self._feed.unsubscribe(setup.result())
