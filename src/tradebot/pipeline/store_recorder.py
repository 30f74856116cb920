"""The Recorder the decision stage writes through, on top of the event store's single writer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from tradebot.store import EventWriter


class StoreRecorder:
    def __init__(self, writer: EventWriter) -> None:
        self.writer = writer

    def record(
        self,
        kind: str,
        body: Any,
        *,
        ts: datetime,
        symbol: str | None = None,
        client_order_id: str | None = None,
    ) -> None:
        self.writer.append(kind, body, ts=ts, symbol=symbol, client_order_id=client_order_id)

    async def record_durable(
        self,
        kind: str,
        body: Any,
        *,
        ts: datetime,
        symbol: str | None = None,
        client_order_id: str | None = None,
    ) -> None:
        await self.writer.append_durable(kind, body, ts=ts, symbol=symbol, client_order_id=client_order_id)

    @contextmanager
    def unit(self) -> Iterator[None]:
        with self.writer.unit():
            yield

    async def wait_capacity(self) -> None:
        await self.writer.wait_capacity()

    async def flush(self) -> None:
        await self.writer.flush()
