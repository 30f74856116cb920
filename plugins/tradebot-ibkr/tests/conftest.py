"""Fixtures for the IBKR plugin tests: a fake TWS on 127.0.0.1:0 and an adapter connected to it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ibkr_fake_tws import FakeTws, FakeTwsController
from ibkr_test_support import fast_config
from tradebot_ibkr import CAPABILITIES
from tradebot_ibkr.broker import IbkrBroker

from tradebot.domain.clock import WallClock


@pytest.fixture
async def tws() -> AsyncIterator[FakeTws]:
    server = await FakeTws().start()
    yield server
    await server.stop()


@pytest.fixture
def venue(tws: FakeTws) -> FakeTwsController:
    return FakeTwsController(tws)


@pytest.fixture
async def broker(tws: FakeTws) -> AsyncIterator[IbkrBroker]:
    adapter = IbkrBroker(fast_config(tws.port), WallClock(), CAPABILITIES)
    await adapter.connect()
    yield adapter
    await adapter.close()


@pytest.fixture
def conformance_symbol() -> str:
    return "MES"
