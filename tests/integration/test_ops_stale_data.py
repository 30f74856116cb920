"""ALERT_STALE_DATA through the real engine and pipeline: the feed gave no bar for longer than
``stale_after_s`` past the bar that was due, while the exchange calendar says the market is open.

On the replay clock the gap is seen when the next bar arrives (real ES bars: the 2013 CME halts at
20:15-20:30 and 21:15-22:00 UTC are open hours in today's calendar, so they are stale data); on the wall
clock a watcher sees a silent feed while it is silent. Time comes from the injected clock only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest

from tradebot.brokers.sim import create_broker
from tradebot.domain.bars import Bar
from tradebot.domain.calendars import shared_calendars
from tradebot.domain.clock import ReplayClock
from tradebot.domain.orders import OrderIntent
from tradebot.domain.state import Mode
from tradebot.feeds.csv_bars import CsvBarFeed
from tradebot.ingest.validation import BarValidator
from tradebot.ops.alerts import Alert, AlertDispatcher, AlertRules, AlertThresholds, store_sink
from tradebot.pipeline.engine import DecisionEngine, SizingInput
from tradebot.pipeline.ops_hooks import OpsHooks
from tradebot.pipeline.portfolio import Portfolio
from tradebot.pipeline.recorder import Recorder
from tradebot.pipeline.runner import Pipeline, SourceItem
from tradebot.pipeline.stats import RunStats
from tradebot.pipeline.store_recorder import StoreRecorder
from tradebot.risk.build import DEFAULT_CHAIN, build_chain
from tradebot.risk.constitution import load_constitution
from tradebot.settings import load_settings
from tradebot.store import EventWriter, StoreReader

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "src" / "tradebot" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"
pytestmark = pytest.mark.timeout(120)


def no_orders(inp: SizingInput) -> tuple[Sequence[OrderIntent], Mapping[str, Any]]:
    return [], {}


def _engine(clock: ReplayClock, recorder: Recorder, ops: OpsHooks) -> DecisionEngine:
    settings = load_settings(REPO / "config" / "tradebot.toml")
    instrument = settings.instrument("MES")
    constitution = load_constitution(REPO / "config" / "constitution.yaml")
    broker = create_broker({}, clock)
    broker.register_instrument(instrument)
    return DecisionEngine(
        mode=Mode.OBSERVE,
        clock=clock,
        instruments={"MES": instrument},
        broker=broker,
        portfolio=Portfolio(Decimal(10000), {"MES": instrument}),
        chain=build_chain(list(DEFAULT_CHAIN), constitution, calendars=shared_calendars()),
        sizer=no_orders,
        recorder=recorder,
        stats=RunStats(),
        limits=lambda s: constitution.rules_for(s).limits,
        ops=ops,
    )


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def test_gaps_in_open_hours_of_real_es_bars_raise_stale_data_once_each(tmp_path: Path) -> None:
    removed = {_at(f"2013-10-08T14:0{m}") for m in range(4)}  # 4 bars: the next one is 240 s late
    removed |= {_at(f"2013-10-08T15:0{m}") for m in range(3)}  # 3 bars: 180 s late, not more
    bars = [
        item[1]
        for item in CsvBarFeed(SAMPLE, symbol="MES")
        if isinstance(item, tuple) and item[1].ts.date().isoformat() <= "2013-10-08"
    ]
    bars = [b for b in bars if b.ts not in removed]
    store = tmp_path / "stale.db"
    clock = ReplayClock(bars[0].ts)

    async def source() -> AsyncIterator[SourceItem]:
        for bar in bars:
            yield (None, bar)

    async with EventWriter.open(store, durable_sync="normal") as writer:
        recorder = StoreRecorder(writer)
        sink = store_sink(lambda code, body: recorder.record(code, dict(body), ts=clock.now()))
        ops = OpsHooks(
            rules=AlertRules(AlertThresholds(stale_after_s=180.0)), dispatcher=AlertDispatcher([sink])
        )
        engine = _engine(clock, recorder, ops)
        await Pipeline(source=source(), validator=BarValidator(), ensembles={}, engine=engine).run(
            handle_signals=False
        )

    with StoreReader(store) as reader:
        alerts = [e for e in reader.iter_events() if e.kind == "ALERT_STALE_DATA"]
    seen = [(e.ts.isoformat(), e.body["details"]["late_s"]) for e in alerts]
    assert seen == [
        ("2013-10-07T20:31:00+00:00", 900.0),  # the 15:15-15:30 CT halt of 2013
        ("2013-10-07T22:01:00+00:00", 2700.0),  # the 16:15-17:00 CT maintenance of 2013
        ("2013-10-08T14:05:00+00:00", 240.0),  # the four bars taken out
        ("2013-10-08T20:31:00+00:00", 900.0),
        ("2013-10-08T22:01:00+00:00", 2700.0),
    ]
    assert all(e.body["code"] == "ALERT_STALE_DATA" and e.body["details"]["symbol"] == "MES" for e in alerts)


class Feed:
    """A live feed on an injected clock: gives its bars, then falls silent until stopped."""

    def __init__(self, bars: list[Bar]) -> None:
        self.bars = bars
        self.silent = anyio.Event()

    async def __call__(self) -> AsyncIterator[SourceItem]:
        for bar in self.bars:
            yield (None, bar)
        self.silent.set()
        await anyio.sleep_forever()


def _bars(first: datetime, n: int) -> list[Bar]:
    return [
        Bar("MES", first + timedelta(minutes=i), 5000.0, 5001.0, 4999.0, 5000.5, 10.0, 60) for i in range(n)
    ]


async def _silent_feed_alerts(
    tmp_path: Path, first: datetime, silent_for: list[float], bars: int = 2
) -> list[list[Alert]]:
    """Run the pipeline on a wall clock (injected) over a feed that goes silent after ``bars`` bars;
    advance the clock by each of ``silent_for`` seconds after the last bar's end (after ``first`` without
    bars) and collect the alerts so far."""
    clock = ReplayClock(first)
    got: list[Alert] = []
    ops = OpsHooks(
        rules=AlertRules(AlertThresholds(stale_after_s=180.0)), dispatcher=AlertDispatcher([got.append])
    )
    feed = Feed(_bars(first, bars))
    if not bars:
        ops.watch("MES", "CME", 60, first)  # as a wall-clock run does before its first bar
    snapshots: list[list[Alert]] = []
    async with EventWriter.open(tmp_path / "live.db", durable_sync="normal") as writer:
        engine = _engine(clock, StoreRecorder(writer), ops)
        pipeline = Pipeline(
            source=feed(), validator=BarValidator(), ensembles={}, engine=engine, wall_clock=clock
        )
        pipeline.stale_poll_s = 0.01
        async with anyio.create_task_group() as tg:
            tg.start_soon(pipeline.run, False)
            await feed.silent.wait()
            with anyio.fail_after(5):
                while engine.stats.bars < bars:
                    await anyio.sleep(0.01)
            last_end = feed.bars[-1].end if bars else first
            for seconds in silent_for:
                clock.advance_to(last_end + timedelta(seconds=seconds))
                await anyio.sleep(0.1)  # several polls of the watcher
                snapshots.append(list(got))
            pipeline.request_stop()
    return snapshots


async def test_a_silent_live_feed_raises_stale_data_while_the_market_is_open(tmp_path: Path) -> None:
    # Tuesday 2024-03-05 14:30 UTC: CME open. The next bar is due 60 s after the last one's end.
    early, late = await _silent_feed_alerts(tmp_path, _at("2024-03-05T14:30"), [60 + 179, 60 + 181])
    assert early == []
    assert len(late) == 1 and late[0].code == "ALERT_STALE_DATA"
    assert late[0].details["symbol"] == "MES" and late[0].details["late_s"] == 181.0


async def test_a_feed_silent_over_the_weekend_is_not_stale(tmp_path: Path) -> None:
    # Friday 2024-03-08: the last bars before CME closes (17:00 CT, 23:00 UTC); silent for 10 minutes after
    (closed,) = await _silent_feed_alerts(tmp_path, _at("2024-03-08T22:58"), [600])
    assert closed == []


async def test_a_feed_silent_through_the_open_is_stale_once_the_market_has_been_open_long_enough(
    tmp_path: Path,
) -> None:
    # started on Saturday 2024-03-02 12:00 UTC, no bar ever; CME opens Sunday 17:00 CT = 23:00 UTC
    saturday = _at("2024-03-02T12:00")
    to_open = (_at("2024-03-03T23:00") - saturday).total_seconds()
    closed, just_open, stale = await _silent_feed_alerts(
        tmp_path, saturday, [3600, to_open + 120, to_open + 240], bars=0
    )
    assert closed == [] and just_open == []
    assert (
        len(stale) == 1
        and stale[0].code == "ALERT_STALE_DATA"
        and stale[0].details["last_bar_at"] is not None
    )
