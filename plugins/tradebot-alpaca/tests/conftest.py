"""Fixtures: a started fake Alpaca, its venue controller, and a connected AlpacaBroker pointed at it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from alpaca_fake_server import KEY, SECRET, FakeAlpaca, FakeAlpacaController
from tradebot_alpaca import plugin
from tradebot_alpaca.broker import AlpacaBroker

from tradebot.domain.clock import WallClock


@pytest.fixture
def alpaca_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_APCA_KEY", KEY)
    monkeypatch.setenv("FAKE_APCA_SECRET", SECRET)


@pytest.fixture
async def fake_alpaca() -> AsyncIterator[FakeAlpaca]:
    fake = FakeAlpaca()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def alpaca_broker(fake_alpaca: FakeAlpaca, alpaca_env: None) -> AsyncIterator[AlpacaBroker]:
    broker = plugin.factory(fake_alpaca.config(), WallClock())
    assert isinstance(broker, AlpacaBroker)
    await broker.connect()
    yield broker
    await broker.close()


@pytest.fixture
def alpaca_venue(fake_alpaca: FakeAlpaca) -> FakeAlpacaController:
    return FakeAlpacaController(fake_alpaca)
