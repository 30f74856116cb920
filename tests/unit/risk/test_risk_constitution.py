import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from risk_testkit import CONSTITUTION_PATH, ROOT, constitution

from tradebot.domain.state import Mode
from tradebot.risk.constitution import (
    REQUIRED,
    ConstitutionError,
    ConstitutionOverrideRefused,
    apply_overrides,
    load_constitution,
    parse_constitution,
)

KEY = "TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIMITS__DAILY_LOSS_CAP_USD"
N_REQUIRED = sum(len(keys) for keys in REQUIRED.values())


@pytest.fixture
def shipped() -> dict[str, Any]:
    """The shipped file, parsed (a fresh copy per test)."""
    raw: dict[str, Any] = yaml.safe_load(CONSTITUTION_PATH.read_text())
    return copy.deepcopy(raw)


def test_mes_carries_seed_004_values() -> None:
    limits = constitution().rules_for("MES").limits
    assert (limits.daily_loss_cap_usd, limits.max_consecutive_losses, limits.max_trades_per_day) == (
        Decimal(30),
        2,
        2,
    )
    assert (limits.position_limit, limits.per_trade_risk_usd, limits.max_stop_ticks) == (
        Decimal(1),
        Decimal(15),
        12,
    )
    assert (limits.min_capital_usd, limits.dvs_min, limits.eqs_min) == (Decimal(1500), 0.80, 0.75)
    assert constitution().rules_for("ANYTHING") == constitution().default


@pytest.mark.parametrize(
    "path",
    [
        "config/constitution.yaml",
        "plugins/tradebot-alpaca/tests/alpaca_spy_constitution.yaml",
        "plugins/tradebot-binance/tests/data/perp_constitution.yaml",
    ],
)
def test_every_shipped_and_test_constitution_loads(path: str) -> None:
    c = load_constitution(ROOT / path)
    assert c.instruments and all(not c.missing_for(symbol) for symbol in c.instruments)


def test_hash_is_stable_and_content_based(tmp_path: Path) -> None:
    text = CONSTITUTION_PATH.read_text()
    copy_ = tmp_path / "c.yaml"
    copy_.write_text("# a comment changes nothing\n" + text)
    assert load_constitution(copy_).sha256 == constitution().sha256
    copy_.write_text(text.replace("daily_loss_cap_usd: 30", "daily_loss_cap_usd: 25"))
    assert load_constitution(copy_).sha256 != constitution().sha256


def test_unknown_keys_are_named_with_their_path_and_a_near_miss(shipped: dict[str, Any]) -> None:
    shipped["instruments"]["MES"]["limits"]["daily_loss_cap"] = 30
    shipped["extra"] = 1
    with pytest.raises(ConstitutionError) as err:
        parse_constitution(shipped)
    text = str(err.value)
    assert "instruments.MES.limits.daily_loss_cap: unknown key (did you mean 'daily_loss_cap_usd'?)" in text
    assert "extra: unknown key" in text


def test_instrument_sections_merge_over_default(shipped: dict[str, Any]) -> None:
    shipped["default"]["limits"]["max_trades_per_day"] = 7
    shipped["instruments"]["X"] = {"limits": {"daily_loss_cap_usd": 5}}
    c = parse_constitution(shipped)
    assert (c.rules_for("X").limits.max_trades_per_day, c.rules_for("X").limits.daily_loss_cap_usd) == (7, 5)


def test_an_empty_constitution_is_refused_naming_every_required_limit(tmp_path: Path) -> None:
    empty = tmp_path / "c.yaml"
    empty.write_text("")
    with pytest.raises(ConstitutionError) as err:
        load_constitution(empty)
    assert len(err.value.errors) == N_REQUIRED
    text = str(err.value)
    for key in ("limits.daily_loss_cap_usd", "limits.position_limit", "limits.dvs_min", "session.flatten_at"):
        assert f"default.{key}: required" in text
    assert "null for no limit" in text


def test_a_missing_limit_is_refused_even_with_a_default_section(shipped: dict[str, Any]) -> None:
    del shipped["default"]["limits"]["daily_loss_cap_usd"]
    del shipped["instruments"]["MES"]["limits"]["daily_loss_cap_usd"]
    shipped["instruments"]["SPY"] = {"limits": {"position_limit": 5}}
    with pytest.raises(ConstitutionError) as err:
        parse_constitution(shipped)
    assert sorted(err.value.errors) == [
        "instruments.MES.limits.daily_loss_cap_usd: required (in this section or in default) "
        "(write a value, or null for no limit)",
        "instruments.SPY.limits.daily_loss_cap_usd: required (in this section or in default) "
        "(write a value, or null for no limit)",
    ]


def test_an_explicit_null_is_no_limit(shipped: dict[str, Any]) -> None:
    shipped["instruments"]["MES"]["limits"]["daily_loss_cap_usd"] = None
    assert parse_constitution(shipped).rules_for("MES").limits.daily_loss_cap_usd is None


def test_a_partial_default_gives_no_rules_to_an_instrument_without_a_section(shipped: dict[str, Any]) -> None:
    del shipped["default"]["limits"]["dvs_min"]
    c = parse_constitution(shipped)  # MES writes dvs_min itself
    assert c.rules_for("MES").limits.dvs_min == 0.80
    assert c.missing_for("BTCUSDT") == ("limits.dvs_min",)
    with pytest.raises(KeyError, match=r"default lacks limits\.dvs_min"):
        c.rules_for("BTCUSDT")
    assert c.sha256 != constitution().sha256


@pytest.mark.parametrize(
    ("line", "read"),
    [
        ("      flatten_at: 15:55", "read 955 (YAML reads an unquoted 15:55 as the number 955: quote it)"),
        ("      flatten_at: 15.55", "read 15.55"),
        ('      flatten_at: "3pm"', "read '3pm'"),
    ],
)
def test_a_time_that_is_not_a_quoted_hh_mm_is_refused(tmp_path: Path, line: str, read: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CONSTITUTION_PATH.read_text().replace('      flatten_at: "15:55"', line))
    with pytest.raises(ConstitutionError) as err:
        load_constitution(path)
    assert err.value.errors == [f'instruments.MES.session.flatten_at: expected a quoted "HH:MM" time, {read}']


def test_an_unquoted_window_time_is_refused_with_its_index(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    text = CONSTITUTION_PATH.read_text().replace(
        '{name: "lunch", start: "12:00"', '{name: "lunch", start: 12:00'
    )
    path.write_text(text)
    with pytest.raises(
        ConstitutionError, match=r"instruments\.MES\.session\.no_trade_windows\.1\.start: .* 720"
    ):
        load_constitution(path)


# --- environment overrides ----------------------------------------------------------------------


def test_live_refuses_a_loosening_override_naming_key_file_value_and_override() -> None:
    with pytest.raises(ConstitutionOverrideRefused) as err:
        load_constitution(CONSTITUTION_PATH, {KEY: "100000"}, Mode.LIVE)
    assert err.value.key == KEY
    assert err.value.errors == [
        f"{KEY}: refused in live mode: the override 100000 loosens "
        "instruments.MES.limits.daily_loss_cap_usd (the file says 30)"
    ]
    for key, value in [
        ("TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIMITS__DVS_MIN", "0.5"),
        ("TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIMITS__POSITION_LIMIT", "null"),
        ("TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIMITS__REQUIRE_STOP", "false"),
        ("TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__SESSION__FLATTEN_AT", "16:30"),
        ("TRADEBOT_CONSTITUTION__DEFAULT__LIMITS__DVS_MIN", "0.1"),
    ]:
        with pytest.raises(ConstitutionOverrideRefused, match=key):
            load_constitution(CONSTITUTION_PATH, {key: value}, Mode.LIVE)


def test_overrides_are_applied_and_the_hash_covers_them() -> None:
    tighter = load_constitution(CONSTITUTION_PATH, {KEY: "20"}, Mode.LIVE)
    assert tighter.rules_for("MES").limits.daily_loss_cap_usd == Decimal(20)
    assert tighter.sha256 != constitution().sha256
    looser = load_constitution(CONSTITUTION_PATH, {KEY: "40"}, Mode.OBSERVE)
    assert looser.rules_for("MES").limits.daily_loss_cap_usd == Decimal(40)
    assert load_constitution(CONSTITUTION_PATH, {}, Mode.LIVE).sha256 == constitution().sha256


def test_a_default_override_reaches_every_instrument_that_inherits_the_key() -> None:
    c = load_constitution(
        CONSTITUTION_PATH, {"TRADEBOT_CONSTITUTION__DEFAULT__ENTRY_POLICY__MIN_CONFIDENCE": "0.9"}, Mode.LIVE
    )
    assert c.rules_for("MES").entry_policy.min_confidence == 0.9  # MES inherits it from default
    assert c.default.entry_policy.min_confidence == 0.9


def test_every_bad_override_is_listed_at_once(shipped: dict[str, Any]) -> None:
    env = {
        KEY: "abc",
        "TRADEBOT_CONSTITUTION__DEFAULT__LIMITS__DAILY_LOSS_CAP": "1",
        "TRADEBOT_CONSTITUTION__INSTRUMENTS__MEZ__LIMITS__DVS_MIN": "0.9",
        "TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIMITS__MAX_TRADES_PER_DAY": "",
        "TRADEBOT_CONSTITUTION__LIMITS__DVS_MIN": "0.9",
    }
    with pytest.raises(ConstitutionError) as err:
        apply_overrides(shipped, env, Mode.OBSERVE)
    errors = err.value.errors
    assert len(errors) == 5 and all(line.startswith("TRADEBOT_CONSTITUTION__") for line in errors)
    text = "\n".join(errors)
    assert f"{KEY}: Input should be a valid decimal (read 'abc')" in text
    assert "limits.daily_loss_cap (did you mean 'daily_loss_cap_usd'?)" in text
    assert "no instruments.MEZ section (did you mean 'MES'?)" in text
    assert "MAX_TRADES_PER_DAY: empty value (write null for no limit)" in text
    assert "TRADEBOT_CONSTITUTION__LIMITS__DVS_MIN: expected" in text
