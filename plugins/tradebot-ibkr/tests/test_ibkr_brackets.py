"""Brackets through the adapter: parent + target + stop in one OCA group, filled, cancelled, ending flat."""

from __future__ import annotations

import asyncio
import csv
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from ibkr_fake_tws import FakeTws, FakeTwsController
from ibkr_test_support import limit, minute_bar, order_events, quiet, take, wait_until
from tradebot_ibkr.broker import IbkrBroker

from tradebot.domain.bars import Bar
from tradebot.domain.events import BrokerEvent, OrderCanceled, OrderFilled
from tradebot.domain.orders import Bracket, Side

pytestmark = pytest.mark.timeout(30)

ES_WEEK = "es_esz13_1m_2013-10-06_2013-10-11.csv"


def es_week_path() -> Path | None:
    """The ES week bundled with tradebot (its package data)."""
    from tradebot.feeds.sample import sample_path

    path = sample_path()
    return path if path.name == ES_WEEK and path.exists() else None


def load_bars(path: Path, symbol: str, limit_rows: int) -> list[Bar]:
    out = []
    with path.open() as fh:
        for row in csv.DictReader(fh):
            ts = datetime.fromisoformat(row["ts"].replace("Z", "+00:00"))
            out.append(
                Bar(
                    symbol,
                    ts,
                    float(row["open"]),
                    float(row["high"]),
                    float(row["low"]),
                    float(row["close"]),
                    float(row["volume"]),
                    60,
                )
            )
            if len(out) == limit_rows:
                break
    return out


def summary(events: list[BrokerEvent]) -> list[tuple[str, str]]:
    return [(e.kind, e.client_order_id) for e in events if isinstance(e, (OrderFilled, OrderCanceled))]


async def subscribe(broker: IbkrBroker, tws: FakeTws) -> asyncio.Future[Bar]:
    stream = broker.bars(await broker.instrument("MES"), 60)
    first = asyncio.ensure_future(stream.__anext__())
    await wait_until(lambda: any(s.rt_bars for s in tws.live_sessions()))
    return first


async def test_bracket_goes_out_as_one_oca_group_transmitted_by_the_last_leg(
    broker: IbkrBroker, tws: FakeTws
) -> None:
    events = broker.events()
    await broker.submit(limit("br1", Side.BUY, "5800", bracket=Bracket(Decimal("5795"), Decimal("5810"))))
    placed = [f for f in tws.received if f[0] == "3"]
    assert [(f[26], f[27], f[18], f[16]) for f in placed] == [  # orderRef, transmit, type, action
        ("br1", "0", "LMT", "BUY"),
        ("br1-tp", "0", "LMT", "SELL"),
        ("br1-sl", "1", "STP", "SELL"),
    ]
    parent_id = placed[0][1]
    assert [f[28] for f in placed[1:]] == [parent_id, parent_id]  # parentId
    assert [(f[22], f[47]) for f in placed] == [
        ("", "0"),
        ("oca-br1", "1"),
        ("oca-br1", "1"),
    ]  # ocaGroup, type
    assert [tws.order_by_ref(r).status for r in ("br1", "br1-tp", "br1-sl")] == [
        "Submitted",
        "PreSubmitted",
        "PreSubmitted",
    ]
    accepted = await take(events, 3, keep=order_events)
    assert [e.client_order_id for e in accepted] == ["br1", "br1-tp", "br1-sl"]  # type: ignore[union-attr]


async def test_target_fills_and_oca_cancels_the_stop_ending_flat(
    broker: IbkrBroker, venue: FakeTwsController, tws: FakeTws
) -> None:
    events = broker.events()
    first = await subscribe(broker, tws)
    await broker.submit(limit("bt1", Side.BUY, "5800", bracket=Bracket(Decimal("5795"), Decimal("5810"))))
    await take(events, 3, keep=order_events)
    await venue.push_bar(minute_bar(30, 5802.0, 5803.0, 5799.5, 5801.0))  # entry fills at 5800
    await venue.push_bar(minute_bar(31, 5801.0, 5810.5, 5800.5, 5809.0))  # target at 5810
    got = summary(await take(events, 3, keep=order_events))
    assert got == [("order_filled", "bt1"), ("order_filled", "bt1-tp"), ("order_canceled", "bt1-sl")]
    assert (await asyncio.wait_for(first, 3)).close == 5801.0
    assert await broker.positions() == [] == await venue.venue_positions()
    assert await broker.open_orders() == []
    assert await quiet(events) == []


async def test_stop_fills_and_oca_cancels_the_target_on_a_short(
    broker: IbkrBroker, venue: FakeTwsController, tws: FakeTws
) -> None:
    events = broker.events()
    await subscribe(broker, tws)
    await broker.submit(limit("bs1", Side.SELL, "5800", bracket=Bracket(Decimal("5804"), Decimal("5790"))))
    await take(events, 3, keep=order_events)
    await venue.push_bar(minute_bar(30, 5799.0, 5800.25, 5798.0, 5799.5))  # entry (sell limit) fills
    await venue.push_bar(minute_bar(31, 5799.5, 5805.0, 5799.0, 5804.5))  # stop (buy) triggers at 5804
    got = await take(events, 3, keep=order_events)
    assert summary(got) == [("order_filled", "bs1"), ("order_filled", "bs1-sl"), ("order_canceled", "bs1-tp")]
    stop_fill = got[1]
    assert (
        isinstance(stop_fill, OrderFilled) and stop_fill.side is Side.BUY and stop_fill.price == Decimal(5804)
    )
    assert await broker.positions() == []


async def test_cancelling_an_unfilled_parent_cancels_its_children(
    broker: IbkrBroker, venue: FakeTwsController
) -> None:
    events = broker.events()
    await broker.submit(limit("bc1", Side.BUY, "5700", bracket=Bracket(Decimal("5690"), Decimal("5720"))))
    await take(events, 3, keep=order_events)
    await broker.cancel("bc1")
    got = await take(events, 3, keep=order_events)
    assert sorted(summary(got)) == [
        ("order_canceled", "bc1"),
        ("order_canceled", "bc1-sl"),
        ("order_canceled", "bc1-tp"),
    ]
    assert await venue.venue_open_orders() == []


async def test_es_week_streamed_as_5s_bars_with_brackets_ends_flat(
    broker: IbkrBroker, venue: FakeTwsController, tws: FakeTws
) -> None:
    path = es_week_path()
    if path is None:
        pytest.skip(f"{ES_WEEK} not found")
    bars = load_bars(path, "MES", 150)
    events = broker.events()
    inst = await broker.instrument("MES")
    stream = broker.bars(inst, 60)
    received: list[Bar] = []

    async def consume() -> None:
        async for bar in stream:
            received.append(bar)

    consumer = asyncio.ensure_future(consume())
    await wait_until(lambda: any(s.rt_bars for s in tws.live_sessions()))
    placed = []
    for i, bar in enumerate(bars):
        if i in (20, 70):  # a bracket around the last close, the way a strategy would
            coid = f"es{i}"
            entry = inst.round_price(bar.close)
            await broker.submit(
                limit(
                    coid,
                    Side.BUY,
                    str(entry),
                    bracket=Bracket(entry - Decimal("0.75"), entry + Decimal("0.5")),
                )
            )
            placed.append(coid)
        await venue.push_bar(bar)
    await wait_until(lambda: len(received) == len(bars))
    consumer.cancel()
    assert received == bars  # every bar, exact OHLCV, in order, no duplicates
    quality = broker.feed_quality("MES", 60)
    assert quality is not None and quality.dropped_late == 0 and quality.incomplete_bars == 0
    outcome = summary(await quiet(events, settle=0.5))
    for coid in placed:
        assert ("order_filled", coid) in outcome
        legs = {kind for kind, c in outcome if c in (f"{coid}-tp", f"{coid}-sl")}
        assert legs == {"order_filled", "order_canceled"}  # one exit filled, its sibling cancelled by OCA
    assert await broker.positions() == [] and await venue.venue_open_orders() == []
