"""The sections of one instrument's constitution: hard limits, session, entry policy, governor, pre-trade,
liquidity.

Every limit field says which way loosens it (``loosen="up"``: a bigger number allows more; ``"down"``: a
smaller number allows more; booleans: the value named by ``loosen_bool`` allows more). Live mode refuses
env overrides that loosen (see ``risk.constitution.apply_overrides``). ``None`` means "no limit".
"""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tradebot.domain import reasons

LOOSEN_KEY = "loosen"


def cap(default: Any, **kwargs: Any) -> Any:
    """A ceiling: raising it (or removing it with null) loosens."""
    return Field(default, json_schema_extra={LOOSEN_KEY: "up"}, **kwargs)


def floor(default: Any, **kwargs: Any) -> Any:
    """A floor: lowering it loosens."""
    return Field(default, json_schema_extra={LOOSEN_KEY: "down"}, **kwargs)


def guard(default: bool, **kwargs: Any) -> Any:
    """A safety switch: turning it off loosens."""
    return Field(default, json_schema_extra={LOOSEN_KEY: "off"}, **kwargs)


def permission(default: bool, **kwargs: Any) -> Any:
    """A permission: turning it on loosens."""
    return Field(default, json_schema_extra={LOOSEN_KEY: "on"}, **kwargs)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LimitsRules(_Frozen):
    """The constitution's hard limits (the defaults are the MES constitution's)."""

    daily_loss_cap_usd: Decimal | None = cap(None, ge=0)
    max_consecutive_losses: int | None = cap(None, ge=0)
    max_trades_per_day: int | None = cap(None, ge=0)
    position_limit: Decimal | None = cap(None, ge=0)  # absolute contracts/units, position + working + order
    per_trade_risk_usd: Decimal | None = cap(None, ge=0)  # |entry - stop| x qty x multiplier
    max_stop_ticks: int | None = cap(None, ge=1)  # stop distance in ticks
    require_stop: bool = guard(True)  # an entry without a stop has unbounded risk: blocked
    min_capital_usd: Decimal | None = floor(None, ge=0)
    dvs_min: float = floor(0.0, ge=0.0, le=1.0)
    eqs_min: float = floor(0.0, ge=0.0, le=1.0)


_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def local_time(value: Any) -> Any:
    """A time of day is a quoted "HH:MM" (or a ``time``). Anything else is refused with what was read:
    YAML 1.1 reads an unquoted 15:55 as the base-60 number 955, which must never become 00:15:55."""
    if isinstance(value, time) or (isinstance(value, str) and _HHMM.fullmatch(value)):
        return value
    hint = ""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        hint = f' (YAML reads an unquoted {value // 60}:{value % 60:02d} as the number {value}: quote it)'
    raise ValueError(f'expected a quoted "HH:MM" time, read {value!r}{hint}')


def optional_local_time(value: Any) -> Any:
    return None if value is None else local_time(value)


class Window(_Frozen):
    """A local-time window [start, end) in the session timezone; end <= start wraps past midnight."""

    name: str = "window"
    start: time
    end: time

    _times = field_validator("start", "end", mode="before")(local_time)

    def contains(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


class SessionRules(_Frozen):
    timezone: str = "UTC"
    trading_hours: Window | None = None  # entries only inside (RTH); None: whenever the exchange is open
    no_trade_windows: tuple[Window, ...] = ()
    flatten_at: time | None = None  # local time; entries blocked from then and positions flattened
    flatten_before_close_min: int = Field(5, ge=0)  # on early closes: deadline = close - this

    _flatten_at = field_validator("flatten_at", mode="before")(optional_local_time)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class EntryPolicyRules(_Frozen):
    """The entry policy's nine steps and capital allocation formula, with their defaults.

    Exposure is capital at risk: notional / leverage (leverage 1 where the venue has none).
    """

    min_confidence: float = floor(0.7, ge=0.0, le=1.0)
    cooldown_global_s: int = floor(60, ge=0)
    cooldown_symbol_s: int = floor(300, ge=0)
    max_positions_total: int = cap(10, ge=0)
    max_exposure_total_usd: Decimal = cap(Decimal(5000), ge=0)
    allow_scale_in: bool = permission(True)
    scale_in_max: int = cap(2, ge=0)
    scale_in_conf_delta: float = floor(0.05, ge=0.0)
    max_exposure_per_symbol_usd: Decimal = cap(Decimal(1000), ge=0)
    max_positions_per_symbol: int = cap(3, ge=0)
    max_positions_per_regime: int = cap(5, ge=0)
    allocation_enabled: bool = guard(True)
    allocation_base_fraction: Decimal = cap(Decimal("0.20"), gt=0, le=1)
    allocation_conf_base: Decimal = cap(Decimal("0.70"), ge=0)
    allocation_conf_slope: Decimal = cap(Decimal("0.30"), ge=0)
    risk_score: Decimal = cap(Decimal(1), ge=0)
    min_allocation_usd: Decimal = cap(Decimal(10), ge=0)


class GovernorRules(_Frozen):
    """The risk governor's bounds. Sizes are capital (notional / leverage) in account currency."""

    min_order_usd: Decimal = floor(Decimal(50), ge=0)
    max_position_usd: Decimal = cap(Decimal(10000), ge=0)
    max_notional_usd: Decimal = cap(Decimal(100000), ge=0)
    min_leverage: Decimal = floor(Decimal(5), gt=0)
    max_leverage: Decimal = cap(Decimal(80), gt=0)
    min_confidence: float = floor(0.0, ge=0.0, le=1.0)  # 0 disables the floor
    enforce_risk_budget: bool = guard(True)

    @model_validator(mode="after")
    def _ordered(self) -> GovernorRules:
        if self.min_leverage > self.max_leverage:
            raise ValueError("min_leverage must not exceed max_leverage")
        return self


class PretradeRules(_Frozen):
    """The pre-trade controls' limits (they apply to exits too)."""

    max_order_usd: Decimal | None = cap(Decimal(10000), ge=0)  # notional of one order
    max_order_qty: Decimal | None = cap(None, ge=0)  # shares / contracts / coins of one order
    collar_pct: Decimal = cap(Decimal("0.01"), gt=0)  # |price / reference - 1| against mid or last
    max_orders_per_min: int = cap(30, ge=0)
    max_orders_per_min_symbol: int = cap(10, ge=0)
    max_cancels_per_min: int = cap(20, ge=0)
    max_cancels_without_fill: int = cap(5, ge=0)
    cancel_loop_block_bars: int = floor(5, ge=0)


MAX_LOOKBACK_BARS = 1440  # the longest rolling window a liquidity rule may read (a day of minutes)


class LiquidityRules(_Frozen):
    """Liquidity controls: an order's size against what the market trades."""

    # an order above this share of the volume of the last ``lookback_bars`` bars is blocked (or scaled down)
    max_participation_pct: Decimal | None = cap(Decimal("0.015"), gt=0, le=1)
    participation_mode: Literal["block", "scale"] = "block"  # scale: cut to the cap, if not below scale_min
    participation_scale_min: Decimal = floor(Decimal("0.25"), gt=0, le=1)
    lookback_bars: int = Field(60, ge=1, le=MAX_LOOKBACK_BARS)
    # regime (risk.liquidity_regime): THIN when the window's spread proxy or volatility is above these
    thin_spread_bps: Decimal = cap(Decimal(25), gt=0)
    thin_vol_mult: Decimal = cap(Decimal("1.8"), ge=1)  # x the baseline's ("normal") volatility
    regime_baseline_bars: int = Field(1440, ge=1, le=MAX_LOOKBACK_BARS)  # normal vol: bars before the window
    thin_max_order_usd: Decimal = cap(Decimal(5000), ge=0)  # THIN: an entry's notional cut to this
    thin_collar_mult: Decimal = cap(Decimal("0.8"), gt=0, le=1)  # THIN: the entry's price collar x this
    thin_cost_mult: Decimal = floor(Decimal("1.3"), ge=1)  # THIN: the recorded expected cost x this
    # the entry cost gate: an entry's reward (its take-profit's distance, bps of the entry price) must clear
    # its expected round-trip cost (the spread proxy x thin_cost_mult in THIN) plus this buffer; None: off
    entry_cost_buffer_bps: Decimal | None = floor(None, ge=0, le=1000)


MAX_LOOKBACK_DAYS = 60  # the longest lookback a portfolio rule may read (days with bars)


class PortfolioRules(_Frozen):
    """The portfolio an entry into this instrument must leave behind: its volatility near a
    target, no symbol, cluster or group of highly correlated symbols above its share of gross exposure."""

    # new exposure is scaled by target / the portfolio's volatility with the order, within the scales
    target_annual_vol: Decimal | None = cap(Decimal("0.18"), gt=0)
    vol_lookback_days: int = Field(20, ge=1, le=MAX_LOOKBACK_DAYS)
    vol_min_scale: Decimal = cap(Decimal("0.25"), gt=0, le=1)  # an order is never cut below this share
    vol_max_scale: Decimal = Field(Decimal("1.25"), ge=1)  # recorded: a gate never enlarges an order
    # shares of gross exposure (never of less than equity): per symbol, per cluster, per correlated group
    max_symbol_weight: Decimal | None = cap(Decimal("0.12"), gt=0, le=1)
    cluster: str | None = None  # the instrument's cluster (e.g. "us_equity_index"); None: in none
    max_cluster_weight: Decimal | None = cap(Decimal("0.25"), gt=0, le=1)
    corr_lookback_days: int = Field(30, ge=1, le=MAX_LOOKBACK_DAYS)
    corr_threshold: Decimal = cap(Decimal("0.80"), gt=0, le=1)  # above it, two symbols are one group
    corr_group_gross_cap: Decimal | None = cap(Decimal("0.35"), gt=0, le=1)


# the entry blocks that mean "too costly to trade here now" (the quarantine's cost-block rate counts them)
COST_BLOCK_CODES = ("LIQ_PARTICIPATION_BLOCK", "LIQ_REGIME_THIN_SCALE", "EQS_BLOCK")


class QuarantineRules(_Frozen):
    """When an instrument, or a sleeve trading it, is taken out of new entries for a while: too many of
    its orders rejected, too many of its entries blocked as too costly, or trades losing after costs."""

    enabled: bool = guard(True)
    applies_to: Literal["symbol", "sleeve", "both"] = "both"
    mode: Literal["block"] = "block"  # entries are blocked at the gate while quarantined
    duration_bars: int = floor(6, ge=1)  # bars of the instrument that set it off
    duration_days: int | None = Field(None, ge=1)  # instead of bars: this many session days after its own
    reject_rate_trigger: Decimal | None = cap(Decimal("0.15"), gt=0, le=1)  # of the last orders answered
    cost_block_rate_trigger: Decimal | None = cap(Decimal("0.60"), gt=0, le=1)  # of the last entries judged
    cost_block_codes: tuple[str, ...] = COST_BLOCK_CODES
    rate_window: int = Field(20, ge=1, le=1000)  # the last orders / entries a rate is taken over
    rate_min_events: int = cap(5, ge=1)  # ... once it holds at least this many
    expectancy_floor_pct: Decimal | None = floor(Decimal("-0.0015"), ge=-1, le=0)  # mean post-cost return
    expectancy_window_trades: int = Field(20, ge=1, le=1000)
    min_trades: int = cap(12, ge=1)  # trades in the window before expectancy can set it off

    @field_validator("cost_block_codes")
    @classmethod
    def _known_codes(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(codes) - reasons.ALL_CODES)
        if unknown:  # a misspelt code would never match: the trigger would silently count nothing
            raise ValueError(f"not a reason code: {', '.join(unknown)}")
        return codes

    @model_validator(mode="after")
    def _windows(self) -> QuarantineRules:
        if self.rate_min_events > self.rate_window:
            raise ValueError("rate_min_events must not exceed rate_window (no rate could ever be taken)")
        if self.min_trades > self.expectancy_window_trades:
            raise ValueError("min_trades must not exceed expectancy_window_trades (it could never count)")
        return self


class InstrumentRules(_Frozen):
    limits: LimitsRules = LimitsRules()
    session: SessionRules = SessionRules()
    entry_policy: EntryPolicyRules = EntryPolicyRules()
    governor: GovernorRules = GovernorRules()
    pretrade: PretradeRules = PretradeRules()
    liquidity: LiquidityRules = LiquidityRules()
    portfolio: PortfolioRules = PortfolioRules()
    quarantine: QuarantineRules = QuarantineRules()
