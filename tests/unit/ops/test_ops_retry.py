"""Bounded retries of idempotent reads (the guarded broker reads and the order manager's lookups use them)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from tradebot.domain.clock import ReplayClock
from tradebot.ops.breakers import BreakerBoard, BreakerState
from tradebot.ops.retry import (
    CircuitOpenError,
    RetryPolicy,
    retry_idempotent_read,
)

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


class RateLimited(Exception):
    def __init__(self, retry_after: str | None = None) -> None:
        super().__init__("429 too many requests")
        self.status_code = 429
        self.headers = {"Retry-After": retry_after} if retry_after else {}


class FakeSleep:
    """Records the waits instead of sleeping (tenacity's ``sleep`` hook)."""

    def __init__(self, clock: ReplayClock | None = None) -> None:
        self.waits: list[float] = []
        self.clock = clock

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.clock is not None:
            self.clock.advance_to(self.clock.now() + timedelta(seconds=seconds))


class Flaky:
    def __init__(self, errors: list[BaseException], result: str = "positions") -> None:
        self.errors = list(errors)
        self.result = result
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


async def test_retries_transient_errors_then_returns() -> None:
    fn = Flaky([TimeoutError(), ConnectionResetError()])
    sleep = FakeSleep()
    got = await retry_idempotent_read(
        fn,
        dependency="broker_positions",
        clock=ReplayClock(T0),
        sleep=sleep,
        rng=random.Random(1),
        policy=RetryPolicy(max_attempts=4, base_delay_s=0.5, jitter_s=0.0),
    )
    assert got == "positions" and fn.calls == 3
    assert sleep.waits == [0.5, 1.0]


async def test_attempts_are_bounded_and_the_last_error_is_raised() -> None:
    fn = Flaky([TimeoutError(f"t{i}") for i in range(10)])
    sleep = FakeSleep()
    with pytest.raises(TimeoutError, match="t2"):
        await retry_idempotent_read(
            fn,
            dependency="data_primary",
            clock=ReplayClock(T0),
            sleep=sleep,
            policy=RetryPolicy(max_attempts=3, jitter_s=0.0),
        )
    assert fn.calls == 3 and len(sleep.waits) == 2


async def test_total_time_is_bounded() -> None:
    fn = Flaky([TimeoutError() for _ in range(10)])
    sleep = FakeSleep()
    with pytest.raises(TimeoutError):
        await retry_idempotent_read(
            fn,
            dependency="data_primary",
            clock=ReplayClock(T0),
            sleep=sleep,
            policy=RetryPolicy(
                max_attempts=10, max_total_s=3.0, base_delay_s=1.0, max_delay_s=8.0, jitter_s=0.0
            ),
        )
    assert sum(sleep.waits) <= 3.0
    assert sleep.waits == [1.0, 2.0] and fn.calls == 3


async def test_only_errors_classified_retry_are_retried() -> None:
    auth = Exception("401")
    auth.status_code = 401  # type: ignore[attr-defined]
    fn = Flaky([auth])
    with pytest.raises(Exception, match="401"):
        await retry_idempotent_read(
            fn, dependency="broker_positions", clock=ReplayClock(T0), sleep=FakeSleep()
        )
    assert fn.calls == 1
    bug = Flaky([KeyError("symbol")])
    with pytest.raises(KeyError):
        await retry_idempotent_read(
            bug, dependency="broker_positions", clock=ReplayClock(T0), sleep=FakeSleep()
        )
    assert bug.calls == 1


async def test_rate_limit_waits_the_venues_retry_after() -> None:
    fn = Flaky([RateLimited("4")])
    sleep = FakeSleep()
    await retry_idempotent_read(fn, dependency="quotes", clock=ReplayClock(T0), sleep=sleep)
    assert sleep.waits == [4.0]


async def test_a_retry_after_beyond_the_budget_gives_up_at_once() -> None:
    fn = Flaky([RateLimited("120")])
    sleep = FakeSleep()
    with pytest.raises(RateLimited):
        await retry_idempotent_read(
            fn, dependency="quotes", clock=ReplayClock(T0), sleep=sleep, policy=RetryPolicy(max_total_s=30)
        )
    assert sleep.waits == [] and fn.calls == 1


async def test_submit_is_refused() -> None:
    with pytest.raises(ValueError, match="broker_submit"):
        await retry_idempotent_read(Flaky([]), dependency="broker_submit", clock=ReplayClock(T0))


async def test_breaker_records_failures_and_an_open_circuit_stops_retrying() -> None:
    clock = ReplayClock(T0)
    board = BreakerBoard()
    fn = Flaky([TimeoutError() for _ in range(10)])
    with pytest.raises(CircuitOpenError) as info:
        await retry_idempotent_read(
            fn,
            dependency="broker_positions",
            clock=clock,
            breakers=board,
            sleep=FakeSleep(clock),
            policy=RetryPolicy(max_attempts=6, base_delay_s=1.0, jitter_s=0.0),
        )
    assert fn.calls == 3  # the third failure opened the breaker; the fourth attempt was refused
    assert info.value.decision.code == "CIRCUIT_OPEN_BROKER_POSITIONS"
    assert info.value.decision.last_error is not None and info.value.decision.last_error.code == "NET_RETRY"
    assert board.states(clock.now())["broker_positions"] is BreakerState.OPEN


async def test_breaker_half_open_probe_success_closes_it() -> None:
    clock = ReplayClock(T0)
    board = BreakerBoard()
    for k in range(3):
        board.record_failure("quotes", T0 + timedelta(seconds=k))
    clock.advance_to(T0 + timedelta(seconds=70))
    assert (
        await retry_idempotent_read(Flaky([]), dependency="quotes", clock=clock, breakers=board)
        == "positions"
    )
    assert board.states(clock.now())["quotes"] is BreakerState.CLOSED
