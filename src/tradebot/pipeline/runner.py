"""The pipeline's lifecycle: stages in an anyio task group, joined by fast-path channels.

    source (feed or broker bars) -> ingest (validate) -> signals (ensemble) -> decide (engine) -> store

The source stops taking bars on SIGINT/SIGTERM (or ``request_stop``); the stages then drain what is in
flight, the store is flushed, and the run ends normally. Broker events from a live venue are merged into
the decide stage's input, so one task owns all trading state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import anyio

from tradebot.domain.bars import Bar
from tradebot.domain.clock import Clock
from tradebot.domain.events import BrokerEvent
from tradebot.domain.signals import Signal
from tradebot.pipeline.channel import Receiver, Sender, channel
from tradebot.pipeline.engine import DecisionEngine
from tradebot.pipeline.gc_policy import collect_between_items


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


DecideItem = tuple[Bar, Signal | None] | BrokerEvent | ExternalIntent | tuple[None, None]
END_OF_BARS: tuple[None, None] = (None, None)  # the signal stage's last word: the decide stage ends on it


class SignalSource(Protocol):
    def on_bar(self, bar: Bar) -> Signal | None: ...


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
        max_bars: int | None = None,
        stop_at: datetime | None = None,
        wall_clock: Clock | None = None,
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
        self.max_bars = max_bars  # stop intake after this many accepted bars (None: until the source ends)
        # the session's end: no bar closing after it is taken; on the wall clock a watcher also stops
        # intake at that time when no bar comes
        self.stop_at = stop_at
        self.wall_clock = wall_clock
        self._stop = anyio.Event()
        self._waiting: anyio.CancelScope | None = None  # set while intake waits for the source

    def request_stop(self) -> None:
        """Stop taking new bars; what is in flight is still processed."""
        self._stop.set()
        if self._waiting is not None:
            self._waiting.cancel()  # a quiet feed (market closed, gateway down) must not hold the stop

    async def run(self, handle_signals: bool = True) -> None:
        to_signals: tuple[Sender[Bar], Receiver[Bar]] = channel(self.capacity)
        to_decide: tuple[Sender[DecideItem], Receiver[DecideItem]] = channel(self.capacity)
        async with anyio.create_task_group() as tg:
            if handle_signals:
                tg.start_soon(self._signals_watch)
            if self.broker_events is not None:
                tg.start_soon(self._events_stage, self.broker_events, to_decide[0].clone())
            if self.intents is not None:
                tg.start_soon(self._intents_stage, self.intents, to_decide[0].clone())
            if self.stop_at is not None and self.wall_clock is not None:
                tg.start_soon(self._stop_at_watch, self.stop_at, self.wall_clock)
            async with anyio.create_task_group() as stages:
                stages.start_soon(self._ingest_stage, to_signals[0])
                stages.start_soon(self._signal_stage, to_signals[1], to_decide[0])
                stages.start_soon(self._decide_stage, to_decide[1])
            tg.cancel_scope.cancel()  # the bar stages are done: stop watchers and the event merger

    async def _signals_watch(self) -> None:
        import signal

        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                self.request_stop()

    async def _stop_at_watch(self, stop_at: datetime, clock: Clock) -> None:
        while (remaining := (stop_at - clock.now()).total_seconds()) > 0:
            await anyio.sleep(min(remaining, 5.0))
        self.request_stop()

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
        if refused.line is not None and refused.line <= self.refusals_recorded_through_line:
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
