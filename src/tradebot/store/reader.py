"""Reading the event store: each reader has its own read-only connection (never the writer's).

``StoreReader(path)`` (also a context manager) offers:

- ``iter_events(kinds=None, symbol=None, start=None, end=None, after_seq=None)`` → ``StoredEvent`` in seq
  order; ``start`` is inclusive and ``end`` exclusive on the event time ``ts``; streams, never loads all;
- ``last_event(kind)``, ``count_by_kind()``, ``max_seq()``, ``integrity_check()`` (``"ok"`` when sound);
- ``write_batch(seq)``: when and by which run the event was written (wall-clock metadata, kept apart);
- ``body_hashes()`` and ``events_digest()``: sha256 of the bodies in seq order, for determinism checks.

A reader sees the store as of its current statement; a store being written by a live writer can be read
at the same time (WAL).
"""

from __future__ import annotations

import functools
import hashlib
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from tradebot.store.codec import decode_body, format_ts, parse_ts
from tradebot.store.errors import describe_sqlite_error
from tradebot.store.schema import open_for_reading

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
_COLUMNS = "seq, kind, ts, symbol, client_order_id, body"
_NULL = b"\xff" * 8  # no length prefix can be this: marks a NULL column in events_digest


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    kind: str
    ts: datetime
    symbol: str | None
    client_order_id: str | None
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class WriteBatch:
    """Wall-clock metadata of one committed batch of events ``first_seq..last_seq``."""

    first_seq: int
    last_seq: int
    written_at: datetime
    run_id: str


def _json_path(key: str) -> str:
    """SQLite's JSON path of the body field ``key`` (``a.b``: field ``b`` of the object in field ``a``)."""
    if not all(part.isidentifier() for part in key.split(".")):
        raise ValueError(f"not a body field name: {key!r}")
    return f"$.{key}"


def _event(row: tuple[Any, ...]) -> StoredEvent:
    return StoredEvent(row[0], row[1], parse_ts(row[2]), row[3], row[4], decode_body(row[5]))


def _damaged_as_store_error(method: Callable[P, R]) -> Callable[P, R]:
    """A damaged page met while reading raises ``StoreDamaged`` naming the store, not a bare sqlite3 error."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except sqlite3.DatabaseError as exc:
            reader = args[0]
            assert isinstance(reader, StoreReader)
            raise describe_sqlite_error(reader.path, exc, "cannot read the event store") from exc

    return wrapper


def _damaged_in_iteration(method: Callable[P, Iterator[T]]) -> Callable[P, Iterator[T]]:
    """``_damaged_as_store_error`` for a generator method (the error comes while iterating)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        try:
            yield from method(*args, **kwargs)
        except sqlite3.DatabaseError as exc:
            reader = args[0]
            assert isinstance(reader, StoreReader)
            raise describe_sqlite_error(reader.path, exc, "cannot read the event store") from exc

    return wrapper


class StoreReader:
    def __init__(self, path: Path | str, *, fetch_size: int = 2_000) -> None:
        self.path = Path(path)
        self._conn = open_for_reading(self.path)
        self._fetch_size = fetch_size

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @_damaged_in_iteration
    def iter_events(
        self,
        kinds: Iterable[str] | None = None,
        symbol: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        after_seq: int | None = None,
    ) -> Iterator[StoredEvent]:
        """Events matching every given filter, in seq order."""
        where: list[str] = []
        params: list[Any] = []
        if kinds is not None:
            kind_list = list(kinds)
            if not kind_list:
                return
            where.append(f"kind IN ({', '.join('?' * len(kind_list))})")
            params.extend(kind_list)
        if symbol is not None:
            where.append("symbol = ?")
            params.append(symbol)
        if start is not None:
            where.append("ts >= ?")
            params.append(format_ts(start))
        if end is not None:
            where.append("ts < ?")
            params.append(format_ts(end))
        if after_seq is not None:
            where.append("seq > ?")
            params.append(after_seq)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        cursor = self._conn.execute(f"SELECT {_COLUMNS} FROM events{clause} ORDER BY seq", params)
        try:
            while rows := cursor.fetchmany(self._fetch_size):
                for row in rows:
                    yield _event(row)
        finally:
            cursor.close()

    @_damaged_as_store_error
    def last_event(self, kind: str) -> StoredEvent | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM events WHERE kind = ? ORDER BY seq DESC LIMIT 1", (kind,)
        ).fetchone()
        return None if row is None else _event(row)

    @_damaged_as_store_error
    def count_by_kind(self) -> dict[str, int]:
        rows = self._conn.execute("SELECT kind, COUNT(*) FROM events GROUP BY kind ORDER BY kind")
        return {kind: int(count) for kind, count in rows}

    @_damaged_as_store_error
    def last_of_kind_by_symbol(self, kind: str) -> list[StoredEvent]:
        """The last event of ``kind`` for each symbol, in seq order (events without a symbol excluded)."""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM events WHERE seq IN ("
            "SELECT MAX(seq) FROM events WHERE kind = ? AND symbol IS NOT NULL GROUP BY symbol) ORDER BY seq",
            (kind,),
        ).fetchall()
        return [_event(row) for row in rows]

    @_damaged_as_store_error
    def first_event(self, kind: str) -> StoredEvent | None:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM events WHERE kind = ? ORDER BY seq LIMIT 1", (kind,)
        ).fetchone()
        return None if row is None else _event(row)

    @_damaged_as_store_error
    def count_by_body_value(self, kind: str, key: str) -> dict[str, int]:
        """How many events of ``kind`` have each value of the body field ``key`` (``a.b``: field ``b`` of
        the object in field ``a``), counted in SQLite, no body decoded in Python; events without it, or with
        null, are not counted."""
        rows = self._conn.execute(
            f"SELECT json_extract(CAST(body AS TEXT), '{_json_path(key)}') AS value, COUNT(*) FROM events "
            "WHERE kind = ? GROUP BY value HAVING value IS NOT NULL",
            (kind,),
        )
        return {str(value): int(count) for value, count in rows}

    @_damaged_as_store_error
    def count_body_items(self, kind: str, key: str) -> int:
        """Over the events of ``kind``: the length of the body field ``key`` where it is an array, 1 where it
        is any other value but null, summed (in SQLite)."""
        path = _json_path(key)
        row = self._conn.execute(
            "SELECT COALESCE(SUM(CASE json_type(CAST(body AS TEXT), ?) WHEN 'array' THEN "
            "json_array_length(CAST(body AS TEXT), ?) WHEN 'null' THEN 0 ELSE 1 END), 0) FROM events "
            "WHERE kind = ? AND json_type(CAST(body AS TEXT), ?) IS NOT NULL",
            (path, path, kind, path),
        ).fetchone()
        return int(row[0])

    @_damaged_as_store_error
    def max_seq(self) -> int:
        """The highest seq in the store, 0 when it is empty."""
        return int(self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: ``"ok"``, or the problems it found, one per line."""
        rows = self._conn.execute("PRAGMA integrity_check").fetchall()
        return "\n".join(str(row[0]) for row in rows)

    @_damaged_as_store_error
    def write_batch(self, seq: int) -> WriteBatch | None:
        """When and by which run event ``seq`` was committed."""
        row = self._conn.execute(
            "SELECT first_seq, last_seq, written_at, run_id FROM write_batches "
            "WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1",
            (seq,),
        ).fetchone()
        if row is None or row[1] < seq:
            return None
        return WriteBatch(row[0], row[1], datetime.fromisoformat(row[2]), row[3])

    def body_hashes(self, kinds: Iterable[str] | None = None) -> list[str]:
        """sha256 (hex) of each event body, in seq order."""
        return [hashlib.sha256(body).hexdigest() for body in self._raw_column("body", kinds)]

    def events_digest(self, kinds: Iterable[str] | None = None) -> str:
        """One sha256 over ``kind, ts, symbol, client_order_id, body`` of every event in seq order.

        Everything an event says except its seq and the wall-clock metadata: two deterministic replays
        into fresh stores give the same digest.
        """
        digest = hashlib.sha256()
        for row in self._raw_column("kind, ts, symbol, client_order_id, body", kinds):
            for value in row:
                if value is None:
                    digest.update(_NULL)
                    continue
                part = value if isinstance(value, bytes) else value.encode()
                digest.update(len(part).to_bytes(8, "big"))
                digest.update(part)
        return digest.hexdigest()

    @_damaged_in_iteration
    def _raw_column(self, columns: str, kinds: Iterable[str] | None) -> Iterator[Any]:
        single = "," not in columns
        if kinds is None:
            cursor = self._conn.execute(f"SELECT {columns} FROM events ORDER BY seq")
        else:
            kind_list = list(kinds)
            marks = ", ".join("?" * len(kind_list))
            cursor = self._conn.execute(
                f"SELECT {columns} FROM events WHERE kind IN ({marks}) ORDER BY seq", kind_list
            )
        try:
            while rows := cursor.fetchmany(self._fetch_size):
                for row in rows:
                    yield row[0] if single else row
        finally:
            cursor.close()

