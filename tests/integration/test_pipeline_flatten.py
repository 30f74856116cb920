"""The flatten deadline through the real engine, gates and simulated venue on real ES bars.

A scripted strategy (a Sizer: the pipeline's pluggable strategy slot) buys one MES at 15:31 ET with a
bracket far away; at the 15:55 ET deadline the pipeline must cancel the bracket legs and flatten with a
reduce-only market order that fills at the next bar's open — and the position must stay flat after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tradebot.brokers.sim import create_broker
from tradebot.domain.calendars import shared_calendars
from tradebot.domain.clock import ReplayClock
from tradebot.domain.orders import ExitPlan, OrderIntent, Side
from tradebot.domain.state import Mode
from tradebot.feeds.csv_bars import CsvBarFeed
from tradebot.ingest.validation import BarValidator
from tradebot.pipeline.engine import DecisionEngine, SizingInput
from tradebot.pipeline.portfolio import Portfolio
from tradebot.pipeline.runner import Pipeline, SourceItem
from tradebot.pipeline.stats import RunStats
from tradebot.pipeline.store_recorder import StoreRecorder
from tradebot.risk.build import DEFAULT_CHAIN, build_chain
from tradebot.risk.constitution import load_constitution
from tradebot.risk.flatten import SessionFlattener
from tradebot.risk.tracker import RiskTracker
from tradebot.settings import load_settings
from tradebot.signals import build_ensemble
from tradebot.store import EventWriter, StoreReader

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "src" / "tradebot" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"
NY = ZoneInfo("America/New_York")
DAY = "2013-10-10"


def buy_once_at_1531(inp: SizingInput) -> tuple[Sequence[OrderIntent], dict[str, Any]]:
    local = inp.now.astimezone(NY)
    if inp.position_qty != 0 or local.time() != time(15, 31) or local.date().isoformat() != DAY:
        return [], {}
    price = Decimal(repr(inp.signal.reference_price))
    intent = OrderIntent(
        intent_id=f"MES-{local:%Y%m%dT%H%M}-scripted",
        symbol="MES",
        side=Side.BUY,
        quantity=Decimal(1),
        ts=inp.now,
        reference_price=price,
        confidence=0.95,
        regime="normal_vol",
        exit_plan=ExitPlan(stop_loss=price - Decimal(3), take_profit=price + Decimal(40)),
        bar_ts=inp.signal.bar_ts,
    )
    return [intent], {"scripted": True}


@pytest.mark.timeout(120)
async def test_flatten_deadline_cancels_legs_and_leaves_the_day_flat(tmp_path: Path) -> None:
    settings = load_settings(REPO / "config" / "tradebot.toml")
    instrument = settings.instrument("MES")
    constitution = load_constitution(REPO / "config" / "constitution.yaml")
    bars = [item[1] for item in CsvBarFeed(SAMPLE, symbol="MES") if isinstance(item, tuple)]
    bars = [b for b in bars if b.ts.astimezone(NY).date().isoformat() <= DAY]
    clock = ReplayClock(bars[0].ts)
    broker = create_broker({"fee_bps": 0.5}, clock)
    broker.register_instrument(instrument)
    calendars = shared_calendars()
    tracker = RiskTracker({"MES": instrument}, calendars)
    store = tmp_path / "flatten.db"

    async def source() -> AsyncIterator[SourceItem]:
        for bar in bars:
            yield (None, bar)

    async with EventWriter.open(store, durable_sync="normal") as writer:
        engine = DecisionEngine(
            mode=Mode.OBSERVE,
            clock=clock,
            instruments={"MES": instrument},
            broker=broker,
            portfolio=Portfolio(Decimal(10000), {"MES": instrument}),
            chain=build_chain(list(DEFAULT_CHAIN), constitution, calendars=calendars),
            sizer=buy_once_at_1531,
            recorder=StoreRecorder(writer),
            stats=RunStats(),
            limits=lambda s: constitution.rules_for(s).limits,
            flattener=SessionFlattener(constitution, calendars, tracker),
            tracker=tracker,
        )
        await broker.connect()
        pipeline = Pipeline(
            source=source(),
            validator=BarValidator(),
            ensembles={"MES": build_ensemble("aggressive", "MES")},
            engine=engine,
        )
        await pipeline.run(handle_signals=False)
        await broker.close()

    with StoreReader(store) as reader:
        events = list(reader.iter_events())
    decisions = [e for e in events if e.kind == "decision"]
    entry = [d for d in decisions if d.body["intent"]["intent_id"].endswith("scripted")]
    assert entry and entry[0].body["outcome"] == "APPROVED"
    flatten = [d for d in decisions if d.body["intent"]["source"] == "flatten"]
    assert flatten, "no flatten intent at the deadline"
    assert flatten[0].body["outcome"] == "APPROVED"
    assert flatten[0].ts.astimezone(NY).time() == time(15, 55)  # decided at the deadline, not later
    cancels = [e for e in events if e.kind == "order_canceled"]
    assert {c.client_order_id.rsplit("-", 1)[1] for c in cancels} >= {"sl", "tp"}
    position = Decimal(0)
    for event in events:
        if event.kind == "order_filled":
            position += (1 if event.body["side"] == "BUY" else -1) * Decimal(event.body["quantity"])
        if event.kind == "bar":
            opened = datetime.fromisoformat(event.body["ts"]).astimezone(NY)
            if opened.date().isoformat() == DAY and opened.time() >= time(15, 57):
                assert position == 0, f"still {position} at {opened}"
    assert position == 0
