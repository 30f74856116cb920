"""One run, assembled: settings → clock, venue, store, gates, ensemble, sizer → pipeline → summary.

Resuming: when the store already holds bars (a crashed or stopped run), the run resumes after the last
recorded bar. Earlier bars still flow through validation and the ensemble (to rebuild indicator state)
but not through decisions; positions and the order ledger are rebuilt from the store, then reconciled with
the venue (whose state survives the crash: the simulated venue is rebuilt from the store's own record of
the calls it received, so it never knows more than the store). A bar's events (the venue's fills on it,
the bar, its signal, sizing and decisions) are committed together or not at all, so a crash mid-bar leaves
either the whole bar or none of it, and a resumed run decides it exactly once; an order whose write-ahead
record is in the store is found at the venue by its client order id or reported as never sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from loguru import logger

from tradebot.analytics.attribution_watch import AttributionWatch
from tradebot.brokers.protocol import Broker
from tradebot.brokers.registry import PluginError, load_plugin
from tradebot.brokers.sim import SimBroker
from tradebot.domain import reasons
from tradebot.domain.clock import Clock, ReplayClock, WallClock
from tradebot.domain.instruments import Instrument
from tradebot.domain.state import Mode, TradingState
from tradebot.exit_codes import ExitCode
from tradebot.feeds.csv_bars import FeedError
from tradebot.feeds.sample import sample_path
from tradebot.intents import JsonlIntentSource
from tradebot.learning.apply import APPLIED_KIND, AppliedOverrides
from tradebot.learning.close_step import learning_step
from tradebot.learning.setup import LearningSetup
from tradebot.oms.client_ids import client_order_id
from tradebot.ops.alerts import AlertRules, build_sinks
from tradebot.ops.breakers import BreakerBoard
from tradebot.ops.canary import log_canary_mode
from tradebot.ops.control import ControlError, ControlServer
from tradebot.ops.logging import setup_logging
from tradebot.ops.manifest import MANIFEST_NAME, build_manifest, write_manifest
from tradebot.ops.metrics import Metrics, maybe_start_metrics_server
from tradebot.ops.notify import build_notifier
from tradebot.ops.secrets import register_secret
from tradebot.pipeline.app import RunOptions, RunRefused, instrument_body
from tradebot.pipeline.broker_feeds import broker_bars
from tradebot.pipeline.data_feeds import (
    FileFeed,
    data_name,
    feed_problems,
    file_feeds,
    first_bar_ts,
    merged_source,
)
from tradebot.pipeline.decision_snapshot import KIND as SNAPSHOT_KIND
from tradebot.pipeline.decision_snapshot import build_snapshot, snapshot_sha256
from tradebot.pipeline.end_of_data import report_undecided_intents
from tradebot.pipeline.engine import BarVenue, DecisionEngine
from tradebot.pipeline.failure import PipelineFailed, fail_closed
from tradebot.pipeline.guarded_broker import guard
from tradebot.pipeline.operator import OperatorControl
from tradebot.pipeline.ops_hooks import OpsHooks, OpsResources
from tradebot.pipeline.portfolio import Portfolio
from tradebot.pipeline.progress import bar_progress, data_rows
from tradebot.pipeline.resume import ResumeState, load_resume_state, reconcile_after_restart
from tradebot.pipeline.run_parts import (
    ConfigProblems,
    RunParts,
    bar_validator,
    build_parts,
    check_ai_sizers,
    configured_symbols,
    refuse,
    settings_calendars,
    shadow_runner,
    with_learned,
)
from tradebot.pipeline.runner import Pipeline, RefusedBar, SourceItem
from tradebot.pipeline.stats import RunStats
from tradebot.pipeline.stop import StopRequest
from tradebot.pipeline.store_choice import RunIdentity, check_continuable, choose_store, stored_run
from tradebot.pipeline.store_recorder import StoreRecorder
from tradebot.pipeline.summary import summarize_store
from tradebot.pipeline.tca_recorder import TcaRecorder, follow_broker_quotes, tca_watch
from tradebot.pipeline.venue_projection import VenueProjectionError, restore_venue
from tradebot.risk.flatten import SessionFlattener, flatten_intents
from tradebot.session import (
    STARTUP_CLEANUP_KIND,
    CloseJournal,
    ReconciliationFailed,
    SessionWindow,
    WindowPlan,
    close_session,
    instance_lock,
    load_session_progress,
    plan_window,
    regular_hours_of,
    session_window,
    startup_cleanup,
    wait_for_open,
    write_window_reports,
)
from tradebot.session.errors import SessionRefused
from tradebot.session.shutdown import open_day_orders
from tradebot.settings import Settings
from tradebot.shadow.runner import SETS_KIND as SHADOW_SETS_KIND
from tradebot.sizing.ai_lot_check import LotCheck
from tradebot.store import EventWriter
from tradebot.store.permissions import DIR_MODE, owner_only, owner_only_dir

if TYPE_CHECKING:
    pass


async def run_session(
    settings: Settings, options: RunOptions, stop: StopRequest | None = None
) -> dict[str, Any]:
    stop = stop or StopRequest()  # a stop before the store is open: RunInterrupted at the next checkpoint

    mode = Mode(options.mode)
    _check_arming(settings, mode, options)

    from_file = bool(options.feeds) or options.data is not None
    from_file = from_file or settings.data.source == "csv" or mode is Mode.REPLAY
    feeds: tuple[FileFeed, ...] = ()
    try:
        if from_file:
            feeds = file_feeds(settings, options.data, options.symbol, options.feeds, sample_path())
    except ValueError as exc:
        raise refuse(str(exc)) from exc
    symbols = [feed.symbol for feed in feeds] or configured_symbols(settings)
    # everything `tradebot config check` builds, every problem listed at once, before any file is touched
    parts = build_parts(settings, mode, from_file=from_file, symbols=symbols, quotes=dict(options.quotes))
    constitution = parts.constitution
    instruments = parts.instruments
    symbol = symbols[0]
    instrument = instruments[symbol]
    if len(instruments) > 1 and options.session is not None:
        raise refuse("--session: a session run trades one instrument; give one --data file")
    problems = feed_problems(feeds, instruments, settings_calendars())
    if problems:
        raise ConfigProblems(problems)
    ai_checks = check_ai_sizers(settings, parts, feeds)  # a LIVE AI sizer that cannot size one lot: exit 2
    stop.checkpoint("building the pipeline")
    _check_intents_path(options)
    store_path = _choose_store(settings, options, mode, from_file, feeds, instruments)
    _owner_only_dir(store_path.parent)

    watch = tca_watch(settings, parts.tca, instruments)
    resume = load_resume_state(
        store_path,
        instruments,
        settings_calendars(),
        tca=watch,
        allocation=parts.allocation,
        constitution=parts.constitution,
        attribution=AttributionWatch(settings.attribution),
    )
    stop.checkpoint("reading the event store", resume.machine.to_dict())
    first_ts = _first_bar_ts(feeds, instruments) if from_file else None
    clock = _build_clock(settings, from_file, resume.clock_start or first_ts)

    run_dir = Path(settings.run.run_dir)
    runtime_dir = Path(settings.runtime_dir)
    _owner_only_dir(run_dir)
    logging_handle = _setup_logging(settings, run_dir, options)
    broker = _build_broker(settings, mode, clock, store_path)
    # observe on a broker's feed: the broker plugin supplies bars, the simulated venue executes
    feed_broker: Broker | None = None
    if not from_file:
        feed_broker = broker if mode is Mode.LIVE else _load_broker(settings.broker.name, settings, clock)
    if isinstance(broker, BarVenue):
        for each in instruments.values():
            broker.register_instrument(each)
    plan = _session_window(options, instrument, constitution, clock, store_path)
    learned, learned_fresh = _learned_overrides(parts.learning, store_path, resume, plan, clock)
    if learned is not None:
        parts = with_learned(parts, settings, learned)
    stop.checkpoint("preparing the venue")
    async with contextlib.AsyncExitStack() as stack:
        if plan is not None:
            lock = stack.enter_context(_instance_lock(settings, run_dir))
            _owner_only_files([Path(lock.path)], run_dir=run_dir)
            if isinstance(clock, WallClock) and plan.kind != "close_only":
                max_wait = timedelta(seconds=settings.session.max_wait_s)
                with stop.cancelling("waiting for the session to open"):
                    await wait_for_open(plan.window, clock, max_wait=max_wait)
        run = RunContext(
            settings=settings,
            options=options,
            mode=mode,
            parts=parts,
            feeds=feeds,
            from_file=from_file,
            clock=clock,
            store_path=store_path,
            resume=resume,
            run_dir=run_dir,
            runtime_dir=runtime_dir,
            broker=broker,
            feed_broker=feed_broker,
            plan=plan,
            stop=stop,
            ai_checks=ai_checks,
            learned=learned,
            learned_fresh=learned_fresh,
        )
        summary = await _run(run)
    logging_handle.close()
    summary["paths"] = _output_paths(store_path, logging_handle, run_dir)
    return summary


def _output_paths(store_path: Path, logging_handle: Any, run_dir: Path) -> dict[str, str]:
    """Where this run's output went, for the end of the run: store, log, manifest, report."""

    paths = {"store": str(store_path)}
    if getattr(logging_handle, "json_path", None) is not None:
        paths["log"] = str(logging_handle.json_path)
    paths["manifest"] = str(run_dir / MANIFEST_NAME)
    paths["report"] = f"tradebot report --store {store_path}"
    return paths


def _progress(
    engine: DecisionEngine,
    options: RunOptions,
    from_file: bool,
    feeds: Sequence[FileFeed],
    resume: ResumeState,
) -> contextlib.AbstractContextManager[None]:
    """The progress bar on a terminal (bars, %, bars/s, time left); nothing with --quiet or in a pipe."""

    rows = [data_rows(feed.path) for feed in feeds] if from_file and resume.last_bar_ts is None else []
    total = sum(r for r in rows if r is not None) if rows and None not in rows else None
    if total is not None and options.max_bars is not None:
        total = min(total, options.max_bars)
    return bar_progress(
        lambda: engine.stats.bars, total=total, stream=sys.stderr, enabled=not options.quiet
    )


@dataclass(frozen=True, slots=True)
class RunContext:
    """Everything one run is assembled from, built once by ``run_session`` before the store is opened."""

    settings: Settings
    options: RunOptions
    mode: Mode
    parts: RunParts  # instruments, constitution, gates, sizer, ensembles, TCA settings
    feeds: tuple[FileFeed, ...]  # the bar files (none on a broker's feed)
    from_file: bool
    clock: Clock
    store_path: Path
    resume: ResumeState  # what the store holds from before (empty for a new store)
    run_dir: Path
    runtime_dir: Path
    broker: Broker  # where orders go: the simulated venue, or the broker in live mode
    feed_broker: Broker | None  # where bars come from when not from files
    plan: WindowPlan | None  # a --session run's window
    stop: StopRequest
    ai_checks: tuple[LotCheck, ...] = ()  # each AI sizer's one-lot check (sizing/ai_lot_check.py)
    learned: AppliedOverrides | None = None  # the learned overrides applied (None: learning off)
    learned_fresh: bool = False  # read from the overrides file now (else: as the store recorded them)

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        return self.parts.instruments

    @property
    def window(self) -> SessionWindow | None:
        return self.plan.window if self.plan is not None else None


async def _run(run: RunContext) -> dict[str, Any]:
    settings, options, mode, clock, parts = run.settings, run.options, run.mode, run.clock, run.parts
    instruments, feeds, from_file, resume = run.instruments, run.feeds, run.from_file, run.resume
    broker, feed_broker, plan, window, stop = run.broker, run.feed_broker, run.plan, run.window, run.stop
    store_path, run_dir, runtime_dir = run.store_path, run.run_dir, run.runtime_dir
    constitution = parts.constitution
    # a session whose window is over (or whose close began) before this start only finishes its close
    close_only = plan is not None and plan.kind == "close_only"

    stats = RunStats()
    run_id = uuid.uuid4().hex[:12]

    # a replay's venue is a projection of the store: its write-aheads are committed with their bar
    durable: Literal["full", "group"] = "group" if mode is Mode.REPLAY else "full"
    engine: DecisionEngine | None = None
    session_ok = True

    def on_failure(exc: BaseException) -> None:
        if engine is not None:
            engine.on_store_failure(exc)

    async with EventWriter.open(
        store_path, on_failure=on_failure, run_id=run_id, durable_sync=durable
    ) as writer:
        recorder = (
            TcaRecorder(writer, resume.tca, resume.attribution)
            if resume.tca is not None
            else StoreRecorder(writer)
        )
        raw_feed = feed_broker or broker  # before the breakers wrap it: its optional quote stream
        ops, ops_resources = _build_ops(settings, recorder, clock)
        # every broker read and the feed go through the dependency breakers from here on
        guarded = guard(broker, ops, clock)
        if feed_broker is not None:
            feed_broker = guarded if feed_broker is broker else guard(feed_broker, ops, clock)
        broker = guarded
        if isinstance(clock, WallClock):  # a feed silent from the start is stale too
            for each in instruments.values():
                ops.watch(each.symbol, each.calendar, settings.data.bar_size_s, clock.now())
        snapshot = build_snapshot(settings, parts, run.learned)  # what every decision here is made with
        engine = _engine(run, broker, recorder, ops, stats, snapshot_sha256(snapshot))
        if plan is not None and window is not None:
            engine.session_open, engine.session_close = window.open, window.close
            engine.flatten_at_session_close = settings.session.flatten_at_close
            if plan.kind == "new":  # fixed when the session starts: a restart keeps the stored one
                await recorder.record_durable("session_window", window.as_dict(), ts=clock.now())
        _record_run_start(run, recorder)
        recorder.record(SNAPSHOT_KIND, snapshot, ts=clock.now())
        _record_ai_checks(run, recorder)
        engine.learned = run.learned
        engine.shadow = shadow_runner(settings, parts)
        if engine.shadow is not None:  # what `tradebot promote` writes into an artifact
            recorder.record(SHADOW_SETS_KIND, engine.shadow.resolved(), ts=clock.now())
        if run.learned is not None and run.learned_fresh:
            recorder.record(APPLIED_KIND, run.learned.as_dict(), ts=clock.now())
        _write_manifest(settings, mode, run_dir, run_id, constitution, recorder, clock)
        if settings.gates.canary_symbols:
            recorder.record("canary_mode", log_canary_mode(settings.gates.canary_symbols), ts=clock.now())

        control = ControlServer(
            runtime_dir,
            OperatorControl(engine, broker, settings.ops.cancel_all_policy()).handlers(),
            kill_file_poll_s=settings.ops.kill_file_poll_s,
        )
        try:
            await control.start()
        except ControlError as exc:
            raise refuse(str(exc), ExitCode.ALREADY_RUNNING) from exc
        await broker.connect()
        if feed_broker is not None and feed_broker is not broker:
            await feed_broker.connect()
        phase = "startup"  # where an error outside the stage tasks happened (the stages name their own)
        try:
            if resume.last_bar_ts is not None:
                await reconcile_after_restart(engine, broker, resume)
            if window is not None:
                await _startup_cleanup(settings, engine, broker, recorder, clock)
            intent_source = _intent_source(options, instruments, clock)
            preloaded = (
                [item async for item in intent_source]
                if intent_source is not None and isinstance(clock, ReplayClock) and options.intents != "-"
                else []
            )
            source, quotes = await _bar_source(run, feed_broker or broker, raw_feed, recorder)
            pipeline = Pipeline(
                source=source,
                validator=bar_validator(instruments),
                ensembles=parts.ensembles,
                engine=engine,
                broker_events=None if isinstance(broker, BarVenue) else broker.events(),
                on_refused=lambda refused: _record_refused(engine, recorder, clock, refused),
                refusals_recorded_through_line=resume.last_refused_line,
                refusals_recorded_through=resume.last_refused_lines if len(feeds) > 1 else None,
                intents=None if preloaded else intent_source,
                max_bars=options.max_bars,
                stop_at=window.close if window is not None else None,
                wall_clock=clock if isinstance(clock, WallClock) else None,
                stop=stop,
            )
            for item in [] if close_only else preloaded:  # replay clock: held until each intent's time
                await engine.on_external(item)
            if not close_only:
                with _progress(engine, options, from_file, feeds, resume):
                    try:
                        await pipeline.run(handle_signals=True)
                    finally:
                        for task in quotes:
                            task.cancel()
                if isinstance(clock, ReplayClock):
                    report_undecided_intents(engine)
            phase = "shutdown"
            if plan is not None:
                session_ok = await _close_session(
                    settings, engine, broker, recorder, writer, clock, store_path, run_dir, plan,
                    parts.learning,
                )
        except (RunRefused, SessionRefused, PipelineFailed):
            raise
        except Exception as exc:  # fail closed: recorded, HALTED, exit 70
            raise fail_closed(engine, phase, exc) from exc
        finally:
            engine.finish()
            await control.close()
            await broker.close()
            if feed_broker is not None and feed_broker is not broker:
                await feed_broker.close()
            ops_resources.close()  # queued notifications sent, the metrics endpoint closed
        await writer.flush()
    summary = summarize_store(store_path)
    if window is not None:
        summary["session_close_ok"] = session_ok
    return summary


def _engine(
    run: RunContext,
    broker: Broker,
    recorder: StoreRecorder,
    ops: OpsHooks,
    stats: RunStats,
    snapshot: str,
) -> DecisionEngine:
    """The decision engine over the run's parts and what the store held before (``run.resume``)."""
    settings, resume, constitution = run.settings, run.resume, run.parts.constitution
    mode, clock, instruments, parts, feeds = run.mode, run.clock, run.instruments, run.parts, run.feeds
    portfolio = resume.portfolio or Portfolio(settings.portfolio.starting_cash, instruments)
    return DecisionEngine(
        mode=mode,
        clock=clock,
        instruments=instruments,
        broker=broker,
        portfolio=portfolio,
        chain=parts.chain,
        sizer=parts.sizer,
        netting=parts.netting,
        recorder=recorder,
        stats=stats,
        limits=lambda sym: constitution.rules_for(sym).limits,
        flattener=SessionFlattener(constitution, settings_calendars(), resume.tracker),
        ledger=resume.ledger,
        tracker=resume.tracker,
        machine=resume.machine,
        constitution_sha256=constitution.sha256,
        snapshot_sha256=snapshot,
        resume_after=resume.last_bar_ts,
        resume_after_bar=resume.last_bar if len(feeds) > 1 else None,
        ops=ops,
        dvs=resume.dvs,
        eqs=resume.eqs,
        intent_history=resume.intents,
        time_stops=resume.time_stops,
        intent_max_age=timedelta(seconds=settings.intents.max_age_bars * settings.data.bar_size_s),
    )


def _record_run_start(run: RunContext, recorder: StoreRecorder) -> None:
    """The run's identity in its store: what a continued store must match (``RunIdentity``)."""
    settings, resume, parts, clock = run.settings, run.resume, run.parts, run.clock
    recorder.record(
        "run_start",
        {
            "mode": run.mode.value,
            "config_hash": settings.config_hash(),
            "constitution_sha256": parts.constitution.sha256,
            "chain": [g.name for g in parts.chain.gates],
            "instruments": [instrument_body(i) for i in run.instruments.values()],
            "starting_cash": str(settings.portfolio.starting_cash),
            "data": _data_name(run.from_file, run.feeds),
            "resumed_after": resume.last_bar_ts.isoformat() if resume.last_bar_ts else None,
        },
        ts=clock.now(),
    )


def _record_ai_checks(run: RunContext, recorder: StoreRecorder) -> None:
    """Each AI sizer's one-lot check in the store (``ai_sizer_check``); a warning for one that is SHADOW and
    below one lot, or that could not be made (no price known at startup)."""
    for check in run.ai_checks:
        recorder.record("ai_sizer_check", check.body(), ts=run.clock.now(), symbol=check.symbol)
        if check.warning is not None:
            logger.bind(code=reasons.AI_SIZER_BELOW_ONE_LOT, symbol=check.symbol).warning(check.warning)


async def _bar_source(
    run: RunContext, feed_broker: Broker, raw_feed: Broker, recorder: StoreRecorder
) -> tuple[AsyncIterator[SourceItem], list[asyncio.Task[None]]]:
    """The bars of every instrument merged in time order (the files, or the broker's streams), and the
    tasks following the broker's best bid/ask for the run's TCA where it streams them."""
    settings, resume, clock, instruments = run.settings, run.resume, run.clock, run.instruments
    if run.from_file:
        return merged_source(run.feeds, instruments, settings_calendars()), []
    feed_instruments = [(sym, await _feed_instrument(feed_broker, each)) for sym, each in instruments.items()]
    source = broker_bars(feed_broker, [i for _, i in feed_instruments], settings.data.bar_size_s)
    quotes = [  # the broker's best bid/ask, when it streams them
        task
        for sym, each in feed_instruments
        if (task := follow_broker_quotes(raw_feed, each, sym, resume.tca, settings, recorder, clock))
    ]
    return source, quotes


def _choose_store(
    settings: Settings,
    options: RunOptions,
    mode: Mode,
    from_file: bool,
    feeds: Sequence[FileFeed],
    instruments: Mapping[str, Instrument],
) -> Path:
    """The store this run writes (``store_choice``): a new one per backtest unless ``--resume``; the
    account's one, always continued, on a broker feed or in a ``--session`` run. A store continued must
    hold a run of the same config hash, instruments and data (else exit 2, naming what differs)."""

    named = options.store or settings.run.store
    choice = choose_store(
        named=Path(named) if named else None,
        run_dir=Path(settings.run.run_dir),
        mode=mode.value,
        resume=options.resume,
        continuous=options.session is not None or not from_file,
        now=datetime.now(UTC),  # names the new store only; no decision reads it
    )
    stored = stored_run(choice.path) if choice.continues else None
    if stored is not None:
        identity = RunIdentity(
            config_hash=settings.config_hash(),
            instruments=[instrument_body(i) for i in instruments.values()],
            data=_data_name(from_file, feeds),
            config=settings.decision_config(),
            defaults=type(settings).model_construct().decision_config(),
        )
        check_continuable(choice.path, stored, identity)
    return choice.path


def _data_name(from_file: bool, feeds: Sequence[FileFeed]) -> str:
    """What ``run_start`` records as the run's data: the bar files' names, or ``broker``."""
    return data_name(feeds) if from_file else "broker"


def _session_window(
    options: RunOptions, instrument: Instrument, constitution: Any, clock: Clock, store_path: Path
) -> WindowPlan | None:
    """The ``WindowPlan`` of a ``--session`` run (None without ``--session``): the window stored when the
    session started if the store holds one still to trade or to close, else a new one from the calendar
    (``MarketClosed`` propagates: nothing to trade, nothing touched)."""
    if options.session is None:
        return None

    spec = options.session
    rules = constitution.rules_for(instrument.symbol).session
    return plan_window(
        load_session_progress(store_path),
        spec,
        clock.now(),
        lambda: session_window(
            spec,
            instrument.calendar,
            clock.now(),
            settings_calendars(),
            regular_hours=regular_hours_of(rules),
        ),
    )


def _learned_overrides(
    learning: LearningSetup | None,
    store_path: Path,
    resume: ResumeState,
    plan: WindowPlan | None,
    clock: Clock,
) -> tuple[AppliedOverrides | None, bool]:
    """The learned overrides this run applies, and whether they are read afresh (to be recorded). A run that
    continues its store (a restart, or a session window kept) applies the ones the store recorded when it
    started, so a restart decides with the same parameters as the uninterrupted run; a new run or a new
    session window applies those of the overrides file in force at ``clock.now()`` (expired ones left out)."""
    if learning is None or not learning.applies:
        return None, False
    continuing = resume.last_bar_ts is not None and (plan is None or plan.kind != "new")
    if continuing:
        from tradebot.store import StoreReader

        with StoreReader(store_path) as reader:
            stored = [e.body for e in reader.iter_events(kinds=[APPLIED_KIND])]
        if stored:
            return AppliedOverrides.from_dict(stored[-1]), False
    current = learning.current
    if current is None:
        return AppliedOverrides(0), True
    return AppliedOverrides(current.version, current.in_force(clock.now())), True


def _instance_lock(settings: Settings, run_dir: Path) -> Any:
    account = settings.run.account_id or f"{settings.broker.name}-{settings.broker.environment}"
    return instance_lock(run_dir, account, settings.config_hash())


async def _startup_cleanup(
    settings: Settings, engine: DecisionEngine, broker: Broker, recorder: StoreRecorder, clock: Clock
) -> None:
    """Venue leftovers we cannot explain, handled by ``session.leftovers`` (cancel | adopt | refuse)."""

    known = {e.client_order_id for e in engine.ledger.entries()}
    ours = {s: p.quantity for s, p in engine.portfolio.positions.items() if p.quantity != 0}
    try:
        report = await startup_cleanup(broker, known, ours, settings.session.leftovers, now=clock.now())
    except ReconciliationFailed as exc:
        recorder.record(
            STARTUP_CLEANUP_KIND, {"code": exc.code, "refused": str(exc), **exc.details}, ts=clock.now()
        )
        _alert_position_gaps(engine, clock, exc.details.get("report", {}))
        raise
    recorder.record(STARTUP_CLEANUP_KIND, report.as_dict(), ts=clock.now())
    _alert_position_gaps(engine, clock, report.as_dict())


def _alert_position_gaps(engine: DecisionEngine, clock: Clock, report: Mapping[str, Any]) -> None:
    """Store and venue positions differ at startup: ALERT_RECONCILIATION_MISMATCH (adopted or not)."""
    gaps = report.get("position_gaps") or []
    if gaps:
        engine.ops.on_mismatch(clock.now(), {"when": "startup", "mismatches": list(gaps)})


async def _close_session(
    settings: Settings,
    engine: DecisionEngine,
    broker: Broker,
    recorder: StoreRecorder,
    writer: Any,
    clock: Clock,
    store_path: Path,
    run_dir: Path,
    plan: WindowPlan,
    learning: LearningSetup | None = None,
) -> bool:
    """SESSION_CLOSE_CLEANUP: cancel DAY orders, flatten, reconcile, write the reports. Resumable: each
    completed step is stored durably; a close begun before a restart goes on from its first undone step."""

    cfg = settings.session
    window = plan.window

    async def reconcile() -> dict[str, Any]:
        venue = {p.symbol: p.quantity for p in await broker.positions()}
        ours = {s: p.quantity for s, p in engine.portfolio.positions.items() if p.quantity != 0}
        mismatches = [
            {"symbol": s, "venue": str(venue.get(s, 0)), "ours": str(ours.get(s, 0))}
            for s in sorted(set(venue) | set(ours))
            if venue.get(s, Decimal(0)) != ours.get(s, Decimal(0))
        ]
        if mismatches:
            engine.ops.on_mismatch(clock.now(), {"when": "session_close", "mismatches": mismatches})
        return {"mismatches": mismatches, "venue": {s: str(q) for s, q in venue.items()}}

    async def write_reports() -> dict[str, str]:
        await writer.flush()
        paths = write_window_reports(
            store_path,
            run_dir,
            start=window.open,
            end=None,
            day=(window.day or window.open.date()).isoformat(),
            sub=cfg.report_dir,
        )
        written = [Path(v) for v in paths.as_dict().values()]
        _owner_only_files(written, run_dir=run_dir)
        return {k: str(v) for k, v in paths.as_dict().items()}

    async def flatten() -> dict[str, Any]:
        return await _flatten_at_close(engine, clock, window.close)

    async def durable(kind: str, body: dict[str, Any]) -> None:
        await recorder.record_durable(kind, body, ts=clock.now())

    journal = CloseJournal(durable, window)

    async def learn() -> dict[str, Any]:
        assert learning is not None
        await writer.flush()  # the day's TCA records and trades are in the store before learning reads it
        day = window.day or window.open.date()
        return await learning_step(learning, store_path, clock.now(), day, durable)

    async def step_done(step: str, body: Mapping[str, Any]) -> None:
        engine._apply_venue_events()  # the step's order events are in the store before its marker
        await journal.step_done(step, body)

    resuming = plan.resumes_close
    if resuming:
        reason = plan.progress.close_reason or "session_end"
        day_orders: tuple[str, ...] = plan.progress.close_day_orders
    else:
        reason = "sigterm" if engine.stats.bars and clock.now() < window.close else "session_end"
        day_orders = await open_day_orders(broker) if cfg.cancel_day_orders else ()
        await journal.started(reason, day_orders)
    closed = await close_session(
        broker,
        clock,
        reason=reason,
        cancel_day_orders=cfg.cancel_day_orders,
        flatten=flatten if cfg.flatten_at_close else None,
        reconcile=reconcile,
        record=lambda kind, body: recorder.record(kind, body, ts=clock.now()),
        write_reports=write_reports,
        cancel_timeout=timedelta(seconds=cfg.cancel_timeout_s),
        day_orders_at_start=day_orders,
        learn=learn if learning is not None else None,
        done=plan.progress.steps if resuming else None,
        on_step=step_done,
    )
    engine._apply_venue_events()
    await journal.finished(closed.ok, closed.reports)
    return bool(closed.ok)


async def _flatten_at_close(engine: DecisionEngine, clock: Clock, close: datetime) -> dict[str, Any]:
    """A reduce-only market order for each position still open when the close sequence runs (normally none:
    the last bar of the window flattens). Its intent id is fixed by the window's close, so its client order
    id is the same on every attempt: one found in the ledger (sent before a restart) is not sent again."""
    orders: dict[str, Any] = {}
    for symbol, position in sorted(engine.portfolio.positions.items()):
        if position.quantity == 0:
            continue
        last = engine.portfolio.last_prices.get(symbol)
        if last is None:
            raise ValueError(f"cannot flatten {symbol} {position.quantity}: no price seen")
        intent_id = f"{symbol}-close-flatten-{close.strftime('%Y%m%dT%H%M%S')}"
        cid = client_order_id(intent_id)
        if cid in engine.ledger:
            orders[symbol] = {"client_order_id": cid, "sent_before_restart": True}
            continue
        # the position's resting exits as the venue has them (the ledger of a restarted run may not)
        for order in await engine.broker.open_orders():
            if order.symbol == symbol and order.reduce_only:
                await engine.broker.cancel(order.client_order_id)
        engine._apply_venue_events()
        for intent in flatten_intents(clock.now(), engine.instruments[symbol], position.quantity, last):
            decision = await engine.decide(replace(intent, intent_id=intent_id))
            blocked = decision.blocked_by
            orders[symbol] = {"client_order_id": cid, "blocked": blocked.code if blocked else None}
    return orders


def _owner_only_dir(path: Path) -> None:
    """Create ``path`` owner-only (0700); a directory that cannot be created refuses the run."""

    try:
        owner_only_dir(path)
    except (FileExistsError, NotADirectoryError) as exc:
        raise refuse(f"{path}: a file is in the way of this directory ({exc.strerror})") from exc
    except OSError as exc:
        raise refuse(
            f"cannot create the directory {path}: {exc.strerror or exc}", ExitCode.STORE_UNUSABLE
        ) from exc


def _owner_only_files(paths: list[Path], run_dir: Path | None = None) -> None:
    """Files the run wrote made 0600, and their directories under ``run_dir`` 0700 (umask-independent)."""

    owner_only(paths)
    if run_dir is None:
        return
    root = run_dir.resolve()
    for directory in {p.resolve().parent for p in paths}:
        while directory != root and root in directory.parents:
            directory.chmod(DIR_MODE)
            directory = directory.parent


def _setup_logging(settings: Settings, run_dir: Path, options: RunOptions) -> Any:
    if settings.ops.alerts.webhook_url is not None:
        register_secret(settings.ops.alerts.webhook_url, "ops.alerts.webhook_url")
    log = settings.ops.log
    return setup_logging(
        log_dir=Path(log.dir or run_dir),
        console=not options.quiet,
        console_level=log.console_level,
        file_level=log.file_level,
        rotation=log.rotation,
        retention=log.retention,
        color=log.color,
    )


def _build_ops(settings: Settings, recorder: StoreRecorder, clock: Clock) -> tuple[Any, Any]:
    """The ops hooks, and what to close when the run ends (notifications sent, the metrics server)."""

    ops_cfg = settings.ops
    metrics = Metrics() if ops_cfg.metrics.enabled else None
    notifier = build_notifier(ops_cfg.alerts, on_result=metrics.count_notification if metrics else None)
    dispatcher = build_sinks(
        store_write=lambda code, body: recorder.record(code, dict(body), ts=clock.now()),
        notifier=notifier,
    )
    server = None
    if metrics is not None:
        server = maybe_start_metrics_server(
            metrics, enabled=True, port=ops_cfg.metrics.port, host=ops_cfg.metrics.host
        )
    hooks = OpsHooks(
        BreakerBoard(policy=ops_cfg.breaker_policy()),
        AlertRules(ops_cfg.alert_thresholds()),
        dispatcher,
        metrics,
        retry=ops_cfg.retry_policy(),
        calendars=settings_calendars(),
    )
    return hooks, OpsResources(notifier, server)


_RUN_SPECIFIC = ("time", "run_id", "host")


def _write_manifest(
    settings: Settings,
    mode: Mode,
    run_dir: Path,
    run_id: str,
    constitution: Any,
    recorder: StoreRecorder,
    clock: Clock,
) -> None:
    """The run manifest: to the run directory in full, and to the store without what differs per run
    (wall time, run id, pid), so replays stay byte-identical."""
    plugin = load_plugin("sim" if mode is not Mode.LIVE else settings.broker.name)
    manifest = build_manifest(
        mode,
        settings.decision_config(),
        constitution.model_dump(mode="json"),
        [plugin],
        {
            "profile": settings.strategy.profile,
            "sizer": settings.strategy.sizer,
            "ai_mode": settings.strategy.ai_mode,
            "canary_symbols": list(settings.gates.canary_symbols),
        },
        settings.run.account_id,
        now=datetime.now(UTC),
        run_id=run_id,  # wall clock: metadata, not a decision
    )
    write_manifest(run_dir, manifest)
    recorder.record(
        "run_manifest", {k: v for k, v in manifest.items() if k not in _RUN_SPECIFIC}, ts=clock.now()
    )


def _check_intents_path(options: RunOptions) -> None:
    if options.intents is None or options.intents == "-":
        return
    if not Path(options.intents).exists():
        raise refuse(f"--intents: file not found: {options.intents}")
    if not Path(options.intents).is_file():
        raise refuse(f"--intents: {options.intents} is not a file (give a JSON-lines file, or - for stdin)")


def _intent_source(options: RunOptions, instruments: Mapping[str, Instrument], clock: Clock) -> Any:
    if options.intents is None:
        return None

    _check_intents_path(options)
    # on the replay clock intents are held until their own time, so any timestamp in the data is fine
    skew = 10 * 365 * 86_400.0 if isinstance(clock, ReplayClock) else 5.0
    return aiter(JsonlIntentSource(options.intents, instruments, clock, max_skew_s=skew))


def _build_clock(settings: Settings, from_file: bool, start: datetime | None) -> Clock:
    kind = settings.data.clock
    if kind == "wall" or (kind == "auto" and not from_file):
        return WallClock()
    if start is None:  # a broker feed on bar time: the clock starts at the first bar
        start = datetime(1970, 1, 1, tzinfo=UTC)
    return ReplayClock(start)


def _check_arming(settings: Settings, mode: Mode, options: RunOptions) -> None:
    if mode is not Mode.LIVE:
        return
    if settings.broker.environment == "production" and not (options.arm or settings.run.arm_production):
        raise refuse(
            f"live mode against the PRODUCTION environment of broker '{settings.broker.name}' needs an "
            "explicit arming step: pass --arm or set run.arm_production = true. Refusing to start."
        )


async def _feed_instrument(feed_broker: Broker | None, configured: Instrument) -> Instrument:
    """The venue's own spec for the feed's symbol (a plugin needs its own contract to subscribe)."""
    if feed_broker is None or isinstance(feed_broker, BarVenue):
        return configured
    return await feed_broker.instrument(configured.symbol)


def _load_broker(name: str, settings: Settings, clock: Clock, store_path: Path | None = None) -> Broker:
    """Build broker ``name`` from its ``[broker.<name>]`` table; a bad plugin or table refuses the run."""

    table: dict[str, Any] = settings.broker.plugin_table(name)
    # the run's simulated venue keeps no state of its own: it is rebuilt from the store on every start, so
    # it can never be ahead of what the store committed (see pipeline/venue_projection.py)
    projected = name == "sim" and store_path is not None
    if projected and "state_path" in table:
        raise refuse(
            "broker.sim.state_path: a run's simulated venue is rebuilt from the run's event store; "
            "state_path is only for a simulated venue used on its own (remove it from [broker.sim])"
        )
    try:
        broker: Broker = load_plugin(name).factory(table, clock)
    except (PluginError, ValueError) as exc:
        raise refuse(str(exc)) from exc
    if projected and store_path is not None:
        _restore_sim_venue(broker, store_path)
    return broker


def _restore_sim_venue(broker: Broker, store_path: Path) -> None:
    if not isinstance(broker, SimBroker):
        raise TypeError(f"the sim plugin built a {type(broker).__name__}, not a SimBroker")
    try:
        restore_venue(broker.venue, store_path)
    except VenueProjectionError as exc:
        raise refuse(str(exc), ExitCode.RECONCILIATION_FAILED) from exc


def _build_broker(settings: Settings, mode: Mode, clock: Clock, store_path: Path) -> Broker:
    """The venue orders go to: the configured broker in live mode, the simulated venue otherwise."""
    return _load_broker(settings.broker.name if mode is Mode.LIVE else "sim", settings, clock, store_path)


def _first_bar_ts(feeds: Sequence[FileFeed], instruments: Mapping[str, Instrument]) -> datetime | None:
    """The time of the first bar that validation accepts, over the files (the replay clock starts there)."""

    try:
        return first_bar_ts(feeds, instruments, settings_calendars(), bar_validator(instruments))
    except FeedError as exc:
        raise refuse(str(exc)) from exc  # the message names the file


def _record_refused(
    engine: DecisionEngine | None, recorder: StoreRecorder, clock: Clock, refused: RefusedBar
) -> None:
    if engine is not None:
        engine.on_refused_bar(refused.code, refused.symbol)
    recorder.record("bar_refused", asdict(refused), ts=clock.now(), symbol=refused.symbol)


__all__ = ["ResumeState", "TradingState", "reasons", "run_session"]
