"""The command line follows the conventions: ``--version``, ``-h``, listed choices, every exit code in
``--help`` and in the README's table, help text as written (no rich markup eating ``[broker.NAME]``)."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tradebot.cli import app
from tradebot.exit_codes import EXIT_CODE_MEANINGS, ExitCode

README = Path(__file__).resolve().parents[2] / "README.md"
runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), terminal_width=100)
    return result.exit_code, result.output


def test_version_prints_the_installed_version() -> None:
    code, out = _invoke("--version")
    assert code == 0 and out.strip() == f"tradebot {version('tradebot')}"


@pytest.mark.parametrize(
    "command",
    [(), ("run",), ("replay",), ("status",), ("report",), ("config", "check"), ("plugins", "check"),
     ("model", "verify"), ("kill",), ("resume",)],
)
def test_dash_h_is_help_too(command: tuple[str, ...]) -> None:
    short = _invoke(*command, "-h")
    long = _invoke(*command, "--help")
    assert short == long and short[0] == 0 and "Usage: tradebot" in short[1]


def test_every_exit_code_is_in_the_help_and_in_the_readme_table() -> None:
    _, top = _invoke("--help")
    _, run = _invoke("run", "--help")
    table = {int(m.group(1)) for m in re.finditer(r"^\| (\d+) \|", README.read_text(), re.M)}
    for code in ExitCode:
        assert set(EXIT_CODE_MEANINGS) == set(ExitCode)
        for text in (top, run):
            assert f" {code.value} " in " ".join(text.split()), (code, text)
        assert code.value in table, f"exit code {code.value} ({code.name}) missing from the README table"
    assert table == {c.value for c in ExitCode}


def test_choices_are_listed_in_the_help() -> None:
    _, run = _invoke("run", "--help")
    assert "--mode <observe|live>" in run
    assert "--session [rth|eth|24h|until=HH:MM[TZ]]" in run
    _, check = _invoke("config", "check", "--help")
    assert "<observe|live|replay>" in check


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("run", "--mode", "yolo"), ("--mode", "'yolo' is not one of 'observe', 'live'")),
        (("run", "--session", "RTH"), ("--session", "'RTH' is not a session spec")),
        (("config", "check", "--mode", "paper"), ("--mode",)),
    ],
)
def test_a_value_outside_the_choices_exits_2_naming_the_option(
    args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    code, out = _invoke(*args)
    assert code == ExitCode.CONFIG_ERROR
    for word in words:
        assert word in out


def test_help_text_keeps_its_brackets() -> None:
    _, out = _invoke("plugins", "check", "--help")
    assert "[broker.NAME]" in out


def test_every_option_of_run_replay_and_status_has_help_text() -> None:
    group = typer.main.get_command(app)
    for name in ("run", "replay", "status"):
        command = group.commands[name]  # type: ignore[attr-defined]
        options = [p for p in command.params if p.param_type_name == "option" and not p.hidden]
        assert options
        for param in options:
            assert param.help, f"{name} {param.opts}: no help text"
    _, replay = _invoke("replay", "--help")
    assert re.search(r"-q, --quiet\s+No log lines", replay)
    assert "--out" not in replay  # the earlier name of --store still works, unlisted


def test_replay_takes_the_store_once(tmp_path: Path) -> None:
    code, out = _invoke(
        "replay", "--data", str(tmp_path / "bars.csv"), "--store", str(tmp_path / "a.db"),
        "--out", str(tmp_path / "b.db"),
    )  # fmt: skip
    assert code == ExitCode.CONFIG_ERROR and "give the store once" in out
    assert not (tmp_path / "a.db").exists() and not (tmp_path / "b.db").exists()
