from decimal import Decimal
from pathlib import Path

import pytest
from risk_testkit import CONSTITUTION_PATH, constitution

from tradebot.domain.state import Mode
from tradebot.risk.constitution import (
    ConstitutionError,
    ConstitutionOverrideRefused,
    apply_overrides,
    load_constitution,
    parse_constitution,
)

KEY = "TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIMITS__DAILY_LOSS_CAP_USD"


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


def test_hash_is_stable_and_content_based(tmp_path: Path) -> None:
    text = CONSTITUTION_PATH.read_text()
    copy = tmp_path / "c.yaml"
    copy.write_text("# a comment changes nothing\n" + text)
    assert load_constitution(copy).sha256 == constitution().sha256
    copy.write_text(text.replace("daily_loss_cap_usd: 30", "daily_loss_cap_usd: 25"))
    assert load_constitution(copy).sha256 != constitution().sha256


def test_unknown_keys_are_named_with_their_path() -> None:
    with pytest.raises(ConstitutionError) as err:
        parse_constitution({"instruments": {"MES": {"limits": {"daily_loss_cap": 30}}}, "extra": 1})
    text = str(err.value)
    assert "instruments.MES.limits.daily_loss_cap" in text and "extra: unknown key" in text


def test_instrument_sections_merge_over_default() -> None:
    c = parse_constitution(
        {
            "default": {"limits": {"max_trades_per_day": 7}},
            "instruments": {"X": {"limits": {"daily_loss_cap_usd": 5}}},
        }
    )
    assert (c.rules_for("X").limits.max_trades_per_day, c.rules_for("X").limits.daily_loss_cap_usd) == (7, 5)


def test_live_refuses_loosening_overrides_and_names_the_key() -> None:
    with pytest.raises(ConstitutionOverrideRefused) as err:
        apply_overrides(constitution(), {KEY: "40"}, Mode.LIVE)
    assert err.value.key == KEY
    for key, value in [
        ("TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIMITS__DVS_MIN", "0.5"),
        ("TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIMITS__POSITION_LIMIT", "null"),
        ("TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIMITS__REQUIRE_STOP", "false"),
        ("TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__SESSION__FLATTEN_AT", "16:30"),
    ]:
        with pytest.raises(ConstitutionOverrideRefused):
            apply_overrides(constitution(), {key: value}, Mode.LIVE)


def test_tightening_is_allowed_live_and_anything_valid_in_observe() -> None:
    tighter = apply_overrides(constitution(), {KEY: "20"}, Mode.LIVE)
    assert tighter.rules_for("MES").limits.daily_loss_cap_usd == Decimal(20)
    assert tighter.sha256 != constitution().sha256
    looser = apply_overrides(constitution(), {KEY: "40"}, Mode.OBSERVE)
    assert looser.rules_for("MES").limits.daily_loss_cap_usd == Decimal(40)


def test_bad_override_keys_and_values_are_errors() -> None:
    with pytest.raises(ConstitutionError, match="unknown constitution key"):
        apply_overrides(constitution(), {"TRADEBOT_CONSTITUTION__DEFAULT__LIMITS__NOPE": "1"}, Mode.OBSERVE)
    with pytest.raises(ConstitutionError, match=KEY):
        apply_overrides(constitution(), {KEY: "abc"}, Mode.OBSERVE)
