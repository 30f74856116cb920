"""Heartbeat events: a running session appends ``heartbeat`` (SESSION_HEARTBEAT) to the store every
``every``, so ``tradebot status`` and monitoring can tell a live session from a hung or dead one.

Run it next to the pipeline in the same task group; it stops at ``until`` (the window's close) or when
cancelled. The clock and the sleeper are injected, like everything else that waits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import anyio

from tradebot.domain import reasons
from tradebot.domain.clock import Clock
from tradebot.session.wait import Sleeper, wait_until

HEARTBEAT_KIND = "heartbeat"


async def heartbeat(
    record: Callable[[str, dict[str, Any]], object],
    clock: Clock,
    *,
    every: timedelta,
    until: datetime | None = None,
    sleep: Sleeper = anyio.sleep,
    details: Callable[[], Mapping[str, Any]] | None = None,
) -> int:
    """Record a heartbeat now and then every ``every`` until ``until``; return how many were recorded.

    ``record(kind, body)`` appends to the store (``StoreRecorder.record`` with ``ts=clock.now()``);
    ``details()`` adds live facts (trading state, open orders, last bar) to each body.
    """
    if every <= timedelta(0):
        raise ValueError(f"heartbeat interval must be positive, got {every}")
    count = 0
    next_at = clock.now()
    while until is None or next_at < until:
        now = await wait_until(next_at, clock, sleep=sleep)
        if until is not None and now >= until:
            break
        body: dict[str, Any] = {"code": reasons.SESSION_HEARTBEAT, "seq": count, "ts": now.isoformat()}
        if details is not None:
            body.update(details())
        record(HEARTBEAT_KIND, body)
        count += 1
        next_at = now + every
    return count
