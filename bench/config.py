"""The benchmark's runtime config: written to a temp dir per run, so nothing in ``config/`` is touched.

Two workloads:

* ``default``: the shipped ``config/tradebot.toml`` and ``config/constitution.yaml`` as they are (MES on the
  CME calendar, the seed-004 constitution: at most 2 trades a day). Few orders; this is what a user runs.
* ``busy``: every gate of the default chain still runs, but with limits that let most intents through, so
  the order path (decision record, write-ahead, venue submit, fills, portfolio) is exercised on many bars:
  symbol ``BENCH`` on a 24/7 calendar, no daily loss/trade caps, zero cooldowns, wide collars, starting
  cash 10,000,000. Used for decision latency and the peer comparison, where orders must actually flow.
"""

from __future__ import annotations

from pathlib import Path

from tradebot.settings import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent

_BUSY_CONSTITUTION = """\
version: 1
default:
  limits:
    daily_loss_cap_usd: null
    max_consecutive_losses: null
    max_trades_per_day: null
    position_limit: 1
    per_trade_risk_usd: null
    max_stop_ticks: null
    require_stop: false
    min_capital_usd: 0
    dvs_min: 0.0
    eqs_min: 0.0
  session:
    timezone: "UTC"
    trading_hours: null
    no_trade_windows: []
    flatten_at: null
  entry_policy:
    min_confidence: 0.0
    cooldown_global_s: 0
    cooldown_symbol_s: 0
    max_positions_total: 1000000
    max_exposure_total_usd: 1000000000
    allow_scale_in: true
    scale_in_max: 1000000
    scale_in_conf_delta: 0.0
    max_exposure_per_symbol_usd: 1000000000
    max_positions_per_symbol: 1000000
    max_positions_per_regime: 1000000
    allocation_enabled: false
    allocation_base_fraction: "0.20"
    allocation_conf_base: "0.70"
    allocation_conf_slope: "0.30"
    risk_score: 1
    min_allocation_usd: 0
  governor:
    min_order_usd: 0
    max_position_usd: 1000000000
    max_notional_usd: 1000000000
    min_leverage: 1
    max_leverage: 80
    min_confidence: 0.0
    enforce_risk_budget: false
  pretrade:
    max_order_usd: 1000000000
    max_order_qty: null
    collar_pct: "0.5"
    max_orders_per_min: 1000000
    max_orders_per_min_symbol: 1000000
    max_cancels_per_min: 1000000
    max_cancels_without_fill: 1000000
    cancel_loop_block_bars: 5
  liquidity:
    thin_max_order_usd: 1000000000 # the regime is measured on every entry, its thin cap never binding
  portfolio:                       # computed on every entry, never binding
    target_annual_vol: "10"
    max_symbol_weight: "1"
    corr_group_gross_cap: "1"
"""

_BUSY_TOML = """\
[run]
mode = "observe"
run_dir = "{run_dir}"

[data]
source = "{source}"
symbol = "BENCH"
bar_size_s = 60

[instruments.BENCH]
venue = "SIM"
asset_class = "FUTURE"
currency = "USD"
tick_size = "{tick_size}"
lot_step = "1"
min_qty = "1"
multiplier = "5"
calendar = "24/7"

[strategy]
profile = "{profile}"
sizer = "fixed_fraction"
fraction = "{fraction}"
stop_ticks = {stop_ticks}
target_ticks = {target_ticks}

[gates]
constitution = "{constitution}"

[portfolio]
starting_cash = "100000"

[broker]
name = "sim"
environment = "paper"

[broker.sim]
fill_price = "open"
slippage_bps = 1.0
fee_bps = 0.5
starting_cash = "100000"
"""


def default_settings(run_dir: Path) -> Settings:
    """The shipped config, its constitution path made absolute (the bench may run from anywhere) and its
    run directory (logs, manifest, control socket) moved to ``run_dir``, away from a daemon in ``runs/``."""
    settings = load_settings(REPO / "config" / "tradebot.toml")
    constitution = settings.gates.constitution
    if not constitution.is_absolute():
        constitution = REPO / constitution
    return settings.model_copy(update={
        "gates": settings.gates.model_copy(update={"constitution": constitution}),
        "run": settings.run.model_copy(update={"run_dir": run_dir}),
    })


# BENCH traded by two strategy sleeves of half weight each (the sleeve runs of the e2e and fault tests), and
# the sleeve allocation's rules that move their weights; ``tables`` of ``write_busy_config``
TWO_SLEEVES = """[sleeves.fast]
instruments = ["BENCH"]
weight = 0.5
profile = "aggressive"

[sleeves.slow]
instruments = ["BENCH"]
weight = 0.5
profile = "balanced"

"""
ALLOCATION = """[allocation]
min_trades_for_adjust = 5
expectancy_floor_pct = "-0.0005"

"""


def write_busy_config(
    directory: Path, *, profile: str = "aggressive", source: str = "csv", fraction: str = "0.001",
    stop_ticks: int = 8, target_ticks: int = 16, tick_size: str = "0.25", tables: str = "",
) -> Path:
    """Write the ``busy`` workload's config and constitution into ``directory``; return the TOML path.
    ``tick_size``: BENCH's tick (0.25 for the ES bars; 0.01 for a stock's, or the file is refused).
    ``tables``: more TOML tables (e.g. ``TWO_SLEEVES``), written before ``[gates]``."""
    directory.mkdir(parents=True, exist_ok=True)
    constitution = directory / "constitution.yaml"
    constitution.write_text(_BUSY_CONSTITUTION)
    toml = directory / "tradebot.toml"
    text = _BUSY_TOML.format(
        run_dir=directory / "runs", source=source, profile=profile, constitution=constitution,
        fraction=fraction, stop_ticks=stop_ticks, target_ticks=target_ticks, tick_size=tick_size,
    )
    toml.write_text(text.replace("[gates]", tables + "[gates]", 1))
    return toml


def busy_settings(
    directory: Path, *, profile: str = "aggressive", source: str = "csv", fraction: str = "0.001",
    stop_ticks: int = 8, target_ticks: int = 16,
) -> Settings:
    return load_settings(write_busy_config(
        directory, profile=profile, source=source, fraction=fraction, stop_ticks=stop_ticks,
        target_ticks=target_ticks,
    ))
