"""Waiting for the open on an injected clock: the sleeper advances the clock, so nothing really sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tradebot.domain.clock import ReplayClock
from tradebot.exit_codes import ExitCode
from tradebot.session import MarketClosed, OpenTooFar, SessionWindow, wait_for_open

OPEN = datetime(2013, 10, 7, 13, 30, tzinfo=UTC)
WINDOW = SessionWindow(OPEN, OPEN + timedelta(hours=6, minutes=30), "rth", "CME", "rth")


class FakeTime:
    """A replay clock and a sleeper that moves it: ``sleeps`` records every requested sleep."""

    def __init__(self, start: datetime) -> None:
        self.clock = ReplayClock(start)
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance_to(self.clock.now() + timedelta(seconds=seconds))


async def test_started_early_waits_until_the_open() -> None:
    fake = FakeTime(OPEN - timedelta(minutes=30))
    seen: list[timedelta] = []
    result = await wait_for_open(WINDOW, fake.clock, max_wait=timedelta(hours=2), sleep=fake.sleep,
                                 on_wait=lambda now, remaining: seen.append(remaining))
    assert fake.clock.now() == OPEN
    assert result.waited_s == 1800.0
    assert result.opened_at == OPEN
    assert sum(fake.sleeps) == 1800.0
    assert max(fake.sleeps) <= 60.0  # re-reads the clock at least every step
    assert seen[0] == timedelta(minutes=30)
    assert len(seen) == len(fake.sleeps)


async def test_started_inside_the_window_does_not_sleep() -> None:
    fake = FakeTime(OPEN + timedelta(minutes=5))
    result = await wait_for_open(WINDOW, fake.clock, max_wait=timedelta(0), sleep=fake.sleep)
    assert fake.sleeps == []
    assert result.waited_s == 0.0


async def test_open_further_than_the_maximum_is_refused_without_sleeping() -> None:
    fake = FakeTime(OPEN - timedelta(hours=3))
    with pytest.raises(OpenTooFar) as info:
        await wait_for_open(WINDOW, fake.clock, max_wait=timedelta(hours=2), sleep=fake.sleep)
    assert fake.sleeps == []
    message = str(info.value)
    assert "3h00m from now" in message and "maximum wait is 2h00m" in message
    assert "2013-10-07T13:30:00+00:00" in message
    assert info.value.exit_code is ExitCode.CONFIG_ERROR


async def test_exactly_the_maximum_wait_is_allowed() -> None:
    fake = FakeTime(OPEN - timedelta(hours=2))
    await wait_for_open(WINDOW, fake.clock, max_wait=timedelta(hours=2), sleep=fake.sleep)
    assert fake.clock.now() == OPEN


async def test_a_closed_window_is_market_closed() -> None:
    fake = FakeTime(WINDOW.close)
    with pytest.raises(MarketClosed):
        await wait_for_open(WINDOW, fake.clock, max_wait=timedelta(hours=2), sleep=fake.sleep)


async def test_a_clock_jump_while_sleeping_is_noticed() -> None:
    fake = FakeTime(OPEN - timedelta(minutes=30))

    async def suspended(seconds: float) -> None:  # the machine slept far longer than asked
        fake.sleeps.append(seconds)
        fake.clock.advance_to(fake.clock.now() + timedelta(hours=1))

    result = await wait_for_open(WINDOW, fake.clock, max_wait=timedelta(hours=2), sleep=suspended)
    assert len(fake.sleeps) == 1
    assert result.opened_at == OPEN + timedelta(minutes=30)


async def test_step_must_be_positive() -> None:
    fake = FakeTime(OPEN)
    with pytest.raises(ValueError, match="step_s"):
        await wait_for_open(WINDOW, fake.clock, max_wait=timedelta(hours=1), sleep=fake.sleep, step_s=0)
