"""What a run builds from its configuration before it touches the store or a venue (``RunParts``): the
instruments, the constitution with its environment overrides, the gate chain, the sizers, the signal
ensembles (per sleeve), the TCA settings; and every problem with them, listed at once (``ConfigProblems``,
exit 2). ``tradebot config check`` builds the same parts, so it refuses exactly what a run refuses."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tradebot.brokers.registry import PluginError, load_plugin, plugin_names
from tradebot.brokers.sim.config import SimConfig
from tradebot.domain import reasons
from tradebot.domain.calendars import CalendarError, Calendars, shared_calendars
from tradebot.domain.clock import ReplayClock
from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import OrderIntent
from tradebot.domain.state import Mode
from tradebot.exit_codes import ExitCode
from tradebot.feeds.sample import sample_path
from tradebot.ingest.validation import BarValidator
from tradebot.learning.apply import AppliedOverrides, apply_overrides
from tradebot.learning.setup import LearningSetup, learning_setup
from tradebot.models import ModelVerificationError, default_model_path, load_ensemble_params, verify_artifact
from tradebot.oms.capability_check import strategy_needs, unsupported
from tradebot.ops.runtime_contract import check_runtime_contract
from tradebot.pipeline.app import RunRefused
from tradebot.pipeline.data_feeds import FileFeed, feed_problems, file_feeds, first_bar_closes
from tradebot.pipeline.engine import Sizer, SizingInput
from tradebot.pipeline.runner import SignalSource
from tradebot.pipeline.tca_recorder import tca_config
from tradebot.risk.build import DEFAULT_CHAIN, ChainConfigError, build_chain
from tradebot.risk.chain import GateChain
from tradebot.risk.constitution import Constitution, ConstitutionError, load_constitution
from tradebot.risk.measures import has_leverage
from tradebot.risk.sleeve_allocation import AllocationRules
from tradebot.settings import Settings, StrategyConfig, did_you_mean, settings_source
from tradebot.shadow.config import LIVE
from tradebot.shadow.runner import ShadowRunner, build_runner
from tradebot.signals import UnknownProfileError, build_ensemble
from tradebot.signals.sleeves import SleeveEnsembles
from tradebot.sizing import (
    AiSizer,
    AiSizerParams,
    EngineSizer,
    FixedFractionParams,
    FixedFractionSizer,
    SizerMode,
)
from tradebot.sizing.ai_lot_check import LotCheck, check_one_lot
from tradebot.sizing.netting import Netting

if TYPE_CHECKING:
    from tradebot.analytics.tca import TcaConfig


def refuse(message: str, code: ExitCode = ExitCode.CONFIG_ERROR) -> RunRefused:
    """The refusal of a run (exit 2 unless ``code`` says otherwise), to raise."""
    return RunRefused(message, code)


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
    constitution: Constitution
    chain: GateChain
    sizer: Sizer
    ensembles: dict[str, SignalSource]
    tca: TcaConfig
    netting: Netting | None = None  # several sleeves
    allocation: AllocationRules | None = None  # [sleeves]: their base weights and how they move
    learning: LearningSetup | None = None  # [learning] on in this mode: the overrides file, what may move


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
    symbols = list(symbols or configured_symbols(settings))
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
    sleeve_problems = _sleeve_problems(settings, instruments) + _allocation_problems(settings)
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
    learning = None
    if constitution is not None and ensembles:
        learning, learning_problems = learning_setup(
            settings.learning, Path(settings.run.run_dir), mode, constitution, ensembles
        )
        problems += learning_problems
    if settings.shadow and ensembles:
        problems += _shadow_problems(settings, instruments, ensembles)
    if problems:
        raise ConfigProblems(problems)
    return RunParts(
        instruments, constitution, chain, sizer, ensembles, tca, netting, allocation_rules(settings), learning
    )


def shadow_runner(settings: Settings, parts: RunParts) -> ShadowRunner | None:
    """The run's shadow sets over its instruments (None without ``[shadow]``): a set of the live profile
    starts from the live ensemble's parameters (model artifact and learned overrides included); every paper
    fill pays ``[shadow_costs] per_side_bps``, by default the simulated venue's fee + slippage."""
    if not settings.shadow:
        return None
    per_side = settings.shadow_costs.per_side_bps
    if per_side is None:
        sim = SimConfig.from_mapping(settings.broker.plugin_table("sim"))
        per_side = Decimal(str(sim.fee_bps)) + Decimal(str(sim.slippage_bps))
    live = {symbol: source.params for symbol, source in parts.ensembles.items()}  # type: ignore[attr-defined]
    return build_runner(
        settings.shadow,
        live,
        settings.strategy.profile,
        parts.instruments,
        stop_ticks=settings.strategy.stop_ticks,
        target_ticks=settings.strategy.target_ticks,
        per_side_bps=per_side,
    )


def _shadow_problems(
    settings: Settings, instruments: Mapping[str, Instrument], ensembles: Mapping[str, SignalSource]
) -> list[str]:
    if settings.sleeves:
        return ["shadow: shadow sets are compared with the single [strategy]; this run has [sleeves]"]
    problems = []
    if LIVE in settings.shadow:
        problems.append(f"shadow.{LIVE}: the name of the live set's own record; call the set otherwise")
    for name, cfg in settings.shadow.items():
        if cfg.profile is not None:
            try:
                UnknownProfileError.check(cfg.profile)
            except UnknownProfileError as exc:
                where = settings_source(settings, f"shadow.{name}")
                problems.append(f"shadow.{name}.profile: {exc} (from {where})")
    if problems:
        return problems
    live = {symbol: source.params for symbol, source in ensembles.items()}  # type: ignore[attr-defined]
    for name, cfg in settings.shadow.items():
        try:
            build_runner(
                {name: cfg}, live, settings.strategy.profile, instruments,
                stop_ticks=1, target_ticks=1, per_side_bps=Decimal(0),
            )
        except (ValueError, TypeError) as exc:
            problems.append(f"{exc} (from {settings_source(settings, f'shadow.{name}')})")
    return problems


def with_learned(parts: RunParts, settings: Settings, applied: AppliedOverrides) -> RunParts:
    """``parts`` with the learned overrides in place: the constitution (its entry cost buffers) and the gate
    chain built over it, and the ensembles (their deadband and confirmation)."""
    if not applied.overrides:
        return parts
    constitution, ensembles, _ = apply_overrides(parts.constitution, parts.ensembles, applied.overrides)
    chain = _chain_over(settings, constitution)
    return replace(parts, constitution=constitution, chain=chain, ensembles=ensembles)


def check_configured_feeds(settings: Settings, instruments: Mapping[str, Instrument]) -> None:
    """The configured bar files exist and their prices fit their instruments (what a run on them
    checks first); raises ConfigProblems (exit 2) listing every file that does not."""

    feeds = configured_file_feeds(settings)
    problems = feed_problems(feeds, instruments, settings_calendars())
    if problems:
        raise ConfigProblems(problems)


def configured_file_feeds(settings: Settings) -> tuple[FileFeed, ...]:
    """The bar files the config names (``[data.feeds]``, ``[data] path``, else the bundled week)."""
    try:
        return file_feeds(settings, None, None, (), sample_path())
    except ValueError as exc:
        raise ConfigProblems([str(exc)]) from exc


def check_ai_sizers(
    settings: Settings, parts: RunParts, feeds: Sequence[FileFeed]
) -> tuple[LotCheck, ...]:
    """Whether each AI sizer of the run ([strategy], or each sleeve whose sizer is "ai") can size one lot of
    each of its instruments at its most (sizing/ai_lot_check.py), with the starting cash (times the sleeve's
    weight) at the first bar of the instrument's file, else at its configured reference price. A LIVE one
    that cannot refuses the run (ConfigProblems, exit 2, AI_SIZER_BELOW_ONE_LOT); the checks are returned
    (the run records them and warns of a SHADOW one below one lot, or one it could not check)."""
    instruments = parts.instruments
    closes = first_bar_closes(feeds, instruments, settings_calendars(), bar_validator(instruments))
    files = {feed.symbol: feed.path.name for feed in feeds}
    checks: list[LotCheck] = []
    problems: list[str] = []
    for key, strategy, weight, symbols in _sized_strategies(settings, parts.instruments):
        if strategy.sizer != "ai":
            continue
        mode = SizerMode(strategy.ai_mode.upper())
        references = {symbol.upper(): price for symbol, price in strategy.ai.reference_prices.items()}
        for symbol in references:
            if symbol not in {s.upper() for s in parts.instruments}:
                where = f"{key}.reference_prices.{symbol}"
                problems.append(
                    f"{where}: {symbol} is not an instrument of this run ({', '.join(parts.instruments)}) "
                    f"(from {settings_source(settings, f'{key}.reference_prices')})"
                )
        for symbol in symbols:
            instrument = parts.instruments[symbol]
            limit = parts.constitution.rules_for(symbol).limits.position_limit
            price: Decimal | None = closes.get(symbol)
            source = f"the first bar of {files[symbol]}" if price is not None else ""
            if price is None and symbol.upper() in references:
                price, source = references[symbol.upper()], f"{key}.reference_prices.{symbol}"
            elif price is None:
                source = "no bar file and no reference price, so no price is known before the first bar"
            check = check_one_lot(
                key,
                AiSizerParams.of(strategy.ai, mode, None),
                instrument,
                settings.portfolio.starting_cash * weight,
                price,
                source,
                has_leverage=has_leverage(instrument),
                max_qty=Decimal(str(limit)) if limit is not None else None,
            )
            checks.append(check)
            if check.refuses:
                problems.append(f"{check.message()} (from {settings_source(settings, key)})")
    if problems:
        raise ConfigProblems(problems)
    return tuple(checks)


def _sized_strategies(
    settings: Settings, instruments: Mapping[str, Instrument]
) -> list[tuple[str, StrategyConfig, Decimal, list[str]]]:
    """(config table of its AI sizer, strategy, share of equity, instruments) of each strategy of the run."""
    if not settings.sleeves:
        return [("strategy.ai", settings.strategy, Decimal(1), list(instruments))]
    return [
        (f"sleeves.{name}.ai", sleeve.strategy(settings.strategy), sleeve.weight,
         [s for s in sleeve.instruments if s in instruments])
        for name, sleeve in settings.sleeves.items()
    ]


def configured_symbols(settings: Settings) -> list[str]:
    """The instruments the config feeds: its ``[data.feeds]`` tables, else ``[data] symbol``."""
    return list(settings.data.feeds) or [settings.data.symbol]


def settings_calendars() -> Calendars:
    return shared_calendars()


def bar_validator(instruments: Mapping[str, Instrument]) -> BarValidator:
    ranges = {}
    for symbol, instrument in instruments.items():
        try:
            known = settings_calendars().known_range(instrument.calendar)
        except CalendarError:
            continue  # an unusable calendar code is refused where the calendar is first needed
        if known is not None:
            ranges[symbol] = known
    return BarValidator(ranges)  # a bar the calendar cannot place is refused, not a crash at its gates


def _check_runtime_contract(settings: Settings, mode: Mode) -> None:
    if mode is not Mode.LIVE:
        return
    name = settings.broker.name

    try:
        libraries = load_plugin(name).client_libraries
    except PluginError as exc:
        raise refuse(str(exc)) from exc
    problems = check_runtime_contract(
        mode,
        [name],
        libraries,
        _model_verifier(settings),
        allow_simulated=settings.broker.environment != "production",
    )
    if problems:
        raise refuse(
            f"{reasons.RUNTIME_CONTRACT_VIOLATION}: live mode refuses to start (runtime contract):\n  - "
            + "\n  - ".join(problems)
        )


def _build_chain(settings: Settings, mode: Mode) -> tuple[GateChain, Constitution]:
    try:  # with its TRADEBOT_CONSTITUTION__ overrides; live mode refuses one that loosens a limit
        constitution = load_constitution(settings.gates.constitution, os.environ, mode)
    except ConstitutionError as exc:
        raise ConfigProblems(_constitution_problems(exc, settings)) from exc
    return _chain_over(settings, constitution), constitution


def _chain_over(settings: Settings, constitution: Constitution) -> GateChain:
    """The configured gate chain (``[gates] chain``, else the default) over ``constitution``."""
    try:
        return build_chain(
            settings.gates.chain or list(DEFAULT_CHAIN),
            constitution,
            {"canary_symbols": tuple(settings.gates.canary_symbols)},
            calendars=settings_calendars(),
            config_hash=None,
        )
    except ChainConfigError as exc:
        raise refuse(f"gates.chain: {exc}") from exc


def _build_sizer(
    settings: Settings,
    constitution: Constitution,
    instrument: Instrument,
    strategy: StrategyConfig | None = None,
) -> EngineSizer:
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
    sizer: FixedFractionSizer | AiSizer = base
    if strategy.sizer == "ai":
        sizer = AiSizer(base, AiSizerParams.of(strategy.ai, SizerMode(strategy.ai_mode.upper()), max_qty))
    return EngineSizer(sizer, has_leverage=has_leverage(instrument), max_qty=max_qty)


def _build_ensembles(settings: Settings, instruments: Mapping[str, Instrument]) -> dict[str, SignalSource]:
    """One ensemble per instrument ([strategy]); with ``[sleeves]``, one per (sleeve, instrument), an
    instrument's sleeves together (``SleeveEnsembles``)."""
    if not settings.sleeves:
        return {s: _ensemble(settings.strategy, s, "strategy") for s in instruments}

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
    profile = strategy.profile
    try:
        # the configured artifact (verified on load); without one, the bundled artifact (verified too)
        params = load_ensemble_params(strategy.model, profile) if strategy.model else None
        return build_ensemble(profile, symbol, params)
    except UnknownProfileError as exc:
        raise refuse(f"{where}.profile: {exc}") from exc
    except ModelVerificationError as exc:
        raise refuse(f"{where}.model: {exc.code}: {exc}") from exc


def _sleeve_problems(settings: Settings, instruments: Mapping[str, Instrument]) -> list[str]:
    """Every sleeve's instruments are the run's, every instrument of the run is in a sleeve, and the weights
    add up to at most 1."""

    if not settings.sleeves:
        return []

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


def allocation_rules(settings: Settings) -> AllocationRules | None:
    """The sleeves' base weights and ``[allocation]`` (None: no [sleeves], the single [strategy])."""
    if not settings.sleeves:
        return None
    each = settings.allocation
    return AllocationRules(
        bases=tuple((name, sleeve.weight) for name, sleeve in settings.sleeves.items()),
        capital=settings.portfolio.starting_cash,
        enabled=each.enabled,
        min_weight=each.min_weight,
        max_weight=each.max_weight,
        max_delta=each.daily_max_delta,
        window=each.expectancy_window_trades,
        min_trades=each.min_trades_for_adjust,
        drawdown_trigger=each.drawdown_trigger,
        expectancy_floor=each.expectancy_floor_pct,
    )


def _allocation_problems(settings: Settings) -> list[str]:
    """``[allocation]`` consistent with itself, and (two sleeves or more, enabled) every base weight inside
    the bounds the allocation keeps weights in."""
    each = settings.allocation
    problems = []
    if each.min_weight > each.max_weight:
        key = "allocation.min_weight"
        problems.append(
            f"{key}: {each.min_weight} is above allocation.max_weight ({each.max_weight}) "
            f"(from {settings_source(settings, key)})"
        )
    if each.min_trades_for_adjust > each.expectancy_window_trades:
        key = "allocation.min_trades_for_adjust"
        problems.append(
            f"{key}: {each.min_trades_for_adjust} is more than allocation.expectancy_window_trades "
            f"({each.expectancy_window_trades}), so no weight could ever move "
            f"(from {settings_source(settings, key)})"
        )
    if each.enabled and len(settings.sleeves) > 1:
        for name, sleeve in settings.sleeves.items():
            if not each.min_weight <= sleeve.weight <= each.max_weight:
                key = f"sleeves.{name}.weight"
                problems.append(
                    f"{key}: {sleeve.weight} is outside allocation.min_weight .. allocation.max_weight "
                    f"({each.min_weight} .. {each.max_weight}), where the allocation keeps weights "
                    f"(from {settings_source(settings, key)})"
                )
    return problems


def _netting(
    settings: Settings, constitution: Constitution, instruments: Mapping[str, Instrument]
) -> Netting | None:
    if not settings.sleeves:
        return None
    sizers = {
        (name, symbol): _build_sizer(settings, constitution, instruments[symbol], strategy)
        for name, sleeve in settings.sleeves.items()
        for strategy in [sleeve.strategy(settings.strategy)]
        for symbol in sleeve.instruments
    }
    return Netting(sizers, {name: sleeve.weight for name, sleeve in settings.sleeves.items()})


def _sizer_by_symbol(sizers: Mapping[str, EngineSizer]) -> Sizer:
    """One instrument: its sizer; several: each signal sized by its own instrument's sizer."""
    if len(sizers) == 1:
        return next(iter(sizers.values()))

    def size(item: SizingInput) -> tuple[list[OrderIntent], Mapping[str, Any]]:
        return sizers[item.instrument.symbol](item)

    return size


def _capability_problems(settings: Settings, mode: Mode) -> list[str]:
    """The broker orders go to (the configured one in live, the simulated venue otherwise) must declare
    what the strategy sends; read from the plugin's static declaration, before anything is built."""

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

    if isinstance(exc, ConfigProblems):
        return list(exc.problems)
    lines = [line.strip().removeprefix("- ") for line in str(exc).splitlines() if line.strip()]
    key = lines[0].split(":", 1)[0] if lines else ""
    if "." in key and " " not in key:
        lines[0] += f" (from {settings_source(settings, key)})"
    return lines


def _constitution_problems(exc: ConstitutionError, settings: Settings) -> list[str]:
    if exc.source == "environment":
        out = []
        for line in exc.errors:
            name = line.split(":", 1)[0]
            out.append(f"{line} (from environment {name})" if name.startswith("TRADEBOT_") else line)
        return out
    return [f"{line} (from file {exc.source})" for line in exc.errors]


def _calendar_problems(settings: Settings, instruments: Mapping[str, Instrument]) -> list[str]:
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


def _model_verifier(settings: Settings) -> Any:
    def verify() -> list[str]:
        try:
            verify_artifact(settings.strategy.model or default_model_path())
        except ModelVerificationError as exc:
            return [f"{exc.code}: {p}" for p in exc.problems] or [f"{exc.code}: {exc}"]
        return []

    return verify
