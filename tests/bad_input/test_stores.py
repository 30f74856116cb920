"""Damaged, foreign, locked, read-only and full event stores through the real command: one or two lines
naming the store and what to do, the documented exit code (7 STORE_UNUSABLE, 3 ALREADY_RUNNING), and
nothing already stored lost or changed. Any new kind of store damage gets its rows here.

The read-only and disk-full rows mount a small tmpfs (root only); they skip where mounting is not allowed.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bad_input_helpers import REPO, SAMPLE, RunCli, StoreView

from tradebot.store import StoreError, StoreReader

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def good_store(tmp_path: Path, sample_lines: list[str], run_cli: RunCli) -> Path:
    """A store written by a real replay of 120 bars (checkpointed: everything is in the main file)."""
    data = tmp_path / "bars.csv"
    data.write_text("\n".join(sample_lines) + "\n")
    store = tmp_path / "good.db"
    result = run_cli("replay", "--data", str(data), "--out", str(store), "-q")
    assert result.code == 0, result.output
    return store


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _truncate(store: Path) -> None:
    with store.open("r+b") as f:
        f.truncate(store.stat().st_size // 3)


def _overwrite(store: Path) -> None:
    data = bytearray(store.read_bytes())
    data[4096:] = bytes((i * 131 + 7) % 256 for i in range(len(data) - 4096))
    store.write_bytes(bytes(data))


def _text(store: Path) -> None:
    store.write_text("ts,open,high,low,close,volume\n" * 200)


def _foreign(store: Path) -> None:
    store.unlink()
    with sqlite3.connect(store) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")


def _future_schema(store: Path) -> None:
    with sqlite3.connect(store) as conn:
        conn.execute("PRAGMA user_version = 99")


@dataclass(frozen=True)
class Damage:
    name: str
    apply: Callable[[Path], None]
    words: tuple[str, ...]


DAMAGES = [
    Damage("truncated to a third", _truncate, ("damaged", "keep it for recovery")),
    Damage("overwritten after its first page", _overwrite, ("damaged",)),
    Damage("overwritten with text", _text, ("damaged or not an SQLite database",)),
    Damage("another program's SQLite file", _foreign, ("not a tradebot event store",)),
    Damage("a schema from a newer tradebot", _future_schema, ("schema version 99",)),
]


@pytest.mark.parametrize("damage", DAMAGES, ids=[d.name for d in DAMAGES])
def test_a_damaged_store_is_refused_and_left_as_it_is(
    damage: Damage, good_store: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    damage.apply(good_store)
    before = digest(good_store)
    data = tmp_path / "bars.csv"

    run = run_cli("replay", "--data", str(data), "--out", str(good_store))
    status = run_cli("status", "--store", str(good_store))

    for result in (run, status):
        assert result.code == 7, result.output
        assert str(good_store) in result.stderr
        for word in damage.words:
            assert word in result.stderr
        assert len(result.stderr.strip().splitlines()) == 2  # what is wrong, and what to do
    assert digest(good_store) == before  # nothing in it was changed


def test_an_empty_file_is_no_store(tmp_path: Path, sample_lines: list[str], run_cli: RunCli) -> None:
    """Where a store should be, an empty file may be one that lost everything: refused, not reused."""
    store = tmp_path / "empty.db"
    store.touch()
    data = tmp_path / "bars.csv"
    data.write_text("\n".join(sample_lines) + "\n")
    for result in (
        run_cli("status", "--store", str(store)),
        run_cli("replay", "--data", str(data), "--out", str(store)),
    ):
        assert result.code == 7, result.output
        assert f"{store} is empty (0 bytes)" in result.stderr and "delete the empty file" in result.stderr
    assert store.stat().st_size == 0


def test_a_store_held_by_another_process_is_already_running(
    good_store: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    before = digest(good_store)
    fd = os.open(good_store.with_name(good_store.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # this test process is the other writer
        result = run_cli(
            "replay", "--data", str(tmp_path / "bars.csv"), "--out", str(good_store), "--resume",
            env={"TRADEBOT_RUN__RUN_DIR": str(tmp_path / "other-run")},
        )  # fmt: skip
    finally:
        os.close(fd)
    assert result.code == 3, result.output
    assert "in use by another writer" in result.stderr and "another --store/--out" in result.stderr
    assert digest(good_store) == before


def test_two_runs_on_one_store_with_different_run_dirs(tmp_path: Path, stored: StoreView) -> None:
    """A real second daemon on a store a first one is writing: exit 3; the first finishes every bar."""
    data = tmp_path / "week.csv"
    shutil.copy(SAMPLE, data)
    store = tmp_path / "shared.db"

    def start(run_dir: str) -> subprocess.Popen[str]:
        env = {**os.environ, "TRADEBOT_RUN__RUN_DIR": str(tmp_path / run_dir)}
        args = [
            sys.executable,
            "-m",
            "tradebot.cli",
            "replay",
            "--data",
            str(data),
            "--out",
            str(store),
            "-q",
            "--resume",  # both mean to write this store: the second is refused as the lock holds it
        ]
        return subprocess.Popen(
            args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    first = start("run-1")
    try:
        deadline = time.monotonic() + 120
        while not _has_bars(store):
            assert first.poll() is None and time.monotonic() < deadline, "the first run never wrote a bar"
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGSTOP)  # hold it mid-run, deterministically
        try:
            second = start("run-2")
            _, err = second.communicate(timeout=240)
        finally:
            os.kill(first.pid, signal.SIGCONT)
        assert second.returncode == 3, err
        assert "Traceback" not in err and "in use by another writer" in err
        _, err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err
    assert stored.kinds(store)["bar"] == 6826  # the first run lost nothing to the second


def _has_bars(store: Path) -> bool:
    try:
        with StoreReader(store) as reader:
            return reader.count_by_kind().get("bar", 0) > 0
    except (FileNotFoundError, StoreError):  # not created yet, or its schema not yet committed
        return False


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 600 KiB tmpfs (too small for a week's store); skipped where mounting is not allowed."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {made.stderr.decode(errors='replace')}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def remount(mount: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(mount)], check=True)


def test_disk_full_stops_with_what_is_kept_and_a_rerun_resumes(
    small_fs: Path, run_cli: RunCli, stored: StoreView
) -> None:
    store = small_fs / "week.db"
    full = run_cli("replay", "--data", str(SAMPLE), "--out", str(store), "-q")
    assert full.code == 7, full.output
    assert "disk is full" in full.stderr and "committed and kept" in full.stderr
    assert "run the same command again" in full.stderr
    assert len(full.stderr.strip().splitlines()) == 2
    with StoreReader(store) as reader:
        assert reader.integrity_check() == "ok"
    kept = stored.kinds(store)["bar"]
    assert 0 < kept < 6826

    remount(small_fs, "size=64m")  # room made
    again = run_cli("replay", "--data", str(SAMPLE), "--out", str(store), "-q", "--resume")
    assert again.code == 0, again.output
    with StoreReader(store) as reader:
        stamps = [e.body["ts"] for e in reader.iter_events(kinds=["bar"])]
    assert len(stamps) == len(set(stamps)) == 6826  # every bar once: nothing lost, nothing doubled


def test_a_read_only_store_is_refused_unchanged_and_still_readable(
    small_fs: Path, tmp_path: Path, sample_lines: list[str], run_cli: RunCli
) -> None:
    data = tmp_path / "bars.csv"
    data.write_text("\n".join(sample_lines) + "\n")
    store = small_fs / "week.db"
    assert run_cli("replay", "--data", str(data), "--out", str(store), "-q").code == 0
    before = digest(store)
    remount(small_fs, "ro")
    try:
        again = run_cli("replay", "--data", str(data), "--out", str(store), "--resume")
        new = run_cli("replay", "--data", str(data), "--out", str(small_fs / "new.db"))
        run_dir = run_cli(
            "replay", "--data", str(data), "--out", str(tmp_path / "x.db"),
            env={"TRADEBOT_RUN__RUN_DIR": str(small_fs / "run")},
        )  # fmt: skip
        status = run_cli("status", "--store", str(store))
    finally:
        remount(small_fs, "rw")
    for result in (again, new):
        assert result.code == 7, result.output
        assert "not writable" in result.stderr and "Read-only file system" in result.stderr
    assert run_dir.code == 7 and str(small_fs / "run") in run_dir.stderr, run_dir.output
    assert status.code == 0 and "bars: 120 processed" in status.words, status.output
    assert digest(store) == before
