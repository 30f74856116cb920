"""python-binance websockets (``BinanceSocketManager`` sockets), opened and closed without its pitfalls.

Facts of python-binance 1.0.37 this module relies on (pinned in pyproject):
- a socket's read loop waits ``TIMEOUT`` seconds per ``recv``; closing waits for that loop, so the adapter
  sets a short instance ``TIMEOUT`` (``ws_read_timeout_s``) to keep close and reconnect prompt;
- a dropped connection arrives in-band as ``{"e": "error", ...}`` and the library reconnects by itself
  (random 1..N s backoff, 5 attempts), then ``recv`` raises ``ReadLoopClosed``; ``ws_state`` says when it
  is streaming again;
- ``__aexit__`` during a library reconnect can race (the reconnect overwrites the EXITING state), so close
  marks the socket EXITING, closes the raw connection first, and bounds the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any

from binance.exceptions import ReadLoopClosed
from binance.ws.constants import WSListenerState
from binance.ws.reconnecting_websocket import ReconnectingWebsocket
from loguru import logger
from websockets.protocol import State as WsState

if TYPE_CHECKING:
    from binance.ws.streams import BinanceSocketManager

    from tradebot_binance.config import BinanceConfig

CLOSE_TIMEOUT_S = 3.0


def is_error_message(msg: Mapping[str, Any]) -> bool:
    return msg.get("e") == "error"


def is_streaming(sock: ReconnectingWebsocket) -> bool:
    raw = sock.ws
    return bool(sock.ws_state == WSListenerState.STREAMING and raw is not None and raw.state == WsState.OPEN)


async def open_socket(sock: ReconnectingWebsocket, read_timeout_s: float) -> ReconnectingWebsocket:
    sock.TIMEOUT = read_timeout_s
    await sock.__aenter__()
    return sock


async def close_socket(sock: ReconnectingWebsocket) -> None:
    sock.ws_state = WSListenerState.EXITING
    raw = sock.ws
    if raw is not None:
        with contextlib.suppress(Exception):
            await raw.close()
    try:
        await asyncio.wait_for(sock.__aexit__(None, None, None), CLOSE_TIMEOUT_S)
    except TimeoutError:
        sock.ws_state = WSListenerState.EXITING
        logger.warning("binance websocket did not close within {}s", CLOSE_TIMEOUT_S)


async def wait_streaming(sock: ReconnectingWebsocket, timeout_s: float, poll_s: float = 0.05) -> bool:
    """After an in-band error: wait for the library's reconnect. False when it did not come back."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if is_streaming(sock):
            return True
        if sock.ws_state == WSListenerState.EXITING:
            return False
        await asyncio.sleep(poll_s)
    return False


class Resumed:
    """A market stream (re)connected: what it carried while down must be fetched another way, if at all."""


RESUMED = Resumed()


async def market_messages(
    socket_manager: Callable[[], BinanceSocketManager],
    stream: str,
    config: BinanceConfig,
    on_interrupt: Callable[[], None] = lambda: None,
) -> AsyncIterator[Mapping[str, Any] | Resumed]:
    """One combined-stream subscription's payloads, for as long as the caller reads: ``RESUMED`` first and
    after each reconnect (the library's own, or a new socket when it gave up; a failed connect is backed
    off and retried), then each message's ``data``."""
    while True:
        sock = socket_manager().futures_multiplex_socket([stream])
        try:
            await open_socket(sock, config.ws_read_timeout_s)
        except Exception as exc:  # noqa: BLE001 - connect failure: logged, backed off, retried
            logger.warning("binance stream {} connect failed: {!r}", stream, exc)
            await close_socket(sock)
            await asyncio.sleep(1.0)
            continue
        try:
            yield RESUMED
            while True:
                try:
                    msg = await sock.recv()
                except ReadLoopClosed:
                    break
                if is_error_message(msg):
                    on_interrupt()
                    logger.warning("binance stream {} interrupted: {}", stream, msg.get("m"))
                    if not await wait_streaming(sock, config.reconnect_wait_s):
                        break
                    yield RESUMED
                    continue
                data = msg.get("data", msg)
                if isinstance(data, Mapping):
                    yield data
        finally:
            await close_socket(sock)
