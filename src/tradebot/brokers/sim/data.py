"""Market data of the simulated venue: a broadcast feed (what the venue publishes) and bar iteration.

``BarBroadcast`` is the venue's market-data channel: each subscriber (one ``bars()`` iteration) gets every
bar published after it subscribed, like a websocket stream. ``iterate_source`` reads a bar source given at
construction (e.g. a CSV feed in replay) and keeps one instrument's bars.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator

from tradebot.domain.bars import Bar


class BarSubscription:
    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self._bars: deque[Bar] = deque()
        self._wake = asyncio.Event()
        self.closed = False

    def put(self, bar: Bar) -> None:
        self._bars.append(bar)
        self._wake.set()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    async def get(self) -> Bar | None:
        """The next bar; None once closed and drained."""
        while not self._bars:
            if self.closed:
                return None
            self._wake.clear()
            await self._wake.wait()
        return self._bars.popleft()


class BarBroadcast:
    def __init__(self) -> None:
        self._subscribers: list[BarSubscription] = []

    def subscribe(self, symbol: str) -> BarSubscription:
        subscription = BarSubscription(symbol)
        self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: BarSubscription) -> None:
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)
        subscription.close()

    def publish(self, bar: Bar) -> None:
        for subscription in self._subscribers:
            if subscription.symbol == bar.symbol:
                subscription.put(bar)

    def close(self) -> None:
        for subscription in list(self._subscribers):
            self.unsubscribe(subscription)


def _check_size(bar: Bar, bar_size_s: int) -> Bar:
    if bar.interval_s != bar_size_s:
        raise ValueError(
            f"bar {bar.symbol} {bar.ts.isoformat()} is {bar.interval_s}s, the subscription asked for "
            f"{bar_size_s}s (the simulated venue does not aggregate)"
        )
    return bar


async def iterate_source(source: AsyncIterable[Bar], symbol: str, bar_size_s: int) -> AsyncIterator[Bar]:
    async for bar in source:
        if bar.symbol == symbol:
            yield _check_size(bar, bar_size_s)


async def iterate_subscription(
    feed: BarBroadcast, symbol: str, bar_size_s: int
) -> AsyncIterator[Bar]:
    subscription = feed.subscribe(symbol)
    try:
        while (bar := await subscription.get()) is not None:
            yield _check_size(bar, bar_size_s)
    finally:
        feed.unsubscribe(subscription)
