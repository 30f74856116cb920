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

import contextlib
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tradebot.brokers.protocol import Broker
from tradebot.domain import reasons
from tradebot.domain.clock import Clock, ReplayClock, WallClock
from tradebot.domain.instruments import Instrument
from tradebot.domain.state import Mode, TradingState
from tradebot.exit_codes import ExitCode
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
from tradebot.pipeline.engine import BarVenue, DecisionEngine
from tradebot.pipeline.failure import PipelineFailed, fail_closed
from tradebot.pipeline.guarded_broker import guard
from tradebot.pipeline.portfolio import Portfolio
from tradebot.pipeline.resume import ResumeState, load_resume_state, reconcile_after_restart
from tradebot.pipeline.runner import Pipeline, RefusedBar
from tradebot.pipeline.stats import RunStats
from tradebot.pipeline.stop import StopRequest
from tradebot.pipeline.store_recorder import StoreRecorder
from tradebot.pipeline.summary import summarize_store
from tradebot.pipeline.tca_recorder import TcaRecorder, follow_broker_quotes, tca_config, tca_watch
from tradebot.session.errors import SessionRefused
from tradebot.settings import Settings, StrategyConfig
from tradebot.sizing.netting import Netting

if TYPE_CHECKING:
    from tradebot.analytics.tca import TcaConfig
    from tradebot.session import WindowPlan


def _refuse(message: str, code: ExitCode = ExitCode.CONFIG_ERROR) -> RunRefused:
    return RunRefused(message, code)


async def run_session(
    settings: Settings, options: RunOptions, stop: StopRequest | None = None
) -> dict[str, Any]:
    from tradebot.feeds.sample import sample_path

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
        raise _refuse(str(exc)) from exc
    symbols = [feed.symbol for feed in feeds] or _configured_symbols(settings)
    # everything `tradebot config check` builds, every problem listed at once, before any file is touched
    parts = build_parts(settings, mode, from_file=from_file, symbols=symbols, quotes=dict(options.quotes))
    constitution = parts.constitution
    instruments = parts.instruments
    symbol = symbols[0]
    instrument = instruments[symbol]
    if len(instruments) > 1 and options.session is not None:
        raise _refuse("--session: a session run trades one instrument; give one --data file")
    problems = feed_problems(feeds, instruments, settings_calendars())
    if problems:
        raise ConfigProblems(problems)
    stop.checkpoint("building the pipeline")
    _check_intents_path(options)
    store_path = _choose_store(settings, options, mode, from_file, feeds, instruments)
    _owner_only_dir(store_path.parent)

    watch = tca_watch(settings, parts.tca, instruments)
    resume = load_resume_state(store_path, instruments, settings_calendars(), tca=watch)
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
    window = plan.window if plan is not None else None
    stop.checkpoint("preparing the venue")
    async with contextlib.AsyncExitStack() as stack:
        if plan is not None:
            lock = stack.enter_context(_instance_lock(settings, run_dir))
            _owner_only_files([Path(lock.path)], run_dir=run_dir)
            if isinstance(clock, WallClock) and plan.kind != "close_only":
                from tradebot.session import wait_for_open

                max_wait = timedelta(seconds=settings.session.max_wait_s)
                with stop.cancelling("waiting for the session to open"):
                    await wait_for_open(plan.window, clock, max_wait=max_wait)
        summary = await _run(
            settings,
            options,
            mode,
            instruments,
            instrument,
            clock,
            store_path,
            resume,
            run_dir,
            runtime_dir,
            broker,
            feed_broker,
            parts,
            window,
            from_file,
            feeds,
            plan,
            stop,
        )
    logging_handle.close()
    summary["paths"] = _output_paths(store_path, logging_handle, run_dir)
    return summary


def _output_paths(store_path: Path, logging_handle: Any, run_dir: Path) -> dict[str, str]:
    """Where this run's output went, for the end of the run: store, log, manifest, report."""
    from tradebot.ops.manifest import MANIFEST_NAME

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
    import sys

    from tradebot.pipeline.progress import bar_progress, data_rows

    rows = [data_rows(feed.path) for feed in feeds] if from_file and resume.last_bar_ts is None else []
    total = sum(r for r in rows if r is not None) if rows and None not in rows else None
    if total is not None and options.max_bars is not None:
        total = min(total, options.max_bars)
    return bar_progress(
        lambda: engine.stats.bars, total=total, stream=sys.stderr, enabled=not options.quiet
    )


async def _run(
    settings: Settings,
    options: RunOptions,
    mode: Mode,
    instruments: Mapping[str, Instrument],
    instrument: Instrument,
    clock: Clock,
    store_path: Path,
    resume: ResumeState,
    run_dir: Path,
    runtime_dir: Path,
    broker: Broker,
    feed_broker: Broker | None,
    parts: RunParts,
    window: Any,
    from_file: bool,
    feeds: Sequence[FileFeed],
    plan: WindowPlan | None = None,
    stop: StopRequest | None = None,
) -> dict[str, Any]:
    chain, constitution = parts.chain, parts.constitution
    # a session whose window is over (or whose close began) before this start only finishes its close
    close_only = plan is not None and plan.kind == "close_only"

    stats = RunStats()
    portfolio = resume.portfolio or Portfolio(settings.portfolio.starting_cash, instruments)
    run_id = uuid.uuid4().hex[:12]
    from tradebot.risk.flatten import SessionFlattener
    from tradebot.store import EventWriter

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
        recorder = TcaRecorder(writer, resume.tca) if resume.tca is not None else StoreRecorder(writer)
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
        engine = DecisionEngine(
            mode=mode,
            clock=clock,
            instruments=instruments,
            broker=broker,
            portfolio=portfolio,
            chain=chain,
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
            resume_after=resume.last_bar_ts,
            resume_after_bar=resume.last_bar if len(feeds) > 1 else None,
            ops=ops,
            dvs=resume.dvs,
            eqs=resume.eqs,
            intent_history=resume.intents,
            intent_max_age=timedelta(seconds=settings.intents.max_age_bars * settings.data.bar_size_s),
        )
        if plan is not None:
            engine.session_open, engine.session_close = window.open, window.close
            engine.flatten_at_session_close = settings.session.flatten_at_close
            if plan.kind == "new":  # fixed when the session starts: a restart keeps the stored one
                await recorder.record_durable("session_window", window.as_dict(), ts=clock.now())
        recorder.record(
            "run_start",
            {
                "mode": mode.value,
                "config_hash": settings.config_hash(),
                "constitution_sha256": constitution.sha256,
                "chain": [g.name for g in chain.gates],
                "instruments": [instrument_body(i) for i in instruments.values()],
                "starting_cash": str(settings.portfolio.starting_cash),
                "data": _data_name(from_file, feeds),
                "resumed_after": resume.last_bar_ts.isoformat() if resume.last_bar_ts else None,
            },
            ts=clock.now(),
        )
        _write_manifest(settings, mode, run_dir, run_id, constitution, recorder, clock)
        if settings.gates.canary_symbols:
            from tradebot.ops.canary import log_canary_mode

            recorder.record("canary_mode", log_canary_mode(settings.gates.canary_symbols), ts=clock.now())
        from tradebot.ops.control import ControlError, ControlServer
        from tradebot.pipeline.operator import OperatorControl

        control = ControlServer(
            runtime_dir,
            OperatorControl(engine, broker, settings.ops.cancel_all_policy()).handlers(),
            kill_file_poll_s=settings.ops.kill_file_poll_s,
        )
        try:
            await control.start()
        except ControlError as exc:
            raise _refuse(str(exc), ExitCode.ALREADY_RUNNING) from exc
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
            feed_instruments = [] if from_file else [
                (sym, await _feed_instrument(feed_broker, each)) for sym, each in instruments.items()
            ]
            source = (
                broker_bars(feed_broker or broker, [i for _, i in feed_instruments], settings.data.bar_size_s)
                if feed_instruments
                else merged_source(feeds, instruments, settings_calendars())
            )
            quotes = [  # the broker's best bid/ask, when it streams them
                task
                for sym, each in feed_instruments
                if (task := follow_broker_quotes(raw_feed, each, sym, resume.tca, settings, recorder, clock))
            ]
            pipeline = Pipeline(
                source=source,
                validator=_validator(instruments),
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
                    from tradebot.pipeline.end_of_data import report_undecided_intents

                    report_undecided_intents(engine)
            phase = "shutdown"
            if plan is not None:
                session_ok = await _close_session(
                    settings, engine, broker, recorder, writer, clock, store_path, run_dir, plan
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
    from tradebot.pipeline.store_choice import RunIdentity, check_continuable, choose_store, stored_run

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
    from tradebot.session import load_session_progress, plan_window, regular_hours_of, session_window

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


def _instance_lock(settings: Settings, run_dir: Path) -> Any:
    from tradebot.session import instance_lock

    account = settings.run.account_id or f"{settings.broker.name}-{settings.broker.environment}"
    return instance_lock(run_dir, account, settings.config_hash())


async def _startup_cleanup(
    settings: Settings, engine: DecisionEngine, broker: Broker, recorder: StoreRecorder, clock: Clock
) -> None:
    """Venue leftovers we cannot explain, handled by ``session.leftovers`` (cancel | adopt | refuse)."""
    from tradebot.session import STARTUP_CLEANUP_KIND, ReconciliationFailed, startup_cleanup

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
) -> bool:
    """SESSION_CLOSE_CLEANUP: cancel DAY orders, flatten, reconcile, write the reports. Resumable: each
    completed step is stored durably; a close begun before a restart goes on from its first undone step."""
    from tradebot.session import CloseJournal, close_session, write_window_reports

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

    async def step_done(step: str, body: Mapping[str, Any]) -> None:
        engine._apply_venue_events()  # the step's order events are in the store before its marker
        await journal.step_done(step, body)

    resuming = plan.resumes_close
    if resuming:
        reason = plan.progress.close_reason or "session_end"
    else:
        reason = "sigterm" if engine.stats.bars and clock.now() < window.close else "session_end"
        await journal.started(reason)
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
    from dataclasses import replace

    from tradebot.oms.client_ids import client_order_id
    from tradebot.risk.flatten import flatten_intents

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
    from tradebot.store.permissions import owner_only_dir

    try:
        owner_only_dir(path)
    except (FileExistsError, NotADirectoryError) as exc:
        raise _refuse(f"{path}: a file is in the way of this directory ({exc.strerror})") from exc
    except OSError as exc:
        raise _refuse(
            f"cannot create the directory {path}: {exc.strerror or exc}", ExitCode.STORE_UNUSABLE
        ) from exc


def _owner_only_files(paths: list[Path], run_dir: Path | None = None) -> None:
    """Files the run wrote made 0600, and their directories under ``run_dir`` 0700 (umask-independent)."""
    from tradebot.store.permissions import DIR_MODE, owner_only

    owner_only(paths)
    if run_dir is None:
        return
    root = run_dir.resolve()
    for directory in {p.resolve().parent for p in paths}:
        while directory != root and root in directory.parents:
            directory.chmod(DIR_MODE)
            directory = directory.parent


def _setup_logging(settings: Settings, run_dir: Path, options: RunOptions) -> Any:
    from tradebot.ops.logging import setup_logging
    from tradebot.ops.secrets import register_secret

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


def _check_runtime_contract(settings: Settings, mode: Mode) -> None:
    from tradebot.ops.runtime_contract import check_runtime_contract

    if mode is not Mode.LIVE:
        return
    name = settings.broker.name
    from tradebot.brokers.registry import PluginError, load_plugin

    try:
        libraries = load_plugin(name).client_libraries
    except PluginError as exc:
        raise _refuse(str(exc)) from exc
    problems = check_runtime_contract(
        mode,
        [name],
        libraries,
        _model_verifier(settings),
        allow_simulated=settings.broker.environment != "production",
    )
    if problems:
        raise _refuse(
            f"{reasons.RUNTIME_CONTRACT_VIOLATION}: live mode refuses to start (runtime contract):\n  - "
            + "\n  - ".join(problems)
        )


def _model_verifier(settings: Settings) -> Any:
    def verify() -> list[str]:
        from tradebot.models import ModelVerificationError, default_model_path, verify_artifact

        try:
            verify_artifact(settings.strategy.model or default_model_path())
        except ModelVerificationError as exc:
            return [f"{exc.code}: {p}" for p in exc.problems] or [f"{exc.code}: {exc}"]
        return []

    return verify


def _build_ops(settings: Settings, recorder: StoreRecorder, clock: Clock) -> tuple[Any, Any]:
    """The ops hooks, and what to close when the run ends (notifications sent, the metrics server)."""
    from tradebot.ops.alerts import AlertRules, build_sinks
    from tradebot.ops.breakers import BreakerBoard
    from tradebot.ops.metrics import Metrics, maybe_start_metrics_server
    from tradebot.ops.notify import build_notifier
    from tradebot.pipeline.ops_hooks import OpsHooks, OpsResources

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
    from datetime import UTC
    from datetime import datetime as dt

    from tradebot.brokers.registry import load_plugin
    from tradebot.ops.manifest import build_manifest, write_manifest

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
        now=dt.now(UTC),
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
        raise _refuse(f"--intents: file not found: {options.intents}")
    if not Path(options.intents).is_file():
        raise _refuse(f"--intents: {options.intents} is not a file (give a JSON-lines file, or - for stdin)")


def _intent_source(options: RunOptions, instruments: Mapping[str, Instrument], clock: Clock) -> Any:
    if options.intents is None:
        return None
    from tradebot.intents import JsonlIntentSource

    _check_intents_path(options)
    # on the replay clock intents are held until their own time, so any timestamp in the data is fine
    skew = 10 * 365 * 86_400.0 if isinstance(clock, ReplayClock) else 5.0
    return aiter(JsonlIntentSource(options.intents, instruments, clock, max_skew_s=skew))


def settings_calendars() -> Any:
    from tradebot.domain.calendars import shared_calendars

    return shared_calendars()


def _build_clock(settings: Settings, from_file: bool, start: datetime | None) -> Clock:
    kind = settings.data.clock
    if kind == "wall" or (kind == "auto" and not from_file):
        return WallClock()
    if start is None:  # a broker feed on bar time: the clock starts at the first bar
        from datetime import UTC

        start = datetime(1970, 1, 1, tzinfo=UTC)
    return ReplayClock(start)


def _check_arming(settings: Settings, mode: Mode, options: RunOptions) -> None:
    if mode is not Mode.LIVE:
        return
    if settings.broker.environment == "production" and not (options.arm or settings.run.arm_production):
        raise _refuse(
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
    from tradebot.brokers.registry import PluginError, load_plugin

    table: dict[str, Any] = settings.broker.plugin_table(name)
    # the run's simulated venue keeps no state of its own: it is rebuilt from the store on every start, so
    # it can never be ahead of what the store committed (see pipeline/venue_projection.py)
    projected = name == "sim" and store_path is not None
    if projected and "state_path" in table:
        raise _refuse(
            "broker.sim.state_path: a run's simulated venue is rebuilt from the run's event store; "
            "state_path is only for a simulated venue used on its own (remove it from [broker.sim])"
        )
    try:
        broker: Broker = load_plugin(name).factory(table, clock)
    except (PluginError, ValueError) as exc:
        raise _refuse(str(exc)) from exc
    if projected and store_path is not None:
        _restore_sim_venue(broker, store_path)
    return broker


def _restore_sim_venue(broker: Broker, store_path: Path) -> None:
    from tradebot.brokers.sim import SimBroker
    from tradebot.pipeline.venue_projection import VenueProjectionError, restore_venue

    if not isinstance(broker, SimBroker):
        raise TypeError(f"the sim plugin built a {type(broker).__name__}, not a SimBroker")
    try:
        restore_venue(broker.venue, store_path)
    except VenueProjectionError as exc:
        raise _refuse(str(exc), ExitCode.RECONCILIATION_FAILED) from exc


def _build_broker(settings: Settings, mode: Mode, clock: Clock, store_path: Path) -> Broker:
    """The venue orders go to: the configured broker in live mode, the simulated venue otherwise."""
    return _load_broker(settings.broker.name if mode is Mode.LIVE else "sim", settings, clock, store_path)


def _build_chain(settings: Settings, mode: Mode) -> tuple[Any, Any]:
    from tradebot.risk.build import DEFAULT_CHAIN, ChainConfigError, build_chain
    from tradebot.risk.constitution import ConstitutionError, load_constitution

    try:  # with its TRADEBOT_CONSTITUTION__ overrides; live mode refuses one that loosens a limit
        constitution = load_constitution(settings.gates.constitution, os.environ, mode)
    except ConstitutionError as exc:
        raise ConfigProblems(_constitution_problems(exc, settings)) from exc
    names = settings.gates.chain or list(DEFAULT_CHAIN)
    try:
        chain = build_chain(
            names,
            constitution,
            {"canary_symbols": tuple(settings.gates.canary_symbols)},
            calendars=settings_calendars(),
            config_hash=None,
        )
    except ChainConfigError as exc:
        raise _refuse(f"gates.chain: {exc}") from exc
    return chain, constitution


def _build_sizer(
    settings: Settings, constitution: Any, instrument: Instrument, strategy: StrategyConfig | None = None
) -> Any:
    from tradebot.sizing import (
        AiSizer,
        AiSizerParams,
        EngineSizer,
        FixedFractionParams,
        FixedFractionSizer,
        SizerMode,
    )

    strategy = strategy or settings.strategy
    limit = constitution.rules_for(instrument.symbol).limits.position_limit
    max_qty = Decimal(str(limit)) if limit is not None else None
    base = FixedFractionSizer(
        FixedFractionParams(
            fraction=strategy.fraction,
            basis=strategy.basis,
            stop_ticks=strategy.stop_ticks,
            target_ticks=strategy.target_ticks,
            max_qty=max_qty,
        )
    )
    sizer: Any = base
    if strategy.sizer == "ai":
        sizer = AiSizer(base, AiSizerParams(mode=SizerMode(strategy.ai_mode.upper()), max_qty=max_qty))
    from tradebot.risk.measures import has_leverage

    return EngineSizer(sizer, has_leverage=has_leverage(instrument), max_qty=max_qty)


def _build_ensembles(settings: Settings, instruments: Mapping[str, Instrument]) -> dict[str, Any]:
    """One ensemble per instrument ([strategy]); with ``[sleeves]``, one per (sleeve, instrument), an
    instrument's sleeves together (``SleeveEnsembles``)."""
    if not settings.sleeves:
        return {s: _ensemble(settings.strategy, s, "strategy") for s in instruments}
    from tradebot.signals.sleeves import SleeveEnsembles

    problems: list[str] = []
    by_symbol: dict[str, list[tuple[str, Any]]] = {s: [] for s in instruments}
    for name, sleeve in settings.sleeves.items():
        for symbol in sleeve.instruments:
            if symbol not in by_symbol:
                continue  # named by _sleeve_problems
            try:
                ensemble = _ensemble(sleeve.strategy(settings.strategy), symbol, f"sleeves.{name}")
                by_symbol[symbol].append((name, ensemble))
            except RunRefused as exc:
                problems += [p for p in _problems(settings, exc) if p not in problems]
    if problems:
        raise ConfigProblems(problems)
    return {symbol: SleeveEnsembles(symbol, each) for symbol, each in by_symbol.items()}


def _ensemble(strategy: StrategyConfig, symbol: str, where: str) -> Any:
    from tradebot.models import ModelVerificationError, load_ensemble_params
    from tradebot.signals import UnknownProfileError, build_ensemble

    profile = strategy.profile
    try:
        # the configured artifact (verified on load); without one, the bundled artifact (verified too)
        params = load_ensemble_params(strategy.model, profile) if strategy.model else None
        return build_ensemble(profile, symbol, params)
    except UnknownProfileError as exc:
        raise _refuse(f"{where}.profile: {exc}") from exc
    except ModelVerificationError as exc:
        raise _refuse(f"{where}.model: {exc.code}: {exc}") from exc


def _sleeve_problems(settings: Settings, instruments: Mapping[str, Instrument]) -> list[str]:
    """Every sleeve's instruments are the run's, every instrument of the run is in a sleeve, and the weights
    add up to at most 1."""
    from tradebot.settings import settings_source

    if not settings.sleeves:
        return []
    from tradebot.signals.profiles import UnknownProfileError

    problems = []
    for name, sleeve in settings.sleeves.items():
        if sleeve.instruments and not set(sleeve.instruments) & set(instruments):
            profile = sleeve.strategy(settings.strategy).profile  # no ensemble of it is built: check its name
            try:
                UnknownProfileError.check(profile)
            except UnknownProfileError as exc:
                key = f"sleeves.{name}.profile"
                problems.append(f"{key}: {exc} (from {settings_source(settings, key)})")
        for symbol in sleeve.instruments:
            if symbol not in instruments:
                key = f"sleeves.{name}.instruments"
                problems.append(
                    f"{key}: {symbol} is not an instrument of this run ({', '.join(instruments)}) "
                    f"(from {settings_source(settings, key)})"
                )
    traded = {symbol for sleeve in settings.sleeves.values() for symbol in sleeve.instruments}
    for symbol in instruments:
        if symbol not in traded:
            problems.append(f"sleeves: no sleeve trades {symbol}, an instrument of this run (add it to one)")
    total = sum((sleeve.weight for sleeve in settings.sleeves.values()), Decimal(0))
    if total > 1:
        problems.append(f"sleeves: the weights add up to {total}, more than 1 (the whole equity)")
    return problems


def _netting(settings: Settings, constitution: Any, instruments: Mapping[str, Instrument]) -> Netting | None:
    if not settings.sleeves:
        return None
    sizers = {
        (name, symbol): _build_sizer(settings, constitution, instruments[symbol], strategy)
        for name, sleeve in settings.sleeves.items()
        for strategy in [sleeve.strategy(settings.strategy)]
        for symbol in sleeve.instruments
    }
    return Netting(sizers, {name: sleeve.weight for name, sleeve in settings.sleeves.items()})


class ConfigProblems(RunRefused):
    """Configuration problems, one ``key: message (from <source>)`` line each (exit 2)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        message = f"invalid configuration ({len(problems)} problem(s)):\n{lines}"
        super().__init__(message, ExitCode.CONFIG_ERROR)


@dataclass(frozen=True, slots=True)
class RunParts:
    """What a run builds from its configuration before it touches the store or a venue."""

    instruments: dict[str, Instrument]
    constitution: Any
    chain: Any
    sizer: Any
    ensembles: dict[str, Any]
    tca: TcaConfig
    netting: Netting | None = None  # several sleeves


def build_parts(
    settings: Settings,
    mode: Mode,
    *,
    from_file: bool,
    symbols: Sequence[str] | None = None,
    quotes: Mapping[str, Path] | None = None,
) -> RunParts:
    """Build the instrument, the constitution (with its environment overrides), the gate chain, the sizer
    and the signal ensembles (profile, model artifact), and check the broker tables the mode uses, the
    instruments' calendars and (live) the runtime contract. Every problem is listed at once (ConfigProblems,
    exit 2). ``tradebot config check`` calls this too: it refuses exactly what a run refuses."""
    symbols = list(symbols or _configured_symbols(settings))
    instruments: dict[str, Instrument] = {}
    problems: list[str] = []
    for sym in symbols:
        try:
            instruments[sym] = settings.instrument(sym)
        except (KeyError, ValueError) as exc:
            problems.append(f"instruments.{sym}: {exc.args[0] if exc.args else exc}")
    if problems:
        raise ConfigProblems(problems)
    problems = _calendar_problems(settings, instruments) + _broker_problems(settings, mode, from_file)
    chain: Any = None
    constitution: Any = None
    sizer: Any = None
    ensembles: dict[str, Any] = {}
    try:
        if mode is Mode.LIVE:
            _check_runtime_contract(settings, mode)
    except RunRefused as exc:
        problems += _problems(settings, exc)
    try:
        chain, constitution = _build_chain(settings, mode)
        for sym in instruments:
            missing = constitution.missing_for(sym)
            if missing:
                problems.append(
                    f"instruments.{sym}: the constitution has no section for {sym} and its default lacks "
                    f"{', '.join(missing)} (from file {settings.gates.constitution})"
                )
        if not problems:
            sizer = _sizer_by_symbol(
                {sym: _build_sizer(settings, constitution, each) for sym, each in instruments.items()}
            )
    except RunRefused as exc:
        problems += _problems(settings, exc)
    sleeve_problems = _sleeve_problems(settings, instruments)
    problems += sleeve_problems
    netting: Netting | None = None
    try:
        ensembles = _build_ensembles(settings, instruments)
        if constitution is not None and sizer is not None and not sleeve_problems:
            netting = _netting(settings, constitution, instruments)
    except RunRefused as exc:
        problems += _problems(settings, exc)
    problems += _capability_problems(settings, mode)
    tca, tca_problems = tca_config(settings, quotes or {}, instruments)
    problems += tca_problems
    if problems:
        raise ConfigProblems(problems)
    return RunParts(instruments, constitution, chain, sizer, ensembles, tca, netting)


def check_configured_feeds(settings: Settings, instruments: Mapping[str, Instrument]) -> None:
    """The configured bar files exist and their prices fit their instruments (what a run on them
    checks first); raises ConfigProblems (exit 2) listing every file that does not."""
    from tradebot.feeds.sample import sample_path

    try:
        feeds = file_feeds(settings, None, None, (), sample_path())
    except ValueError as exc:
        raise ConfigProblems([str(exc)]) from exc
    problems = feed_problems(feeds, instruments, settings_calendars())
    if problems:
        raise ConfigProblems(problems)


def _configured_symbols(settings: Settings) -> list[str]:
    """The instruments the config feeds: its ``[data.feeds]`` tables, else ``[data] symbol``."""
    return list(settings.data.feeds) or [settings.data.symbol]


def _sizer_by_symbol(sizers: Mapping[str, Any]) -> Any:
    """One instrument: its sizer; several: each signal sized by its own instrument's sizer."""
    if len(sizers) == 1:
        return next(iter(sizers.values()))

    def size(item: Any) -> Any:
        return sizers[item.instrument.symbol](item)

    return size


def _capability_problems(settings: Settings, mode: Mode) -> list[str]:
    """The broker orders go to (the configured one in live, the simulated venue otherwise) must declare
    what the strategy sends; read from the plugin's static declaration, before anything is built."""
    from tradebot.brokers.registry import PluginError, load_plugin
    from tradebot.oms.capability_check import strategy_needs, unsupported

    name = settings.broker.name if mode is Mode.LIVE else "sim"
    try:
        missing = unsupported(strategy_needs(), load_plugin(name).capabilities)
    except PluginError:
        return []  # an unknown or broken plugin is already a broker problem
    if not missing:
        return []
    return [
        f"broker.name: {reasons.UNSUPPORTED_ORDER_TYPE}: broker {name!r} does not declare "
        f"{', '.join(missing)}, which the strategy sends (MARKET entries with a stop-loss/take-profit "
        "bracket, MARKET exits); choose a broker that does"
    ]


def _problems(settings: Settings, exc: RunRefused) -> list[str]:
    """The problem lines of a refusal, each naming where its value came from: a line that starts with a
    settings key gets that key's source (file, environment or default)."""
    from tradebot.settings import settings_source

    if isinstance(exc, ConfigProblems):
        return list(exc.problems)
    lines = [line.strip().removeprefix("- ") for line in str(exc).splitlines() if line.strip()]
    key = lines[0].split(":", 1)[0] if lines else ""
    if "." in key and " " not in key:
        lines[0] += f" (from {settings_source(settings, key)})"
    return lines


def _constitution_problems(exc: Any, settings: Settings) -> list[str]:
    if exc.source == "environment":
        out = []
        for line in exc.errors:
            name = line.split(":", 1)[0]
            out.append(f"{line} (from environment {name})" if name.startswith("TRADEBOT_") else line)
        return out
    return [f"{line} (from file {exc.source})" for line in exc.errors]


def _calendar_problems(settings: Settings, instruments: Mapping[str, Instrument]) -> list[str]:
    from tradebot.domain.calendars import CalendarError
    from tradebot.settings import settings_source

    problems = []
    for symbol, instrument in instruments.items():
        try:
            settings_calendars().validate(instrument.calendar)
        except CalendarError as exc:
            key = f"instruments.{symbol}.calendar"
            problems.append(f"{key}: {exc} (from {settings_source(settings, key)})")
    return problems


def _broker_problems(settings: Settings, mode: Mode, from_file: bool) -> list[str]:
    """The ``[broker.<name>]`` tables the run will build, validated by their plugin without building a
    venue; a table or ``broker.name`` that names no installed plugin is refused too."""
    from tradebot.brokers.registry import PluginError, load_plugin, plugin_names
    from tradebot.brokers.sim.config import SimConfig
    from tradebot.settings import did_you_mean, settings_source

    installed = plugin_names()
    problems = []
    for name in sorted({settings.broker.name, *(settings.broker.model_extra or {})}):
        if name not in installed:
            key = "broker.name" if name == settings.broker.name else f"broker.{name}"
            problems.append(
                f"{key}: no installed broker plugin {name!r}{did_you_mean(name, installed)} "
                f"(installed: {', '.join(sorted(installed))}) (from {settings_source(settings, key)})"
            )
    if problems:
        return problems
    used = {"sim"} if mode is not Mode.LIVE else {settings.broker.name}
    if mode is Mode.OBSERVE and not from_file:
        used.add(settings.broker.name)
    for name in sorted(used):
        key = f"broker.{name}"
        try:
            table = settings.broker.plugin_table(name)
            if name == "sim":
                SimConfig.from_mapping(table)
            else:  # a plugin validates its own table when it builds its broker (connect() is the network)
                load_plugin(name).factory(table, ReplayClock(datetime(1970, 1, 1, tzinfo=UTC)))
        except (PluginError, ValueError) as exc:
            lines = getattr(exc, "problems", None) or [str(exc)]
            for line in lines:
                typo = line.removeprefix("broker.sim.").removesuffix(": unknown key")
                sim_key = name == "sim" and "." not in typo
                hint = did_you_mean(typo, list(SimConfig.model_fields)) if sim_key else ""
                problems.append(f"{line}{hint} (from {settings_source(settings, key)})")
    return problems


def _validator(instruments: Mapping[str, Instrument]) -> Any:
    from tradebot.domain.calendars import CalendarError
    from tradebot.ingest.validation import BarValidator

    ranges = {}
    for symbol, instrument in instruments.items():
        try:
            known = settings_calendars().known_range(instrument.calendar)
        except CalendarError:
            continue  # an unusable calendar code is refused where the calendar is first needed
        if known is not None:
            ranges[symbol] = known
    return BarValidator(ranges)  # a bar the calendar cannot place is refused, not a crash at its gates


def _first_bar_ts(feeds: Sequence[FileFeed], instruments: Mapping[str, Instrument]) -> datetime | None:
    """The time of the first bar that validation accepts, over the files (the replay clock starts there)."""
    from tradebot.feeds.csv_bars import FeedError

    try:
        return first_bar_ts(feeds, instruments, settings_calendars(), _validator(instruments))
    except FeedError as exc:
        raise _refuse(str(exc)) from exc  # the message names the file


def _record_refused(
    engine: DecisionEngine | None, recorder: StoreRecorder, clock: Clock, refused: RefusedBar
) -> None:
    if engine is not None:
        engine.on_refused_bar(refused.code, refused.symbol)
    recorder.record("bar_refused", asdict(refused), ts=clock.now(), symbol=refused.symbol)


__all__ = ["ResumeState", "TradingState", "reasons", "run_session"]
