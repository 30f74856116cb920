"""Control commands: parsing and validation, dispatch, runtime-dir checks, the KILL file watcher."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tradebot.ops.control import (
    CommandError,
    ControlError,
    ControlHandlers,
    ControlServer,
    KillCommand,
    KillFileWatcher,
    ResumeCommand,
    kill_command_from_text,
    parse_command,
    secure_runtime_dir,
)


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.kills: list[KillCommand] = []
        self.resumes: list[ResumeCommand] = []
        self.fail = fail

    async def kill(self, cmd: KillCommand) -> dict[str, Any]:
        if self.fail:
            raise KeyError("state")
        self.kills.append(cmd)
        return {"state": "HALTED", "reason": cmd.reason}

    async def resume(self, cmd: ResumeCommand) -> dict[str, Any]:
        self.resumes.append(cmd)
        return {"state": "ACTIVE"}

    async def status(self) -> dict[str, Any]:
        return {"state": "HALTED" if self.kills else "ACTIVE"}

    def handlers(self) -> ControlHandlers:
        return ControlHandlers(self.kill, self.resume, self.status)


def test_parse_kill_resume_status() -> None:
    cmd = parse_command(b'{"cmd": "kill", "reason": " fat finger ", "cancel_all": true}\n')
    assert cmd == KillCommand("fat finger", cancel_all=True, flatten=False, source="socket")
    assert parse_command('{"cmd": "resume"}') == ResumeCommand("operator resume")
    assert parse_command('{"cmd": "status"}') == "status"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("nope", "not a JSON object"),
        ("[1]", "not a JSON object"),
        ('{"cmd": "explode"}', "field 'cmd'"),
        ('{"cmd": "kill"}', "field 'reason'"),
        ('{"cmd": "kill", "reason": "  "}', "field 'reason'"),
        ('{"cmd": "kill", "reason": "x", "flatten": "yes"}', "field 'flatten'"),
        (json.dumps({"cmd": "kill", "reason": "x" * 501}), "longer than 500"),
    ],
)
def test_bad_commands_name_the_field(line: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        parse_command(line)


async def test_dispatch_answers_and_a_failing_handler_is_reported(tmp_path: Path) -> None:
    rec = Recorder()
    server = ControlServer(tmp_path, rec.handlers(), watch_kill_file=False)
    answer = await server.dispatch('{"cmd": "kill", "reason": "test"}')
    assert answer == {"ok": True, "result": {"state": "HALTED", "reason": "test"}}
    assert (await server.dispatch('{"cmd": "bogus"}'))["ok"] is False
    broken = ControlServer(tmp_path, Recorder(fail=True).handlers(), watch_kill_file=False)
    failed = await broken.dispatch('{"cmd": "kill", "reason": "x"}')
    assert failed["ok"] is False and "PROGRAMMING_ERROR_HALT" in failed["error"]


async def test_resume_is_refused_while_a_kill_file_exists(tmp_path: Path) -> None:
    rec = Recorder()
    server = ControlServer(tmp_path, rec.handlers(), watch_kill_file=False)
    (tmp_path / "KILL").write_text("scripted stop")
    answer = await server.dispatch('{"cmd": "resume"}')
    assert answer["ok"] is False and "KILL file" in answer["error"] and rec.resumes == []


def test_runtime_dir_is_created_private_tightened_or_refused(tmp_path: Path) -> None:
    fresh = secure_runtime_dir(tmp_path / "a" / "run")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    secure_runtime_dir(loose)
    assert stat.S_IMODE(loose.stat().st_mode) == 0o700
    world = tmp_path / "world"
    world.mkdir()
    world.chmod(0o777)
    with pytest.raises(ControlError, match=r"world-writable"):
        secure_runtime_dir(world)
    with pytest.raises(ControlError, match="not a directory"):
        (tmp_path / "file").write_text("")
        secure_runtime_dir(tmp_path / "file")


def test_kill_file_text_or_json() -> None:
    assert kill_command_from_text("disk full\n") == KillCommand("disk full", source="kill_file")
    assert kill_command_from_text("") == KillCommand("KILL file present", source="kill_file")
    parsed = kill_command_from_text('{"reason": "nightly stop", "cancel_all": true}')
    assert parsed == KillCommand("nightly stop", cancel_all=True, source="kill_file")
    broken = kill_command_from_text('{"reason": 5}')
    assert broken.source == "kill_file" and "unparsable" in broken.reason


async def test_kill_file_fires_once_per_file_and_again_when_rewritten(tmp_path: Path) -> None:
    rec = Recorder()
    watcher = KillFileWatcher(tmp_path, rec.kill)
    assert await watcher.check_once() is None
    kill = tmp_path / "KILL"
    kill.write_text("ops: maintenance")
    assert (await watcher.check_once()) == KillCommand("ops: maintenance", source="kill_file")
    assert await watcher.check_once() is None
    kill.write_text("ops: second stop, longer")
    os.utime(kill, ns=(1, 1))
    assert await watcher.check_once() is not None
    assert [k.reason for k in rec.kills] == ["ops: maintenance", "ops: second stop, longer"]


async def test_kill_file_handler_failure_is_retried(tmp_path: Path) -> None:
    rec = Recorder(fail=True)
    watcher = KillFileWatcher(tmp_path, rec.kill)
    (tmp_path / "KILL").write_text("stop")
    with pytest.raises(KeyError):
        await watcher.check_once()
    rec.fail = False
    assert await watcher.check_once() is not None and len(rec.kills) == 1
