"""Fixtures for the IBKR plugin tests: a fake TWS on 127.0.0.1:0 and an adapter connected to it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ibkr_fake_tws import FakeTws, FakeTwsController
from tradebot_ibkr import CAPABILITIES
from tradebot_ibkr.broker import IbkrBroker
from tradebot_ibkr.config import IbkrConfig

from tradebot.domain.clock import WallClock


def fast_config(port: int, **overrides: object) -> IbkrConfig:
    values: dict[str, object] = {
        "port": port,
        "client_id": 7,
        "connect_timeout": 2.0,
        "request_timeout": 2.0,
        "backoff_initial_s": 0.05,
        "backoff_max_s": 0.2,
        "backoff_jitter": 0.1,
        "connect_attempts": 2,
        "nightly_restart_window_min": 0,
    }
    values.update(overrides)
    return IbkrConfig.model_validate(values)


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
