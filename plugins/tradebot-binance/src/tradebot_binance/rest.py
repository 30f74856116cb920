"""The REST edge: one python-binance ``AsyncClient`` pointed at the configured URLs, with pacing.

``read`` is for idempotent queries: it waits out bans and weight ceilings, resyncs the clock on -1021
and retries (tenacity) rate limits (per ``Retry-After``), 5xx answers and network failures, at most
``max_read_retries`` times; network failures wait an exponential backoff with jitter capped at
``max_backoff_s``, the others retry at once (the clock resync or the pacing is the wait).
``write`` sends once and is never retried (after the same pacing): a failure is classified and raised as
``BrokerError`` for the OMS to decide (it looks the order up by client id before any resubmit).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from binance import AsyncClient
from binance.exceptions import BinanceAPIException
from loguru import logger
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from tradebot.domain.errors import BrokerError, ErrorAction, ErrorCategory, ErrorClass, ErrorScope
from tradebot.domain.reasons import RATE_LIMIT_RETRY
from tradebot_binance.config import BinanceConfig
from tradebot_binance.errors import (
    TIMESTAMP_CODE,
    as_broker_error,
    classify_error,
    retry_after_seconds,
)
from tradebot_binance.rate_limits import WeightTracker

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


def _now_ms() -> int:
    return int(time.time() * 1000)


def client_class(config: BinanceConfig) -> type[AsyncClient]:
    """An AsyncClient subclass whose base URLs are the configured ones (create() pings the spot API)."""
    attrs = {
        "API_URL": config.resolved_api_url,
        "FUTURES_URL": config.resolved_futures_url,
        "REQUEST_TIMEOUT": config.request_timeout_s,
        "REQUEST_RECVWINDOW": config.recv_window,
    }
    return type("ConfiguredAsyncClient", (AsyncClient,), attrs)


class BinanceRest:
    def __init__(self, config: BinanceConfig, sleep: Sleep = asyncio.sleep) -> None:
        self._config = config
        self._sleep = sleep
        self._client: AsyncClient | None = None
        self.weights = WeightTracker(safety=config.weight_safety)
        self.resyncs = 0

    @property
    def client(self) -> AsyncClient:
        if self._client is None:
            raise RuntimeError("binance REST client used before connect()")
        return self._client

    async def open(self) -> AsyncClient:
        if self._client is not None:
            return self._client
        assert self._config.api_key is not None and self._config.api_secret is not None
        cls = client_class(self._config)
        try:
            self._client = await cls.create(
                self._config.api_key.get_secret_value(), self._config.api_secret.get_secret_value()
            )
        except Exception as exc:
            raise as_broker_error(exc, "client creation (ping/time)") from exc
        return self._client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close_connection()

    async def resync_time(self) -> None:
        """Align the client's timestamp offset with the venue clock (USD-M server time)."""
        res = await self.client.futures_time()
        self.client.timestamp_offset = int(res["serverTime"]) - _now_ms()
        self.resyncs += 1
        logger.info("binance clock resynced: offset {} ms", self.client.timestamp_offset)

    def _observe(self, headers: Any) -> None:
        self.weights.observe(headers, _now_ms())

    async def _pace(self) -> None:
        delay = self.weights.delay_s(_now_ms())
        if delay > 0:
            if delay > self._config.max_backoff_s:
                raise BrokerError(
                    f"binance: rate-limited for another {delay:.1f}s",
                    _rate_limited(delay),
                )
            logger.warning("binance pacing: waiting {:.2f}s (ban or weight ceiling)", delay)
            await self._sleep(delay)

    async def read(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        retries = self._config.max_read_retries
        network_wait = wait_exponential_jitter(
            multiplier=NETWORK_BACKOFF_INITIAL_S,
            max=self._config.max_backoff_s,
            jitter=NETWORK_BACKOFF_JITTER_S,
        )

        def wait(state: RetryCallState) -> float:
            failure = state.outcome.exception() if state.outcome is not None else None
            if failure is not None and _is_network(failure):
                return float(network_wait(state))
            return 0.0  # a -1021 was resynced, a rate limit is waited out by _pace

        retrying = AsyncRetrying(
            retry=retry_if_exception(_retryable_read),
            stop=stop_after_attempt(retries + 1),
            wait=wait,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._pace()  # a wait longer than max_backoff_s raises BrokerError: not retried
                    try:
                        result = await call()
                    except Exception as exc:
                        self._observe_failure(exc)
                        if _is_timestamp(exc) and attempt.retry_state.attempt_number <= retries:
                            await self._resync_quietly()
                        raise
        except BrokerError:
            raise
        except Exception as exc:
            raise as_broker_error(exc, what) from exc
        self._observe(getattr(self.client.response, "headers", None))
        return result

    async def write(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        await self._pace()
        try:
            result = await call()
        except Exception as exc:
            self._observe_failure(exc)
            if isinstance(exc, BinanceAPIException) and exc.code == TIMESTAMP_CODE:
                await self._resync_quietly()
            raise as_broker_error(exc, what) from exc
        self._observe(getattr(self.client.response, "headers", None))
        return result

    def _observe_failure(self, exc: BaseException) -> None:
        if not isinstance(exc, BinanceAPIException):
            return
        headers = getattr(exc.response, "headers", None)
        self._observe(headers)
        error = classify_error(exc)
        if error is not None and error.category is ErrorCategory.RATE_LIMIT:
            wait = self.weights.ban(_now_ms(), retry_after_seconds(exc), default_s=1.0)
            logger.warning(
                "binance rate limit (HTTP {}, code {}): backing off {:.1f}s", exc.status_code, exc.code, wait
            )

    async def _resync_quietly(self) -> None:
        try:
            await self.resync_time()
        except Exception as exc:  # noqa: BLE001 - best effort; the retry (or the caller) reports failure
            # resync is best effort; the retry (or the caller) reports the failure
            logger.warning("binance clock resync failed: {!r}", exc)


NETWORK_BACKOFF_INITIAL_S = 0.4  # first wait after a network failure or 5xx; doubles, capped at max_backoff_s
NETWORK_BACKOFF_JITTER_S = 0.2  # plus up to this much, at random, so clients do not retry in step


def _is_timestamp(exc: BaseException) -> bool:
    return isinstance(exc, BinanceAPIException) and exc.code == TIMESTAMP_CODE


def _is_network(exc: BaseException) -> bool:
    error = classify_error(exc)
    return error is not None and error.category is ErrorCategory.TRANSIENT_NETWORK and not _is_timestamp(exc)


def _retryable_read(exc: BaseException) -> bool:
    """A read is retried on -1021 (after a clock resync), a rate limit the venue says to retry, a 5xx answer
    or a network failure; never on our own BrokerError (pacing gave up) nor on anything else."""
    if isinstance(exc, BrokerError):
        return False
    error = classify_error(exc)
    if error is None:
        return False
    if error.category is ErrorCategory.RATE_LIMIT:
        return error.action is ErrorAction.RETRY
    return error.category is ErrorCategory.TRANSIENT_NETWORK


def _rate_limited(delay: float) -> ErrorClass:
    return ErrorClass(
        ErrorCategory.RATE_LIMIT,
        ErrorScope.PROVIDER,
        ErrorAction.RETRY,
        RATE_LIMIT_RETRY,
        retry_after_s=delay,
    )
