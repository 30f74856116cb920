"""Runtime configuration: ``config/tradebot.toml`` read through pydantic-settings.

Sources, highest first: init arguments, environment (``TRADEBOT_`` prefix, ``__`` nesting, e.g.
``TRADEBOT_RUN__MODE=live``), the TOML file. Unknown keys are errors, in the file and in the environment:
a ``TRADEBOT_`` variable that is neither a settings key, a constitution override
(``TRADEBOT_CONSTITUTION__...``, applied by ``risk.constitution``) nor an allowed name (``allow_env_var``,
e.g. a variable a broker table names as where its API key is) is refused. Every error is reported at
once, each with its key path and where the value came from (``ConfigError.problems``).
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from tradebot.analytics.attribution import AttributionRules
from tradebot.analytics.readiness import ReadinessCriteria
from tradebot.domain.instruments import AssetClass, Instrument
from tradebot.domain.presets import preset, preset_symbols
from tradebot.learning.config import LearningConfig
from tradebot.ops.config import OpsConfig
from tradebot.session.config import SessionConfig
from tradebot.shadow.config import ShadowCosts, ShadowSetConfig
from tradebot.sizing.ai_sizer import AiSizerTuning

DEFAULT_CONFIG = Path("config/tradebot.toml")
ENV_PREFIX = "TRADEBOT_"
CONSTITUTION_ENV_PREFIX = "TRADEBOT_CONSTITUTION__"  # overrides of config/constitution.yaml

# TRADEBOT_ variables that are not settings keys but are read by the project itself
_ALLOWED_ENV: set[str] = {
    "TRADEBOT_RUNTIME_DIR",  # `tradebot kill/resume --runtime-dir` default
}


def allow_env_var(name: str) -> None:
    """Declare ``name`` a legitimate ``TRADEBOT_`` variable that is not a settings key (a secret's
    variable, a command option's default), so ``load_settings`` does not refuse it as unknown."""
    _ALLOWED_ENV.add(name.upper())


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RunConfig(_Section):
    mode: Literal["observe", "live"] = "observe"
    run_dir: Path = Path("runs")
    store: Path | None = None  # default: <run_dir>/tradebot.db
    arm_production: bool = False  # live orders to a production environment need this too
    account_id: str = ""


class FeedConfig(_Section):
    """One instrument of a run of several: ``[data.feeds.SYMBOL]``, its bar file (``[data] source = "csv"``)
    or, without a ``path``, the broker's feed of it (``source = "broker"``)."""

    path: Path | None = None
    bar_size_s: int | None = Field(None, gt=0)  # None: [data] bar_size_s (a daily file: a day)


class DataConfig(_Section):
    source: Literal["csv", "broker"] = "csv"
    path: Path | None = None  # None: the bundled ES week
    symbol: str = "MES"
    bar_size_s: int = Field(60, gt=0)
    feeds: dict[str, FeedConfig] = Field(default_factory=dict)  # several bar files, one per instrument
    # auto: bar time for a bar file, the wall clock for a broker feed; "bar": bar time for a broker feed
    # too (replaying a venue's historical stream; refused against a production environment)
    clock: Literal["auto", "wall", "bar"] = "auto"


class InstrumentConfig(_Section):
    venue: str
    asset_class: AssetClass
    currency: str = "USD"
    tick_size: Decimal = Field(gt=0)
    lot_step: Decimal = Field(gt=0)
    min_qty: Decimal = Field(Decimal(0), ge=0)
    multiplier: Decimal = Field(Decimal(1), gt=0)
    min_notional: Decimal = Field(Decimal(0), ge=0)
    calendar: str = "24/7"
    sub_dollar_tick: Decimal | None = Field(None, gt=0)
    # coin-margined (Binance COIN-M): multiplier is one contract's face in currency; left out of the
    # recorded config when false, so a store recorded before it existed is continued
    inverse: bool = Field(False, exclude_if=lambda inverse: not inverse)

    def build(self, symbol: str) -> Instrument:
        """The Instrument this spec describes (its field names are Instrument's own)."""
        return Instrument(symbol=symbol, **dict(self))


PositivePrice = Annotated[Decimal, Field(gt=0)]


class AiSizerConfig(AiSizerTuning):
    """``[strategy.ai]`` (and ``[sleeves.NAME.ai]``): the AI sizer's numbers (sizing/ai_sizer.py), its harvest
    policies (``[strategy.ai.harvest]``, sizing/harvest.py), and the prices its startup check uses where the
    run reads no bar file (sizing/ai_lot_check.py). Whether it sizes is ``ai_mode``."""

    reference_prices: dict[str, PositivePrice] = Field(default_factory=dict)  # SYMBOL = price


def _default_ai(section: AiSizerConfig | None) -> bool:
    return section is None or section == AiSizerConfig()


class StrategyConfig(_Section):
    profile: str = "balanced"  # conservative | balanced | aggressive (checked when the ensemble is built)
    sizer: Literal["fixed_fraction", "ai"] = "fixed_fraction"
    fraction: Decimal = Field(Decimal("0.001"), gt=0, le=1)  # of equity, risked per trade (basis "risk")
    basis: Literal["risk", "notional"] = "risk"
    stop_ticks: int = Field(8, gt=0)
    target_ticks: int = Field(16, gt=0)
    ai_mode: Literal["shadow", "live"] = "shadow"  # the AI sizer only records (shadow) or sizes (live)
    model: Path | None = None  # model artifact directory (default: the bundled one)
    # left out of the recorded config while it is the default, so a store recorded before it is continued
    ai: AiSizerConfig = Field(default_factory=AiSizerConfig, exclude_if=_default_ai)


class SleeveConfig(_Section):
    """``[sleeves.NAME]``: a strategy over some instruments with a capital weight; a key left out takes the
    ``[strategy]`` value. Sleeves on one instrument are netted into one order per bar (sizing/netting.py)."""

    instruments: list[str] = Field(min_length=1)
    weight: Decimal = Field(gt=0, le=1)  # its base share of equity ([allocation] moves it at closes)
    profile: str | None = None
    sizer: Literal["fixed_fraction", "ai"] | None = None
    fraction: Decimal | None = Field(None, gt=0, le=1)
    basis: Literal["risk", "notional"] | None = None
    stop_ticks: int | None = Field(None, gt=0)
    target_ticks: int | None = Field(None, gt=0)
    ai_mode: Literal["shadow", "live"] | None = None
    model: Path | None = None
    ai: AiSizerConfig | None = Field(None, exclude_if=_default_ai)  # its keys laid over [strategy.ai]'s

    def strategy(self, base: StrategyConfig) -> StrategyConfig:
        """The sleeve's strategy: ``[strategy]`` with this sleeve's keys laid over it; its ``ai`` table key by
        key over ``[strategy.ai]`` (raises ValueError when the two together are inconsistent)."""
        own = {
            name: getattr(self, name)
            for name in type(self).model_fields
            if name not in ("instruments", "weight", "ai") and getattr(self, name) is not None
        }
        if self.ai is not None:
            given = {name: getattr(self.ai, name) for name in self.ai.model_fields_set}
            try:
                own["ai"] = AiSizerConfig.model_validate({**dict(base.ai), **given})
            except ValidationError as exc:
                lines = [_format_error(e) if e["loc"] else e["msg"] for e in exc.errors()]
                raise ValueError("; ".join(lines)) from None
        return base.model_copy(update=own)


class AllocationConfig(_Section):
    """``[allocation]``: how the sleeves' capital weights move at each session close
    (risk/sleeve_allocation.py). Read only with two sleeves or more; the bases are ``[sleeves.NAME] weight``.
    Expectancy is always post-cost (the PnL after every fee)."""

    enabled: bool = True
    update_schedule: Literal["market_close"] = "market_close"  # the first bar of a later session day
    min_weight: Decimal = Field(Decimal("0.10"), gt=0, le=1)
    max_weight: Decimal = Field(Decimal("0.60"), gt=0, le=1)
    daily_max_delta: Decimal = Field(Decimal("0.05"), gt=0, le=1)  # the most a weight moves at one close
    expectancy_window_trades: int = Field(60, gt=0, le=10_000)
    min_trades_for_adjust: int = Field(15, gt=0)
    drawdown_trigger: Decimal = Field(Decimal("0.06"), gt=0, le=1)  # of the sleeve's capital share
    expectancy_floor_pct: Decimal = Field(Decimal("-0.0010"), ge=-1, le=0)  # mean post-cost return per trade


class GatesConfig(_Section):
    chain: list[str] | None = None  # gate names in order; None: tradebot.risk.registry.DEFAULT_CHAIN
    constitution: Path = Path("config/constitution.yaml")
    canary_symbols: list[str] = Field(default_factory=list)  # non-empty: entries only in these symbols


class IntentsConfig(_Section):
    # an external intent older than this many bars (data.bar_size_s each) when it reaches the gates is
    # refused (INTENT_STALE), recorded, and never sent
    max_age_bars: int = Field(2, gt=0)


class PortfolioConfig(_Section):
    starting_cash: Decimal = Field(Decimal(10000), gt=0)


class TcaSettings(_Section):
    """Transaction cost analysis of the run's orders (``order_tca`` events; docs/reports.md)."""

    arrival: Literal["decision", "submit"] = "decision"  # the benchmark's instant: the bar's close, or submit
    proxy_spread_bps: float | None = Field(None, ge=0)  # without quotes: this full spread (None: from bars)
    pending_after_s: int = Field(300, gt=0)  # an order unfilled this long after its submit: a pending record
    quote_max_age_s: int = Field(300, gt=0)  # a quote older than this at an instant is not used
    quotes: dict[str, Path] = Field(default_factory=dict)  # SYMBOL = quotes file (replay and observe)


class BrokerConfig(_Section):
    model_config = ConfigDict(extra="allow", frozen=True)  # [broker.<name>] tables, validated by plugins
    name: str = "sim"
    environment: Literal["paper", "testnet", "demo", "production"] = "paper"

    def plugin_table(self, name: str | None = None) -> dict[str, Any]:
        table = (self.model_extra or {}).get(name or self.name, {})
        if not isinstance(table, dict):
            raise ValueError(f"broker.{name or self.name} must be a table")
        return dict(table)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRADEBOT_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    run: RunConfig = RunConfig()
    data: DataConfig = DataConfig()
    instruments: dict[str, InstrumentConfig] = Field(default_factory=dict)
    strategy: StrategyConfig = StrategyConfig()
    sleeves: dict[str, SleeveConfig] = Field(default_factory=dict)  # none: one sleeve, [strategy] on all
    # left out of the recorded config while it is the default, so a store recorded before it is continued
    allocation: AllocationConfig = Field(
        default_factory=AllocationConfig, exclude_if=lambda section: section == AllocationConfig()
    )
    gates: GatesConfig = GatesConfig()
    intents: IntentsConfig = IntentsConfig()
    portfolio: PortfolioConfig = PortfolioConfig()
    tca: TcaSettings = TcaSettings()
    broker: BrokerConfig = BrokerConfig()
    ops: OpsConfig = OpsConfig()
    session: SessionConfig = SessionConfig()
    # the thresholds of trade attribution and of `report --readiness`; left out of the recorded config
    # while they are the defaults (as [allocation] is)
    attribution: AttributionRules = Field(
        default_factory=AttributionRules, exclude_if=lambda section: section == AttributionRules()
    )
    readiness: ReadinessCriteria = Field(
        default_factory=ReadinessCriteria, exclude_if=lambda section: section == ReadinessCriteria()
    )
    # left out of the recorded config while it is the default, so a store recorded before it is continued
    learning: LearningConfig = Field(
        default_factory=LearningConfig, exclude_if=lambda section: section == LearningConfig()
    )
    # parameter sets evaluated on the run's bars without orders (docs/shadow.md); out while there are none
    shadow: dict[str, ShadowSetConfig] = Field(default_factory=dict, exclude_if=lambda sets: not sets)
    shadow_costs: ShadowCosts = Field(
        default_factory=ShadowCosts, exclude_if=lambda section: section == ShadowCosts()
    )

    toml_path: ClassVar[Path | None] = None
    toml_symbols: ClassVar[tuple[str, ...]] = ()  # the [instruments.X] tables of the file, as spelt there

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        env = _SymbolCaseEnv(settings_cls, env_settings, cls.toml_symbols)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env]
        if cls.toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.toml_path))
        return tuple(sources)

    @field_validator("instruments", mode="before")
    @classmethod
    def _over_presets(cls, value: Any) -> Any:
        """An ``[instruments.X]`` table of a preset instrument is laid over the preset, field by field."""
        if not isinstance(value, Mapping):
            return value
        merged: dict[str, Any] = {}
        for symbol, table in value.items():
            spec = preset(symbol) if isinstance(table, Mapping) else None
            merged[symbol] = {**spec, **table} if spec is not None and isinstance(table, Mapping) else table
        return merged

    @property
    def runtime_dir(self) -> Path:
        """Control socket and KILL file: ``ops.runtime_dir``, else ``<run_dir>/control`` (ours alone)."""
        return self.ops.runtime_dir or self.run.run_dir / "control"

    @property
    def store_path(self) -> Path:
        return self.run.store or self.run.run_dir / "tradebot.db"

    def instrument(self, symbol: str) -> Instrument:
        """The ``[instruments.X]`` table (laid over the preset, if any), else the preset of ``symbol``."""
        if symbol in self.instruments:
            return self.instruments[symbol].build(symbol)
        spec = preset(symbol)
        if spec is None:
            raise KeyError(
                f"no [instruments.{symbol}] table in the config and no preset for {symbol} "
                f"(presets: {', '.join(preset_symbols())})"
            )
        return InstrumentConfig.model_validate(spec).build(symbol)

    def redacted(self) -> dict[str, Any]:
        """The resolved config as plain data, every secret replaced by '**********'."""
        from tradebot.ops.secrets import redact

        redacted: dict[str, Any] = redact(self.model_dump(mode="json"))
        return redacted

    def decision_config(self) -> dict[str, Any]:
        """The redacted config without where output goes (run dir, store, control dir, logs): what a
        decision can depend on. Two runs that differ only in output locations have the same hash."""
        config = self.redacted()
        for section, key in _OUTPUT_LOCATIONS:
            config.get(section, {}).pop(key, None)
        return config

    def config_hash(self) -> str:
        body = orjson.dumps(self.decision_config(), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(body).hexdigest()


class _SymbolCaseEnv(PydanticBaseSettingsSource):
    """The environment source, with instrument symbols spelt as the file spells them.

    Environment variable names are upper case and pydantic-settings lower-cases their nested keys, so
    ``TRADEBOT_INSTRUMENTS__MES__TICK_SIZE`` would arrive as a new instrument ``mes`` instead of changing
    ``[instruments.MES]``. A symbol the file has (in any case) takes the file's spelling; another is upper
    case, as symbols are.
    """

    def __init__(
        self, settings_cls: type[BaseSettings], inner: PydanticBaseSettingsSource, symbols: tuple[str, ...]
    ) -> None:
        super().__init__(settings_cls)
        self._inner = inner
        self._symbols = {symbol.upper(): symbol for symbol in symbols}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._inner.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        data: dict[str, Any] = self._inner()
        instruments = data.get("instruments")
        if isinstance(instruments, dict):
            data["instruments"] = {
                self._symbols.get(str(key).upper(), str(key).upper()): value
                for key, value in instruments.items()
            }
        return data


_OUTPUT_LOCATIONS = (
    ("run", "run_dir"), ("run", "store"), ("ops", "runtime_dir"), ("ops", "log"), ("learning", "path"),
)


class ConfigError(Exception):
    """The config is invalid; ``problems`` lists every error as ``key.path: message``."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid config {source} ({len(problems)} problem(s)):\n{lines}")


def did_you_mean(word: str, choices: list[str], cutoff: float = 0.6) -> str:
    """`` (did you mean 'x'?)`` for a near miss among ``choices``, else an empty string."""
    match = difflib.get_close_matches(word, choices, n=1, cutoff=cutoff)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _model_of(annotation: Any) -> Any:
    """The pydantic model inside ``annotation`` (``M``, ``M | None``), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _sibling_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys allowed next to the key at ``loc`` (for "did you mean")."""
    model: Any = Settings
    rest = list(loc[:-1])
    while rest:
        info = model.model_fields.get(str(rest.pop(0)))
        if info is None:
            return []
        annotation = info.annotation
        if get_origin(annotation) is dict:  # a table of tables: skip its key
            if not rest:
                return []
            rest.pop(0)
            annotation = get_args(annotation)[1]
        model = _model_of(annotation)
        if model is None:
            return []
    return list(model.model_fields)


def _format_error(err: Any) -> str:
    loc = ".".join(str(p) for p in err["loc"]) or "<root>"
    if err["type"] == "extra_forbidden":
        return f"{loc}: unknown key{did_you_mean(str(err['loc'][-1]), _sibling_keys(err['loc']))}"
    return f"{loc}: {err['msg']}"


def env_var_for(
    loc: tuple[int | str, ...] | list[str], environ: Mapping[str, str] | None = None
) -> str | None:
    """The ``TRADEBOT_`` variable that sets the key at ``loc`` (or a table above it), if any."""
    environ = os.environ if environ is None else environ
    names = {name.upper(): name for name in environ if name.upper().startswith(ENV_PREFIX)}
    parts = [str(p).upper() for p in loc]
    for end in range(len(parts), 0, -1):
        name = names.get(ENV_PREFIX + "__".join(parts[:end]))
        if name is not None:
            return name
    return None


def _toml_depth(data: Any, loc: tuple[int | str, ...] | list[str]) -> int:
    depth = 0
    for part in loc:
        if not isinstance(data, dict) or str(part) not in data:
            break
        data = data[str(part)]
        depth += 1
    return depth


def source_of(
    loc: tuple[int | str, ...] | list[str],
    toml_path: Path | None,
    toml_data: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Where the value at ``loc`` came from: ``environment TRADEBOT_...``, ``file <path>`` or ``default``."""
    env = env_var_for(loc, environ)
    if env is not None:
        return f"environment {env}"
    if toml_path is not None:
        if toml_data is None:
            try:
                toml_data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                toml_data = {}
        if _toml_depth(toml_data, loc) > 0:
            return f"file {toml_path}"
    return "default"


def settings_source(settings: Settings, key: str) -> str:
    """Where the settings value at dotted ``key`` came from (file, environment or default)."""
    return source_of(key.split("."), type(settings).toml_path)


def _env_names() -> list[str]:
    names = []
    for field, info in Settings.model_fields.items():
        names.append(ENV_PREFIX + field.upper())
        model = _model_of(info.annotation)
        if model is not None:
            names.extend(f"{ENV_PREFIX}{field.upper()}__{sub.upper()}" for sub in model.model_fields)
    return names


def _plugin_key_vars(settings: Settings) -> set[str]:
    """Variables a broker table names as where a secret is (``api_key_env = "TRADEBOT_BINANCE_KEY"``)."""
    names: set[str] = set()
    for table in (settings.broker.model_extra or {}).values():
        if isinstance(table, dict):
            names.update(v.upper() for k, v in table.items() if k.endswith("_env") and isinstance(v, str))
    return names


def unknown_env_vars(settings: Settings | None, environ: Mapping[str, str] | None = None) -> list[str]:
    """``TRADEBOT_`` variables that no part of tradebot reads: refused like unknown keys in the file."""
    environ = os.environ if environ is None else environ
    fields = {f.upper() for f in Settings.model_fields}
    allowed = _ALLOWED_ENV | (_plugin_key_vars(settings) if settings is not None else set())
    problems = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper.startswith(CONSTITUTION_ENV_PREFIX) or upper in allowed:
            continue
        if upper[len(ENV_PREFIX) :].split("__")[0] in fields:
            continue
        hint = did_you_mean(upper, [*_env_names(), CONSTITUTION_ENV_PREFIX + "..."], cutoff=0.8)
        problems.append(
            f"{name}: unknown environment variable: no settings key by that name{hint} "
            f"(from environment {name})"
        )
    return problems


def _read_toml(toml_path: Path, source: str) -> dict[str, Any]:
    if not toml_path.exists():
        raise ConfigError(source, [f"{toml_path}: file not found"])
    if not toml_path.is_file():
        raise ConfigError(source, [f"{toml_path}: not a file"])
    try:
        return tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        problem = f"{toml_path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        raise ConfigError(source, [problem]) from None
    except OSError as exc:
        raise ConfigError(source, [f"{toml_path}: cannot read: {exc.strerror or exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"{toml_path}: not valid TOML: {exc}"]) from exc


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Load and validate the config at ``path`` (default ``config/tradebot.toml`` if it exists).

    Every problem is listed at once as ``key.path: message (from file <path> | environment <VAR> |
    default)``, unknown ``TRADEBOT_`` environment variables included."""
    toml_path = path if path is not None else (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    source = str(toml_path) if toml_path else "<defaults>"
    toml_data = _read_toml(toml_path, source) if toml_path is not None else {}
    symbols = toml_data.get("instruments")
    cls = type(
        "_LoadedSettings",
        (Settings,),
        {"toml_path": toml_path, "toml_symbols": tuple(symbols) if isinstance(symbols, dict) else ()},
    )

    def where(loc: tuple[int | str, ...] | list[str]) -> str:
        return source_of(loc, toml_path, toml_data)

    try:
        settings: Settings = cls(**overrides)
    except ValidationError as exc:
        problems = [f"{_format_error(e)} (from {where(e['loc'])})" for e in exc.errors()]
        raise ConfigError(source, problems + unknown_env_vars(None)) from None
    except SettingsError as exc:  # a complex value (a table) given as JSON in the environment
        match = re.search(r'field "(\w+)"', str(exc))
        name = env_var_for([match.group(1)]) if match else None
        cause = f" ({exc.__cause__})" if exc.__cause__ is not None else ""
        problem = f"{name}: not valid JSON{cause} (from environment {name})" if name else f"{exc}{cause}"
        raise ConfigError(source, [problem, *unknown_env_vars(None)]) from None
    problems = [f"{p} (from {where(k.split('.'))})" for k, p in _cross_checks(settings)]
    problems += unknown_env_vars(settings)
    if problems:
        raise ConfigError(source, problems)
    return settings


def _cross_checks(settings: Settings) -> list[tuple[str, str]]:
    problems = []
    for key, symbol in [("data.symbol", settings.data.symbol)] + [
        (f"data.feeds.{symbol}", symbol) for symbol in settings.data.feeds
    ]:
        if symbol not in settings.instruments and preset(symbol) is None:
            problems.append(
                (key, f"{key}: '{symbol}' has no [instruments.{symbol}] table and no preset")
            )
    broker_feed = settings.data.source == "broker"
    for symbol, feed in settings.data.feeds.items():
        key = f"data.feeds.{symbol}.path"
        if broker_feed and feed.path is not None:
            problems.append((key, f"{key}: a broker feed (data.source = 'broker') reads no file; remove it"))
        elif not broker_feed and feed.path is None:
            problems.append((key, f"{key}: required: the bar file of {symbol} (data.source = \"csv\")"))
        elif feed.path is not None and not feed.path.exists():
            problems.append((key, f"{key}: file not found: {feed.path}"))
    if settings.data.clock == "bar" and settings.broker.environment == "production":
        problems.append(
            ("data.clock", "data.clock: 'bar' is for replaying a venue's history, never against production")
        )
    for name, sleeve in settings.sleeves.items():
        try:
            sleeve.strategy(settings.strategy)
        except ValueError as exc:
            key = f"sleeves.{name}.ai"
            problems.append((key, f"{key}: laid over strategy.ai: {exc}"))
    if settings.data.source == "csv" and settings.data.path is not None and not settings.data.path.exists():
        problems.append(("data.path", f"data.path: file not found: {settings.data.path}"))
    return problems
