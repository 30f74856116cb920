"""The pipeline's lifecycle: stages in an anyio task group, joined by fast-path channels.

    source (feed or broker bars) -> ingest (validate) -> signals (ensemble) -> decide (engine) -> store

The source stops taking bars on SIGINT/SIGTERM (or ``request_stop``); the stages then drain what is in
flight, the store is flushed, and the run ends normally. Broker events from a live venue are merged into
the decide stage's input, so one task owns all trading state.

Fail closed: an exception that escapes any stage (the feed, ingest, signals, the decide stage with its
sizer, gates, portfolio, recorder and OMS, the broker events or the intents) stops every stage at once —
nothing is decided or sent after it — and ``run`` records it and moves the trading state to HALTED
(``pipeline.failure.fail_closed``), then raises ``PipelineFailed`` (one exception, never a group).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import anyio

from tradebot.domain.bars import Bar
from tradebot.domain.clock import Clock
from tradebot.domain.events import BrokerEvent
from tradebot.domain.signals import Signal, SleeveSignals
from tradebot.pipeline.channel import Receiver, Sender, channel
from tradebot.pipeline.engine import DecisionEngine
from tradebot.pipeline.failure import StageFailure, fail_closed
from tradebot.pipeline.gc_policy import collect_between_items
from tradebot.pipeline.stop import StopRequest


@dataclass(frozen=True, slots=True)
class RefusedBar:
    """A bar (or a line of a bar file) that ingest refused, with its reason code."""

    code: str
    detail: str
    line: int | None = None
    symbol: str | None = None


# a bar with the line it came from (None for broker bars), or a refusal by the feed
SourceItem = tuple[int | None, Bar] | RefusedBar


@dataclass(frozen=True, slots=True)
class ExternalIntent:
    """An intent (or a refusal) from an external source, on its way to the decide stage."""

    item: Any


DecideItem = tuple[Bar, Signal | SleeveSignals | None] | BrokerEvent | ExternalIntent | tuple[None, None]
END_OF_BARS: tuple[None, None] = (None, None)  # the signal stage's last word: the decide stage ends on it


class SignalSource(Protocol):
    def on_bar(self, bar: Bar) -> Signal | SleeveSignals | None: ...


class Validator(Protocol):
    def check(self, bar: Bar) -> str | None: ...


class Pipeline:
    def __init__(
        self,
        *,
        source: AsyncIterator[SourceItem],
        validator: Validator,
        ensembles: dict[str, SignalSource],
        engine: DecisionEngine,
        broker_events: AsyncIterator[BrokerEvent] | None = None,
        intents: AsyncIterator[Any] | None = None,
        on_refused: Callable[[RefusedBar], None] | None = None,
        capacity: int = 1024,
        refusals_recorded_through_line: int = 0,
        refusals_recorded_through: Mapping[str, int] | None = None,
        max_bars: int | None = None,
        stop_at: datetime | None = None,
        wall_clock: Clock | None = None,
        stop: StopRequest | None = None,
    ) -> None:
        self.source = source
        self.validator = validator
        self.ensembles = ensembles
        self.engine = engine
        self.broker_events = broker_events
        self.intents = intents  # external intents (ParsedIntent | IntentRefusal), into the same gates
        self.on_refused = on_refused
        self.capacity = capacity
        # resuming: refusals of file lines up to here are already in the store
        self.refusals_recorded_through_line = refusals_recorded_through_line
        # several files: the last recorded refused line of each (by feed symbol)
        self.refusals_recorded_through = refusals_recorded_through
        self.max_bars = max_bars  # stop intake after this many accepted bars (None: until the source ends)
        # the session's end: no bar closing after it is taken; on the wall clock a watcher also stops
        # intake at that time when no bar comes
        self.stop_at = stop_at
        self.wall_clock = wall_clock
        self.stop = stop  # the run's signal handling; without it, the pipeline takes SIGINT/SIGTERM itself
        self.stale_poll_s = 5.0  # how often a wall-clock run checks for an overdue bar
        self._stop = anyio.Event()
        self._waiting: anyio.CancelScope | None = None  # set while intake waits for the source
        self._all: anyio.CancelScope | None = None  # every task of the run: a stage failure cancels it
        self._failed: tuple[str, BaseException] | None = None  # the first stage that failed, and its error
        self.failure: StageFailure | None = None

    def request_stop(self) -> None:
        """Stop taking new bars; what is in flight is still processed."""
        self._stop.set()
        if self._waiting is not None:
            self._waiting.cancel()  # a quiet feed (market closed, gateway down) must not hold the stop

    async def run(self, handle_signals: bool = True) -> None:
        to_signals: tuple[Sender[Bar], Receiver[Bar]] = channel(self.capacity)
        to_decide: tuple[Sender[DecideItem], Receiver[DecideItem]] = channel(self.capacity)
        async with anyio.create_task_group() as tg:
            self._all = tg.cancel_scope
            if self.stop is not None:
                tg.start_soon(self._stop_watch, self.stop)
            elif handle_signals:
                tg.start_soon(self._signals_watch)
            if self.broker_events is not None:
                events, sender = self.broker_events, to_decide[0].clone()
                tg.start_soon(self._guarded, "broker events", self._events_stage, events, sender)
            if self.intents is not None:
                intents = self.intents
                tg.start_soon(self._guarded, "intents", self._intents_stage, intents, to_decide[0].clone())
            if self.stop_at is not None and self.wall_clock is not None:
                tg.start_soon(self._stop_at_watch, self.stop_at, self.wall_clock)
            if self.wall_clock is not None:
                tg.start_soon(self._guarded, "stale data watch", self._stale_data_watch, self.wall_clock)
            async with anyio.create_task_group() as stages:
                stages.start_soon(self._guarded, "ingest", self._ingest_stage, to_signals[0])
                stages.start_soon(self._guarded, "signals", self._signal_stage, to_signals[1], to_decide[0])
                stages.start_soon(self._guarded, "decide", self._decide_stage, to_decide[1])
            tg.cancel_scope.cancel()  # the bar stages are done: stop watchers and the event merger
        if self._failed is not None:
            stage, exc = self._failed
            failed = fail_closed(self.engine, stage, exc)
            self.failure = failed.failure
            raise failed from exc

    async def _guarded(self, stage: str, run_stage: Callable[..., Any], *args: Any) -> None:
        """Run one stage; an exception out of it stops every stage at once (``run`` records it)."""
        try:
            await run_stage(*args)
        except Exception as exc:  # noqa: BLE001 - fail closed: classified and recorded by ``run``
            if self._failed is None:
                self._failed = (stage, exc)
            self._stop.set()
            if self._all is not None:
                self._all.cancel()

    async def _stop_watch(self, stop: StopRequest) -> None:
        with stop.subscribe(self.request_stop):
            await anyio.sleep_forever()

    async def _signals_watch(self) -> None:
        import signal

        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                self.request_stop()

    async def _stop_at_watch(self, stop_at: datetime, clock: Clock) -> None:
        while (remaining := (stop_at - clock.now()).total_seconds()) > 0:
            await anyio.sleep(min(remaining, 5.0))
        self.request_stop()

    async def _stale_data_watch(self, clock: Clock) -> None:
        """On the wall clock a silent feed sends no bar to look at: ask every few seconds whether the
        next bar is overdue (ALERT_STALE_DATA, from the engine's ops hooks)."""
        while True:
            await anyio.sleep(self.stale_poll_s)
            self.engine.ops.check_data_age(clock.now())

    async def _ingest_stage(self, out: Sender[Bar]) -> None:
        accepted = 0
        async with _closing(out):
            if self._stop.is_set():
                return
            # one cancel scope for the whole intake (not one per bar): request_stop cancels it, so a quiet
            # source (market closed, gateway down) cannot hold the stop; a bar not yet sent is not taken
            with anyio.CancelScope() as scope:
                self._waiting = scope
                try:
                    async for item in self.source:
                        if self._stop.is_set() or (self.max_bars is not None and accepted >= self.max_bars):
                            break
                        if isinstance(item, RefusedBar):
                            self._refuse(item)
                            continue
                        line, bar = item
                        if self.stop_at is not None and bar.end > self.stop_at:
                            break  # the session is over
                        code = self.validator.check(bar)
                        if code is not None:
                            self._refuse(
                                RefusedBar(code, f"bar at {bar.ts.isoformat()} refused", line, bar.symbol)
                            )
                            continue
                        accepted += 1
                        await out.send(bar)
                        if self.max_bars is not None and accepted >= self.max_bars:
                            break  # on a live feed, do not wait for one more bar
                finally:
                    self._waiting = None

    def _refuse(self, refused: RefusedBar) -> None:
        if refused.line is not None:
            through = self.refusals_recorded_through
            last = (
                through.get(refused.symbol or "", 0) if through is not None
                else self.refusals_recorded_through_line
            )
            if refused.line <= last:
                return
        self.engine.stats.bars_refused[refused.code] += 1
        if self.on_refused is not None:
            self.on_refused(refused)

    async def _signal_stage(self, bars: Receiver[Bar], out: Sender[DecideItem]) -> None:
        async with _closing(out):
            async for bar in bars:
                ensemble = self.ensembles.get(bar.symbol)
                signal = ensemble.on_bar(bar) if ensemble is not None else None
                await out.send((bar, signal))
            await out.send(END_OF_BARS)

    async def _decide_stage(self, items: Receiver[DecideItem]) -> None:
        with collect_between_items() as collector:
            async for item in items:
                if item is END_OF_BARS:
                    break
                if isinstance(item, tuple):
                    bar, signal = item
                    assert bar is not None
                    await self.engine.on_bar(bar, signal)
                elif isinstance(item, ExternalIntent):
                    await self.engine.on_external(item.item)
                else:
                    self.engine.on_broker_event(item)
                collector.maybe_collect()  # between items: never between a bar and its order

    async def _events_stage(self, events: AsyncIterator[BrokerEvent], out: Sender[DecideItem]) -> None:
        async with _closing(out):
            async for event in events:
                await out.send(event)

    async def _intents_stage(self, intents: AsyncIterator[Any], out: Sender[DecideItem]) -> None:
        async with _closing(out):
            async for item in intents:
                await out.send(ExternalIntent(item))


class _closing:
    def __init__(self, sender: Sender[Bar] | Sender[DecideItem]) -> None:
        self.sender = sender

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        await self.sender.aclose()
