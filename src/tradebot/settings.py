"""Runtime configuration: ``config/tradebot.toml`` read through pydantic-settings.

Sources, highest first: init arguments, environment (``TRADEBOT_`` prefix, ``__`` nesting, e.g.
``TRADEBOT_RUN__MODE=live``), the TOML file. Unknown keys are errors. Every error is reported at once,
each with its key path (``ConfigError.problems``).
"""

from __future__ import annotations

import hashlib
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tradebot.domain.instruments import AssetClass, Instrument
from tradebot.ops.config import OpsConfig
from tradebot.session.config import SessionConfig

DEFAULT_CONFIG = Path("config/tradebot.toml")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RunConfig(_Section):
    mode: Literal["observe", "live"] = "observe"
    run_dir: Path = Path("runs")
    store: Path | None = None  # default: <run_dir>/tradebot.db
    arm_production: bool = False  # live orders to a production environment need this too
    account_id: str = ""


class DataConfig(_Section):
    source: Literal["csv", "broker"] = "csv"
    path: Path | None = None  # None: the bundled ES week
    symbol: str = "MES"
    bar_size_s: int = Field(60, gt=0)
    # auto: bar time for a bar file, the wall clock for a broker feed; "bar": bar time for a broker feed
    # too (replaying a venue's historical stream; refused against a production environment)
    clock: Literal["auto", "wall", "bar"] = "auto"


class InstrumentConfig(_Section):
    venue: str
    asset_class: AssetClass
    currency: str = "USD"
    tick_size: Decimal
    lot_step: Decimal
    min_qty: Decimal = Decimal(0)
    multiplier: Decimal = Decimal(1)
    min_notional: Decimal = Decimal(0)
    calendar: str = "24/7"
    sub_dollar_tick: Decimal | None = None

    def build(self, symbol: str) -> Instrument:
        """The Instrument this spec describes (its field names are Instrument's own)."""
        return Instrument(symbol=symbol, **dict(self))


class StrategyConfig(_Section):
    profile: str = "balanced"  # conservative | balanced | aggressive (checked when the ensemble is built)
    sizer: Literal["fixed_fraction", "ai"] = "fixed_fraction"
    fraction: Decimal = Field(Decimal("0.001"), gt=0, le=1)  # of equity, risked per trade (basis "risk")
    basis: Literal["risk", "notional"] = "risk"
    stop_ticks: int = Field(8, gt=0)
    target_ticks: int = Field(16, gt=0)
    ai_mode: Literal["shadow", "live"] = "shadow"  # the AI sizer only records (shadow) or sizes (live)
    model: Path | None = None  # model artifact directory (default: the bundled one)


class GatesConfig(_Section):
    chain: list[str] | None = None  # gate names in order; None: tradebot.risk.registry.DEFAULT_CHAIN
    constitution: Path = Path("config/constitution.yaml")
    canary_symbols: list[str] = Field(default_factory=list)  # non-empty: entries only in these symbols


class PortfolioConfig(_Section):
    starting_cash: Decimal = Field(Decimal(10000), gt=0)


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
    gates: GatesConfig = GatesConfig()
    portfolio: PortfolioConfig = PortfolioConfig()
    broker: BrokerConfig = BrokerConfig()
    ops: OpsConfig = OpsConfig()
    session: SessionConfig = SessionConfig()

    toml_path: ClassVar[Path | None] = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls.toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.toml_path))
        return tuple(sources)

    @property
    def runtime_dir(self) -> Path:
        """Control socket and KILL file: ``ops.runtime_dir``, else ``<run_dir>/control`` (ours alone)."""
        return self.ops.runtime_dir or self.run.run_dir / "control"

    @property
    def store_path(self) -> Path:
        return self.run.store or self.run.run_dir / "tradebot.db"

    def instrument(self, symbol: str) -> Instrument:
        if symbol not in self.instruments:
            raise KeyError(f"no [instruments.{symbol}] table in the config")
        return self.instruments[symbol].build(symbol)

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


_OUTPUT_LOCATIONS = (("run", "run_dir"), ("run", "store"), ("ops", "runtime_dir"), ("ops", "log"))


class ConfigError(Exception):
    """The config is invalid; ``problems`` lists every error as ``key.path: message``."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid config {source} ({len(problems)} problem(s)):\n{lines}")


def _format_error(err: Any) -> str:
    loc = ".".join(str(p) for p in err["loc"]) or "<root>"
    if err["type"] == "extra_forbidden":
        return f"{loc}: unknown key"
    return f"{loc}: {err['msg']}"


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Load and validate the config at ``path`` (default ``config/tradebot.toml`` if it exists)."""
    toml_path = path if path is not None else (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    source = str(toml_path) if toml_path else "<defaults>"
    if toml_path is not None:
        if not toml_path.exists():
            raise ConfigError(source, [f"{toml_path}: file not found"])
        try:
            tomllib.loads(toml_path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(source, [f"{toml_path}: not valid TOML: {exc}"]) from exc
    cls = type("_LoadedSettings", (Settings,), {"toml_path": toml_path})
    try:
        settings: Settings = cls(**overrides)
    except ValidationError as exc:
        raise ConfigError(source, [_format_error(e) for e in exc.errors()]) from exc
    problems = _cross_checks(settings)
    if problems:
        raise ConfigError(source, problems)
    return settings


def _cross_checks(settings: Settings) -> list[str]:
    problems = []
    if settings.data.symbol not in settings.instruments:
        problems.append(
            f"data.symbol: '{settings.data.symbol}' has no [instruments.{settings.data.symbol}] table"
        )
    if settings.data.clock == "bar" and settings.broker.environment == "production":
        problems.append("data.clock: 'bar' is for replaying a venue's history, never against production")
    if settings.data.source == "csv" and settings.data.path is not None and not settings.data.path.exists():
        problems.append(f"data.path: file not found: {settings.data.path}")
    return problems
