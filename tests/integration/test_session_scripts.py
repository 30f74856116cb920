"""The crontab and systemd examples in scripts/: syntax, and every command parsed by the real CLI."""

from __future__ import annotations

import fnmatch
import grp
import os
import pwd
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main

import tradebot
from tradebot import cli
from tradebot.exit_codes import ExitCode
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
FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}), ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, DAYS))
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
    assert by_name["tradebot-alpaca-nyse.crontab"][0] == ["15", "9", "*", "*", "1-5"]
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


# --- deployment: every command's config passes `config check`, units' restart policy and hardening ---------
SYSTEMD = SCRIPTS / "systemd"
ENV_EXAMPLES = sorted(SYSTEMD.glob("*.env.example"))
LOGROTATE = SCRIPTS / "logrotate" / "tradebot"
ETC = "/etc/tradebot/"
LOG_REDIRECT = re.compile(r">>\s*(\S+)\s+2>&1\s*$")


def unit_values(path: Path, section: str) -> dict[str, list[str]]:
    """``key -> values`` of one section of a unit file (a key given twice keeps both, in order)."""
    values: dict[str, list[str]] = {}
    current = None
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("["):
            current = stripped.strip("[]")
            continue
        key, _, value = stripped.partition("=")
        if current == section:
            values.setdefault(key, []).append(value)
    return values


def env_file_vars(path: Path) -> dict[str, str]:
    """The variables a systemd ``EnvironmentFile=`` sets (``VAR=value`` lines; ``#``/``;`` comments)."""
    out = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        name, eq, value = stripped.partition("=")
        assert eq and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name), f"{path.name}:{number}: not VAR=value"
        assert value and " " not in value, f"{path.name}:{number}: keep values simple (no spaces, no quotes)"
        out[name] = value
    return out


def env_file_of(service: Path) -> tuple[str, Path]:
    """The unit's EnvironmentFile path (without systemd's optional-file ``-``) and its example in scripts/."""
    files = unit_values(service, "Service").get("EnvironmentFile", [])
    assert len(files) == 1, f"{service.name}: exactly one EnvironmentFile"
    path = files[0].removeprefix("-")
    assert path.startswith(ETC) and path.endswith(".env"), f"{service.name}: {path} is not {ETC}<name>.env"
    return path, SYSTEMD / (Path(path).name + ".example")


def scripted_commands() -> list[tuple[str, str]]:
    """``(where, shell command)`` of every crontab job and every unit's ExecStart."""
    jobs = [(where, command) for path in CRONTABS for _fields, command, where in parse_crontab(path)]
    return jobs + [(path.name, _unit_command(path)) for path in SERVICES]


def config_named(command: str, where: str) -> Path:
    params = check_run_invocation(tradebot_args(command, where), where)
    assert params["config"] is not None, f"{where}: the run names no --config"
    return Path(str(params["config"]))


def secret_vars() -> set[str]:
    """Every variable a config in config/ names as where a broker key is (``*_env`` keys)."""
    names: set[str] = set()
    for path in (REPO / "config").glob("*.toml"):
        tables = tomllib.loads(path.read_text()).get("broker", {})
        for table in tables.values():
            if isinstance(table, dict):
                names.update(v for k, v in table.items() if k.endswith("_env") and isinstance(v, str))
    return names


def clean_env() -> dict[str, str]:
    """This environment without TRADEBOT_ settings and without any broker key: only what a test adds."""
    drop = secret_vars()
    return {k: v for k, v in os.environ.items() if not k.startswith("TRADEBOT_") and k not in drop}


def config_check(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "tradebot.cli", "config", "check", "--config", str(config), "--mode",
            "live"]
    return subprocess.run(args, capture_output=True, text=True, cwd=REPO, env=env, timeout=120)


def settings_of(config: Path) -> Any:
    from tradebot.settings import load_settings

    return load_settings(REPO / config)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.stem)
def test_a_unit_config_passes_config_check_with_its_environment_file(service: Path) -> None:
    config = config_named(_unit_command(service), service.name)
    assert (REPO / config).is_file(), f"{service.name} names {config}, which does not exist"
    _path, example = env_file_of(service)
    done = config_check(config, {**clean_env(), **env_file_vars(example)})
    assert done.returncode == 0, done.stderr
    assert "config ok" in done.stdout


@pytest.mark.timeout(300)
@pytest.mark.parametrize("crontab", CRONTABS, ids=lambda p: p.name)
def test_a_crontab_line_runs_config_check_through_its_shell(crontab: Path) -> None:
    """The job line itself, run by /bin/sh with `run ...` swapped for `config check`: the install prefix is
    this checkout, /etc/tradebot/<name>.env its example (so sourcing it must export the keys)."""
    [(_fields, command, where)] = parse_crontab(crontab)
    config = config_named(command, where)
    assert (REPO / config).is_file(), f"{where} names {config}, which does not exist"
    line = command.replace(PREFIX, str(REPO))
    for etc in re.findall(re.escape(ETC) + r"[\w.-]+\.env", line):
        line = line.replace(etc, str(SYSTEMD / (Path(etc).name + ".example")))
    run = re.search(r"\.venv/bin/tradebot run .*$", line)
    assert run is not None, where
    check = f"{shlex.quote(sys.executable)} -m tradebot.cli config check --config {config} --mode live"
    line = line[: run.start()] + check
    done = subprocess.run(["/bin/sh", "-c", line], capture_output=True, text=True, env=clean_env(),
                          timeout=120)
    assert done.returncode == 0, f"{line}\n{done.stderr}"
    assert "config ok" in done.stdout


@pytest.mark.timeout(300)
@pytest.mark.parametrize("example", [p for p in ENV_EXAMPLES if env_file_vars(p)], ids=lambda p: p.name)
def test_without_its_keys_a_config_is_refused_naming_them(example: Path) -> None:
    [service] = [s for s in SERVICES if env_file_of(s)[1] == example]
    config = config_named(_unit_command(service), service.name)
    done = config_check(config, clean_env())
    assert done.returncode == int(ExitCode.CONFIG_ERROR), done.stdout[-500:]
    for name in env_file_vars(example):
        assert name in done.stderr, done.stderr


def test_every_env_example_belongs_to_a_unit_and_names_the_configs_keys() -> None:
    examples = {env_file_of(service)[1]: service for service in SERVICES}
    assert set(examples) == set(ENV_EXAMPLES)
    for example, service in examples.items():
        assert example.exists(), f"{service.name}: no {example.name} in scripts/systemd"
        settings = settings_of(config_named(_unit_command(service), service.name))
        wanted = {v for k, v in settings.broker.plugin_table().items() if k.endswith("_env")}
        assert wanted <= set(env_file_vars(example)), f"{example.name} lacks {wanted}"
        path, _example = env_file_of(service)
        config = config_named(_unit_command(service), service.name)
        assert Path(path).stem == config.stem, f"{service.name}: name {path} after {config}"


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.stem)
def test_units_restart_on_failure_but_never_on_exits_that_need_a_person(service: Path) -> None:
    unit = unit_values(service, "Service")
    assert unit["Restart"] == ["on-failure"]
    # a person must act first: a restart would fail the same way, or trade around a halt
    never = {ExitCode.CONFIG_ERROR, ExitCode.ALREADY_RUNNING, ExitCode.RECONCILIATION_FAILED, ExitCode.HALTED,
             ExitCode.STORE_UNUSABLE}
    # a broker that could not be reached (it may be back in a minute), and a fail-closed internal error (the
    # restart comes up HALTED, runs the session's flatten and close, and exits 5)
    restarted = {ExitCode.BROKER_UNREACHABLE, ExitCode.INTERNAL_ERROR}
    # NOT_RUNNING: kill/resume only; CRITERIA_NOT_MET: report --readiness, explain, promote only
    not_from_run = {ExitCode.OK, ExitCode.NOT_RUNNING, ExitCode.CRITERIA_NOT_MET}
    assert never | restarted | not_from_run == set(ExitCode), "a new exit code: decide whether it restarts"
    prevented = {int(code) for value in unit["RestartPreventExitStatus"] for code in value.split()}
    assert prevented == {int(code) for code in never}
    assert not unit.get("SuccessExitStatus")
    assert int(unit["RestartSec"][0]) >= 30
    limits = unit_values(service, "Unit")
    assert limits["StartLimitIntervalSec"] and int(limits["StartLimitBurst"][0]) > 1


HARDENING = {
    "UMask": "0077", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
    "PrivateTmp": "yes", "PrivateDevices": "yes", "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes", "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "LockPersonality": "yes", "MemoryDenyWriteExecute": "yes", "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes", "SystemCallArchitectures": "native", "CapabilityBoundingSet": "",
}


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.stem)
def test_units_are_hardened_and_may_write_only_where_the_run_writes(service: Path) -> None:
    unit = unit_values(service, "Service")
    for key, value in HARDENING.items():
        assert unit.get(key) == [value], f"{service.name}: {key}={value} expected, got {unit.get(key)}"
    assert unit["SystemCallFilter"][0] == "@system-service"
    assert unit["User"] != ["root"] and unit["WorkingDirectory"] == [PREFIX]
    writable = [Path(p) for value in unit["ReadWritePaths"] for p in value.split()]
    settings = settings_of(config_named(_unit_command(service), service.name))
    for path in (settings.run.run_dir, settings.store_path, settings.runtime_dir):
        absolute = Path(PREFIX) / path
        assert any(absolute.is_relative_to(w) for w in writable), f"{service.name}: {absolute} is read-only"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.stem)
def test_units_exposure_score_is_low(service: Path, tmp_path: Path) -> None:
    tool = _systemd_analyze()
    unit = tmp_path / service.name
    unit.write_text(service.read_text().replace(PREFIX, str(REPO)))
    done = subprocess.run([tool, "security", "--offline=yes", "--no-pager", str(unit)],
                          capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert found is not None, done.stdout[-2000:] + done.stderr
    assert float(found.group(1)) <= 2.0, done.stdout  # systemd's scale: 0 (locked down) .. 10 (exposed)


def test_crontabs_write_logs_that_logrotate_rotates() -> None:
    text = LOGROTATE.read_text()
    patterns = re.findall(r"^(/\S+)\s*\{", text, flags=re.MULTILINE)
    assert patterns, "no log pattern in scripts/logrotate/tradebot"
    for path in CRONTABS:
        [(_fields, command, where)] = parse_crontab(path)
        target = LOG_REDIRECT.search(command)
        assert target is not None, f"{where}: output is not appended to a log"
        log = Path(PREFIX) / target.group(1)
        assert any(fnmatch.fnmatch(str(log), p) for p in patterns), f"{where}: {log} is never rotated"


@pytest.mark.timeout(120)
def test_logrotate_config_rotates_the_cron_logs(tmp_path: Path) -> None:
    tool = shutil.which("logrotate", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if tool is None:
        pytest.skip("logrotate is not installed here: scripts/logrotate/tradebot is not exercised")
    user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    conf = tmp_path / "tradebot.conf"
    conf.write_text(LOGROTATE.read_text().replace(PREFIX, str(tmp_path))
                    .replace("su tradebot tradebot", f"su {user} {group}"))
    logs = []
    for path in CRONTABS:
        [(_fields, command, _where)] = parse_crontab(path)
        found = LOG_REDIRECT.search(command)
        assert found is not None
        log = tmp_path / found.group(1)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"output of {path.name}\n")
        logs.append((log, log.read_text()))
    state = tmp_path / "state"
    checked = subprocess.run([tool, "-d", "-s", str(state), str(conf)], capture_output=True, text=True,
                             timeout=60)
    output = checked.stdout + checked.stderr
    assert checked.returncode == 0 and "error" not in output.lower(), output
    forced = subprocess.run([tool, "-f", "-s", str(state), str(conf)], capture_output=True, text=True,
                            timeout=60)
    assert forced.returncode == 0, forced.stderr
    for log, content in logs:  # copied aside (dated), the file itself truncated in place for the session
        rotated = [p for p in log.parent.iterdir() if p.name.startswith(log.name + "-")]
        assert len(rotated) == 1, sorted(p.name for p in log.parent.iterdir())
        assert rotated[0].read_text() == content
        assert log.exists() and log.read_text() == ""


PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
MDWE_CHILD = f"""
import ctypes, mmap, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl({PR_SET_MDWE}, {PR_MDWE_REFUSE_EXEC_GAIN}, 0, 0, 0) != 0:
    sys.exit(77)  # this kernel has no PR_SET_MDWE (Linux < 6.3)
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    sys.exit("a writable and executable mapping was allowed")
except PermissionError:
    pass
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])  # the flag is kept across exec
"""


@pytest.mark.timeout(300)
def test_tradebot_runs_under_memory_deny_write_execute(tmp_path: Path) -> None:
    """The units set MemoryDenyWriteExecute=yes; the kernel's own form of it (prctl PR_SET_MDWE, kept
    across exec) shows that a run (CPython, numpy/pandas, exchange calendars, SQLite, orjson, pydantic) and
    every broker plugin's client library work without writable executable memory."""
    env = {**clean_env(), "TRADEBOT_RUN__RUN_DIR": str(tmp_path / "run")}
    imports = "import tradebot_ibkr, tradebot_alpaca, tradebot_binance, ib_async, alpaca, binance, aiohttp"
    loaded = subprocess.run([sys.executable, "-c", MDWE_CHILD, "-c", imports], capture_output=True,
                            text=True, env=env, timeout=120)
    if loaded.returncode == 77:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux >= 6.3): MemoryDenyWriteExecute is not exercised")
    assert loaded.returncode == 0, loaded.stderr
    run = [sys.executable, "-c", MDWE_CHILD, "-m", "tradebot.cli", "run", "--mode", "observe", "--max-bars",
           "600", "--store", str(tmp_path / "store.db"), "-q"]
    done = subprocess.run(run, capture_output=True, text=True, env=env, cwd=REPO, timeout=240)
    assert done.returncode in (0, int(ExitCode.HALTED)), done.stderr[-3000:]
    assert "bars" in done.stdout
