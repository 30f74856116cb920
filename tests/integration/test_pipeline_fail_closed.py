"""The stage tasks that only a live run has (external intents, a venue's event stream) fail closed too:
the real engine, gates, simulated venue and store on real ES bars, with the failing source given."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradebot.brokers.sim import create_broker
from tradebot.domain.calendars import shared_calendars
from tradebot.domain.clock import ReplayClock
from tradebot.domain.events import BrokerEvent
from tradebot.domain.state import Mode
from tradebot.feeds.csv_bars import CsvBarFeed
from tradebot.ingest.validation import BarValidator
from tradebot.ops.alerts import build_sinks
from tradebot.pipeline.engine import DecisionEngine
from tradebot.pipeline.failure import PipelineFailed
from tradebot.pipeline.ops_hooks import OpsHooks
from tradebot.pipeline.portfolio import Portfolio
from tradebot.pipeline.runner import Pipeline, SourceItem
from tradebot.pipeline.stats import RunStats
from tradebot.pipeline.store_recorder import StoreRecorder
from tradebot.risk.build import DEFAULT_CHAIN, build_chain
from tradebot.risk.constitution import load_constitution
from tradebot.risk.tracker import RiskTracker
from tradebot.settings import load_settings
from tradebot.signals import build_ensemble
from tradebot.sizing import EngineSizer, FixedFractionParams, FixedFractionSizer
from tradebot.store import EventWriter, StoreReader

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "src" / "tradebot" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"


async def _broken(after: int) -> AsyncIterator[Any]:
    """A source that fails after ``after`` bars have been decided (a live stream dying mid-run)."""
    for _ in range(after):
        yield None
    raise OSError("stream reset by peer")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("stage", ["intents", "broker events"])
async def test_a_failing_live_stage_stops_every_stage_and_halts(tmp_path: Path, stage: str) -> None:
    settings = load_settings(REPO / "config" / "tradebot.toml")
    instrument = settings.instrument("MES")
    constitution = load_constitution(REPO / "config" / "constitution.yaml")
    bars = [item[1] for item in CsvBarFeed(SAMPLE, symbol="MES") if isinstance(item, tuple)][:3000]
    clock = ReplayClock(bars[0].ts)
    broker = create_broker({"fee_bps": 0.5}, clock)
    broker.register_instrument(instrument)
    calendars = shared_calendars()
    store = tmp_path / "failed.db"
    taken = 0

    async def source() -> AsyncIterator[SourceItem]:
        nonlocal taken
        for bar in bars:
            taken += 1
            yield (None, bar)

    async def failing() -> AsyncIterator[Any]:
        async for _ in _broken(0):
            yield _

    async with EventWriter.open(store, durable_sync="normal") as writer:
        recorder = StoreRecorder(writer)
        alerts = build_sinks(lambda code, body: recorder.record(code, dict(body), ts=clock.now()))
        engine = DecisionEngine(
            mode=Mode.OBSERVE,
            clock=clock,
            instruments={"MES": instrument},
            broker=broker,
            portfolio=Portfolio(Decimal(10000), {"MES": instrument}),
            chain=build_chain(list(DEFAULT_CHAIN), constitution, calendars=calendars),
            sizer=EngineSizer(FixedFractionSizer(FixedFractionParams(fraction=Decimal("0.002")))),
            recorder=recorder,
            stats=RunStats(),
            limits=lambda s: constitution.rules_for(s).limits,
            tracker=RiskTracker({"MES": instrument}, calendars),
            ops=OpsHooks(dispatcher=alerts),
        )
        await broker.connect()
        events: AsyncIterator[BrokerEvent] | None = failing() if stage == "broker events" else None
        pipeline = Pipeline(
            source=source(),
            validator=BarValidator(),
            ensembles={"MES": build_ensemble("balanced", "MES")},
            engine=engine,
            broker_events=events,
            intents=failing() if stage == "intents" else None,
            capacity=16,
        )
        with pytest.raises(PipelineFailed) as raised:
            await pipeline.run(handle_signals=False)
        await broker.close()

    failure = raised.value.failure
    assert failure.stage == stage and failure.part == stage and failure.recorded
    assert failure.code == "UNKNOWN_ERROR_HALT" and "OSError: stream reset by peer" in failure.line()
    assert taken < len(bars)  # every stage stopped: the bars were not all taken
    assert engine.trading_state.value == "HALTED"
    with StoreReader(store) as reader:
        stored = list(reader.iter_events())
    error = next(e for e in stored if e.kind == "internal_error")
    assert error.body["stage"] == stage and error.body["error"] == "OSError: stream reset by peer"
    assert [e.kind for e in stored if e.seq > error.seq] == ["trading_state", "ALERT_HALT"]
