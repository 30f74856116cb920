"""Fault injection through the sim venue's controller, against the ops layer (breakers, retries, alerts):
network errors and 429s open the right breaker with the right code and recover after the cool-down; an
auth failure is not retried and halts. (A submit whose fate is unknown: tests/integration/
test_oms_submit_faults.py drives the order manager.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tradebot.brokers.sim import SimBroker, SimController, create_broker
from tradebot.domain.clock import ReplayClock
from tradebot.domain.errors import BrokerError, ErrorAction
from tradebot.ops.alerts import AlertRules
from tradebot.ops.breakers import BreakerBoard, BreakerState
from tradebot.ops.errors import classify_exception
from tradebot.ops.retry import (
    CircuitOpenError,
    RetryPolicy,
    retry_idempotent_read,
)

pytestmark = pytest.mark.timeout(30)
T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
MES = {"venue": "CME", "asset_class": "FUTURE", "tick_size": "0.25", "multiplier": "5"}


class ClockSleep:
    """tenacity's sleep: advance the replay clock instead of waiting."""

    def __init__(self, clock: ReplayClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance_to(self.clock.now() + timedelta(seconds=seconds))


@pytest.fixture
async def sim() -> tuple[SimBroker, SimController, ReplayClock]:
    clock = ReplayClock(T0)
    broker = create_broker({"instruments": {"MES": MES}, "rate_limit_retry_after_s": 2.5}, clock)
    await broker.connect()
    return broker, SimController(broker.venue), clock


async def test_network_faults_open_the_breaker_block_and_recover(
    sim: tuple[SimBroker, SimController, ReplayClock],
) -> None:
    broker, controller, clock = sim
    board = BreakerBoard()
    rules = AlertRules()
    for _ in range(3):
        await controller.fail_next("network")
    with pytest.raises(BrokerError):
        await retry_idempotent_read(
            broker.positions,
            dependency="broker_positions",
            clock=clock,
            breakers=board,
            broker=broker,
            sleep=ClockSleep(clock),
            policy=RetryPolicy(max_attempts=3, base_delay_s=0.1, jitter_s=0.0),
        )
    decision = board.allow("broker_positions", clock.now())
    assert not decision.allowed and decision.code == "CIRCUIT_OPEN_BROKER_POSITIONS"
    assert decision.last_error is not None and decision.last_error.code == "NET_RETRY"
    assert decision.to_verdict().code == "CIRCUIT_OPEN_BROKER_POSITIONS"
    # the next read is refused without touching the venue
    with pytest.raises(CircuitOpenError):
        await retry_idempotent_read(
            broker.positions, dependency="broker_positions", clock=clock, breakers=board
        )
    # after the 60 s cool-down one probe goes through, succeeds, and the breaker closes
    clock.advance_to(clock.now() + timedelta(seconds=60))
    assert (
        await retry_idempotent_read(
            broker.positions, dependency="broker_positions", clock=clock, breakers=board, broker=broker
        )
        == []
    )
    assert board.states(clock.now())["broker_positions"] is BreakerState.CLOSED
    assert rules.on_error(clock.now(), decision.last_error) is None  # a network error is not a halt


async def test_rate_limits_wait_the_venues_retry_after_then_succeed(
    sim: tuple[SimBroker, SimController, ReplayClock],
) -> None:
    broker, controller, clock = sim
    board = BreakerBoard()
    sleep = ClockSleep(clock)
    await controller.fail_next("rate_limit")
    await controller.fail_next("rate_limit")
    assert (
        await retry_idempotent_read(
            broker.open_orders,
            dependency="broker_open_orders",
            clock=clock,
            breakers=board,
            broker=broker,
            sleep=sleep,
        )
        == []
    )
    assert sleep.waits == [2.5, 2.5]
    assert board["broker_open_orders"].failure_counts(clock.now()) == (2, 2)
    assert board.states(clock.now())["broker_open_orders"] is BreakerState.CLOSED
    # a third 429 within the minute opens it
    await controller.fail_next("rate_limit")
    await controller.fail_next("rate_limit")
    with pytest.raises(BrokerError):
        await retry_idempotent_read(
            broker.open_orders,
            dependency="broker_open_orders",
            clock=clock,
            breakers=board,
            broker=broker,
            sleep=sleep,
            policy=RetryPolicy(max_attempts=1),
        )
    blocked = board.allow("broker_open_orders", clock.now())
    assert blocked.code == "CIRCUIT_OPEN_BROKER_OPEN_ORDERS"
    assert blocked.last_error is not None and blocked.last_error.code == "RATE_LIMIT_RETRY"


async def test_auth_failure_is_not_retried_and_halts(
    sim: tuple[SimBroker, SimController, ReplayClock],
) -> None:
    broker, controller, clock = sim
    await controller.fail_next("auth")
    await controller.fail_next("auth")
    sleep = ClockSleep(clock)
    with pytest.raises(BrokerError) as info:
        await retry_idempotent_read(
            broker.account, dependency="broker_positions", clock=clock, broker=broker, sleep=sleep
        )
    assert sleep.waits == []
    error = classify_exception(info.value, broker=broker)
    assert (error.code, error.action) == ("AUTH_HALT", ErrorAction.HALT_TRADING)
    alert = AlertRules().on_error(clock.now(), error, dependency="broker_positions")
    assert alert is not None and alert.code == "ALERT_HALT" and alert.details["halt_code"] == "AUTH_HALT"
