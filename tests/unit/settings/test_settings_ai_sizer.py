"""``[strategy.ai]`` and ``[sleeves.NAME.ai]``: every AI sizer number and harvest policy from the config,
typed, range-checked with the key named, unknown keys refused, environment overrides of nested keys."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tradebot.domain.orders import HarvestPolicy
from tradebot.settings import AiSizerConfig, ConfigError, load_settings
from tradebot.sizing import AiSizerParams, SizerMode

BASE = """
[data]
symbol = "MES"

[strategy]
sizer = "ai"
ai_mode = "live"
"""

FULL = BASE + """
[strategy.ai]
min_pct = "0.004"
max_pct = "0.03"
reference_atr_bps = "6"
vol_factor_min = "0.4"
vol_factor_max = "1.2"
min_leverage = "2"
max_leverage = "20"
basis = "risk"
reference_prices = { MES = "5000" }

[strategy.ai.harvest]
swing_from = 0.5
trend_runner_from = 0.9

[strategy.ai.harvest.policies.SCALPER]
time_stop_s = 600
"""


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "tradebot.toml"
    path.write_text(text)
    return load_settings(path)


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text)
    return err.value.problems


def test_every_number_comes_from_the_table(tmp_path: Path) -> None:
    ai = load(tmp_path, FULL).strategy.ai  # type: ignore[attr-defined]
    assert (ai.min_pct, ai.max_pct, ai.reference_atr_bps) == (Decimal("0.004"), Decimal("0.03"), Decimal(6))
    assert (ai.vol_factor_min, ai.vol_factor_max) == (Decimal("0.4"), Decimal("1.2"))
    assert (ai.min_leverage, ai.max_leverage, ai.basis) == (Decimal(2), Decimal(20), "risk")
    assert ai.reference_prices == {"MES": Decimal(5000)}
    assert (ai.harvest.swing_from, ai.harvest.trend_runner_from) == (0.5, 0.9)
    scalper = ai.harvest.policies[HarvestPolicy.SCALPER]
    # a policy's key left out keeps that policy's default; a policy left out keeps all of its defaults
    assert (scalper.time_stop_s, scalper.stop_atr) == (600, Decimal("1.0"))
    assert scalper.target_atr == Decimal("1.5")
    assert ai.harvest.policies[HarvestPolicy.SWING].time_stop_s == 3600

    params = AiSizerParams.of(ai, SizerMode.LIVE, Decimal(1))  # what the run's sizer is built with
    assert (params.mode, params.max_qty, params.max_pct, params.basis) == (
        SizerMode.LIVE, Decimal(1), Decimal("0.03"), "risk"
    )
    assert params.harvest == ai.harvest


def test_without_the_table_the_defaults_and_the_recorded_config_is_unchanged(tmp_path: Path) -> None:
    settings = load(tmp_path, BASE)
    assert settings.strategy.ai == AiSizerConfig()  # type: ignore[attr-defined]
    # a store recorded before [strategy.ai] existed is continued: its default is not in the recorded config
    assert "ai" not in settings.decision_config()["strategy"]  # type: ignore[attr-defined]
    assert "ai" in load(tmp_path, FULL).decision_config()["strategy"]  # type: ignore[attr-defined]


def test_unknown_keys_are_refused_at_every_level(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        BASE + '[strategy.ai]\nmax_pcnt = "0.03"\n[strategy.ai.harvest]\nswing = 0.5\n'
        "[strategy.ai.harvest.policies.SWING]\ntime_stop = 60\n",
    )
    assert any(p.startswith("strategy.ai.max_pcnt: unknown key (did you mean 'max_pct'?)") for p in problems)
    assert any(p.startswith("strategy.ai.harvest.swing: unknown key") for p in problems)
    assert any(p.startswith("strategy.ai.harvest.policies.SWING.time_stop: unknown key") for p in problems)


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('max_pct = "1.5"', "strategy.ai.max_pct: Input should be less than or equal to 1"),
        ('min_pct = "0"', "strategy.ai.min_pct: Input should be greater than 0"),
        ('min_leverage = "0.5"', "strategy.ai.min_leverage: Input should be greater than or equal to 1"),
        ('basis = "margin"', "strategy.ai.basis: Input should be 'notional' or 'risk'"),
        ('min_pct = "0.05"', "strategy.ai: Value error, min_pct (0.05) must not exceed max_pct (0.02)"),
        ("reference_prices = { MES = -1 }", "strategy.ai.reference_prices.MES: Input should be greater than"),
        ("max_qty = 3", "strategy.ai.max_qty: unknown key"),  # the cap is the constitution's position limit
        ('mode = "live"', "strategy.ai.mode: unknown key"),  # the mode is [strategy] ai_mode
    ],
)
def test_a_bad_value_names_its_key(tmp_path: Path, table: str, expected: str) -> None:
    problems = problems_of(tmp_path, BASE + "[strategy.ai]\n" + table + "\n")
    assert any(p.startswith(expected) for p in problems), problems


def test_harvest_policies_are_checked(tmp_path: Path) -> None:
    bad_name = problems_of(tmp_path, BASE + "[strategy.ai.harvest.policies.HODL]\ntime_stop_s = 60\n")
    assert bad_name[0].startswith(
        "strategy.ai.harvest: Value error, policies.HODL: no harvest policy by that name "
        "(SCALPER, SWING, TREND_RUNNER)"
    )
    zero = problems_of(tmp_path, BASE + "[strategy.ai.harvest.policies.SWING]\ntime_stop_s = 0\n")
    assert zero[0].startswith("strategy.ai.harvest.policies.SWING.time_stop_s: Input should be greater than")
    order = problems_of(tmp_path, BASE + "[strategy.ai.harvest]\nswing_from = 0.9\n")
    assert order[0].startswith("strategy.ai.harvest: Value error, swing_from (0.9) must not exceed")


def test_environment_overrides_reach_nested_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEBOT_STRATEGY__AI__MAX_PCT", "0.04")
    monkeypatch.setenv("TRADEBOT_STRATEGY__AI__HARVEST__POLICIES__TREND_RUNNER__TIME_STOP_S", "1800")
    ai = load(tmp_path, FULL).strategy.ai  # type: ignore[attr-defined]
    assert ai.max_pct == Decimal("0.04")
    assert ai.min_pct == Decimal("0.004")  # the file's other keys stay
    assert ai.harvest.policies[HarvestPolicy.TREND_RUNNER].time_stop_s == 1800  # lower-cased name matched
    assert ai.harvest.policies[HarvestPolicy.SCALPER].time_stop_s == 600


def test_an_environment_override_out_of_range_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADEBOT_STRATEGY__AI__VOL_FACTOR_MAX", "-1")
    problems = problems_of(tmp_path, BASE)
    assert problems == [
        "strategy.ai.vol_factor_max: Input should be greater than 0 "
        "(from environment TRADEBOT_STRATEGY__AI__VOL_FACTOR_MAX)"
    ]


SLEEVES = """
[sleeves.fast]
instruments = ["MES"]
weight = 0.5

[sleeves.fast.ai]
max_pct = "0.05"
basis = "notional"

[sleeves.slow]
instruments = ["MES"]
weight = 0.5
"""


def test_a_sleeve_table_is_laid_over_strategy_ai_key_by_key(tmp_path: Path) -> None:
    settings = load(tmp_path, FULL + SLEEVES)
    base = settings.strategy  # type: ignore[attr-defined]
    fast = settings.sleeves["fast"].strategy(base)  # type: ignore[attr-defined]
    assert (fast.ai.max_pct, fast.ai.basis) == (Decimal("0.05"), "notional")  # its own keys
    assert (fast.ai.min_pct, fast.ai.max_leverage) == (Decimal("0.004"), Decimal(20))  # [strategy.ai]'s
    assert settings.sleeves["slow"].strategy(base).ai == base.ai  # type: ignore[attr-defined]


def test_a_sleeve_table_inconsistent_once_laid_over_is_refused(tmp_path: Path) -> None:
    # vol_factor_min 1.3 is fine on its own (default max 1.5), not under [strategy.ai]'s max of 1.2
    text = FULL + '\n[sleeves.x]\ninstruments = ["MES"]\nweight = 1\n[sleeves.x.ai]\nvol_factor_min = "1.3"\n'
    assert problems_of(tmp_path, text)[0].startswith(
        "sleeves.x.ai: laid over strategy.ai: Value error, vol_factor_min (1.3) must not exceed "
        "vol_factor_max (1.2)"
    )
