"""Waiting for the open: a run started early sleeps until its window opens, never longer than allowed.

The clock and the sleeper are injected (tests advance a fake clock inside the sleeper, so they run
instantly). The wait sleeps in steps of at most ``step_s`` and re-reads the clock after each, so a
suspended machine or a clock step is noticed instead of overslept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio

from tradebot.domain.clock import Clock
from tradebot.session.errors import MarketClosed, OpenTooFar
from tradebot.session.window import SessionWindow

Sleeper = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class WaitResult:
    started_at: datetime
    opened_at: datetime  # the clock when the wait ended (at or after window.open)
    waited_s: float


async def wait_for_open(
    window: SessionWindow,
    clock: Clock,
    *,
    max_wait: timedelta,
    sleep: Sleeper = anyio.sleep,
    step_s: float = 60.0,
    on_wait: Callable[[datetime, timedelta], None] | None = None,
) -> WaitResult:
    """Return once ``clock.now() >= window.open``.

    Raises ``OpenTooFar`` (before sleeping at all) when the open is more than ``max_wait`` away, and
    ``MarketClosed`` when the window has already closed. ``on_wait(now, remaining)`` is told before
    each sleep (for a log line or a heartbeat).
    """
    if step_s <= 0:
        raise ValueError(f"step_s must be > 0, got {step_s}")
    started = clock.now()
    if started >= window.close:
        raise MarketClosed(f"MARKET_CLOSED: the session window closed at {window.close.isoformat()}")
    remaining = window.open - started
    if remaining > max_wait:
        raise OpenTooFar(
            f"the {window.spec} session opens at {window.open.isoformat()}, {_hm(remaining)} from now; "
            f"the maximum wait is {_hm(max_wait)} (session.max_wait_s): start closer to the open",
            open=window.open.isoformat(), wait_s=remaining.total_seconds(),
            max_wait_s=max_wait.total_seconds())
    now = await wait_until(window.open, clock, sleep=sleep, step_s=step_s, on_wait=on_wait)
    return WaitResult(started, now, (now - started).total_seconds())


async def wait_until(
    deadline: datetime,
    clock: Clock,
    *,
    sleep: Sleeper = anyio.sleep,
    step_s: float = 60.0,
    on_wait: Callable[[datetime, timedelta], None] | None = None,
) -> datetime:
    """Sleep until ``clock.now() >= deadline`` (steps of at most ``step_s``); return that time.

    For the session's end too: run the pipeline in a task group next to ``wait_until(window.close, ...)``
    and cancel the pipeline when it returns.
    """
    if step_s <= 0:
        raise ValueError(f"step_s must be > 0, got {step_s}")
    now = clock.now()
    while now < deadline:
        remaining = deadline - now
        if on_wait is not None:
            on_wait(now, remaining)
        await sleep(min(remaining.total_seconds(), step_s))
        now = clock.now()
    return now


def _hm(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"
