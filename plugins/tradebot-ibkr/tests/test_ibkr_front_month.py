"""The front month is chosen by the venue's date, not the pipeline's clock (on bar time it reads 1970
until the first bar arrives)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from ibkr_fake_tws import FakeContract, FakeTws, third_friday
from ibkr_test_support import fast_config
from tradebot_ibkr import CAPABILITIES
from tradebot_ibkr.broker import IbkrBroker

from tradebot.domain.clock import ReplayClock

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def tws_with_expired() -> AsyncIterator[FakeTws]:
    tws = await FakeTws().start()
    front = tws.front("MES")
    before = front.expiry - timedelta(days=91)  # the quarter before the front month: expired
    expired = FakeContract(front.con_id - 1, "MES", third_friday(before.year, before.month), "5", 0.25)
    assert expired.expiry < datetime.now(UTC).date()
    tws.contracts.append(expired)  # the venue still lists a contract that has expired
    yield tws
    await tws.stop()


async def test_bar_clock_before_the_first_bar_picks_a_live_front_month(tws_with_expired: FakeTws) -> None:
    broker = IbkrBroker(fast_config(tws_with_expired.port), ReplayClock(datetime(1970, 1, 1, tzinfo=UTC)),
                        CAPABILITIES)
    await broker.connect()
    try:
        await broker.instrument("MES")
        today = datetime.now(UTC).date()
        spec = broker._specs["MES"]
        days_left = (spec.expiry - today).days
        assert days_left > broker.config.roll_days, f"chose {spec.local_symbol} ({spec.expiry})"
    finally:
        await broker.close()
