"""Best bid and ask from the market-data stream (QuoteStream), through alpaca-py over the fake's msgpack
socket: real SPY bid/ask of 7 Oct 2013 (the bundled quote bars, QuantConnect Lean, Apache-2.0)."""

from __future__ import annotations

import asyncio
import csv
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from alpaca_fake_server import FakeAlpaca, FakeAlpacaController
from tradebot_alpaca.broker import AlpacaBroker
from tradebot_alpaca.quotes import quote_from_stream

from tradebot.brokers.protocol import QuoteStream
from tradebot.domain.bars import Bar
from tradebot.domain.quotes import Quote

SHARED_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
QUOTES = SHARED_DATA / "spy_1m_quotes_2013-10-04_2013-10-11.csv"

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not QUOTES.exists(), reason=f"bundled data {QUOTES} not present"),
]


def _quotes(first: str, count: int) -> list[tuple[datetime, Decimal, Decimal]]:
    """``count`` minutes from ``first``: each minute's closing bid and ask, stamped at the minute's end."""
    with QUOTES.open() as fh:
        rows = [r for r in csv.DictReader(fh) if r["ts"] >= first][:count]
    return [(datetime.fromisoformat(r["ts"].replace("Z", "+00:00")) + timedelta(minutes=1),
             Decimal(r["bid_close"]), Decimal(r["ask_close"])) for r in rows]


async def _until(check: object, what: str) -> None:
    async with asyncio.timeout(10):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def test_the_broker_streams_spy_best_bid_and_ask(
    alpaca_broker: AlpacaBroker, fake_alpaca: FakeAlpaca
) -> None:
    assert isinstance(alpaca_broker, QuoteStream)
    spy = await alpaca_broker.instrument("SPY")
    feed = alpaca_broker.quotes(spy)
    first = asyncio.create_task(anext(feed))  # subscribes on the first read
    await _until(lambda: fake_alpaca.quotes_subscribed("SPY"), "the quote subscription")
    real = _quotes("2013-10-07T13:30", 5)
    ts0 = real[0][0]
    await fake_alpaca.publish_quote("SPY", Decimal(0), real[0][2], ts0)  # an empty bid: not a quote
    for ts, bid, ask in real:
        await fake_alpaca.publish_quote("SPY", bid, ask, ts)
    received = [await first] + [await anext(feed) for _ in real[1:]]
    assert received == [Quote(ts, bid, ask) for ts, bid, ask in real]
    assert all(q.ts.tzinfo is UTC for q in received)
    await feed.aclose()


async def test_quotes_resume_after_a_dropped_stream_and_bars_keep_flowing(
    alpaca_broker: AlpacaBroker, fake_alpaca: FakeAlpaca, alpaca_venue: FakeAlpacaController
) -> None:
    spy = await alpaca_broker.instrument("SPY")
    bars = alpaca_broker.bars(spy, 60)
    feed = alpaca_broker.quotes(spy)
    next_bar = asyncio.create_task(anext(bars))
    next_quote = asyncio.create_task(anext(feed))
    await _until(lambda: fake_alpaca.quotes_subscribed("SPY") and any("SPY" in s.bars
                 for s in fake_alpaca.data_sessions), "bars and quotes on one stream")
    real = _quotes("2013-10-07T14:00", 3)
    await fake_alpaca.publish_quote("SPY", real[0][1], real[0][2], real[0][0])
    assert await next_quote == Quote(*real[0])
    bar = Bar("SPY", real[0][0] - timedelta(minutes=1), 168.1, 168.2, 168.0, 168.1, 1000.0)
    await alpaca_venue.push_bar(bar)
    assert (await next_bar).ts == bar.ts  # the bars subscription survived adding the quotes

    await fake_alpaca.drop_streams(trading=False, data=True)
    await _until(lambda: fake_alpaca.quotes_subscribed("SPY"), "the quotes resubscribed after the drop")
    await fake_alpaca.publish_quote("SPY", real[1][1], real[1][2], real[1][0])
    assert await asyncio.wait_for(anext(feed), 10) == Quote(*real[1])  # nothing to backfill: the next one
    await feed.aclose()
    await bars.aclose()


def test_a_raw_quote_needs_both_sides_and_a_time() -> None:
    ts = datetime(2013, 10, 7, 13, 31, tzinfo=UTC)
    assert quote_from_stream({"S": "SPY", "bp": 168.1, "ap": 168.11, "t": ts}) == Quote(
        ts, Decimal("168.1"), Decimal("168.11"))
    assert quote_from_stream({"S": "SPY", "bp": 168.1, "ap": 0, "t": ts}) is None
    assert quote_from_stream({"S": "SPY", "bp": 168.1, "ap": 168.11}) is None
    assert quote_from_stream({"S": "SPY", "bp": "x", "ap": 168.11, "t": ts}) is None


@pytest.mark.parametrize("stream_quotes", [True, False])
async def test_configured_symbols_get_bars_and_quotes_in_one_subscription(
    fake_alpaca: FakeAlpaca, alpaca_env: None, stream_quotes: bool
) -> None:
    """At connect, the configured symbols' bars and (unless ``stream_quotes = false``) quotes are subscribed
    together: the run's TCA asking for quotes then restarts nothing (a restart would drop bars in flight)."""
    from tradebot_alpaca import plugin

    from tradebot.domain.clock import WallClock

    broker = plugin.factory(fake_alpaca.config(symbols=["SPY"], stream_quotes=stream_quotes), WallClock())
    assert isinstance(broker, AlpacaBroker)
    await broker.connect()
    try:
        await _until(lambda: any("SPY" in s.bars for s in fake_alpaca.data_sessions), "the bars subscription")
        (session,) = fake_alpaca.data_sessions
        assert session.quotes == ({"SPY"} if stream_quotes else set())
        feed = broker.quotes(await broker.instrument("SPY"))
        waiting = asyncio.create_task(anext(feed))
        await asyncio.sleep(0.3)
        assert fake_alpaca.data_sessions == [session]  # the same socket: nothing restarted
        real = _quotes("2013-10-07T15:00", 1)
        await fake_alpaca.publish_quote("SPY", real[0][1], real[0][2], real[0][0])
        if stream_quotes:
            assert await asyncio.wait_for(waiting, 5) == Quote(*real[0])
        else:
            await asyncio.sleep(0.3)
            assert not waiting.done()  # silent: the run's TCA stays on its proxy
        waiting.cancel()
        await feed.aclose()
    finally:
        await broker.close()
