"""What the decision stage writes to the event store. An interface, so the store stays at the edge."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol


class Recorder(Protocol):
    def record(
        self,
        kind: str,
        body: Any,
        *,
        ts: datetime,
        symbol: str | None = None,
        client_order_id: str | None = None,
    ) -> None:
        """Append an event (batched; never dropped: a failure halts trading)."""
        ...

    async def record_durable(
        self,
        kind: str,
        body: Any,
        *,
        ts: datetime,
        symbol: str | None = None,
        client_order_id: str | None = None,
    ) -> None:
        """Append an event and return only once it is committed (the OMS write-ahead)."""
        ...

    def unit(self) -> AbstractContextManager[None]:
        """The events recorded inside the (synchronous) block are committed together or not at all."""
        ...

    async def wait_capacity(self) -> None:
        """The backpressure point: returns at once unless the store has fallen behind."""
        ...

    async def flush(self) -> None: ...
