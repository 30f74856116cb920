"""Real bundled Binance USD-M minute bars, replayed through the fake's kline websocket into broker.bars()."""

from __future__ import annotations

import asyncio
import csv
from datetime import datetime
from pathlib import Path

import pytest
from binance_fake_server import FakeBinance, FakeVenueController
from tradebot_binance import BinanceBroker

from tradebot.domain.bars import Bar

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"  # ../shared beside the repo
pytestmark = pytest.mark.timeout(60)


def _read(name: str, symbol: str) -> list[Bar]:
    with (DATA / name).open() as fh:
        return [
            Bar(
                symbol,
                datetime.fromisoformat(r["ts"].replace("Z", "+00:00")),
                float(r["open"]),
                float(r["high"]),
                float(r["low"]),
                float(r["close"]),
                float(r["volume"]),
                60,
            )
            for r in csv.DictReader(fh)
        ]


@pytest.mark.parametrize(
    ("name", "symbol", "drop"),
    [
        ("btcusdt_perp_binance_1m_from_tardis_trades_2020-02-22.csv", "BTCUSDT", True),
        ("adausdt_perp_binance_1m_2022-12-13.csv", "ADAUSDT", False),
    ],
)
async def test_real_bars_replayed_through_kline_stream(
    broker: BinanceBroker, venue: FakeVenueController, fake: FakeBinance, name: str, symbol: str, drop: bool
) -> None:
    bars = _read(name, symbol)
    instrument = await broker.instrument(symbol)
    received: list[Bar] = []
    done = asyncio.Event()

    async def consume() -> None:
        async for bar in broker.bars(instrument, 60):
            received.append(bar)
            if len(received) >= len(bars):
                done.set()

    task = asyncio.create_task(consume())
    try:
        while fake.market_subscribers() == 0:
            await asyncio.sleep(0.01)
        drop_at = len(bars) // 2 if drop else -1
        for i, bar in enumerate(bars):
            if i == drop_at:  # a dropped market stream mid-replay: the gap is backfilled over REST
                await venue.drop_connection()
            await venue.push_bar(bar)
            if i % 50 == 0:
                await asyncio.sleep(0)
        await asyncio.wait_for(done.wait(), 30)
        await asyncio.sleep(0.2)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert [b.ts for b in received] == [b.ts for b in bars], "bars missing, doubled or out of order"
    assert [(b.open, b.high, b.low, b.close, b.volume) for b in received] == [
        (b.open, b.high, b.low, b.close, b.volume) for b in bars
    ]
