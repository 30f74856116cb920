"""The event store's tables, and how the writer and the readers open the file.

``events`` is append-only (triggers refuse UPDATE and DELETE) and holds only what a run decides, so the
bodies of two replays are byte-comparable. When and by which run each event was written lives apart, in
``write_batches``: one row per committed batch, keyed by the batch's first seq (``first_seq``..``last_seq``).
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from tradebot.store.errors import StoreEmpty, StoreError, describe_sqlite_error
from tradebot.store.permissions import create_owner_only, owner_only_dir, owner_only_sqlite

SCHEMA_VERSION = 1

_DDL = """
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    ts TEXT NOT NULL,
    symbol TEXT,
    client_order_id TEXT,
    body BLOB NOT NULL
);
CREATE INDEX events_kind_seq ON events(kind, seq);
CREATE INDEX events_symbol_ts ON events(symbol, ts) WHERE symbol IS NOT NULL;
CREATE INDEX events_client_order_id ON events(client_order_id) WHERE client_order_id IS NOT NULL;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the event store is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the event store is append-only'); END;
CREATE TABLE write_batches (
    first_seq INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    written_at TEXT NOT NULL,
    run_id TEXT NOT NULL
);
"""

INSERT_EVENT = "INSERT INTO events (seq, kind, ts, symbol, client_order_id, body) VALUES (?, ?, ?, ?, ?, ?)"
INSERT_BATCH = "INSERT INTO write_batches (first_seq, last_seq, written_at, run_id) VALUES (?, ?, ?, ?)"


def open_for_writing(path: Path, busy_timeout_s: float) -> tuple[sqlite3.Connection, int]:
    """Open (creating if needed) the store for its single writer; returns the connection and max seq.

    The connection is in autocommit mode (the writer issues BEGIN/COMMIT itself) and may be handed to
    the writer thread. WAL journal, ``synchronous=NORMAL``. The file (and its ``-wal``/``-shm``) is
    owner-only (0600); an empty file becomes a new store (a run refuses one before: see
    ``is_empty_file``). A file that cannot be used raises a
    ``StoreError`` naming it and is not changed: ``StoreDamaged`` (truncated, overwritten, not SQLite),
    ``StoreUnwritable`` (read-only, no permission, disk full).
    """
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not an event store file")
    try:
        owner_only_dir(path.parent)
        create_owner_only(path)
        owner_only_sqlite(path)
    except OSError as exc:
        raise describe_sqlite_error(path, exc, "cannot create the event store") from exc
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_s)
    except sqlite3.Error as exc:
        raise describe_sqlite_error(path, exc, "cannot open the event store") from exc
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"{path}: could not switch the store to WAL mode (journal_mode={mode})")
        conn.execute("PRAGMA synchronous=NORMAL")
        # commits never checkpoint: the writer thread does it on a connection of its own (see writer.py),
        # so an order's write-ahead commit on the event loop never pays for copying the WAL back
        conn.execute("PRAGMA wal_autocheckpoint=0")
        _ensure_schema(conn, path)
        max_seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
    except sqlite3.Error as exc:
        conn.close()
        raise describe_sqlite_error(path, exc, "cannot open the event store for writing") from exc
    except BaseException:
        conn.close()
        raise
    return conn, int(max_seq)


def is_empty_file(path: Path) -> bool:
    """An empty file with no write-ahead log beside it (the writer makes a new store of one; a run
    refuses it, as its readers do: where a store should be, an empty file may be one that lost all)."""
    return path.is_file() and path.stat().st_size == 0 and not path.with_name(path.name + "-wal").exists()


def _refuse_empty(path: Path) -> None:
    """Reading: a directory or an empty file is not a store."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "a directory, not an event store file", str(path))
    if is_empty_file(path):
        raise StoreEmpty(f"{path} is empty (0 bytes): not an event store")


def _ensure_schema(conn: sqlite3.Connection, path: Path) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            tables = conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            if tables:
                raise StoreError(f"{path} is an SQLite file but not a tradebot event store")
            for statement in _DDL.split(";\n"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version != SCHEMA_VERSION:
            raise StoreError(
                f"{path}: event store schema version {version}, this tradebot reads {SCHEMA_VERSION}"
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def open_for_reading(path: Path) -> sqlite3.Connection:
    """A read-only connection of its own (readers never share the writer's)."""
    _refuse_empty(path)
    if not path.is_file():
        raise FileNotFoundError(f"no event store at {path}")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    except sqlite3.Error as exc:
        raise describe_sqlite_error(path, exc, "cannot open the event store") from exc
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise StoreError(f"{path} is not a tradebot event store (schema version {version})")
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        conn.close()
        raise describe_sqlite_error(path, exc, "cannot read the event store") from exc
    except BaseException:
        conn.close()
        raise
    return conn
