"""REST retries (tenacity) against the fake venue over a real socket: a read is retried on 5xx answers (and
network failures) at most ``max_read_retries`` times, waiting an exponential backoff with jitter capped at
``max_backoff_s``; a refusal is not retried; a write (an order) is sent once, whatever happens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from binance_fake_server import ORDER_ENTRY, FakeBinance, Fault
from binance_test_config import ENV, broker_table
from tradebot_binance import load_config
from tradebot_binance.rest import BinanceRest

from tradebot.domain.errors import BrokerError, ErrorCategory

pytestmark = pytest.mark.timeout(30)
POSITIONS = ("GET", "/fapi/v3/positionRisk")


@pytest.fixture
async def rest_and_sleeps(fake: FakeBinance) -> AsyncIterator[tuple[BinanceRest, list[float]]]:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:  # recorded, not waited: the test stays fast
        sleeps.append(seconds)

    config = load_config(broker_table(fake, max_read_retries=3, max_backoff_s=1.0), ENV)
    rest = BinanceRest(config, sleep=sleep)
    await rest.open()
    try:
        yield rest, sleeps
    finally:
        await rest.close()


def _server_error() -> Fault:
    return Fault(503, -1001, "Internal error; unable to process your request. Please try again.")


async def _positions(rest: BinanceRest) -> Any:
    return await rest.read("positions", lambda: rest.client.futures_position_information())


async def test_a_read_retries_5xx_answers_with_jittered_capped_backoff_then_succeeds(
    rest_and_sleeps: tuple[BinanceRest, list[float]], fake: FakeBinance
) -> None:
    rest, sleeps = rest_and_sleeps
    fake.faults.extend([_server_error() for _ in range(3)])
    before = len(fake.requests)
    assert await _positions(rest) == []
    assert fake.requests[before:] == [POSITIONS] * 4
    assert len(sleeps) == 3
    assert 0.4 <= sleeps[0] <= 0.6 and 0.8 <= sleeps[1] <= 1.0 and sleeps[2] == 1.0  # doubles, capped
    assert (sleeps[0], sleeps[1]) != (0.4, 0.8), "no jitter: clients would retry in step"


async def test_a_read_gives_up_after_max_read_retries(
    rest_and_sleeps: tuple[BinanceRest, list[float]], fake: FakeBinance
) -> None:
    rest, sleeps = rest_and_sleeps
    fake.faults.extend([_server_error() for _ in range(5)])
    before = len(fake.requests)
    with pytest.raises(BrokerError) as raised:
        await _positions(rest)
    assert raised.value.error_class.category is ErrorCategory.TRANSIENT_NETWORK
    assert fake.requests[before:] == [POSITIONS] * 4 and len(sleeps) == 3
    assert len(fake.faults) == 1  # the fifth was never asked for


async def test_a_refused_read_is_not_retried(
    rest_and_sleeps: tuple[BinanceRest, list[float]], fake: FakeBinance
) -> None:
    rest, sleeps = rest_and_sleeps
    fake.faults.append(Fault(401, -2015, "Invalid API-key, IP, or permissions for action."))
    before = len(fake.requests)
    with pytest.raises(BrokerError) as raised:
        await _positions(rest)
    assert raised.value.error_class.category is ErrorCategory.AUTH
    assert fake.requests[before:] == [POSITIONS] and sleeps == []


async def test_a_write_is_sent_once_even_on_a_transient_failure(
    rest_and_sleeps: tuple[BinanceRest, list[float]], fake: FakeBinance
) -> None:
    rest, sleeps = rest_and_sleeps
    fake.faults.append(Fault(503, -1001, "Internal error", only=ORDER_ENTRY))
    before = len(fake.requests)
    with pytest.raises(BrokerError) as raised:
        await rest.write(
            "submit",
            lambda: rest.client.futures_create_order(
                symbol="BTCUSDT", side="BUY", type="LIMIT", quantity="0.002", price="58000",
                timeInForce="GTC", newClientOrderId="once-1",
            ),
        )  # fmt: skip
    assert raised.value.error_class.category is ErrorCategory.TRANSIENT_NETWORK
    assert fake.requests[before:] == [("POST", "/fapi/v1/order")] and sleeps == []
