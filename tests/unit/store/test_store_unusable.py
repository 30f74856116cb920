"""A store that cannot be used raises a StoreError naming the file (never a bare sqlite3 error), and a
store tradebot writes is owner-only whatever the umask."""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradebot.store import EventWriter, StoreDamaged, StoreEmpty, StoreReader, StoreUnwritable
from tradebot.store.errors import describe_sqlite_error

TS = datetime(2013, 10, 7, 13, 30, tzinfo=UTC)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    yield
    os.umask(old)


async def _write(path: Path, events: int) -> None:
    async with EventWriter.open(path, durable_sync="normal") as writer:
        for i in range(events):
            writer.append("bar", {"i": i, "pad": "x" * 200}, ts=TS)


async def test_a_store_and_its_side_files_are_owner_only(store_path: Path, open_umask: None) -> None:
    path = store_path.parent / "new-dir" / "events.db"
    await _write(path, 3)
    for file in path.parent.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


async def test_a_store_damaged_deep_inside_raises_store_damaged_while_reading(store_path: Path) -> None:
    await _write(store_path, 2_000)
    data = bytearray(store_path.read_bytes())
    data[len(data) // 2 :] = b"\xa5" * (len(data) - len(data) // 2)
    store_path.write_bytes(bytes(data))
    with pytest.raises(StoreDamaged, match=str(store_path)), StoreReader(store_path) as reader:
        for _ in reader.iter_events():
            pass


def test_an_empty_file_or_a_directory_is_no_store_to_read(store_path: Path) -> None:
    store_path.touch()
    with pytest.raises(StoreEmpty, match="empty"):
        StoreReader(store_path)
    with pytest.raises(IsADirectoryError):
        StoreReader(store_path.parent)


@pytest.mark.parametrize(
    ("error", "kind", "words"),
    [
        (sqlite3.OperationalError("database or disk is full"), StoreUnwritable, "disk is full"),
        (OSError(errno.ENOSPC, "No space left on device"), StoreUnwritable, "disk is full"),
        (sqlite3.OperationalError("attempt to write a readonly database"), StoreUnwritable, "not writable"),
        (OSError(errno.EROFS, "Read-only file system"), StoreUnwritable, "not writable"),
        (sqlite3.DatabaseError("database disk image is malformed"), StoreDamaged, "damaged"),
        (sqlite3.DatabaseError("file is not a database"), StoreDamaged, "damaged"),
    ],
)
def test_sqlite_and_os_errors_become_store_errors_naming_the_file(
    error: BaseException, kind: type[Exception], words: str
) -> None:
    described = describe_sqlite_error("/x/events.db", error, "cannot open")
    assert type(described) is kind
    assert str(described).startswith("/x/events.db: cannot open") and words in str(described)
