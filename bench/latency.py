"""Decision latency in live mode against the simulated venue on the wall clock.

Measured: from the moment a bar is handed to ingest (the pipeline's source iterator yields it) to the
moment ``submit`` is called on the broker, for every bar that leads to an order, with
``time.perf_counter_ns()`` taken by bench-side wrappers (the pipeline itself reads no wall clock for this).

Set-up (bench code only): ``run_session`` in mode ``live`` with ``data.source = "broker"`` and broker
``sim``, so the clock is the ``WallClock`` and bars come from the venue's ``bars()``; the venue's bar source
is a generator over the synthetic bar file whose timestamps are re-based to the current minute, so bars are
"now". The generator is closed-loop: it hands over the next bar only after the decision stage finished the
previous one and (``settle``, the default) the event store has committed what it recorded, as in live
trading where a bar arrives a minute after the last one was handled; no queueing delay is measured.
``settle=False`` (back to back) hands the next bar over at once, so the store's writer thread is still
committing the previous bar while the next decision runs. Workload ``busy`` (bench/config.py): aggressive
profile, every gate of the default chain on, limits wide enough that orders flow. The event store is on disk
with the order write-ahead committed with synchronous=FULL (what live uses): ``latency_disk``;
``latency_tmpfs`` puts the store on /dev/shm, which leaves out the fsync.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from bench.common import Figure, percentile
from bench.harness import patched

# bar handed to ingest -> OMS submit entered (ingest, the decision: bar, signal, sizer, gates, its record);
# -> the order's write-ahead committed; -> broker.submit called (what the recorder and the OMS do after it)
SEGMENTS = ("to_oms", "write_ahead", "to_broker")


@dataclass(slots=True)
class LatencyProbe:
    max_decisions: int
    entered: dict[datetime, int] = field(default_factory=dict)
    current: datetime | None = None
    samples_ns: list[int] = field(default_factory=list)
    # each sample cut in three (SEGMENTS), and the stamps of the order under way
    segments_ns: dict[str, list[int]] = field(default_factory=lambda: {name: [] for name in SEGMENTS})
    stamps: dict[str, int] = field(default_factory=dict)
    bars: int = 0
    done: asyncio.Event | None = None
    settle: bool = True  # hand the next bar over only once the store has committed the previous one


async def _paced_bars(path: Path, symbol: str, probe: LatencyProbe) -> AsyncIterator[Any]:
    from tradebot.feeds.csv_bars import CsvBarFeed

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    first: datetime | None = None
    probe.done = asyncio.Event()
    for item in CsvBarFeed(path, symbol=symbol, interval_s=60):
        if not isinstance(item, tuple):
            continue
        bar = item[1]
        first = first or bar.ts
        bar = replace(bar, ts=now + (bar.ts - first))
        if len(probe.samples_ns) >= probe.max_decisions:
            return
        probe.done.clear()
        probe.entered[bar.ts] = time.perf_counter_ns()
        probe.bars += 1
        yield bar
        await probe.done.wait()


@contextlib.contextmanager
def _hooks(data: Path, probe: LatencyProbe) -> Iterator[None]:
    import tradebot.pipeline.session as session
    from tradebot.oms.manager import OrderManager
    from tradebot.pipeline.engine import DecisionEngine
    from tradebot.pipeline.store_recorder import StoreRecorder

    build_broker = session._build_broker
    on_bar = DecisionEngine.on_bar
    oms_submit = OrderManager.submit
    record_durable = StoreRecorder.record_durable

    def build(settings: Any, *args: Any, **kwargs: Any) -> Any:
        broker: Any = build_broker(settings, *args, **kwargs)
        broker.attach_bar_source(_paced_bars(data, settings.data.symbol, probe))
        submit = broker.submit

        async def timed_submit(request: Any) -> None:
            stamp = time.perf_counter_ns()
            if probe.current is not None:
                entered = probe.entered[probe.current]
                probe.samples_ns.append(stamp - entered)
                oms, durable = probe.stamps.get("oms"), probe.stamps.get("durable")
                if oms is not None and durable is not None:
                    cuts = (oms - entered, durable - oms, stamp - durable)
                    for name, ns in zip(SEGMENTS, cuts, strict=True):
                        probe.segments_ns[name].append(ns)
            probe.stamps.clear()
            await submit(request)

        broker.submit = timed_submit
        return broker

    async def timed_on_bar(self: DecisionEngine, bar: Any, signal: Any) -> None:
        probe.current = bar.ts
        try:
            await on_bar(self, bar, signal)
        finally:
            probe.current = None
            probe.entered.pop(bar.ts, None)
            if probe.settle:
                await self.recorder.flush()  # live: the next bar comes a minute later, the writer is idle
            if probe.done is not None:
                probe.done.set()

    async def stamped_oms_submit(self: OrderManager, request: Any) -> Any:
        probe.stamps.clear()
        probe.stamps["oms"] = time.perf_counter_ns()
        return await oms_submit(self, request)

    async def stamped_record_durable(self: StoreRecorder, *args: Any, **kwargs: Any) -> None:
        await record_durable(self, *args, **kwargs)
        if "oms" in probe.stamps:
            probe.stamps.setdefault("durable", time.perf_counter_ns())

    with contextlib.ExitStack() as stack:
        stack.enter_context(patched(session, "_build_broker", build))
        stack.enter_context(patched(DecisionEngine, "on_bar", timed_on_bar))
        stack.enter_context(patched(OrderManager, "submit", stamped_oms_submit))
        stack.enter_context(patched(StoreRecorder, "record_durable", stamped_record_durable))
        yield


def run_latency(
    settings: Any, data: Path, store: Path, decisions: int, *, settle: bool = True
) -> LatencyProbe:
    from tradebot.pipeline.app import RunOptions
    from tradebot.pipeline.session import run_session

    live = settings.model_copy(update={
        "data": settings.data.model_copy(update={"source": "broker"}),
        "run": settings.run.model_copy(update={"mode": "live"}),
    })
    probe = LatencyProbe(max_decisions=decisions, settle=settle)
    with _hooks(data, probe):
        anyio.run(run_session, live, RunOptions(mode="live", store=store, quiet=True))
    return probe


def figures(
    prefix: str, samples_ns: list[int], segments_ns: dict[str, list[int]] | None = None
) -> list[Figure]:
    """p50/p99/max of one latency run, in µs (one run each: the samples are the distribution), and the p50
    of each of its segments."""
    us = [s / 1000 for s in samples_ns]
    out = []
    for name, value in (("p50", percentile(us, 50)), ("p99", percentile(us, 99)), ("max", max(us))):
        fig = Figure(f"{prefix}_{name}_us", "µs", better="lower")
        fig.add(value)
        out.append(fig)
    for segment, values in (segments_ns or {}).items():
        if values:
            fig = Figure(f"{prefix}_{segment}_p50_us", "µs", better="lower")
            fig.add(percentile([v / 1000 for v in values], 50))
            out.append(fig)
    return out
