"""The instance lock inside one process (two open file descriptions conflict like two processes do)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tradebot.exit_codes import ExitCode
from tradebot.session import AlreadyRunning, InstanceLock, instance_lock, lock_path

HASH = "ab" * 32


def test_second_holder_gets_already_running_and_the_file_is_untouched(tmp_path: Path) -> None:
    with instance_lock(tmp_path, "DU123", HASH) as first:
        before = first.path.read_bytes()
        stat = first.path.stat()
        with pytest.raises(AlreadyRunning) as info:
            InstanceLock(tmp_path, "DU123", HASH).acquire()
        assert first.path.read_bytes() == before
        assert first.path.stat().st_mtime_ns == stat.st_mtime_ns
    assert info.value.exit_code is ExitCode.ALREADY_RUNNING
    assert f"pid {os.getpid()}" in str(info.value)
    assert "ALREADY_RUNNING" in str(info.value)


def test_holder_records_pid_account_and_config(tmp_path: Path) -> None:
    with instance_lock(tmp_path, "DU123", HASH) as lock:
        body = json.loads(lock.path.read_text())
    assert body["pid"] == os.getpid()
    assert (body["account"], body["config_hash"]) == ("DU123", HASH)


def test_released_lock_can_be_taken_again(tmp_path: Path) -> None:
    with instance_lock(tmp_path, "acct", HASH) as lock:
        assert lock.held
    assert not lock.held
    with instance_lock(tmp_path, "acct", HASH) as again:
        assert again.held


def test_other_account_or_config_is_a_different_lock(tmp_path: Path) -> None:
    with (instance_lock(tmp_path, "acct-a", HASH), instance_lock(tmp_path, "acct-b", HASH),
          instance_lock(tmp_path, "acct-a", "cd" * 32) as third):
        assert third.held


async def test_async_with(tmp_path: Path) -> None:
    async with instance_lock(tmp_path, "acct", HASH) as lock:
        with pytest.raises(AlreadyRunning):
            async with instance_lock(tmp_path, "acct", HASH):
                pass
        assert lock.held


def test_lock_path_is_per_account_and_hash_and_safe(tmp_path: Path) -> None:
    path = lock_path(tmp_path, "../weird acct/x", HASH)
    assert path.parent == tmp_path / "locks"
    assert path.name == f"tradebot-weird_acct_x-{HASH[:16]}.lock"
    assert lock_path(tmp_path, "", HASH).name == f"tradebot-default-{HASH[:16]}.lock"
    with pytest.raises(ValueError, match="config_hash"):
        lock_path(tmp_path, "acct", "")


def test_acquiring_twice_on_one_object_is_a_bug(tmp_path: Path) -> None:
    lock = InstanceLock(tmp_path, "acct", HASH)
    lock.acquire()
    try:
        with pytest.raises(RuntimeError, match="already held"):
            lock.acquire()
    finally:
        lock.release()
