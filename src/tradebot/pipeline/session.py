"""One run, assembled: settings → clock, venue, store, gates, ensemble, sizer → pipeline → summary.

Resuming: when the store already holds bars (a crashed or stopped run), the run resumes after the last
recorded bar. Earlier bars still flow through validation and the ensemble (to rebuild indicator state)
but not through decisions; positions and the order ledger are rebuilt from the store, then reconciled with
the venue (whose state survives the crash: the simulated venue keeps its own durable state file next to
the store). A bar's events are appended bar first, so a crash mid-bar leaves that bar recorded and its
unfinished decisions are not redone: no event is written twice, and an order whose write-ahead record
is in the store is found at the venue by its client order id or reported as never sent.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from tradebot.brokers.protocol import Broker
from tradebot.domain import reasons
from tradebot.domain.clock import Clock, ReplayClock, WallClock
from tradebot.domain.instruments import Instrument
from tradebot.domain.state import Mode, TradingState
from tradebot.exit_codes import ExitCode
from tradebot.pipeline.app import RunOptions, RunRefused, instrument_body
from tradebot.pipeline.engine import DecisionEngine
from tradebot.pipeline.portfolio import Portfolio
from tradebot.pipeline.resume import ResumeState, load_resume_state, reconcile_after_restart
from tradebot.pipeline.runner import Pipeline, RefusedBar, SourceItem
from tradebot.pipeline.stats import RunStats
from tradebot.pipeline.store_recorder import StoreRecorder
from tradebot.pipeline.summary import summarize_store


def _refuse(message: str, code: ExitCode = ExitCode.CONFIG_ERROR) -> RunRefused:
    return RunRefused(message, code)


async def run_session(settings: Any, options: RunOptions) -> dict[str, Any]:
    from tradebot.feeds.sample import sample_path

    mode = Mode(options.mode)
    symbol = settings.data.symbol
    instrument = settings.instrument(symbol)
    instruments = {symbol: instrument}
    _check_arming(settings, mode, options)

    data_path = options.data or settings.data.path
    from_file = options.data is not None or settings.data.source == "csv" or mode is Mode.REPLAY
    if from_file:
        data_path = data_path or sample_path()
        if not Path(data_path).exists():
            raise _refuse(f"data file not found: {data_path}")
    store_path = Path(options.store or settings.store_path)
    store_path.parent.mkdir(parents=True, exist_ok=True)

    resume = load_resume_state(store_path, instruments, settings_calendars())
    first_ts = _first_bar_ts(Path(data_path), symbol, settings.data.bar_size_s) if from_file else None
    clock = _build_clock(settings, from_file, resume.clock_start or first_ts)

    run_dir = Path(settings.run.run_dir)
    runtime_dir = Path(settings.runtime_dir)
    logging_handle = _setup_logging(settings, run_dir, options)
    _check_runtime_contract(settings, mode)
    broker = _build_broker(settings, mode, clock, store_path)
    # observe on a broker's feed: the broker plugin supplies bars, the simulated venue executes
    feed_broker: Broker | None = None
    if not from_file:
        feed_broker = broker if mode is Mode.LIVE else _load_broker(settings.broker.name, settings, clock)
    if hasattr(broker, "register_instrument"):
        broker.register_instrument(instrument)
    chain, constitution = _build_chain(settings, mode)
    sizer = _build_sizer(settings, constitution, instrument)
    ensembles = _build_ensembles(settings, instruments)
    window = _session_window(options, instrument, constitution, clock)
    async with contextlib.AsyncExitStack() as stack:
        if window is not None:
            stack.enter_context(_instance_lock(settings, run_dir))
            if isinstance(clock, WallClock):
                from tradebot.session import wait_for_open

                await wait_for_open(window, clock, max_wait=timedelta(seconds=settings.session.max_wait_s))
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
            chain,
            constitution,
            sizer,
            ensembles,
            window,
            from_file,
            data_path,
        )
    logging_handle.close()
    return summary


async def _run(
    settings: Any,
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
    chain: Any,
    constitution: Any,
    sizer: Any,
    ensembles: dict[str, Any],
    window: Any,
    from_file: bool,
    data_path: Any,
) -> dict[str, Any]:
    symbol = instrument.symbol

    stats = RunStats()
    portfolio = resume.portfolio or Portfolio(settings.portfolio.starting_cash, instruments)
    run_id = uuid.uuid4().hex[:12]
    from tradebot.risk.flatten import SessionFlattener
    from tradebot.store import EventWriter

    durable: Literal["full", "normal"] = "normal" if mode is Mode.REPLAY else "full"
    engine: DecisionEngine | None = None
    session_ok = True

    def on_failure(exc: BaseException) -> None:
        if engine is not None:
            engine.on_store_failure(exc)

    async with EventWriter.open(
        store_path, on_failure=on_failure, run_id=run_id, durable_sync=durable
    ) as writer:
        recorder = StoreRecorder(writer)
        ops, webhook = _build_ops(settings, recorder, clock)
        engine = DecisionEngine(
            mode=mode,
            clock=clock,
            instruments=instruments,
            broker=broker,
            portfolio=portfolio,
            chain=chain,
            sizer=sizer,
            recorder=recorder,
            stats=stats,
            limits=lambda sym: constitution.rules_for(sym).limits,
            flattener=SessionFlattener(constitution, settings_calendars(), resume.tracker),
            ledger=resume.ledger,
            tracker=resume.tracker,
            machine=resume.machine,
            constitution_sha256=constitution.sha256,
            resume_after=resume.last_bar_ts,
            ops=ops,
        )
        if window is not None:
            engine.session_open, engine.session_close = window.open, window.close
            engine.flatten_at_session_close = settings.session.flatten_at_close
            recorder.record("session_window", window.as_dict(), ts=clock.now())
        recorder.record(
            "run_start",
            {
                "mode": mode.value,
                "run_id_hint": "see write_batches",
                "config_hash": settings.config_hash(),
                "constitution_sha256": constitution.sha256,
                "chain": [g.name for g in chain.gates],
                "instruments": [instrument_body(i) for i in instruments.values()],
                "starting_cash": str(settings.portfolio.starting_cash),
                "data": Path(data_path).name if from_file else "broker",
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
            source = (
                _csv_source(Path(data_path), symbol, settings.data.bar_size_s, engine)
                if from_file
                else _broker_source(
                    feed_broker or broker,
                    await _feed_instrument(feed_broker, instrument),
                    settings.data.bar_size_s,
                )
            )
            pipeline = Pipeline(
                source=source,
                validator=_validator(),
                ensembles=ensembles,
                engine=engine,
                broker_events=None if hasattr(broker, "drain_events") else broker.events(),
                on_refused=lambda refused: _record_refused(engine, recorder, clock, refused),
                refusals_recorded_through_line=resume.last_refused_line,
                intents=None if preloaded else intent_source,
                max_bars=options.max_bars,
                stop_at=window.close if window is not None else None,
                wall_clock=clock if isinstance(clock, WallClock) else None,
            )
            for item in preloaded:  # replay clock: every intent is known up front, held until its time
                await engine.on_external(item)
            await pipeline.run(handle_signals=True)
            if window is not None:
                session_ok = await _close_session(
                    settings, engine, broker, recorder, writer, clock, store_path, run_dir, window
                )
        finally:
            engine.finish()
            await control.close()
            await broker.close()
            if feed_broker is not None and feed_broker is not broker:
                await feed_broker.close()
            if webhook is not None:
                webhook.close()
        await writer.flush()
    summary = summarize_store(store_path)
    if window is not None:
        summary["session_close_ok"] = session_ok
    return summary


def _session_window(options: RunOptions, instrument: Instrument, constitution: Any, clock: Clock) -> Any:
    """The window a ``--session`` run trades in (None without ``--session``); MarketClosed propagates."""
    if options.session is None:
        return None
    from tradebot.session import regular_hours_of, session_window

    rules = constitution.rules_for(instrument.symbol).session
    return session_window(
        options.session,
        instrument.calendar,
        clock.now(),
        settings_calendars(),
        regular_hours=regular_hours_of(rules),
    )


def _instance_lock(settings: Any, run_dir: Path) -> Any:
    from tradebot.session import instance_lock

    account = settings.run.account_id or f"{settings.broker.name}-{settings.broker.environment}"
    return instance_lock(run_dir, account, settings.config_hash())


async def _startup_cleanup(
    settings: Any, engine: DecisionEngine, broker: Broker, recorder: StoreRecorder, clock: Clock
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
        raise
    recorder.record(STARTUP_CLEANUP_KIND, report.as_dict(), ts=clock.now())


async def _close_session(
    settings: Any,
    engine: DecisionEngine,
    broker: Broker,
    recorder: StoreRecorder,
    writer: Any,
    clock: Clock,
    store_path: Path,
    run_dir: Path,
    window: Any,
) -> bool:
    """SESSION_CLOSE_CLEANUP: cancel DAY orders, check flat, reconcile, write the reports."""
    from tradebot.session import close_session, write_window_reports

    cfg = settings.session

    async def reconcile() -> dict[str, Any]:
        venue = {p.symbol: p.quantity for p in await broker.positions()}
        ours = {s: p.quantity for s, p in engine.portfolio.positions.items() if p.quantity != 0}
        mismatches = [
            {"symbol": s, "venue": str(venue.get(s, 0)), "ours": str(ours.get(s, 0))}
            for s in sorted(set(venue) | set(ours))
            if venue.get(s, Decimal(0)) != ours.get(s, Decimal(0))
        ]
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
        return {k: str(v) for k, v in paths.as_dict().items()}

    closed = await close_session(
        broker,
        clock,
        reason="sigterm" if engine.stats.bars and clock.now() < window.close else "session_end",
        cancel_day_orders=cfg.cancel_day_orders,
        flatten=None,
        reconcile=reconcile,
        record=lambda kind, body: recorder.record(kind, body, ts=clock.now()),
        write_reports=write_reports,
        cancel_timeout=timedelta(seconds=cfg.cancel_timeout_s),
    )
    engine._apply_venue_events()
    return bool(closed.ok)


def _setup_logging(settings: Any, run_dir: Path, options: RunOptions) -> Any:
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
    )


def _check_runtime_contract(settings: Any, mode: Mode) -> None:
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
        raise _refuse("live mode refuses to start (runtime contract):\n  - " + "\n  - ".join(problems))


def _model_verifier(settings: Any) -> Any:
    def verify() -> list[str]:
        from tradebot.models import ModelVerificationError, default_model_path, verify_artifact

        try:
            verify_artifact(settings.strategy.model or default_model_path())
        except ModelVerificationError as exc:
            return [f"{exc.code}: {p}" for p in exc.problems] or [f"{exc.code}: {exc}"]
        return []

    return verify


def _build_ops(settings: Any, recorder: StoreRecorder, clock: Clock) -> tuple[Any, Any]:
    from tradebot.ops.alerts import AlertRules, build_sinks
    from tradebot.ops.breakers import BreakerBoard
    from tradebot.ops.metrics import Metrics
    from tradebot.pipeline.ops_hooks import OpsHooks

    ops_cfg = settings.ops
    url = ops_cfg.alerts.webhook_url
    dispatcher, webhook = build_sinks(
        store_write=lambda code, body: recorder.record(code, dict(body), ts=clock.now()),
        webhook_url=url.get_secret_value() if url is not None else None,
        webhook_timeout_s=ops_cfg.alerts.webhook_timeout_s,
    )
    metrics = Metrics() if ops_cfg.metrics.enabled else None
    if metrics is not None:
        from tradebot.ops.metrics import maybe_start_metrics_server

        maybe_start_metrics_server(
            metrics, enabled=True, port=ops_cfg.metrics.port, host=ops_cfg.metrics.host
        )
    hooks = OpsHooks(
        BreakerBoard(policy=ops_cfg.breaker_policy()),
        AlertRules(ops_cfg.alert_thresholds()),
        dispatcher,
        metrics,
    )
    return hooks, webhook


_RUN_SPECIFIC = ("time", "run_id", "host")


def _write_manifest(
    settings: Any,
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


def _intent_source(options: RunOptions, instruments: Mapping[str, Instrument], clock: Clock) -> Any:
    if options.intents is None:
        return None
    from tradebot.intents import JsonlIntentSource

    if options.intents != "-" and not Path(options.intents).exists():
        raise _refuse(f"--intents: file not found: {options.intents}")
    # on the replay clock intents are held until their own time, so any timestamp in the data is fine
    skew = 10 * 365 * 86_400.0 if isinstance(clock, ReplayClock) else 5.0
    return aiter(JsonlIntentSource(options.intents, instruments, clock, max_skew_s=skew))


def settings_calendars() -> Any:
    from tradebot.ops.calendars import shared_calendars

    return shared_calendars()


def _build_clock(settings: Any, from_file: bool, start: datetime | None) -> Clock:
    kind = settings.data.clock
    if kind == "wall" or (kind == "auto" and not from_file):
        return WallClock()
    if start is None:  # a broker feed on bar time: the clock starts at the first bar
        from datetime import UTC

        start = datetime(1970, 1, 1, tzinfo=UTC)
    return ReplayClock(start)


def _check_arming(settings: Any, mode: Mode, options: RunOptions) -> None:
    if mode is not Mode.LIVE:
        return
    if settings.broker.environment == "production" and not (options.arm or settings.run.arm_production):
        raise _refuse(
            f"live mode against the PRODUCTION environment of broker '{settings.broker.name}' needs an "
            "explicit arming step: pass --arm or set run.arm_production = true. Refusing to start."
        )


async def _feed_instrument(feed_broker: Broker | None, configured: Instrument) -> Instrument:
    """The venue's own spec for the feed's symbol (a plugin needs its own contract to subscribe)."""
    if feed_broker is None or hasattr(feed_broker, "drain_events"):
        return configured
    return await feed_broker.instrument(configured.symbol)


def _load_broker(name: str, settings: Any, clock: Clock, store_path: Path | None = None) -> Broker:
    """Build broker ``name`` from its ``[broker.<name>]`` table; a bad plugin or table refuses the run."""
    from tradebot.brokers.registry import PluginError, load_plugin

    table: dict[str, Any] = settings.broker.plugin_table(name)
    if name == "sim" and store_path is not None and "state_path" not in table:
        # the simulated venue keeps its own durable state, like a real venue, so a restart can reconcile
        table["state_path"] = str(store_path.with_name(store_path.name + ".venue.db"))
    try:
        return load_plugin(name).factory(table, clock)
    except (PluginError, ValueError) as exc:
        raise _refuse(str(exc)) from exc


def _build_broker(settings: Any, mode: Mode, clock: Clock, store_path: Path) -> Broker:
    """The venue orders go to: the configured broker in live mode, the simulated venue otherwise."""
    return _load_broker(settings.broker.name if mode is Mode.LIVE else "sim", settings, clock, store_path)


def _build_chain(settings: Any, mode: Mode) -> tuple[Any, Any]:
    from tradebot.risk.build import DEFAULT_CHAIN, ChainConfigError, build_chain
    from tradebot.risk.constitution import ConstitutionError, load_constitution

    try:
        constitution = load_constitution(settings.gates.constitution)
    except (ConstitutionError, OSError) as exc:
        raise _refuse(str(exc)) from exc
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


def _build_sizer(settings: Any, constitution: Any, instrument: Instrument) -> Any:
    from tradebot.sizing import (
        AiSizer,
        AiSizerParams,
        EngineSizer,
        FixedFractionParams,
        FixedFractionSizer,
        SizerMode,
    )

    strategy = settings.strategy
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


def _build_ensembles(settings: Any, instruments: Mapping[str, Instrument]) -> dict[str, Any]:
    from tradebot.models import ModelVerificationError, load_ensemble_params
    from tradebot.signals import UnknownProfileError, build_ensemble

    profile = settings.strategy.profile
    try:
        # the configured artifact (verified on load); without one, the bundled artifact (verified too)
        params = load_ensemble_params(settings.strategy.model, profile) if settings.strategy.model else None
        return {s: build_ensemble(profile, s, params) for s in instruments}
    except UnknownProfileError as exc:
        raise _refuse(f"strategy.profile: {exc}") from exc
    except ModelVerificationError as exc:
        raise _refuse(f"strategy.model: {exc.code}: {exc}") from exc


def _validator() -> Any:
    from tradebot.ingest.validation import BarValidator

    return BarValidator()


def _first_bar_ts(path: Path, symbol: str, bar_size_s: int) -> datetime | None:
    from tradebot.feeds.csv_bars import CsvBarFeed, FeedError

    try:
        for item in CsvBarFeed(path, symbol=symbol, interval_s=bar_size_s):
            if isinstance(item, tuple):
                return item[1].ts
    except FeedError as exc:
        raise _refuse(f"{path}: {exc}") from exc
    return None


async def _csv_source(
    path: Path, symbol: str, bar_size_s: int, engine: DecisionEngine
) -> AsyncIterator[SourceItem]:
    from tradebot.feeds.csv_bars import CsvBarFeed, FeedRejection

    async for item in CsvBarFeed(path, symbol=symbol, interval_s=bar_size_s).aiter():
        if isinstance(item, FeedRejection):
            yield RefusedBar(item.code, item.detail, item.line, symbol)
        else:
            yield item


async def _broker_source(
    broker: Broker, instrument: Instrument, bar_size_s: int
) -> AsyncIterator[SourceItem]:
    async for bar in broker.bars(instrument, bar_size_s):
        yield (None, bar)


def _record_refused(
    engine: DecisionEngine | None, recorder: StoreRecorder, clock: Clock, refused: RefusedBar
) -> None:
    if engine is not None:
        engine.on_refused_bar(refused.code)
    recorder.record("bar_refused", asdict(refused), ts=clock.now(), symbol=refused.symbol)


__all__ = ["ResumeState", "TradingState", "reasons", "run_session"]
