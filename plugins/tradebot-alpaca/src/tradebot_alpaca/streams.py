"""alpaca-py's two websocket clients, run as tasks inside our event loop.

Both clients' ``run()`` calls ``asyncio.run()``, unusable inside the daemon, so the coroutine behind it
(``_run_forever``, private API of alpaca-py 0.44, pinned in pyproject) runs as a task that is restarted when
it ends or crashes. The library reconnects dropped sockets by itself; the subclasses here only add a hook
called after every (re)connection, so the adapter can reconcile what it missed, and a hook on disconnection.
Stopping cancels the task and closes the socket (``stop_ws`` would wait out a 5 s receive timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from alpaca.data.enums import DataFeed
from alpaca.data.live.stock import StockDataStream
from alpaca.trading.stream import TradingStream
from websockets.exceptions import WebSocketException

log = logging.getLogger(__name__)

Hook = Callable[[], Awaitable[None]]
Handler = Callable[[Any], Awaitable[None]]


class HookedTradingStream(TradingStream):
    """TradingStream that reports (re)connections after it is listening, and disconnections."""

    def __init__(self, *args: Any, on_connected: Hook, on_disconnected: Hook, min_backoff_s: float,
                 max_backoff_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._reconnect_min_backoff = min_backoff_s
        self._reconnect_max_backoff = max_backoff_s

    async def _start_ws(self) -> None:
        await super()._start_ws()  # type: ignore[no-untyped-call]  # connect, auth, listen
        await self._on_connected()

    async def _consume(self) -> None:
        try:
            await super()._consume()  # type: ignore[no-untyped-call]
        except WebSocketException:
            await self._on_disconnected()
            raise


class HookedStockDataStream(StockDataStream):
    """StockDataStream that reports (re)connections once subscribed, and disconnections."""

    def __init__(self, *args: Any, on_connected: Hook, on_disconnected: Hook, min_backoff_s: float,
                 max_backoff_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._reconnect_min_backoff = min_backoff_s
        self._reconnect_max_backoff = max_backoff_s

    async def _send_subscribe_msg(self) -> None:
        await super()._send_subscribe_msg()
        await self._on_connected()

    async def _consume(self) -> bool:
        try:
            return bool(await super()._consume())
        except WebSocketException:
            await self._on_disconnected()
            raise


def data_feed(name: str) -> DataFeed:
    return DataFeed.SIP if name == "sip" else DataFeed.IEX


class StreamRunner:
    """Runs one alpaca-py stream's ``_run_forever`` as a task; restarts it if it ever ends or crashes."""

    def __init__(self, name: str, stream: Any, restart_s: float) -> None:
        self.name = name
        self.stream = stream
        self._restart_s = restart_s
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.restarts = 0

    def stopping(self) -> bool:
        return self._stopping

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._supervise(), name=f"alpaca-{self.name}")

    async def _supervise(self) -> None:
        while not self.stopping():
            try:
                await self.stream._run_forever()
                if self.stopping():
                    return
                log.warning("alpaca %s stream ended; restarting", self.name)
            except (WebSocketException, OSError, ValueError, RuntimeError) as exc:
                log.error("alpaca %s stream crashed (%s: %s); restarting", self.name, type(exc).__name__, exc)
            self.restarts += 1
            await self._close_socket()
            self.stream._should_run = True
            await anyio.sleep(self._restart_s)

    async def _close_socket(self) -> None:
        try:
            await self.stream.close()
        except (WebSocketException, OSError) as exc:
            log.info("alpaca %s stream close: %s", self.name, exc)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        with anyio.CancelScope(shield=True):
            await self.stream.stop_ws()  # the library's own stop flag, in case a cancel gets swallowed
            # asyncio.wait_for in 3.11 can swallow a cancellation that races a completed recv(): repeat it
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.5)
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self._close_socket()
