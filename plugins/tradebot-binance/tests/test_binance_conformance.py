"""The broker conformance kit against the fake USD-M venue, through the real python-binance client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from tradebot_binance import BinanceBroker

from tradebot.testing.conformance import *  # noqa: F403

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def broker_factory(
    make_broker: Callable[..., Awaitable[BinanceBroker]],
) -> AsyncIterator[Callable[[], Awaitable[Any]]]:
    started: list[BinanceBroker] = []

    async def restart() -> BinanceBroker:
        b = await make_broker()
        started.append(b)
        return b

    yield restart
    for b in started:
        await b.close()
