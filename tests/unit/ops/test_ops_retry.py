"""Bounded retries of idempotent reads, and the safe-resubmit rule for unacknowledged submits."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tradebot.domain.clock import ReplayClock
from tradebot.domain.errors import ErrorAction, ErrorCategory, ErrorClass, ErrorScope
from tradebot.domain.events import OrderSnapshot, OrderStatus
from tradebot.domain.orders import OrderType, Side
from tradebot.ops.breakers import BreakerBoard, BreakerState
from tradebot.ops.retry import (
    CircuitOpenError,
    ResubmitAction,
    RetryPolicy,
    VenueLookup,
    decide_resubmit,
    lookup_order,
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


# --- safe resubmit ---------------------------------------------------------------------------------

SNAP = OrderSnapshot(
    "c-1", "v-9", "MES", Side.BUY, Decimal(1), Decimal(0), OrderType.LIMIT, OrderStatus.ACCEPTED
)
NET = ErrorClass(ErrorCategory.TRANSIENT_NETWORK, ErrorScope.PROVIDER, ErrorAction.RETRY, "NET_RETRY")
OLD = T0 - timedelta(seconds=30)


@pytest.mark.parametrize(
    ("status", "lookup", "submitted_at", "attempts", "expected"),
    [
        (OrderStatus.SUBMITTED, VenueLookup.unknown(), OLD, 0, ResubmitAction.RESUBMIT_SAME_ID),
        (OrderStatus.PENDING_SUBMIT, VenueLookup.unknown(), OLD, 1, ResubmitAction.RESUBMIT_SAME_ID),
        (OrderStatus.SUBMITTED, VenueLookup.found(SNAP), OLD, 0, ResubmitAction.ALREADY_AT_VENUE),
        (OrderStatus.SUBMITTED, VenueLookup.lookup_failed(NET), OLD, 0, ResubmitAction.WAIT),
        (OrderStatus.SUBMITTED, None, OLD, 0, ResubmitAction.WAIT),
        (OrderStatus.SUBMITTED, VenueLookup.unknown(), T0 - timedelta(seconds=1), 0, ResubmitAction.WAIT),
        (OrderStatus.SUBMITTED, VenueLookup.unknown(), OLD, 2, ResubmitAction.DO_NOT_RESUBMIT),
        (OrderStatus.ACCEPTED, VenueLookup.unknown(), OLD, 0, ResubmitAction.ALREADY_AT_VENUE),
        (OrderStatus.FILLED, None, OLD, 0, ResubmitAction.ALREADY_AT_VENUE),
        (OrderStatus.REJECTED, VenueLookup.unknown(), OLD, 0, ResubmitAction.DO_NOT_RESUBMIT),
        (None, VenueLookup.unknown(), OLD, 0, ResubmitAction.DO_NOT_RESUBMIT),
    ],
)
def test_decide_resubmit(
    status: OrderStatus | None,
    lookup: VenueLookup | None,
    submitted_at: datetime,
    attempts: int,
    expected: ResubmitAction,
) -> None:
    decision = decide_resubmit("c-1", status, lookup, now=T0, submitted_at=submitted_at, attempts=attempts)
    assert decision.action is expected
    assert decision.client_order_id == "c-1"
    assert decision.details["why"]


class AcceptsThenTimesOut:
    """A venue stand-in: the first submit reaches the venue, but the answer is lost (a timeout)."""

    def __init__(self) -> None:
        self.orders: dict[str, OrderSnapshot] = {}
        self.submits = 0
        self.lookup_fails = 0

    async def submit(self, client_order_id: str) -> None:
        self.submits += 1
        self.orders[client_order_id] = SNAP
        if self.submits == 1:
            raise TimeoutError("read timed out")

    async def order_status(self, client_order_id: str) -> OrderSnapshot | None:
        if self.lookup_fails:
            self.lookup_fails -= 1
            raise ConnectionResetError("reset")
        return self.orders.get(client_order_id)

    def classify_error(self, exc: BaseException) -> ErrorClass | None:
        return None


async def test_a_timed_out_submit_is_found_at_the_venue_not_sent_twice() -> None:
    venue = AcceptsThenTimesOut()
    venue.lookup_fails = 1
    with pytest.raises(TimeoutError):
        await venue.submit("c-1")
    first = await lookup_order(venue, "c-1")
    assert first.failed and first.error is not None and first.error.code == "NET_RETRY"
    assert (
        decide_resubmit("c-1", OrderStatus.SUBMITTED, first, now=T0, submitted_at=OLD).action
        is ResubmitAction.WAIT
    )
    second = await lookup_order(venue, "c-1")
    decision = decide_resubmit("c-1", OrderStatus.SUBMITTED, second, now=T0, submitted_at=OLD)
    assert decision.action is ResubmitAction.ALREADY_AT_VENUE
    assert decision.details["venue_order_id"] == "v-9"
    assert venue.submits == 1


async def test_an_order_unknown_at_the_venue_is_resent_with_the_same_id() -> None:
    venue = AcceptsThenTimesOut()
    lookup = await lookup_order(venue, "c-2")
    decision = decide_resubmit("c-2", OrderStatus.SUBMITTED, lookup, now=T0, submitted_at=OLD)
    assert decision.action is ResubmitAction.RESUBMIT_SAME_ID and decision.code == "RESUBMIT_SAME_ID"
