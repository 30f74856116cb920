"""Control socket round trip: a daemon-side server, the blocking client and the `kill`/`resume` CLI."""

from __future__ import annotations

import asyncio
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tradebot.cli_control import kill, resume
from tradebot.ops.control import (
    ControlError,
    ControlHandlers,
    ControlServer,
    DaemonNotRunning,
    KillCommand,
    ResumeCommand,
    send_command,
)

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def runtime_dir() -> Iterator[Path]:
    # Unix socket paths are limited to ~108 bytes: pytest's tmp_path can be longer
    base = Path(tempfile.mkdtemp(prefix="tbops-", dir="/tmp"))
    yield base / "rt"
    shutil.rmtree(base, ignore_errors=True)


class Daemon:
    """The pipeline's side: what kill/resume/status do to its trading state."""

    def __init__(self) -> None:
        self.state = "ACTIVE"
        self.kills: list[KillCommand] = []
        self.resumes: list[ResumeCommand] = []

    async def kill(self, cmd: KillCommand) -> dict[str, Any]:
        self.state = "HALTED"
        self.kills.append(cmd)
        return {"state": self.state, "code": cmd.code, "cancel_all": cmd.cancel_all}

    async def resume(self, cmd: ResumeCommand) -> dict[str, Any]:
        self.state = "ACTIVE"
        self.resumes.append(cmd)
        return {"state": self.state}

    async def status(self) -> dict[str, Any]:
        return {"state": self.state, "kills": len(self.kills)}

    def handlers(self) -> ControlHandlers:
        return ControlHandlers(self.kill, self.resume, self.status)


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command(name="kill")(kill)
    app.command(name="resume")(resume)
    return app


async def test_socket_is_owner_only_and_kill_round_trips(runtime_dir: Path) -> None:
    daemon = Daemon()
    async with ControlServer(runtime_dir, daemon.handlers(), watch_kill_file=False) as server:
        assert stat.S_IMODE(server.socket_path.stat().st_mode) == 0o600
        assert stat.S_IMODE(runtime_dir.stat().st_mode) == 0o700
        answer = await asyncio.to_thread(
            send_command, runtime_dir, {"cmd": "kill", "reason": "fat finger", "cancel_all": True}
        )
        assert answer == {
            "ok": True,
            "result": {"state": "HALTED", "code": "KILL_SWITCH", "cancel_all": True},
        }
        assert daemon.kills == [KillCommand("fat finger", cancel_all=True, flatten=False, source="socket")]
        status = await asyncio.to_thread(send_command, runtime_dir, {"cmd": "status"})
        assert status == {"ok": True, "result": {"state": "HALTED", "kills": 1}}
        bad = await asyncio.to_thread(send_command, runtime_dir, {"cmd": "kill"})
        assert bad["ok"] is False and "field 'reason'" in bad["error"]
    assert not server.socket_path.exists()


async def test_cli_kill_and_resume_against_a_running_daemon(runtime_dir: Path) -> None:
    daemon = Daemon()
    runner = CliRunner()
    async with ControlServer(runtime_dir, daemon.handlers(), watch_kill_file=False):
        result = await asyncio.to_thread(
            runner.invoke,
            _cli(),
            ["kill", "--reason", "spread blew out", "--flatten", "--runtime-dir", str(runtime_dir)],
        )
        assert result.exit_code == 0, result.output
        assert "halted: spread blew out" in result.output
        assert daemon.kills[0].flatten and not daemon.kills[0].cancel_all
        result = await asyncio.to_thread(runner.invoke, _cli(), ["resume", "--runtime-dir", str(runtime_dir)])
        assert result.exit_code == 0, result.output
        assert daemon.state == "ACTIVE" and daemon.resumes[0].reason == "operator resume"


def test_cli_without_a_daemon_says_so_and_exits_non_zero(runtime_dir: Path) -> None:
    result = CliRunner().invoke(_cli(), ["kill", "--reason", "x", "--runtime-dir", str(runtime_dir)])
    assert result.exit_code == 8  # NOT_RUNNING, the README's table
    assert "no running tradebot daemon" in result.output and "KILL" in result.output
    result = CliRunner().invoke(_cli(), ["resume", "--runtime-dir", str(runtime_dir)])
    assert result.exit_code == 8 and "no running tradebot daemon" in result.output


async def test_stale_socket_is_replaced_and_a_live_one_refused(runtime_dir: Path) -> None:
    daemon = Daemon()
    async with ControlServer(runtime_dir, daemon.handlers(), watch_kill_file=False):
        with pytest.raises(ControlError, match="another daemon"):
            await ControlServer(runtime_dir, daemon.handlers(), watch_kill_file=False).start()
    # a socket file nobody listens on (a crashed daemon) is reported by the client, replaced by the server
    import socket as socket_mod

    sock = socket_mod.socket(socket_mod.AF_UNIX, socket_mod.SOCK_STREAM)
    sock.bind(str(runtime_dir / "control.sock"))
    sock.close()
    with pytest.raises(DaemonNotRunning, match="stale"):
        send_command(runtime_dir, {"cmd": "status"})
    async with ControlServer(runtime_dir, daemon.handlers(), watch_kill_file=False):
        answer = await asyncio.to_thread(send_command, runtime_dir, {"cmd": "status"})
        assert answer["ok"] is True


async def test_kill_file_halts_a_running_daemon_and_blocks_resume(runtime_dir: Path) -> None:
    daemon = Daemon()
    async with ControlServer(runtime_dir, daemon.handlers(), kill_file_poll_s=0.05):
        (runtime_dir / "KILL").write_text("cron: end of canary window\n")
        for _ in range(200):
            if daemon.kills:
                break
            await asyncio.sleep(0.05)
        assert daemon.state == "HALTED"
        assert daemon.kills == [KillCommand("cron: end of canary window", source="kill_file")]
        refused = await asyncio.to_thread(send_command, runtime_dir, {"cmd": "resume"})
        assert refused["ok"] is False and "KILL file" in refused["error"]
        (runtime_dir / "KILL").unlink()
        resumed = await asyncio.to_thread(send_command, runtime_dir, {"cmd": "resume", "reason": "checked"})
        assert resumed["ok"] is True and daemon.state == "ACTIVE"


async def test_a_kill_file_left_before_startup_takes_effect_at_start(runtime_dir: Path) -> None:
    runtime_dir.mkdir(mode=0o700, parents=True)
    (runtime_dir / "KILL").write_text("left by an operator")
    daemon = Daemon()
    async with ControlServer(runtime_dir, daemon.handlers(), kill_file_poll_s=10):
        assert daemon.state == "HALTED" and daemon.kills[0].reason == "left by an operator"
