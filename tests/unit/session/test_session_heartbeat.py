"""Heartbeat events and wait_until on an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tradebot.domain.clock import ReplayClock
from tradebot.session import HEARTBEAT_KIND, heartbeat, wait_until

T0 = datetime(2013, 10, 7, 13, 30, tzinfo=UTC)


def fake_sleep(clock: ReplayClock) -> Any:
    async def sleep(seconds: float) -> None:
        clock.advance_to(clock.now() + timedelta(seconds=seconds))

    return sleep


async def test_heartbeats_every_interval_until_the_close() -> None:
    clock = ReplayClock(T0)
    events: list[tuple[str, dict[str, Any]]] = []
    n = await heartbeat(lambda kind, body: events.append((kind, body)), clock, every=timedelta(minutes=1),
                        until=T0 + timedelta(minutes=5), sleep=fake_sleep(clock),
                        details=lambda: {"trading_state": "ACTIVE"})
    assert n == 5 == len(events)
    assert {kind for kind, _ in events} == {HEARTBEAT_KIND}
    expected = [(T0 + timedelta(minutes=i)).isoformat() for i in range(5)]
    assert [body["ts"] for _, body in events] == expected
    assert [body["seq"] for _, body in events] == [0, 1, 2, 3, 4]
    assert all(body["code"] == "SESSION_HEARTBEAT" for _, body in events)
    assert all(body["trading_state"] == "ACTIVE" for _, body in events)


async def test_no_heartbeat_after_the_close() -> None:
    clock = ReplayClock(T0)
    events: list[str] = []
    assert await heartbeat(lambda kind, body: events.append(kind), clock, every=timedelta(minutes=1),
                           until=T0, sleep=fake_sleep(clock)) == 0
    assert events == []


async def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval"):
        await heartbeat(lambda kind, body: None, ReplayClock(T0), every=timedelta(0))


async def test_wait_until_reaches_the_deadline_in_steps() -> None:
    clock = ReplayClock(T0)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance_to(clock.now() + timedelta(seconds=seconds))

    assert await wait_until(T0 + timedelta(seconds=150), clock, sleep=sleep) == T0 + timedelta(seconds=150)
    assert slept == [60.0, 60.0, 30.0]
    assert await wait_until(T0, clock, sleep=sleep) == T0 + timedelta(seconds=150)  # already past
    assert len(slept) == 3
