"""`tradebot plugins`: list, check NAME against a config, new NAME (name validation)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tradebot.cli_plugins import app
from tradebot.exit_codes import ExitCode

runner = CliRunner()


def test_bare_plugins_lists_sim_with_version_and_capabilities() -> None:
    result = runner.invoke(app, [])
    assert result.exit_code == 0, result.output
    assert "sim" in result.output and "0.1.0" in result.output and "reduce_only" in result.output


def test_check_constructs_with_the_broker_table(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[broker]\nname = "sim"\n[broker.sim]\nfill_price = "mid"\nfee_bps = 2\n')
    result = runner.invoke(app, ["check", "sim", "--config", str(good)])
    assert result.exit_code == 0 and "sim 0.1.0: ok" in result.output
    assert "fee_bps, fill_price" in result.output


def test_check_fails_naming_the_bad_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[broker.sim]\nfill_price = "vwap"\nslipage_bps = 1\n')
    result = runner.invoke(app, ["check", "sim", "--config", str(bad)])
    assert result.exit_code == ExitCode.CONFIG_ERROR
    assert "broker.sim.fill_price" in result.output and "broker.sim.slipage_bps: unknown key" in result.output


def test_check_fails_for_a_missing_plugin_or_unreadable_config(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["check", "no_such_broker", "--config", str(tmp_path / "none.toml")])
    assert missing.exit_code == ExitCode.CONFIG_ERROR and "cannot read config" in missing.output
    (tmp_path / "empty.toml").write_text("")
    absent = runner.invoke(app, ["check", "no_such_broker", "--config", str(tmp_path / "empty.toml")])
    assert absent.exit_code == ExitCode.CONFIG_ERROR
    assert "no broker plugin named 'no_such_broker'" in absent.output


def test_new_refuses_bad_and_reserved_names(tmp_path: Path) -> None:
    for name in ("Bad-Name", "sim", "9lives", "class"):
        result = runner.invoke(app, ["new", name, "--dir", str(tmp_path)])
        assert result.exit_code == ExitCode.CONFIG_ERROR, name
    assert not list(tmp_path.iterdir())
