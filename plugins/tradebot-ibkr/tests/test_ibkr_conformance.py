"""The broker conformance kit (tradebot.testing.conformance) against the fake TWS, through real ib_async.

C09 (reduce-only) is skipped by the kit itself: IB has no reduce-only flag for futures, so the plugin
declares ``reduce_only=False`` and the pipeline enforces reduce-only before submit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import pytest
from ibkr_fake_tws import FakeTws
from ibkr_test_support import fast_config
from tradebot_ibkr import CAPABILITIES
from tradebot_ibkr.broker import IbkrBroker

from tradebot.brokers.protocol import Broker
from tradebot.domain.clock import WallClock
from tradebot.testing.conformance import *  # noqa: F403

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def conformance_price() -> Decimal:
    return Decimal("5800.00")  # MES


@pytest.fixture
def conformance_timeout() -> float:
    return 5.0


@pytest.fixture
async def broker_factory(tws: FakeTws) -> AsyncIterator[Callable[[], Awaitable[Broker]]]:
    """A new adapter on the same fake TWS and client id, as after a process restart."""
    made: list[IbkrBroker] = []

    async def make() -> Broker:
        adapter = IbkrBroker(fast_config(tws.port), WallClock(), CAPABILITIES)
        await adapter.connect()
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        await adapter.close()
