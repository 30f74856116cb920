"""The broker conformance kit (tradebot.testing.conformance) against the fake Alpaca, through alpaca-py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import pytest
from alpaca_fake_server import FakeAlpaca, FakeAlpacaController
from tradebot_alpaca import plugin

from tradebot.brokers.protocol import Broker
from tradebot.domain.clock import WallClock
from tradebot.testing.conformance import *  # noqa: F403

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def broker(fake_alpaca: FakeAlpaca, alpaca_env: None) -> AsyncIterator[Broker]:
    instance = plugin.factory(fake_alpaca.config(), WallClock())
    await instance.connect()
    yield instance
    await instance.close()


@pytest.fixture
async def broker_factory(
    fake_alpaca: FakeAlpaca, alpaca_env: None
) -> AsyncIterator[Callable[[], Awaitable[Broker]]]:
    made: list[Broker] = []

    async def make() -> Broker:
        instance = plugin.factory(fake_alpaca.config(), WallClock())
        await instance.connect()
        made.append(instance)
        return instance

    yield make
    for instance in made:
        await instance.close()


@pytest.fixture
def venue(fake_alpaca: FakeAlpaca) -> FakeAlpacaController:
    return FakeAlpacaController(fake_alpaca)


@pytest.fixture
def conformance_symbol() -> str:
    return "SPY"


@pytest.fixture
def conformance_price() -> Decimal:
    return Decimal("170.00")


@pytest.fixture
def conformance_qty() -> Decimal:
    return Decimal(1)
