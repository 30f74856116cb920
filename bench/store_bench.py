"""The event store: sustained appends per second through ``tradebot.store.EventWriter``.

* ``durable``: one ``await append_durable(...)`` after another, the writer opened with
  ``durable_sync="full"`` — exactly how the OMS writes an order's write-ahead record in live mode: each
  append returns only once committed and the WAL fsynced. One order at a time, so this is the ceiling of
  orders per second the write-ahead allows.
* ``batched``: ``append(...)`` + ``await wait_capacity()`` per event (how bars, signals and decisions are
  recorded), then one ``flush()``; same writer settings (live: synchronous=NORMAL for these batches).
Bodies are the size of a real ``order_submit`` / ``bar`` event.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio

ORDER_BODY: dict[str, Any] = {
    "client_order_id": "tb-0123456789abcdef0123", "symbol": "MES", "side": "BUY", "order_type": "MARKET",
    "quantity": Decimal("1"), "limit_price": None, "stop_price": None, "time_in_force": "DAY",
    "reduce_only": False, "intent_id": "0123456789abcdef", "stop_loss": Decimal("1674.25"),
    "take_profit": Decimal("1680.25"), "tag": "entry",
}
BAR_BODY: dict[str, Any] = {
    "symbol": "MES", "open": 1676.75, "high": 1677.25, "low": 1673.5, "close": 1675.25, "volume": 1884.0,
    "interval_s": 60,
}


async def _durable(path: Path, n: int) -> float:
    from tradebot.store import EventWriter

    ts = datetime(2024, 1, 2, tzinfo=UTC)
    async with EventWriter.open(path, run_id="bench", durable_sync="full") as writer:
        start = time.perf_counter()
        for i in range(n):
            await writer.append_durable("order_submit", ORDER_BODY, ts=ts + timedelta(seconds=i),
                                        symbol="MES", client_order_id=f"tb-{i}")
        elapsed = time.perf_counter() - start
    return n / elapsed


async def _batched(path: Path, n: int) -> float:
    from tradebot.store import EventWriter

    ts = datetime(2024, 1, 2, tzinfo=UTC)
    async with EventWriter.open(path, run_id="bench", durable_sync="full") as writer:
        start = time.perf_counter()
        for i in range(n):
            writer.append("bar", {**BAR_BODY, "ts": ts + timedelta(minutes=i)}, ts=ts, symbol="MES")
            await writer.wait_capacity()
        await writer.flush()
        elapsed = time.perf_counter() - start
    return n / elapsed


def durable_appends_per_s(path: Path, n: int) -> float:
    return anyio.run(_durable, path, n)


def batched_appends_per_s(path: Path, n: int) -> float:
    return anyio.run(_batched, path, n)
