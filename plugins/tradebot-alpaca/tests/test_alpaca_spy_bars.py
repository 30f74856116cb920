"""One real day of SPY minute bars (bundled data) through the fake's msgpack stream into broker.bars()."""

from __future__ import annotations

import asyncio
import csv
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alpaca_fake_server import FakeAlpaca, FakeAlpacaController
from tradebot_alpaca.broker import AlpacaBroker

from tradebot.domain.bars import Bar

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "spy_1m_2013-10-04_2013-10-11.csv"
DAY = "2013-10-07"

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not DATA.exists(), reason=f"bundled data {DATA} not present"),
]


def _load_day() -> list[Bar]:
    with DATA.open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["ts"].startswith(DAY)]
    return [Bar("SPY", datetime.fromisoformat(r["ts"].replace("Z", "+00:00")), float(r["open"]),
                float(r["high"]), float(r["low"]), float(r["close"]), float(r["volume"])) for r in rows]


async def test_one_day_of_spy_through_the_bars_stream(
    alpaca_broker: AlpacaBroker, alpaca_venue: FakeAlpacaController, fake_alpaca: FakeAlpaca
) -> None:
    day = _load_day()
    assert len(day) > 390  # the regular session alone has 390 minutes
    stream = alpaca_broker.bars(await alpaca_broker.instrument("SPY"), 60)
    received: list[Bar] = []

    async def consume() -> None:
        async for bar in stream:
            received.append(bar)
            if len(received) == len(day):
                return

    task = asyncio.create_task(consume())
    async with asyncio.timeout(5):  # the adapter's data stream is subscribed: every bar goes out live
        while not any("SPY" in session.bars for session in fake_alpaca.data_sessions):
            await asyncio.sleep(0.01)
    for bar in day:
        await alpaca_venue.push_bar(bar)
    await asyncio.wait_for(task, 30)
    assert [b.ts for b in received] == [b.ts for b in day]  # all, in order, none twice
    assert [(b.open, b.high, b.low, b.close, b.volume) for b in received] == [
        (b.open, b.high, b.low, b.close, b.volume) for b in day]
    assert stream.subscription.backfilled == 0  # nothing was missing, so nothing came from REST


async def test_bars_missed_during_a_data_stream_drop_come_from_rest(
    alpaca_broker: AlpacaBroker, alpaca_venue: FakeAlpacaController, fake_alpaca: FakeAlpaca
) -> None:
    day = _load_day()[200:230]
    stream = alpaca_broker.bars(await alpaca_broker.instrument("SPY"), 60)
    await alpaca_venue.push_bar(day[0])
    assert (await asyncio.wait_for(stream.__anext__(), 5)).ts == day[0].ts
    fake_alpaca.data_stream_down = True
    await fake_alpaca.drop_streams(trading=False, data=True)
    for bar in day[1:10]:  # published while nobody listens: only REST has them
        await alpaca_venue.push_bar(bar)
    fake_alpaca.data_stream_down = False
    for bar in day[10:]:
        await alpaca_venue.push_bar(bar)
    received = [await asyncio.wait_for(stream.__anext__(), 5) for _ in day[1:]]
    assert [b.ts for b in received] == [b.ts for b in day[1:]]
    assert stream.subscription.backfilled >= 9
    assert any(path.startswith("/v2/stocks/bars") for _, path in fake_alpaca.requests)
    assert received[-1].ts - received[0].ts == day[-1].ts - day[1].ts >= timedelta(minutes=28)
