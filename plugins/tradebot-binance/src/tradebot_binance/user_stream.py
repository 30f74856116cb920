"""The user-data stream: listen key, keep-alive, renewal, reconnect, and recovery of what was missed.

``BinanceSocketManager.futures_user_socket`` creates the listen key (POST /fapi/v1/listenKey) and keeps it
alive (PUT every ``listen_key_keepalive_s``). When the venue says ``listenKeyExpired`` the socket is closed
and a new one opened, which asks for a new key. After any interruption (in-band error, expiry, library
giving up) the adapter reconciles its open orders over REST (``Execution.recover``) so fills made while the
stream was down are reported, each once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from binance.exceptions import ReadLoopClosed
from binance.ws.keepalive_websocket import KeepAliveWebsocket
from binance.ws.streams import BinanceSocketManager
from loguru import logger
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_never,
    wait_exponential_jitter,
)

from tradebot.domain.clock import Clock
from tradebot.domain.errors import BrokerError
from tradebot_binance.config import BinanceConfig
from tradebot_binance.orders import EventSink
from tradebot_binance.sockets import close_socket, is_error_message, open_socket, wait_streaming

OnMessage = Callable[[Mapping[str, Any]], Awaitable[None]]
Recover = Callable[[], Awaitable[None]]


class UserStream:
    def __init__(
        self,
        socket_manager: Callable[[], BinanceSocketManager],
        config: BinanceConfig,
        clock: Clock,
        sink: EventSink,
        on_message: OnMessage,
        recover: Recover,
    ) -> None:
        self._bsm = socket_manager
        self._config = config
        self._clock = clock
        self._sink = sink
        self._on_message = on_message
        self._recover = recover
        self._sock: KeepAliveWebsocket | None = None
        self._task: asyncio.Task[None] | None = None
        self.listen_keys: list[str] = []
        self.interruptions = 0
        self.connected = asyncio.Event()
        self._stopping = False

    async def start(self) -> None:
        """Open the first connection (so no update is missed after connect() returns), then read."""
        self._sock = await self._open()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="binance-user-stream")

    async def stop(self) -> None:
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            # python-binance's recv() wraps asyncio.wait_for, which on 3.11 can swallow a cancel that races
            # a message: cancel until the task is really done.
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.2)
        sock, self._sock = self._sock, None
        if sock is not None:
            await close_socket(sock)

    async def _open(self) -> KeepAliveWebsocket:
        sock = self._bsm().futures_user_socket()
        await open_socket(sock, self._config.ws_read_timeout_s)
        key = getattr(sock, "_listen_key", None)  # for logs and tests only
        if isinstance(key, str):
            self.listen_keys.append(key)
        self.connected.set()
        await self._sink.connection("CONNECTED", self._clock.now(), "user data stream")
        return sock

    async def _reopen(self, reason: str) -> None:
        self.connected.clear()
        self.interruptions += 1
        await self._sink.connection("DISCONNECTED", self._clock.now(), reason)
        if self._sock is not None:
            await close_socket(self._sock)
            self._sock = None
        # any failure to open is logged and retried until it opens (or stop() cancels this task)
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(Exception),
            stop=stop_never,
            wait=wait_exponential_jitter(
                multiplier=REOPEN_BACKOFF_INITIAL_S,
                max=self._config.max_backoff_s,
                jitter=REOPEN_BACKOFF_JITTER_S,
            ),
            before_sleep=_log_reopen_failure,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                self._sock = await self._open()
        await self._recover_quietly()

    async def _recover_quietly(self) -> None:
        try:
            await self._recover()
        except BrokerError as exc:
            logger.error("binance reconciliation after stream gap failed: {}", exc)
            await self._sink.connection("DEGRADED", self._clock.now(), f"reconciliation failed: {exc}")

    async def _run(self) -> None:
        while not self._stopping:
            sock = self._sock
            if sock is None:
                await self._reopen("no socket")
                continue
            try:
                msg = await sock.recv()
            except ReadLoopClosed:
                await self._reopen("read loop closed")
                continue
            if is_error_message(msg):
                self.connected.clear()
                self.interruptions += 1
                logger.warning("binance user stream interrupted: {}", msg.get("m"))
                await self._sink.connection("DISCONNECTED", self._clock.now(), str(msg.get("type", "")))
                if await wait_streaming(sock, self._config.reconnect_wait_s):
                    self.connected.set()
                    await self._sink.connection("CONNECTED", self._clock.now(), "user data stream")
                    await self._recover_quietly()
                else:
                    await self._reopen("library reconnect gave up")
                continue
            event = msg.get("e")
            if event == "listenKeyExpired":
                logger.warning("binance listen key expired: renewing")
                await self._reopen("listen key expired")
                continue
            await self._on_message(msg)


REOPEN_BACKOFF_INITIAL_S = 0.2  # first wait after a failed reopen; doubles, capped at max_backoff_s
REOPEN_BACKOFF_JITTER_S = 0.1  # plus up to this much, at random


def _log_reopen_failure(state: RetryCallState) -> None:
    failure = state.outcome.exception() if state.outcome is not None else None
    logger.warning("binance user stream reconnect failed (attempt {}): {!r}", state.attempt_number, failure)
