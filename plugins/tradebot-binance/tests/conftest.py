"""Fixtures: a FakeBinance on 127.0.0.1:0 and a connected BinanceBroker pointed at it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from binance_fake_server import FakeBinance, FakeVenueController
from binance_test_config import ENV, KEY, SECRET, broker_table
from tradebot_binance import BinanceBroker, load_config

from tradebot.domain.clock import WallClock


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    server = await FakeBinance(KEY, SECRET).start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def venue(fake: FakeBinance) -> FakeVenueController:
    return FakeVenueController(fake)


@pytest.fixture
def make_broker(fake: FakeBinance) -> AsyncIterator[Callable[..., Awaitable[BinanceBroker]]]:
    made: list[BinanceBroker] = []

    async def factory(**overrides: Any) -> BinanceBroker:
        broker = BinanceBroker(load_config(broker_table(fake, **overrides), ENV), WallClock())
        made.append(broker)
        await broker.connect()
        return broker

    yield factory  # type: ignore[misc]


@pytest.fixture
async def broker(make_broker: Callable[..., Awaitable[BinanceBroker]]) -> AsyncIterator[BinanceBroker]:
    b = await make_broker()
    try:
        yield b
    finally:
        await b.close()


@pytest.fixture
def conformance_symbol() -> str:
    return "BTCUSDT"


@pytest.fixture
def conformance_price() -> Decimal:
    return Decimal("60000")


@pytest.fixture
def conformance_qty() -> Decimal:
    return Decimal("0.002")  # 0.001 x 60,000 is under BTCUSDT's 100 USDT minimum notional
