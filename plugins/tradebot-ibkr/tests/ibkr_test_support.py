"""Small helpers shared by the IBKR plugin tests (imported via the tests dir on sys.path)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from tradebot_ibkr.config import IbkrConfig

from tradebot.domain.bars import Bar
from tradebot.domain.events import BrokerEvent, ConnectionEvent
from tradebot.domain.orders import Bracket, OrderRequest, OrderType, Side

T = TypeVar("T")


async def take(
    it: AsyncIterator[T], n: int, timeout: float = 3.0, keep: Callable[[T], bool] = lambda _: True
) -> list[T]:
    """The next ``n`` items of ``it`` that satisfy ``keep``; fails after ``timeout`` seconds."""
    out: list[T] = []

    async def run() -> None:
        while len(out) < n:
            item = await it.__anext__()
            if keep(item):
                out.append(item)

    await asyncio.wait_for(run(), timeout)
    return out


async def quiet(it: AsyncIterator[T], settle: float = 0.3) -> list[T]:
    """Everything ``it`` yields until it has been silent for ``settle`` seconds."""
    out: list[T] = []
    while True:
        try:
            out.append(await asyncio.wait_for(it.__anext__(), settle))
        except TimeoutError:
            return out


def order_events(event: Any) -> bool:
    return not isinstance(event, ConnectionEvent)


async def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    async def run() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(run(), timeout)


def limit(
    coid: str, side: Side, price: str, qty: str = "1", bracket: Bracket | None = None, symbol: str = "MES"
) -> OrderRequest:
    return OrderRequest(
        coid,
        f"intent-{coid}",
        symbol,
        side,
        Decimal(qty),
        OrderType.LIMIT,
        datetime.now(UTC),
        limit_price=Decimal(price),
        bracket=bracket,
    )


def market(coid: str, side: Side, qty: str = "1", symbol: str = "MES") -> OrderRequest:
    return OrderRequest(
        coid, f"intent-{coid}", symbol, side, Decimal(qty), OrderType.MARKET, datetime.now(UTC)
    )


def minute_bar(
    minute: int,
    o: float,
    h: float,
    low: float,
    c: float,
    v: float = 100.0,
    symbol: str = "MES",
    hour: int = 14,
) -> Bar:
    return Bar(symbol, datetime(2026, 11, 20, hour, minute, tzinfo=UTC), o, h, low, c, v, 60)


def kinds(events: list[BrokerEvent]) -> list[tuple[str, str]]:
    return [(e.kind, getattr(e, "client_order_id", getattr(e, "state", ""))) for e in events]


def fast_config(port: int, **overrides: object) -> IbkrConfig:
    values: dict[str, object] = {
        "port": port,
        "client_id": 7,
        "connect_timeout": 2.0,
        "request_timeout": 2.0,
        "backoff_initial_s": 0.05,
        "backoff_max_s": 0.2,
        "backoff_jitter": 0.1,
        "connect_attempts": 2,
        "nightly_restart_window_min": 0,
    }
    values.update(overrides)
    return IbkrConfig.model_validate(values)
