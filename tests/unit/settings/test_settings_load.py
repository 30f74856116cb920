"""Config: TOML + env overrides, unknown keys refused, every error listed with its key path."""

from pathlib import Path

import pytest

from tradebot.settings import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[3]
GOOD = """
[data]
symbol = "MES"
[instruments.MES]
venue = "CME"
asset_class = "FUTURE"
tick_size = "0.25"
lot_step = "1"
multiplier = "5"
[broker]
name = "sim"
[broker.sim]
api_secret = "do-not-print-me"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tradebot.toml"
    path.write_text(text)
    return path


def test_shipped_config_is_valid() -> None:
    settings = load_settings(REPO / "config" / "tradebot.toml")
    assert settings.instrument("MES").tick_value == 1.25
    assert settings.run.mode == "observe"


def test_env_overrides_with_nesting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEBOT_RUN__MODE", "live")
    monkeypatch.setenv("TRADEBOT_STRATEGY__PROFILE", "conservative")
    settings = load_settings(write(tmp_path, GOOD))
    assert settings.run.mode == "live"
    assert settings.strategy.profile == "conservative"


def test_two_errors_are_both_reported(tmp_path: Path) -> None:
    bad = GOOD.replace('venue = "CME"', 'venue = "CME"\nbogus = 1') + '\n[run]\nmode = "yolo"\n'
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, bad))
    problems = err.value.problems
    assert f"instruments.MES.bogus: unknown key (from file {tmp_path / 'tradebot.toml'})" in problems
    assert any(p.startswith("run.mode:") for p in problems)
    assert len(problems) == 2


def test_cross_field_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"data\.symbol: 'ZZZ' has no \[instruments\.ZZZ\] table"):
        load_settings(write(tmp_path, GOOD.replace('symbol = "MES"', 'symbol = "ZZZ"')))
    # a preset instrument needs no table
    assert load_settings(write(tmp_path, GOOD.replace('symbol = "MES"', 'symbol = "ES"'))).data.symbol == "ES"


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[run\nmode="))


def test_secrets_are_redacted_and_not_in_the_hash_input(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD))
    text = str(settings.redacted())
    assert "do-not-print-me" not in text and "**********" in text
    other = load_settings(write(tmp_path, GOOD.replace("do-not-print-me", "another")))
    assert settings.config_hash() == other.config_hash()
