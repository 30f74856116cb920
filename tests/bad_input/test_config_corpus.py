"""Bad configuration corpus: configs, constitutions and environment overrides that must be refused.

For every case both ``tradebot config check`` and ``tradebot run`` run as subprocesses (the real CLI, the
shipped config and constitution with one defect each). They must agree: exit 2, the same problem lines,
each naming its key path and where the value came from (file or environment), and no traceback. Any new
configuration input gets its rows here.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest

from tradebot.domain.state import Mode
from tradebot.risk.constitution import load_constitution

REPO = Path(__file__).resolve().parents[2]
TOML = (REPO / "config" / "tradebot.toml").read_text()
CONSTITUTION = (REPO / "config" / "constitution.yaml").read_text()
SPY_WEEK = REPO.parent / "shared" / "data" / "spy_1m_2013-10-04_2013-10-11.csv"
ES_WEEK = REPO / "src" / "tradebot" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"
CAP = "TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIMITS__DAILY_LOSS_CAP_USD"


@dataclass(frozen=True)
class Case:
    name: str
    expect: tuple[str, ...]  # each must be in one problem line; ``{toml}``/``{constitution}``: the files
    toml: tuple[tuple[str, str], ...] = ()  # (old, new) replacements in the shipped tradebot.toml
    constitution: tuple[tuple[str, str], ...] = ()  # ... and in the shipped constitution.yaml
    env: Mapping[str, str] = field(default_factory=dict)
    mode: str = "observe"
    files: Mapping[str, bytes] = field(default_factory=dict)  # files written beside the config first


SLEEVES_SPY = (
    '[sleeves.x]\ninstruments = ["SPY"]\nweight = 0.7\n\n[sleeves.y]\ninstruments = ["SPY"]\nweight = 0.6\n\n'
)

CASES = [
    Case(
        "a [data.feeds] table without its bar file on a csv run",
        ('data.feeds.MES.path: required: the bar file of MES (data.source = "csv") (from file {toml})',),
        toml=(("[instruments.MES]", "[data.feeds.MES]\n\n[instruments.MES]"),),
    ),
    Case(
        "a bar file under [data.feeds] on a broker feed",
        (
            "data.feeds.MES.path: a broker feed (data.source = 'broker') reads no file; remove it "
            "(from file {toml})",
        ),
        toml=(
            ('source = "csv"', 'source = "broker"'),
            ("[instruments.MES]", '[data.feeds.MES]\npath = "x.csv"\n\n[instruments.MES]'),
        ),
    ),
    Case(
        "sleeves on an instrument the run does not trade, none on the one it does, weights over 1",
        (
            "sleeves.x.instruments: SPY is not an instrument of this run (MES) (from file {toml})",
            "sleeves.y.instruments: SPY is not an instrument of this run (MES) (from file {toml})",
            "sleeves: no sleeve trades MES, an instrument of this run (add it to one)",
            "sleeves: the weights add up to 1.3, more than 1 (the whole equity)",
        ),
        toml=(("[gates]", SLEEVES_SPY + "[gates]"),),
    ),
    Case(
        "a sleeve with an unknown profile",
        (
            "sleeves.x.profile: unknown signal profile 'wild'; valid profiles: conservative, balanced, "
            "aggressive (from file {toml})",
        ),
        toml=(("[gates]", '[sleeves.x]\ninstruments = ["MES"]\nweight = 1\nprofile = "wild"\n\n[gates]'),),
    ),
    Case(
        "a sleeve key misspelt, and a sleeve without a weight",
        (
            "sleeves.x.fractoin: unknown key (did you mean 'fraction'?) (from file {toml})",
            "sleeves.x.weight: Field required",
        ),
        toml=(("[gates]", '[sleeves.x]\ninstruments = ["MES"]\nfractoin = 0.1\n\n[gates]'),),
    ),
    Case(
        "a [tca] quotes file that does not exist",
        ("tca.quotes.MES: quotes file nope.csv: No such file or directory (from file {toml})",),
        toml=(("[portfolio]", '[tca]\nquotes = { MES = "nope.csv" }\n\n[portfolio]'),),
    ),
    Case(
        "[tca] quotes for an instrument the run does not trade",
        ("tca.quotes.SPY: SPY is not an instrument of this run (MES) (from file {toml})",),
        toml=(("[portfolio]", '[tca]\nquotes = { SPY = "spy.csv" }\n\n[portfolio]'),),
    ),
    Case(
        "a [tca] arrival that is not one of the two",
        ("tca.arrival: Input should be 'decision' or 'submit' (from file {toml})",),
        toml=(("[portfolio]", '[tca]\narrival = "fill"\n\n[portfolio]'),),
    ),
    Case(
        "empty constitution",
        (
            "default.limits.daily_loss_cap_usd: required (write a value, or null for no limit) "
            "(from file {constitution})",
            "default.limits.position_limit: required",
            "default.limits.dvs_min: required (write a value)",
        ),
        constitution=((CONSTITUTION, ""),),
    ),
    Case(
        "a loss cap missing from both default and the instrument",
        (
            "instruments.MES.limits.daily_loss_cap_usd: required (in this section or in default) "
            "(write a value, or null for no limit) (from file {constitution})",
        ),
        constitution=(("    daily_loss_cap_usd: 100\n", ""), ("      daily_loss_cap_usd: 30\n", "")),
    ),
    Case(
        "unquoted flatten_at (YAML base 60)",
        (
            'instruments.MES.session.flatten_at: expected a quoted "HH:MM" time, read 955 '
            "(YAML reads an unquoted 15:55 as the number 955: quote it) (from file {constitution})",
        ),
        constitution=(('flatten_at: "15:55"', "flatten_at: 15:55"),),
    ),
    Case(
        "unquoted window start",
        ('instruments.MES.session.no_trade_windows.1.start: expected a quoted "HH:MM" time, read 720',),
        constitution=(('start: "12:00"', "start: 12:00"),),
    ),
    Case(
        "typo in the constitution",
        (
            "instruments.MES.limits.daily_loss_cap: unknown key (did you mean 'daily_loss_cap_usd'?) "
            "(from file {constitution})",
        ),
        constitution=(("      daily_loss_cap_usd: 30", "      daily_loss_cap: 30"),),
    ),
    Case(
        "override value that is not a number",
        (f"{CAP}: Input should be a valid decimal (read 'abc') (from environment {CAP})",),
        env={CAP: "abc"},
    ),
    Case(
        "empty override (no limit is only an explicit null)",
        (f"{CAP}: empty value (write null for no limit) (from environment {CAP})",),
        env={CAP: ""},
    ),
    Case(
        "override of an unknown constitution key",
        (
            "TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIMITS__DAILY_LOSS_CAP: unknown constitution key "
            "limits.daily_loss_cap (did you mean 'daily_loss_cap_usd'?) "
            "(from environment TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIMITS__DAILY_LOSS_CAP)",
        ),
        env={"TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIMITS__DAILY_LOSS_CAP": "20"},
    ),
    Case(
        "override that loosens a limit in live mode",
        (
            f"{CAP}: refused in live mode: the override 100000 loosens "
            f"instruments.MES.limits.daily_loss_cap_usd (the file says 30) (from environment {CAP})",
        ),
        env={CAP: "100000"},
        mode="live",
    ),
    Case(
        "unknown TRADEBOT_ variable",
        (
            "TRADEBOT_BOGUS__X: unknown environment variable: no settings key by that name "
            "(from environment TRADEBOT_BOGUS__X)",
        ),
        env={"TRADEBOT_BOGUS__X": "1"},
    ),
    Case(
        "unknown profile",
        (
            "strategy.profile: unknown signal profile 'nonsense'; valid profiles: conservative, balanced, "
            "aggressive (from environment TRADEBOT_STRATEGY__PROFILE)",
        ),
        env={"TRADEBOT_STRATEGY__PROFILE": "nonsense"},
    ),
    Case(
        "typo inside [broker.sim]",
        ("broker.sim.fee_bsp: unknown key (did you mean 'fee_bps'?) (from file {toml})",),
        toml=(("fee_bps = 0.5", "fee_bsp = 0.5"),),
    ),
    Case(
        "a broker table for no installed plugin",
        ("broker.simm: no installed broker plugin 'simm' (did you mean 'sim'?)",),
        toml=(("[broker.sim]", "[broker.simm]\nx = 1\n\n[broker.sim]"),),
    ),
    Case(
        "negative tick_size and zero lot_step, both listed",
        (
            "instruments.MES.tick_size: Input should be greater than 0 (from file {toml})",
            "instruments.MES.lot_step: Input should be greater than 0 (from file {toml})",
        ),
        toml=(('tick_size = "0.25"', 'tick_size = "-0.25"'), ('lot_step = "1"', 'lot_step = "0"')),
    ),
    Case(
        "two bad types, both listed",
        (
            "data.bar_size_s: Input should be a valid integer, unable to parse string as an integer "
            "(from file {toml})",
            "strategy.stop_ticks: Input should be a valid integer, unable to parse string as an integer "
            "(from file {toml})",
        ),
        toml=(("bar_size_s = 60", 'bar_size_s = "x"'), ("stop_ticks = 8", 'stop_ticks = "y"')),
    ),
    Case(
        "unknown exchange calendar",
        ("instruments.MES.calendar: ", "(from file {toml})"),
        toml=(('calendar = "CME"', 'calendar = "CMEE"'),),
    ),
    Case(
        "problems in several layers at once",
        (
            "strategy.profile: unknown signal profile 'nonsense'",
            "instruments.MES.limits.daily_loss_cap: unknown key",
            "broker.sim.fee_bsp: unknown key",
        ),
        toml=(("fee_bps = 0.5", "fee_bsp = 0.5"),),
        constitution=(("      daily_loss_cap_usd: 30", "      daily_loss_cap: 30"),),
        env={"TRADEBOT_STRATEGY__PROFILE": "nonsense"},
    ),
    Case(
        "a bar file whose prices are another instrument's",
        ("refused as MES: its prices (167.56 .. 167.99) are outside the range MES trades in",),
        toml=(('# path = "data/my_bars.csv"', f'path = "{SPY_WEEK}"'),),
    ),
    Case(
        "a feed for an instrument with neither a table nor a preset",
        ("data.feeds.ZZZ: 'ZZZ' has no [instruments.ZZZ] table and no preset (from file {toml})",),
        toml=(("bar_size_s = 60", f'bar_size_s = 60\n[data.feeds.ZZZ]\npath = "{ES_WEEK}"'),),
    ),
    Case(
        "a participation cap over 100 % and an unknown participation mode, both listed",
        (
            "default.liquidity.max_participation_pct: Input should be less than or equal to 1",
            "default.liquidity.participation_mode: Input should be 'block' or 'scale'",
        ),
        constitution=(
            ('max_participation_pct: "0.015"', 'max_participation_pct: "1.5"'),
            ("participation_mode: block", "participation_mode: slice"),
        ),
    ),
    Case(
        "override that loosens the participation cap in live mode",
        (
            "TRADEBOT_CONSTITUTION__DEFAULT__LIQUIDITY__MAX_PARTICIPATION_PCT: refused in live mode: the "
            "override 0.05 loosens",
        ),
        env={"TRADEBOT_CONSTITUTION__DEFAULT__LIQUIDITY__MAX_PARTICIPATION_PCT": "0.05"},
        mode="live",
    ),
    Case(
        "liquidity regime settings out of range, all listed",
        (
            "default.liquidity.thin_spread_bps: Input should be greater than 0",
            "default.liquidity.thin_vol_mult: Input should be greater than or equal to 1",
            "default.liquidity.regime_baseline_bars: Input should be less than or equal to 1440",
            "default.liquidity.thin_max_order_usd: Input should be greater than or equal to 0",
            "default.liquidity.thin_collar_mult: Input should be less than or equal to 1",
            "default.liquidity.thin_cost_mult: Input should be greater than or equal to 1",
            "instruments.MES.liquidity.thin_max_order_usd: Input should be a valid decimal",
        ),
        constitution=(
            ("thin_spread_bps: 25 ", "thin_spread_bps: 0 "),
            ('thin_vol_mult: "1.8"', 'thin_vol_mult: "0.5"'),
            ("regime_baseline_bars: 1440", "regime_baseline_bars: 5000"),
            ("thin_max_order_usd: 5000 ", "thin_max_order_usd: -1 "),
            ('thin_collar_mult: "0.8"', 'thin_collar_mult: "1.5"'),
            ('thin_cost_mult: "1.3"', 'thin_cost_mult: "0.9"'),
            ("      thin_max_order_usd: 40000", "      thin_max_order_usd: lots"),
        ),
    ),
    Case(
        "overrides that loosen the liquidity regime in live mode, each refused",
        tuple(
            f"TRADEBOT_CONSTITUTION__{key}: refused in live mode: the override {value} loosens"
            for key, value in (
                ("DEFAULT__LIQUIDITY__THIN_SPREAD_BPS", "100"),
                ("DEFAULT__LIQUIDITY__THIN_VOL_MULT", "3"),
                ("DEFAULT__LIQUIDITY__REGIME_BASELINE_BARS", "120"),
                ("DEFAULT__LIQUIDITY__THIN_MAX_ORDER_USD", "50000"),
                ("DEFAULT__LIQUIDITY__THIN_COLLAR_MULT", "1"),
                ("DEFAULT__LIQUIDITY__THIN_COST_MULT", "1"),
                ("INSTRUMENTS__MES__LIQUIDITY__THIN_MAX_ORDER_USD", "100000"),
            )
        ),
        env={
            "TRADEBOT_CONSTITUTION__DEFAULT__LIQUIDITY__THIN_SPREAD_BPS": "100",
            "TRADEBOT_CONSTITUTION__DEFAULT__LIQUIDITY__THIN_VOL_MULT": "3",
            "TRADEBOT_CONSTITUTION__DEFAULT__LIQUIDITY__REGIME_BASELINE_BARS": "120",
            "TRADEBOT_CONSTITUTION__DEFAULT__LIQUIDITY__THIN_MAX_ORDER_USD": "50000",
            "TRADEBOT_CONSTITUTION__DEFAULT__LIQUIDITY__THIN_COLLAR_MULT": "1",
            "TRADEBOT_CONSTITUTION__DEFAULT__LIQUIDITY__THIN_COST_MULT": "1",
            "TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIQUIDITY__THIN_MAX_ORDER_USD": "100000",
        },
        mode="live",
    ),
    Case(
        "portfolio weights over 100 %, a negative volatility target, a lookback longer than the history kept",
        (
            "default.portfolio.max_symbol_weight: Input should be less than or equal to 1",
            "default.portfolio.target_annual_vol: Input should be greater than 0",
            "default.portfolio.corr_lookback_days: Input should be less than or equal to 60",
        ),
        constitution=(
            ('max_symbol_weight: "0.12"', 'max_symbol_weight: "1.2"'),
            ('target_annual_vol: "0.18"', 'target_annual_vol: "-0.18"'),
            ("corr_lookback_days: 30", "corr_lookback_days: 90"),
        ),
    ),
    Case(
        "quarantine: a rate over 100 % and an unsupported mode, both listed",
        (
            "default.quarantine.reject_rate_trigger: Input should be less than or equal to 1",
            "default.quarantine.mode: Input should be 'block'",
        ),
        constitution=(
            ('reject_rate_trigger: "0.15"', 'reject_rate_trigger: "1.5"'),
            ("    mode: block ", "    mode: zero_targets "),
        ),
    ),
    Case(
        "quarantine: a duration in words and a misspelt cost-block code, both listed",
        (
            "default.quarantine.duration_days: Input should be a valid integer",
            "quarantine.cost_block_codes: not a reason code: EQS_BLOK",
        ),
        constitution=(
            ("duration_days: null", 'duration_days: "two"'),
            ("EQS_BLOCK]", "EQS_BLOK]"),
        ),
    ),
    Case(
        "quarantine: more orders to wait for than its window holds",
        ("default.quarantine: rate_min_events must not exceed rate_window (no rate could ever be taken)",),
        constitution=(("rate_min_events: 5", "rate_min_events: 50"),),
    ),
    Case(
        "overrides that switch the quarantine off or shorten it in live mode",
        (
            "TRADEBOT_CONSTITUTION__DEFAULT__QUARANTINE__ENABLED: refused in live mode: the override False "
            "loosens",
            "TRADEBOT_CONSTITUTION__DEFAULT__QUARANTINE__DURATION_BARS: refused in live mode: the override 1 "
            "loosens",
        ),
        env={
            "TRADEBOT_CONSTITUTION__DEFAULT__QUARANTINE__ENABLED": "false",
            "TRADEBOT_CONSTITUTION__DEFAULT__QUARANTINE__DURATION_BARS": "1",
        },
        mode="live",
    ),
    Case(
        "overrides that loosen the portfolio caps or move an instrument out of its cluster in live mode",
        (
            "TRADEBOT_CONSTITUTION__DEFAULT__PORTFOLIO__CORR_GROUP_GROSS_CAP: refused in live mode: the "
            "override 0.9 loosens",
            "TRADEBOT_CONSTITUTION__DEFAULT__PORTFOLIO__CLUSTER: refused in live mode",
        ),
        env={
            "TRADEBOT_CONSTITUTION__DEFAULT__PORTFOLIO__CORR_GROUP_GROSS_CAP": "0.9",
            "TRADEBOT_CONSTITUTION__DEFAULT__PORTFOLIO__CLUSTER": "crypto",
        },
        mode="live",
    ),
    Case(
        "an inverse flag that is not a boolean",
        ("instruments.MES.inverse: Input should be a valid boolean", "(from file {toml})"),
        toml=(('multiplier = "5"', 'multiplier = "5"\ninverse = "maybe"'),),
    ),
    Case(
        "an Alpaca stream_quotes that is not a boolean",
        ("broker.alpaca.stream_quotes: Input should be a valid boolean",),
        toml=(("[broker.sim]", '[broker.alpaca]\nstream_quotes = "sometimes"\n\n[broker.sim]'),),
        env={"TRADEBOT_BROKER__NAME": "alpaca"},
        mode="live",
    ),
    Case(
        "[allocation] bounds out of range, a delta that is not a number, an empty trade window",
        (
            "allocation.max_weight: Input should be less than or equal to 1 (from file {toml})",
            "allocation.daily_max_delta: Input should be a valid decimal (from file {toml})",
            "allocation.expectancy_window_trades: Input should be greater than 0 (from file {toml})",
        ),
        toml=(
            (
                "[gates]",
                '[allocation]\nmax_weight = 1.5\ndaily_max_delta = "fast"\nexpectancy_window_trades = 0\n\n'
                "[gates]",
            ),
        ),
    ),
    Case(
        "[learning]: a misspelt key, a daily bound of 0, a trigger that is not a number",
        (
            "learning.enabeld: unknown key (did you mean 'enabled'?) (from file {toml})",
            "learning.max_daily_delta_bps: Input should be greater than 0 (from file {toml})",
            "learning.is_bps_trigger: Input should be a valid decimal (from file {toml})",
        ),
        toml=(
            (
                "[gates]",
                '[learning]\nenabeld = true\nmax_daily_delta_bps = 0\nis_bps_trigger = "high"\n\n[gates]',
            ),
        ),
    ),
    Case(
        "[learning]: an evidence window longer than an override lives",
        ("learning: Value error, window_days (40) is longer than max_override_age_days (30)",),
        toml=(("[gates]", "[learning]\nenabled = true\nwindow_days = 40\n\n[gates]"),),
    ),
    Case(
        "[learning]: a learned-overrides file that is damaged",
        ("learning.path: overrides.json: not a usable learned-overrides version",),
        toml=(("[gates]", '[learning]\nenabled = true\npath = "overrides.json"\n\n[gates]'),),
        files={"overrides.json": b"{not json"},
    ),
    Case(
        "the constitution's entry cost buffer below 0",
        ("instruments.MES.liquidity.entry_cost_buffer_bps: Input should be greater than or equal to 0",),
        constitution=(("      thin_max_order_usd: 40000", "      thin_max_order_usd: 40000\n"
                       "      entry_cost_buffer_bps: -1"),),
    ),
    Case(
        "[shadow] a misspelt key of a set",
        ("shadow.c.profil: unknown key (did you mean 'profile'?)",),
        toml=(("[gates]", '[shadow.c]\nprofil = "x"\n\n[gates]'),),
    ),
    Case(
        "[shadow] an unknown profile, the live set's name",
        (
            "shadow.live: the name of the live set's own record",
            "shadow.a.profile: unknown signal profile 'agressive'",
        ),
        toml=(
            (
                "[gates]",
                '[shadow.a]\nprofile = "agressive"\n\n[shadow.live]\nprofile = "balanced"\n\n[gates]',
            ),
        ),
    ),
    Case(
        "[shadow] parameters for a component its profile does not have",
        ("shadow.b.params: 'breakout' is not a component of profile 'balanced'",),
        toml=(("[gates]", "[shadow.b]\nparams = {breakout = {window = 20}}\n\n[gates]"),),
    ),
    Case(
        "[attribution] a threshold of zero, an unknown key; [readiness] a score above 1",
        (
            "attribution.adverse_slippage_bps: Input should be greater than 0 (from file {toml})",
            "attribution.gap_bps: unknown key (from file {toml})",
            "readiness.min_process_score: Input should be less than or equal to 1 (from file {toml})",
        ),
        toml=(
            (
                "[gates]",
                "[attribution]\nadverse_slippage_bps = 0\ngap_bps = 3\n\n"
                "[readiness]\nmin_process_score = 1.2\n\n[gates]",
            ),
        ),
    ),
    Case(
        "[allocation] min_weight above max_weight, more trades to move than the window holds",
        (
            "allocation.min_weight: 0.7 is above allocation.max_weight (0.6) (from file {toml})",
            "allocation.min_trades_for_adjust: 80 is more than allocation.expectancy_window_trades (60), "
            "so no weight could ever move (from file {toml})",
        ),
        toml=(
            (
                "[gates]",
                "[allocation]\nmin_weight = 0.7\nmax_weight = 0.6\nmin_trades_for_adjust = 80\n\n[gates]",
            ),
        ),
    ),
    Case(
        "a sleeve's base weight outside the bounds the allocation keeps weights in",
        (
            "sleeves.x.weight: 0.7 is outside allocation.min_weight .. allocation.max_weight (0.10 .. 0.60), "
            "where the allocation keeps weights (from file {toml})",
        ),
        toml=(
            (
                "[gates]",
                '[sleeves.x]\ninstruments = ["MES"]\nweight = 0.7\n\n[sleeves.y]\ninstruments = ["MES"]\n'
                "weight = 0.2\n\n[gates]",
            ),
        ),
    ),
    Case(
        "an [allocation] key misspelt and an update schedule it does not have",
        (
            "allocation.min_weigth: unknown key (did you mean 'min_weight'?) (from file {toml})",
            "allocation.update_schedule: Input should be 'market_close' (from file {toml})",
        ),
        toml=(("[gates]", '[allocation]\nmin_weigth = 0.1\nupdate_schedule = "manual"\n\n[gates]'),),
    ),
    Case(
        "an environment override of an [allocation] bound out of range, in live mode",
        (
            "allocation.max_weight: Input should be less than or equal to 1 "
            "(from environment TRADEBOT_ALLOCATION__MAX_WEIGHT)",
        ),
        env={"TRADEBOT_ALLOCATION__MAX_WEIGHT": "2"},
        mode="live",
    ),
    Case(
        "an [strategy.ai] key misspelt and a harvest time stop out of range",
        (
            "strategy.ai.max_pcnt: unknown key (did you mean 'max_pct'?) (from file {toml})",
            "strategy.ai.harvest.policies.SCALPER.time_stop_s: Input should be greater than 0 "
            "(from file {toml})",
        ),
        toml=(
            ("[gates]", '[strategy.ai]\nmax_pcnt = "0.03"\n\n[strategy.ai.harvest.policies.SCALPER]\n'
                        "time_stop_s = 0\n\n[gates]"),
        ),
    ),
    Case(
        "an AI sizer bound inverted",
        (
            "strategy.ai: Value error, vol_factor_min (2) must not exceed vol_factor_max (1.5) "
            "(from file {toml})",
        ),
        toml=(("[gates]", '[strategy.ai]\nvol_factor_min = "2"\n\n[gates]'),),
    ),
    Case(
        "an environment override of an AI sizer share out of range",
        (
            "strategy.ai.max_pct: Input should be less than or equal to 1 "
            "(from environment TRADEBOT_STRATEGY__AI__MAX_PCT)",
        ),
        env={"TRADEBOT_STRATEGY__AI__MAX_PCT": "1.5"},
    ),
    Case(
        "a sleeve's AI table inconsistent with [strategy.ai] once laid over it",
        (
            "sleeves.x.ai: laid over strategy.ai: Value error, min_pct (0.015) must not exceed max_pct "
            "(0.01) (from file {toml})",
        ),
        toml=(
            ("[gates]", '[sleeves.x]\ninstruments = ["MES"]\nweight = 1\n\n[sleeves.x.ai]\n'
                        'min_pct = "0.015"\n\n[gates]'),
            ('[strategy]\n', '[strategy]\nai = { max_pct = "0.01" }\n'),
        ),
    ),
    Case(
        "the AI sizer LIVE on MES with an account too small for one contract",
        (
            "strategy.ai: AI_SIZER_BELOW_ONE_LOT: the AI sizer (LIVE, basis notional) cannot size one MES "
            "lot: at its most it puts $300.00 at stake",
            "one lot needs equity of about 279209 (portfolio.starting_cash) (from file {toml})",
        ),
        toml=(('sizer = "fixed_fraction"', 'sizer = "ai"'), ('ai_mode = "shadow"', 'ai_mode = "live"')),
    ),
    Case(
        "an AI sizer reference price for an instrument the run does not trade",
        ("strategy.ai.reference_prices.ES: ES is not an instrument of this run (MES) (from file {toml})",),
        toml=(
            ('sizer = "fixed_fraction"', 'sizer = "ai"'),
            ("[gates]", "[strategy.ai.reference_prices]\nES = 5000\n\n[gates]"),
        ),
    ),
    Case(
        "an unknown key in a feed table",
        ("data.feeds.SPY.bar_size: unknown key",),
        toml=(("bar_size_s = 60", 'bar_size_s = 60\n[data.feeds.SPY]\npath = "x.csv"\nbar_size = 60'),),
    ),
]


def _write(tmp_path: Path, case: Case) -> tuple[Path, Path]:
    constitution = CONSTITUTION
    for old, new in case.constitution:
        assert old in constitution, old
        constitution = constitution.replace(old, new)
    toml = TOML.replace('constitution = "config/constitution.yaml"', 'constitution = "constitution.yaml"')
    toml = toml.replace('run_dir = "runs"', f'run_dir = "{tmp_path / "runs"}"')
    for old, new in case.toml:
        assert old in toml, old
        toml = toml.replace(old, new)
    (tmp_path / "constitution.yaml").write_text(constitution)
    for name, content in case.files.items():
        (tmp_path / name).write_bytes(content)
    (tmp_path / "tradebot.toml").write_text(toml)
    return tmp_path / "tradebot.toml", tmp_path / "constitution.yaml"


def _start(args: list[str], env: Mapping[str, str], cwd: Path) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("TRADEBOT_")}
    return subprocess.Popen(
        [sys.executable, "-m", "tradebot.cli", *args],
        env={**clean, **env},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    out, err = proc.communicate(timeout=180)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _tradebot(args: list[str], env: Mapping[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return _finish(_start(args, env, cwd))


def _problems(stderr: str) -> list[str]:
    return [line.strip()[2:] for line in stderr.splitlines() if line.startswith("  - ")]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_config_check_and_run_refuse_alike(tmp_path: Path, case: Case) -> None:
    toml, _ = _write(tmp_path, case)
    checking = _start(["config", "check", "-c", str(toml), "--mode", case.mode], case.env, tmp_path)
    running = _start(
        ["run", "-c", str(toml), "--mode", case.mode, "--max-bars", "5", "--store", str(tmp_path / "s.db")],
        case.env,
        tmp_path,
    )
    check, run = _finish(checking), _finish(running)
    for result in (check, run):
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode == 2, (result.returncode, result.stdout[-2000:], result.stderr)
        assert "config ok" not in result.stdout
    problems = _problems(check.stderr)
    assert problems and problems == _problems(run.stderr), (check.stderr, run.stderr)
    for expected in case.expect:
        text = expected.format(toml=toml, constitution="constitution.yaml")  # as the config names it
        assert any(text in line for line in problems), (text, problems)
    assert not (tmp_path / "s.db").exists()  # refused before anything was stored


def test_a_tightening_override_is_applied_and_hashed(tmp_path: Path) -> None:
    toml, constitution = _write(tmp_path, Case("ok", ()))
    env = {CAP: "20"}
    check = _tradebot(["config", "check", "-c", str(toml), "--mode", "live"], env, tmp_path)
    plain = _tradebot(["config", "check", "-c", str(toml), "--mode", "live"], {}, tmp_path)
    assert check.returncode == 0 and plain.returncode == 0, (check.stderr, plain.stderr)
    expected = load_constitution(constitution, env, Mode.LIVE).sha256
    assert f"constitution sha256 {expected[:16]}" in check.stdout
    assert f"constitution sha256 {expected[:16]}" not in plain.stdout

    store = tmp_path / "s.db"
    run = _tradebot(["run", "-c", str(toml), "--max-bars", "5", "--store", str(store), "-q"], env, tmp_path)
    assert run.returncode == 0, run.stderr
    with sqlite3.connect(store) as db:
        (body,) = db.execute("SELECT body FROM events WHERE kind = 'run_start'").fetchone()
    assert orjson.loads(body)["constitution_sha256"] == expected
