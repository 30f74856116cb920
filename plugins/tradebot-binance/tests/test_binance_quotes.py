"""Best bid/ask through the plugin's ``quotes()`` (the ``QuoteStream`` protocol): real bookTicker updates of
BTCUSDT (hftbacktest capture, MIT, ../shared/data) pushed through the fake's combined-stream websocket and
read back by the real python-binance socket manager."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from binance_fake_server import FakeBinance, FakeVenueController
from tradebot_binance import BinanceBroker

from tradebot.brokers.protocol import QuoteStream
from tradebot.domain.quotes import Quote

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
BOOK = DATA / "btcusdt_perp_binance_bookticker_2024-08-08T2354.csv"
pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not BOOK.exists(), reason=f"the shared bookTicker file is missing: {BOOK}"),
]


def book_rows(n: int) -> list[dict[str, str]]:
    with BOOK.open() as handle:
        reader = csv.DictReader(handle)
        return [row for _, row in zip(range(n), reader, strict=False)]


def ms(ts: str) -> int:
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


async def collect(stream: AsyncIterator[Quote], into: list[Quote], until: int, done: asyncio.Event) -> None:
    async for quote in stream:
        into.append(quote)
        if len(into) >= until:
            done.set()


async def started(fake: FakeBinance, subscribers: int) -> None:
    while fake.market_subscribers() < subscribers:
        await asyncio.sleep(0.01)


async def test_real_book_ticker_updates_arrive_exact_and_in_order(
    broker: BinanceBroker, fake: FakeBinance
) -> None:
    assert isinstance(broker, QuoteStream)
    rows = book_rows(300)
    instrument = await broker.instrument("BTCUSDT")
    received: list[Quote] = []
    done = asyncio.Event()
    task = asyncio.create_task(collect(broker.quotes(instrument), received, len(rows), done))
    try:
        await started(fake, 1)
        for i, row in enumerate(rows):
            bid, ask, update = row["bid_price"], row["ask_price"], int(row["update_id"])
            await fake.push_book_ticker("BTCUSDT", bid, ask, ts_ms=ms(row["ts"]), update_id=update)
            if i % 50 == 0:
                await asyncio.sleep(0)
        await asyncio.wait_for(done.wait(), 20)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    expected = [
        Quote(datetime.fromtimestamp(ms(r["ts"]) / 1000, tz=UTC), Decimal(r["bid_price"]),
              Decimal(r["ask_price"]))
        for r in rows
    ]
    assert received == expected
    assert received[0].bid == Decimal("61800.20") and received[0].ask == Decimal("61800.30")


async def test_an_empty_side_or_an_older_update_is_not_a_quote(
    broker: BinanceBroker, fake: FakeBinance
) -> None:
    instrument = await broker.instrument("BTCUSDT")
    received: list[Quote] = []
    done = asyncio.Event()
    task = asyncio.create_task(collect(broker.quotes(instrument), received, 2, done))
    try:
        await started(fake, 1)
        t = 1_723_161_256_000
        await fake.push_book_ticker("BTCUSDT", "61800.2", "61800.3", ts_ms=t, update_id=10)
        await fake.push_book_ticker("BTCUSDT", "", "61800.3", ts_ms=t + 100, update_id=11)  # no bid
        await fake.push_book_ticker("BTCUSDT", "61799.9", "0", ts_ms=t + 200, update_id=12)  # no ask
        await fake.push_book_ticker("BTCUSDT", "61700.0", "61700.1", ts_ms=t + 300, update_id=9)  # older
        await fake.push_book_ticker("BTCUSDT", "61800.1", "61800.2", ts_ms=t + 400, update_id=13)
        await asyncio.wait_for(done.wait(), 10)
        await asyncio.sleep(0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert [(q.bid, q.ask) for q in received] == [
        (Decimal("61800.2"), Decimal("61800.3")),
        (Decimal("61800.1"), Decimal("61800.2")),
    ]


async def test_two_instruments_stream_apart_and_resume_after_a_drop(
    broker: BinanceBroker, fake: FakeBinance, venue: FakeVenueController
) -> None:
    btc, ada = await broker.instrument("BTCUSDT"), await broker.instrument("ADAUSDT")
    got: dict[str, list[Quote]] = {"BTCUSDT": [], "ADAUSDT": []}
    done = {symbol: asyncio.Event() for symbol in got}
    tasks = [
        asyncio.create_task(collect(broker.quotes(btc), got["BTCUSDT"], 4, done["BTCUSDT"])),
        asyncio.create_task(collect(broker.quotes(ada), got["ADAUSDT"], 4, done["ADAUSDT"])),
    ]
    t0 = 1_670_889_600_000  # 2022-12-13T00:00Z

    async def push(n: int) -> None:
        await fake.push_book_ticker("BTCUSDT", f"{17100 + n}.0", f"{17100 + n}.1", ts_ms=t0 + n)
        await fake.push_book_ticker("ADAUSDT", f"0.{3060 + n}", f"0.{3070 + n}", ts_ms=t0 + n)

    try:
        await started(fake, 2)
        for n in range(2):
            await push(n)
        while len(got["BTCUSDT"]) < 2 or len(got["ADAUSDT"]) < 2:
            await asyncio.sleep(0.01)
        await venue.drop_connection()  # both market sockets: the library reconnects, quotes go on
        n = 2
        while not all(e.is_set() for e in done.values()) and n < 400:  # updates pushed while it reconnects
            await push(n)  # are lost (a quote is only the latest one): push until some arrive again
            n += 1
            await asyncio.sleep(0.05)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for symbol in ("BTCUSDT", "ADAUSDT"):
        quotes = got[symbol]
        assert len(quotes) >= 4, symbol
        assert [q.ts for q in quotes] == sorted(q.ts for q in quotes)
        assert quotes[-1].ts > datetime.fromtimestamp((t0 + 1) / 1000, tz=UTC)  # after the drop
    assert [q.bid for q in got["BTCUSDT"][:2]] == [Decimal("17100.0"), Decimal("17101.0")]
    assert [q.ask for q in got["ADAUSDT"][:2]] == [Decimal("0.3070"), Decimal("0.3071")]
    assert all(q.bid > 1000 for q in got["BTCUSDT"]) and all(q.bid < 1 for q in got["ADAUSDT"])
