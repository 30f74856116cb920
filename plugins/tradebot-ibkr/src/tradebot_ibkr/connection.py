"""The IB connection state machine: DISCONNECTED → CONNECTING → CONNECTED → READY, with backoff and jitter.

* CONNECTED: the API socket is up and synchronised (ib_async's ``connectAsync`` returned);
* READY: the adapter's own resynchronisation (contract, subscriptions, reconciliation) ran, or TWS said its
  link to IB is back (1101/1102). Orders are only sent while READY.
* A dropped socket (or the gateway's nightly restart) goes to DISCONNECTED and reconnects forever with
  exponential backoff and jitter until ``close()``; error 1100 (TWS lost IB) drops READY → CONNECTED.
* Error 326 (client id in use) on the first connect is not retried: another process trades with our id.

Every transition is published as a ``ConnectionEvent`` carrying a reason code (``errors.IB_*``), which is
what the dependency breakers and the operator see.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from loguru import logger
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from tradebot.domain.clock import Clock
from tradebot.domain.errors import BrokerError, ErrorClass
from tradebot.domain.events import ConnectionEvent
from tradebot_ibkr import errors as E
from tradebot_ibkr.config import IbkrConfig


class ConnState(StrEnum):
    DISCONNECTED = "DISCONNECTED"
    CONNECTING = "CONNECTING"
    CONNECTED = "CONNECTED"
    READY = "READY"


@dataclass(frozen=True, slots=True)
class Backoff:
    initial_s: float
    max_s: float
    factor: float
    jitter: float

    @classmethod
    def from_config(cls, config: IbkrConfig) -> Backoff:
        return cls(
            config.backoff_initial_s, config.backoff_max_s, config.backoff_factor, config.backoff_jitter
        )

    def delay(self, attempt: int, unit_random: float) -> float:
        """Delay before retry ``attempt`` (0-based); ``unit_random`` in [0, 1) supplies the jitter."""
        base = min(self.max_s, self.initial_s * self.factor ** max(0, attempt))
        return max(0.0, base * (1.0 + self.jitter * (2.0 * unit_random - 1.0)))

    def wait(self, rng: random.Random, *, skip: int = 0) -> Callable[[RetryCallState], float]:
        """A tenacity wait: after the n-th failed attempt, ``delay(n - 1 + skip)`` jittered by ``rng``."""
        return lambda state: self.delay(state.attempt_number - 1 + skip, rng.random())


def in_restart_window(now: datetime, restart_minute_of_day: int, window_min: int) -> bool:
    """Is ``now`` (UTC) within ``window_min`` minutes either side of the gateway's daily restart?"""
    minute = now.hour * 60 + now.minute
    distance = abs(minute - restart_minute_of_day)
    return min(distance, 1440 - distance) <= window_min


class ConnectionManager:
    """Owns the IB socket's life. ``resync(first)`` is the adapter's hook run before READY."""

    def __init__(
        self,
        ib: Any,
        config: IbkrConfig,
        clock: Clock,
        *,
        publish: Callable[[ConnectionEvent], None],
        resync: Callable[[bool], Awaitable[None]],
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._ib = ib
        self._config = config
        self._clock = clock
        self._publish = publish
        self._resync = resync
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._backoff = Backoff.from_config(config)
        self._state = ConnState.DISCONNECTED
        self._closing = False
        self._reconnect_task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._lost = asyncio.Event()
        self._last_error_code: int | None = None
        self._connecting = False
        self.reconnects = 0
        self.transitions: list[tuple[ConnState, str]] = []
        ib.disconnectedEvent += self._on_disconnected
        ib.errorEvent += self._on_error

    # ----- state
    @property
    def state(self) -> ConnState:
        return self._state

    @property
    def last_error_code(self) -> int | None:
        """The last IB error code seen on this connection (326 during a connect: client id in use)."""
        return self._last_error_code

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def is_ready(self) -> bool:
        return self._state is ConnState.READY

    def _set(self, state: ConnState, reason: str) -> None:
        if state is self._state and state is not ConnState.READY:
            return
        self._state = state
        self.transitions.append((state, reason))
        if state is ConnState.READY:
            self._ready.set()
            self._lost.clear()
        else:
            self._ready.clear()
            self._lost.set()
        logger.info("ibkr connection {} ({})", state.value, reason)
        self._publish(ConnectionEvent(state=state.value, ts=self._clock.now(), reason=reason))

    async def wait_ready(self, timeout: float) -> None:
        if self.is_ready:
            return
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            raise E.not_ready_error(self._state.value) from None

    async def wait_lost(self) -> None:
        """Return once the connection is no longer READY."""
        await self._lost.wait()

    # ----- connect / close
    async def connect(self) -> None:
        """First connection: up to ``connect_attempts`` tries with backoff; raises BrokerError if all fail."""
        if self._state in (ConnState.READY, ConnState.CONNECTED):
            return
        self._closing = False
        retrying = AsyncRetrying(
            retry=retry_if_exception(_retryable_connect),
            stop=stop_after_attempt(self._config.connect_attempts),
            wait=self._backoff.wait(self._rng),
            sleep=self._sleep,
            reraise=True,  # the last BrokerError, as is
        )
        async for attempt in retrying:
            with attempt:
                await self._connect_once(first=True)

    async def _connect_once(self, *, first: bool) -> None:
        self._connecting = True
        try:
            await self._connect_and_resync(first)
        finally:
            self._connecting = False

    async def _connect_and_resync(self, first: bool) -> None:
        self._set(ConnState.CONNECTING, E.IB_CONNECTING)
        self._last_error_code = None
        cfg = self._config
        try:
            await self._api_connect()
        except (OSError, TimeoutError, ConnectionError) as exc:
            if self.last_error_code == 326:
                self._set(ConnState.DISCONNECTED, E.IB_DUPLICATE_CLIENT_ID)
                cls = E.classify_ib_code(326)
                cls = ErrorClass(
                    cls.category,
                    cls.scope,
                    cls.action,
                    cls.code,
                    details={**cls.details, "client_id": cfg.client_id},
                )
                raise BrokerError(f"IB client id {cfg.client_id} is already in use (error 326)", cls) from exc
            self._set(ConnState.DISCONNECTED, E.IB_CONNECT_FAILED)
            cls = E.network_error(E.IB_CONNECT_FAILED, host=cfg.host, port=cfg.port, error=repr(exc))
            raise BrokerError(f"cannot connect to IB at {cfg.host}:{cfg.port}: {exc!r}", cls) from exc
        self._set(ConnState.CONNECTED, E.IB_CONNECTED)
        try:
            await self._resync(first)
        except (OSError, TimeoutError, ConnectionError) as exc:
            if self._ib.isConnected():
                self._ib.disconnect()
            self._set(ConnState.DISCONNECTED, E.IB_CONNECT_FAILED)
            cls = E.network_error(E.IB_CONNECT_FAILED, stage="resync", error=repr(exc))
            raise BrokerError(f"IB resynchronisation failed: {exc!r}", cls) from exc
        if not self._ib.isConnected():
            self._set(ConnState.DISCONNECTED, E.IB_SOCKET_DROPPED)
            raise BrokerError(
                "IB socket dropped during resynchronisation",
                E.network_error(E.IB_SOCKET_DROPPED, stage="resync"),
            )
        self._set(ConnState.READY, E.IB_READY)

    async def _api_connect(self) -> None:
        """``connectAsync``, abandoned as soon as TWS refuses us (326) or drops the socket mid-handshake,
        instead of waiting out the whole connect timeout."""
        cfg = self._config
        loop = asyncio.get_running_loop()
        refused: asyncio.Future[str] = loop.create_future()

        def on_api_error(message: str) -> None:
            if not refused.done():
                refused.set_result(str(message))

        self._ib.client.apiError += on_api_error
        attempt = loop.create_task(
            self._ib.connectAsync(
                cfg.host, cfg.port, clientId=cfg.client_id, timeout=cfg.connect_timeout, account=cfg.account
            )
        )
        try:
            done, _ = await asyncio.wait({attempt, refused}, return_when=asyncio.FIRST_COMPLETED)
            if attempt in done:
                attempt.result()
                return
            attempt.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError, TimeoutError, ConnectionError):
                await attempt
            raise ConnectionError(refused.result())
        finally:
            self._ib.client.apiError -= on_api_error
            if not refused.done():
                refused.cancel()
            if not attempt.done():  # we were cancelled (close() during a reconnect): stop the attempt too
                attempt.cancel()

    async def close(self) -> None:
        self._closing = True
        task, self._reconnect_task = self._reconnect_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, BaseException):
                await task
        if self._ib.isConnected():
            self._ib.disconnect()
        if self._state is not ConnState.DISCONNECTED:
            self._set(ConnState.DISCONNECTED, E.IB_CLOSED)

    # ----- events from ib_async
    def _on_disconnected(self) -> None:
        if self._closing or self._connecting or self._state is ConnState.DISCONNECTED:
            return  # a failed connect attempt: its owner handles it
        cfg = self._config
        now = self._clock.now()
        if self._last_error_code == 326:
            reason = E.IB_DUPLICATE_CLIENT_ID
        elif in_restart_window(now, cfg.restart_minute_of_day, cfg.nightly_restart_window_min):
            reason = E.IB_NIGHTLY_RESTART
        else:
            reason = E.IB_SOCKET_DROPPED
        self._set(ConnState.DISCONNECTED, reason)
        self._start_reconnect()

    def _on_error(self, req_id: int, code: int, text: str, contract: Any = None) -> None:
        self._last_error_code = code
        if code == 1100 and self._state is ConnState.READY:
            self._set(ConnState.CONNECTED, E.IB_CONNECTIVITY_LOST)
        elif code in (1101, 1102) and self._state is ConnState.CONNECTED:
            data_lost = code == 1101
            reason = E.IB_CONNECTIVITY_RESTORED_DATA_LOST if data_lost else E.IB_CONNECTIVITY_RESTORED
            asyncio.get_running_loop().create_task(self._restored(data_lost, reason))

    async def _restored(self, data_lost: bool, reason: str) -> None:
        if data_lost:
            await self._resync(False)
        if self._ib.isConnected() and self._state is ConnState.CONNECTED:
            self._set(ConnState.READY, reason)

    def _start_reconnect(self) -> None:
        if self._reconnect_task is None or self._reconnect_task.done():
            self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        """Reconnect until connected or ``close()``: a wait before each attempt, longer after each failure."""
        await self._sleep(self._backoff.delay(0, self._rng.random()))
        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda exc: isinstance(exc, BrokerError)),
            stop=lambda state: self._closing,
            wait=self._backoff.wait(self._rng, skip=1),
            before_sleep=_log_reconnect_failure,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                if self._closing:
                    return
                with attempt:
                    await self._connect_once(first=False)
        except BrokerError:
            if self._closing:
                return  # close() during the last attempt: nothing to report
            raise
        self.reconnects += 1


def _retryable_connect(exc: BaseException) -> bool:
    """A failed first connect is retried, unless another session holds our client id (326)."""
    if not isinstance(exc, BrokerError):
        return False
    return exc.error_class.details.get("ib_reason") != E.IB_DUPLICATE_CLIENT_ID


def _log_reconnect_failure(state: RetryCallState) -> None:
    failure = state.outcome.exception() if state.outcome is not None else None
    logger.warning("ibkr reconnect attempt {} failed: {}", state.attempt_number, failure)
