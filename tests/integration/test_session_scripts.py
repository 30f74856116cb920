"""The crontab and systemd examples in scripts/: syntax, and every command parsed by the real CLI."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main

import tradebot
from tradebot import cli
from tradebot.session import parse_session_spec

REPO = Path(tradebot.__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
CRONTABS = sorted((SCRIPTS / "cron").glob("*.crontab"))
SERVICES = sorted((SCRIPTS / "systemd").glob("*.service"))
TIMERS = sorted((SCRIPTS / "systemd").glob("*.timer"))
PREFIX = "/opt/tradebot"  # the install prefix the examples use

MONTH_NAMES = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
MONTHS = {m: i + 1 for i, m in enumerate(MONTH_NAMES)}
DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
FIELDS = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}),
          ("month", 1, 12, MONTHS), ("day of week", 0, 7, DAYS))
ENV_LINE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
REDIRECT = re.compile(r"^(\d?>>?|<|\d>&\d|&>)")


# --- crontab parsing -------------------------------------------------------------------------------
def _value(text: str, low: int, high: int, names: dict[str, int], where: str) -> int:
    value = names.get(text.lower()) if text.isalpha() else (int(text) if text.isdigit() else None)
    if value is None or not low <= value <= high:
        raise ValueError(f"{where}: {text!r} is not in {low}-{high}")
    return value


def check_field(text: str, name: str, low: int, high: int, names: dict[str, int], where: str) -> None:
    for item in text.split(","):
        base, _, step = item.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            raise ValueError(f"{where}: {name} step {step!r} must be a positive number")
        if base == "*":
            continue
        first, dash, last = base.partition("-")
        a = _value(first, low, high, names, f"{where}: {name}")
        if dash and _value(last, low, high, names, f"{where}: {name}") < a:
            raise ValueError(f"{where}: {name} range {base!r} runs backwards")
        if step and not dash:
            raise ValueError(f"{where}: {name} {item!r}: a step needs * or a range")


def parse_crontab(path: Path) -> list[tuple[list[str], str, str]]:
    """(five time fields, command, where) for each job line; env lines and comments are skipped."""
    jobs = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        where = f"{path.name}:{number}"
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or ENV_LINE.match(stripped):
            continue
        parts = stripped.split(None, 5)
        if len(parts) < 6:
            raise ValueError(f"{where}: a job line needs 5 time fields and a command")
        for text, (name, low, high, names) in zip(parts[:5], FIELDS, strict=True):
            check_field(text, name, low, high, names, where)
        if re.search(r"(?<!\\)%", parts[5]):
            raise ValueError(f"{where}: an unescaped % in a cron command starts stdin")
        jobs.append((parts[:5], parts[5], where))
    return jobs


def tradebot_args(command: str, where: str) -> list[str]:
    """The arguments of the ``tradebot`` invocation inside a shell command (before any redirection)."""
    tokens = shlex.split(command)
    segments: list[list[str]] = [[]]
    for token in tokens:
        if token in ("&&", ";", "||"):
            segments.append([])
        else:
            segments[-1].append(token)
    found = [s for s in segments if s and Path(s[0]).name == "tradebot"]
    if len(found) != 1:
        raise ValueError(f"{where}: expected exactly one tradebot invocation in {command!r}")
    args = []
    for token in found[0][1:]:
        if REDIRECT.match(token):
            break
        args.append(token)
    return args


# --- the real CLI ----------------------------------------------------------------------------------
def run_command() -> Any:
    """The real ``tradebot run`` command (typer vendors click: ``typer._click``)."""
    group: Any = typer.main.get_command(cli.app)
    return group.commands["run"]


def has_session_option() -> bool:
    return any(p.name == "session" for p in run_command().params)


def check_run_invocation(args: list[str], where: str) -> dict[str, object]:
    """Parse ``args`` with the real ``tradebot run``; ``--session`` is also checked by the session parser."""
    assert args and args[0] == "run", f"{where}: not a `tradebot run` invocation: {args}"
    rest = list(args[1:])
    sessions = [rest[i + 1] for i, a in enumerate(rest) if a == "--session" and i + 1 < len(rest)]
    assert len(sessions) == 1, f"{where}: a cron-launched run needs exactly one --session"
    parse_session_spec(sessions[0])
    command = run_command()
    ctx = command.make_context("run", rest)
    assert ctx.params["mode"] in ("observe", "live"), f"{where}: --mode {ctx.params['mode']}"
    assert ctx.params["session"] == sessions[0], f"{where}: --session not taken by the real parser"
    return dict(ctx.params)


# --- tests -----------------------------------------------------------------------------------------
def test_every_example_exists() -> None:
    assert [p.name for p in CRONTABS] == ["tradebot-alpaca-nyse.crontab", "tradebot-binance-247.crontab",
                                          "tradebot-mes-cme.crontab"]
    assert {p.stem for p in SERVICES} == {p.stem for p in TIMERS} == {
        "tradebot-alpaca", "tradebot-binance", "tradebot-mes"}


@pytest.mark.parametrize("path", CRONTABS, ids=lambda p: p.name)
def test_crontab_lines_parse_and_run_the_real_cli(path: Path) -> None:
    jobs = parse_crontab(path)
    assert len(jobs) == 1
    for _fields, command, where in jobs:
        params = check_run_invocation(tradebot_args(command, where), where)
        assert params["mode"] == "live" and params["config"] is not None


def test_crontab_schedules_are_the_documented_ones() -> None:
    by_name = {p.name: parse_crontab(p)[0] for p in CRONTABS}
    assert by_name["tradebot-mes-cme.crontab"][0] == ["0", "9", "*", "*", "1-5"]
    assert by_name["tradebot-binance-247.crontab"][0] == ["0", "0", "*", "*", "*"]
    assert by_name["tradebot-alpaca-nyse.crontab"][0] == ["15", "9", "*", "*", "mon-fri"]
    sessions = {name: job[1].split("--session ")[1].split()[0] for name, job in by_name.items()}
    assert sessions == {"tradebot-mes-cme.crontab": "rth", "tradebot-binance-247.crontab": "until=23:55Z",
                        "tradebot-alpaca-nyse.crontab": "rth"}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("60 9 * * 1-5 tradebot run", "minute: '60' is not in 0-59"),
        ("0 24 * * * tradebot run", "hour: '24' is not in 0-23"),
        ("0 9 0 * * tradebot run", "day of month: '0' is not in 1-31"),
        ("0 9 * 13 * tradebot run", "month: '13' is not in 1-12"),
        ("0 9 * * 8 tradebot run", "day of week: '8' is not in 0-7"),
        ("0 9 * * fri-mon tradebot run", "runs backwards"),
        ("*/0 9 * * * tradebot run", "step '0'"),
        ("0 9 * *", "5 time fields and a command"),
        ("0 9 * * tradebot run", "day of week: 'tradebot' is not in 0-7"),
        ("0 9 * * * date +%H", "unescaped %"),
    ],
)
def test_the_crontab_checker_rejects_bad_lines(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "bad.crontab"
    path.write_text(f"# comment\nFOO=bar\n{line}\n")
    with pytest.raises(ValueError, match=re.escape(problem)) as info:
        parse_crontab(path)
    assert "bad.crontab:3" in str(info.value)


@pytest.mark.parametrize(
    "args",
    [["run", "--mode", "live", "--sesion", "rth"], ["status", "--session", "rth"],
     ["run", "--mode", "live", "--session", "until=25:00"],
     ["run", "--mode", "live", "--bogus", "--session", "rth"]],
)
def test_the_cli_check_rejects_bad_invocations(args: list[str]) -> None:
    with pytest.raises((AssertionError, typer.TyperException, ValueError)):
        check_run_invocation(args, "test")


def _unit_command(path: Path) -> str:
    lines = [line for line in path.read_text().splitlines() if line.startswith("ExecStart=")]
    assert len(lines) == 1, f"{path.name}: exactly one ExecStart"
    return lines[0].removeprefix("ExecStart=")


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_service_execstart_runs_the_real_cli(path: Path) -> None:
    command = _unit_command(path)
    assert command.startswith(f"{PREFIX}/.venv/bin/tradebot ")
    check_run_invocation(tradebot_args(command, path.name), path.name)


def _systemd_analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed here: the units' syntax is not verified")
    return tool


@pytest.mark.timeout(120)
@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.stem)
def test_units_pass_systemd_analyze_verify(service: Path, tmp_path: Path) -> None:
    tool = _systemd_analyze()
    timer = service.with_suffix(".timer")
    for unit in (service, timer):  # the install prefix becomes this checkout, so ExecStart exists
        (tmp_path / unit.name).write_text(unit.read_text().replace(PREFIX, str(REPO)))
    units = [str(tmp_path / service.name), str(tmp_path / timer.name)]
    done = subprocess.run([tool, "verify", "--man=no", *units], capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert not re.search(r"Unknown|ignoring|Failed|bad", output), output


@pytest.mark.timeout(120)
@pytest.mark.parametrize("timer", TIMERS, ids=lambda p: p.stem)
def test_timer_calendars_parse(timer: Path) -> None:
    tool = _systemd_analyze()
    specs = [line.removeprefix("OnCalendar=") for line in timer.read_text().splitlines()
             if line.startswith("OnCalendar=")]
    assert len(specs) == 1
    done = subprocess.run([tool, "calendar", specs[0]], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Next elapse:" in done.stdout
    assert f"Unit={timer.stem}.service" in timer.read_text()


def test_a_broken_unit_fails_verify(tmp_path: Path) -> None:
    tool = _systemd_analyze()
    bad = tmp_path / "tradebot-bad.service"
    bad.write_text("[Service]\nExecStart=/nonexistent/tradebot run --session rth\n")
    done = subprocess.run([tool, "verify", "--man=no", str(bad)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0


def test_tradebot_run_has_a_session_option() -> None:
    assert has_session_option()
