"""Settings fail closed: bad instrument increments, unknown TRADEBOT_ variables, every problem with its key
path and where its value came from (the file, the environment or the default), near misses suggested."""

from pathlib import Path

import pytest

from tradebot.settings import ConfigError, allow_env_var, load_settings

REPO = Path(__file__).resolve().parents[3]
SHIPPED = REPO / "config" / "tradebot.toml"


def problems_of(path: Path = SHIPPED) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    return err.value.problems


def with_text(tmp_path: Path, old: str, new: str) -> Path:
    text = SHIPPED.read_text()
    assert old in text
    path = tmp_path / "tradebot.toml"
    path.write_text(text.replace(old, new))
    return path


def test_instrument_increments_must_be_positive_and_both_bad_values_are_listed(tmp_path: Path) -> None:
    path = with_text(tmp_path, 'tick_size = "0.25"\nlot_step = "1"', 'tick_size = "-0.25"\nlot_step = "0"')
    assert problems_of(path) == [
        f"instruments.MES.tick_size: Input should be greater than 0 (from file {path})",
        f"instruments.MES.lot_step: Input should be greater than 0 (from file {path})",
    ]


def test_an_env_problem_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEBOT_DATA__BAR_SIZE_S", "x")
    monkeypatch.setenv("TRADEBOT_RUN__MODEE", "live")
    assert problems_of() == [
        "run.modee: unknown key (did you mean 'mode'?) (from environment TRADEBOT_RUN__MODEE)",
        "data.bar_size_s: Input should be a valid integer, unable to parse string as an integer "
        "(from environment TRADEBOT_DATA__BAR_SIZE_S)",
    ]


def test_a_file_typo_gets_a_did_you_mean(tmp_path: Path) -> None:
    path = with_text(tmp_path, "stop_ticks = 8", "stop_tick = 8")
    assert problems_of(path) == [
        f"strategy.stop_tick: unknown key (did you mean 'stop_ticks'?) (from file {path})"
    ]


def test_unknown_tradebot_variables_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEBOT_BOGUS__X", "1")
    monkeypatch.setenv("TRADEBOT_STRATEGY_PROFILE", "conservative")  # one underscore: not a settings key
    assert problems_of() == [
        "TRADEBOT_BOGUS__X: unknown environment variable: no settings key by that name "
        "(from environment TRADEBOT_BOGUS__X)",
        "TRADEBOT_STRATEGY_PROFILE: unknown environment variable: no settings key by that name "
        "(did you mean 'TRADEBOT_STRATEGY__PROFILE'?) (from environment TRADEBOT_STRATEGY_PROFILE)",
    ]


def test_the_project_s_own_tradebot_variables_are_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADEBOT_RUNTIME_DIR", str(tmp_path))  # `tradebot kill --runtime-dir` default
    monkeypatch.setenv(
        "TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__LIMITS__DVS_MIN", "0.9"
    )  # the constitution's
    monkeypatch.setenv("TRADEBOT_RUN__RUN_DIR", str(tmp_path))
    assert load_settings(SHIPPED).run.run_dir == tmp_path
    monkeypatch.setenv("TRADEBOT_MY_BROKER_KEY", "k")
    assert problems_of()[0].startswith("TRADEBOT_MY_BROKER_KEY: unknown environment variable")
    allow_env_var("TRADEBOT_MY_BROKER_KEY")  # what the secrets loader registers
    load_settings(SHIPPED)


def test_a_variable_a_broker_table_names_for_its_key_is_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tradebot.toml"
    path.write_text(SHIPPED.read_text() + '\n[broker.binance]\napi_key_env = "TRADEBOT_BINANCE_KEY"\n')
    monkeypatch.setenv("TRADEBOT_BINANCE_KEY", "secret-value")
    load_settings(path)


def test_bad_json_in_a_table_variable_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEBOT_INSTRUMENTS", "{bad")
    (problem,) = problems_of()
    assert problem.startswith("TRADEBOT_INSTRUMENTS: not valid JSON")
    assert problem.endswith("(from environment TRADEBOT_INSTRUMENTS)")


def test_a_config_that_is_not_utf8_or_not_a_file_is_one_problem(tmp_path: Path) -> None:
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe[run]\n")
    assert problems_of(binary) == [f"{binary}: not UTF-8 text (invalid start byte at byte 0)"]
    assert problems_of(tmp_path) == [f"{tmp_path}: not a file"]


def test_an_instrument_override_from_the_environment_changes_the_files_instrument(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the variable's name is upper case and pydantic-settings lower-cases nested keys: without the file's
    # spelling of the symbol this became a second, incomplete instrument "mes" and the override was lost
    monkeypatch.setenv("TRADEBOT_INSTRUMENTS__MES__TICK_SIZE", "0.5")
    settings = load_settings(SHIPPED)
    assert set(settings.instruments) == {"MES"}
    assert str(settings.instrument("MES").tick_size) == "0.5"
    monkeypatch.setenv("TRADEBOT_INSTRUMENTS__MES__TICK_SIZE", "-1")
    assert problems_of() == [
        "instruments.MES.tick_size: Input should be greater than 0 "
        "(from environment TRADEBOT_INSTRUMENTS__MES__TICK_SIZE)"
    ]
