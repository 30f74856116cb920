"""The event store's single writer: batched, off the event loop, never silently dropping.

Usage (asyncio backend; anyio on asyncio is what the daemon runs)::

    async with EventWriter.open(path, on_failure=engine.on_store_failure, run_id=run_id) as w:
        w.resumed_after                      # max seq found at open (0 for a new store)
        seq = w.append("bar", bar, ts=bar.end, symbol=bar.symbol)      # enqueue, no await
        await w.append_durable("order_intent", req, ts=now, client_order_id=req.client_order_id)  # committed
        await w.wait_capacity()              # once per unit of work (per bar): the backpressure point
        await w.flush()                      # everything appended so far is committed (inline)
    # leaving the block flushes, stops the thread, and raises StoreWriteFailed if a write failed

Design
------
* ``append`` encodes the body (``codec.encode_body``) on the caller's thread, assigns the next seq
  (continuing from the store's max seq) and puts one tuple on a ``collections.deque``; the dedicated
  writer thread is woken only if it is asleep. That is the whole per-event cost on the loop: a few µs.
* The writer thread owns the SQLite connection. It drains the deque in batches of up to ``max_batch``
  rows, each batch one transaction (multi-row INSERTs into ``events``, so the GIL is released and
  re-taken once per chunk of up to 2,048 rows rather than per row, plus one ``write_batches`` row with the
  wall-clock time and run id), then tells the loop (``call_soon_threadsafe``) if anyone awaits a seq.
  The loop never touches SQLite after ``open``; ``open`` and close run their SQLite work in a thread too.
* Batching: once woken, the thread sleeps ``linger_s`` (2 ms) before it takes a batch, so a busy loop
  fills batches of many events and the two threads trade the GIL once per batch, not once per event. An
  event that must be on disk now does not wait for it: see the write-ahead fast path below.
* Backpressure: ``append`` never blocks and never drops. The producer calls ``await wait_capacity()`` at
  least once per unit of work; it returns at once while fewer than ``high_water`` events are uncommitted,
  otherwise waits until the backlog is down to ``high_water // 2``. A producer that ignores it and lets
  the backlog reach ``max_pending`` has the writer fail (``StoreWriteFailed``, on_failure called): the
  architecture's rule is that a recorder that cannot keep up halts trading. ``high_water`` is 4,000 by
  default: a replay that outruns the thread holds at most a few MB of encoded events (20,000 cost
  ~12 MB of peak RSS for no speed).
* The write-ahead fast path: ``append_durable`` does not hand its event to the thread and wait for a
  wake-up. It takes the connection's lock and commits everything queued up to and including its event
  itself, on the calling (loop) thread, then returns. The writer thread takes the same lock around each
  of its batches, so batches never interleave and seqs commit in order; at worst the caller waits for the
  batch the thread is writing. A thread hand-off and the loop's wake-up cost several hundred µs on a busy
  loop (the GIL), the inline commit tens of µs plus the fsync: the order reaches the venue that much sooner.
  ``flush`` commits the same way (everything appended so far), so it never waits out the thread's linger.
* Units: the events appended inside ``with w.unit():`` are committed together: the thread commits none
  of them before the block ends, and a batch cut at ``max_batch`` is extended to a unit's end. So a kill
  never leaves half a unit — a bar's fills without the bar, a bar without its decision. An
  ``append_durable`` (or ``flush``) inside a unit commits at once, with the part of the unit appended
  before it: a write-ahead is never held back. Never await ``wait_capacity`` inside a unit.
* Durability: WAL with ``synchronous=NORMAL``: a committed transaction survives a crash or SIGKILL of the
  process (it is in the WAL file, which the OS keeps), not a power loss or OS crash. A batch holding an
  ``append_durable`` event (the OMS write-ahead of an order, before the broker call) is committed with
  ``synchronous=FULL`` (the WAL is fsynced at that commit) unless the writer was opened with
  ``durable_sync="normal"`` (benchmarks), so orders also survive a power loss.
* Durability per mode: ``durable_sync="group"`` (a replay) makes ``append_durable`` an ordinary append,
  committed with its batch (and its unit) by the thread: a replay's venue is a projection of the store, so
  a write-ahead lost with a crash is an order that venue never saw either, and the restart decides that
  bar again. Orders of a replay then cost no transaction of their own.
* Checkpoints: commits never checkpoint (``wal_autocheckpoint=0``); the writer thread copies the WAL back
  into the database (``wal_checkpoint(PASSIVE)``, on a connection of its own, outside the commit lock)
  every ``CHECKPOINT_EVERY`` events, so a page rewritten by many small commits is copied back once, and
  never by an order's write-ahead commit on the loop. Closing the store checkpoints the rest.
* Failure: if a commit raises, the writer marks itself failed, stops, rolls the batch back, and calls
  ``on_failure(exc)`` exactly once on the loop thread; pending ``flush``/``append_durable`` waiters and every
  later ``append``/``flush``/``wait_capacity`` raise ``StoreWriteFailed`` naming the uncommitted seqs.
* One writer per store: an exclusive ``flock`` on ``<store>.lock`` (released by the OS if the process dies);
  a second writer gets ``StoreLocked``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import heapq
import itertools
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from functools import cache, partial
from itertools import chain
from pathlib import Path
from typing import Literal

import anyio

from tradebot.store.codec import encode_body, format_ts
from tradebot.store.errors import StoreError, StoreLocked, StoreWriteFailed, describe_sqlite_error
from tradebot.store.permissions import FILE_MODE, owner_only_dir
from tradebot.store.schema import INSERT_BATCH, INSERT_EVENT, open_for_writing

_Row = tuple[int, str, str, str | None, str | None, bytes]  # seq, kind, ts, symbol, client_order_id, body
_ROW_FIELDS = 6
FailureCallback = Callable[[BaseException], None]


class EventWriter:
    """The single writer of one event store. Create it with ``EventWriter.open(...)`` only."""

    def __init__(
        self,
        *,
        path: Path,
        conn: sqlite3.Connection,
        lock_fd: int,
        max_seq: int,
        loop: asyncio.AbstractEventLoop,
        on_failure: FailureCallback | None,
        run_id: str,
        durable_sync: Literal["full", "normal", "group"],
        high_water: int,
        max_pending: int,
        max_batch: int,
        linger_s: float,
    ) -> None:
        self.path = path
        self.run_id = run_id
        self.resumed_after = max_seq
        self.high_water = high_water
        self.max_pending = max_pending
        self._conn = conn
        self._lock_fd = lock_fd
        self._loop = loop
        self._on_failure = on_failure
        self._durable_full = durable_sync == "full"
        self._durable_grouped = durable_sync == "group"
        self._max_batch = max_batch
        self._linger_s = linger_s
        params = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        self._chunks = tuple(size for size in _CHUNKS if size * _ROW_FIELDS <= params)
        self._queue: deque[_Row] = deque()
        self._next_seq = max_seq + 1
        self.last_body = b""  # the encoded body of the last event appended (what the store holds)
        self._committed = max_seq  # written by the writer thread only
        self._durable_upto = 0  # highest seq appended with append_durable
        self._failure: BaseException | None = None
        self._failure_reported = False
        self._stopping = False
        self._closed = False
        self._wake = threading.Event()
        self._conn_lock = threading.Lock()  # one batch at a time: the thread's, or an inline durable commit
        # the queue's cut (the open unit, the units): taken inside _conn_lock, or alone by ``unit`` on the
        # loop, which so never waits for the thread's SQLite commit (lock order: _conn_lock, _cut_lock)
        self._cut_lock = threading.Lock()
        self._hold_from: int | None = None  # a unit is open from this seq: the thread leaves it for now
        self._units: deque[tuple[int, int]] = deque()  # (first, last) seq of each unit not yet committed
        self._write_broken = False  # a commit raised on the loop thread: the thread writes no more
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._waiter_ids = itertools.count()
        self._thread = threading.Thread(target=self._run, name=f"event-writer:{path.name}", daemon=True)

    # --- lifecycle ---------------------------------------------------------------------------------
    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        path: Path | str,
        *,
        on_failure: FailureCallback | None = None,
        run_id: str = "",
        durable_sync: Literal["full", "normal", "group"] = "full",
        high_water: int = 4_000,
        max_pending: int = 500_000,
        max_batch: int = 5_000,
        busy_timeout_s: float = 5.0,
        linger_s: float = 0.002,
    ) -> AsyncIterator[EventWriter]:
        """Open the store for writing (created if missing) and run its writer thread for the block."""
        if not 0 < high_water < max_pending:
            raise ValueError(f"need 0 < high_water < max_pending, got {high_water} and {max_pending}")
        store = Path(path)
        loop = asyncio.get_running_loop()
        lock_fd = await anyio.to_thread.run_sync(_lock_store, store)
        try:
            conn, max_seq = await anyio.to_thread.run_sync(partial(open_for_writing, store, busy_timeout_s))
        except BaseException:
            os.close(lock_fd)
            raise
        writer = cls(
            path=store, conn=conn, lock_fd=lock_fd, max_seq=max_seq, loop=loop, on_failure=on_failure,
            run_id=run_id, durable_sync=durable_sync, high_water=high_water, max_pending=max_pending,
            max_batch=max_batch, linger_s=linger_s,
        )
        writer._thread.start()
        try:
            yield writer
        except BaseException:
            await writer._close()
            raise
        await writer._close()
        writer._raise_if_failed()

    async def _close(self) -> None:
        """Stop taking events, let the thread commit everything queued, join it. Shielded from cancel."""
        with anyio.CancelScope(shield=True):
            self._closed = True
            self._stopping = True
            self._wake.set()
            await anyio.to_thread.run_sync(self._thread.join)
            os.close(self._lock_fd)
            if self._failure is not None:
                self._report_failure()
            self._release_waiters()

    # --- producer side (event loop thread) ---------------------------------------------------------
    @property
    def failed(self) -> bool:
        return self._failure is not None

    @property
    def last_seq(self) -> int:
        """The seq of the last event appended (committed or not)."""
        return self._next_seq - 1

    @property
    def committed_seq(self) -> int:
        """The seq up to which everything is committed."""
        return self._committed

    @property
    def pending(self) -> int:
        """Events appended but not yet committed."""
        return self._next_seq - 1 - self._committed

    def append(
        self, kind: str, body: object, *, ts: datetime, symbol: str | None = None,
        client_order_id: str | None = None,
    ) -> int:
        """Enqueue one event without waiting; returns its seq. Raises StoreWriteFailed once failed."""
        return self._enqueue(kind, body, ts, symbol, client_order_id, durable=False)

    async def append_durable(
        self, kind: str, body: object, *, ts: datetime, symbol: str | None = None,
        client_order_id: str | None = None,
    ) -> int:
        """Append one event; return its seq once committed (fsynced unless durable_sync="normal"; with
        durable_sync="group", at once: it is committed with its batch)."""
        if self._durable_grouped:
            return self._enqueue(kind, body, ts, symbol, client_order_id, durable=False)
        seq = self._enqueue(kind, body, ts, symbol, client_order_id, durable=True)
        self._commit_inline(seq)
        return seq

    def _commit_inline(self, seq: int) -> None:
        """On the loop: commit every queued event up to ``seq`` on this thread (the write-ahead fast path)."""
        with self._conn_lock:
            try:
                while self._committed < seq and self._failure is None:
                    self._write(self._take(), notify=False)
            except BaseException as exc:  # noqa: BLE001 - reported exactly like a failure of the thread
                self._write_broken = True
                self._failure = self._failure or exc
        if self._waiters:
            self._release_waiters()
        self._raise_if_failed()

    @contextlib.contextmanager
    def unit(self) -> Iterator[None]:
        """The events appended inside the block are committed together (see Units above). A unit inside a
        unit is part of it."""
        if self._hold_from is not None:
            yield
            return
        with self._cut_lock:
            first = self._hold_from = self._next_seq
        try:
            yield
        finally:
            with self._cut_lock:
                last = self._next_seq - 1
                if last > first and last > self._committed:
                    self._units.append((max(first, self._committed + 1), last))
                self._hold_from = None
            self._wake.set()

    async def flush(self) -> None:
        """Commit every event appended so far (on this thread, like the write-ahead) and return."""
        self._raise_if_failed()
        self._commit_inline(self._next_seq - 1)

    async def wait_capacity(self) -> None:
        """The backpressure point: returns at once unless ``high_water`` events are uncommitted."""
        self._raise_if_failed()
        if self._next_seq - 1 - self._committed >= self.high_water:
            await self._wait_for(self._next_seq - 1 - self.high_water // 2)

    def _enqueue(
        self, kind: str, body: object, ts: datetime, symbol: str | None, client_order_id: str | None,
        *, durable: bool,
    ) -> int:
        if self._failure is not None or self._closed:
            self._refuse(kind)
        if not kind:
            raise ValueError("an event needs a non-empty kind")
        data = encode_body(body)
        ts_text = format_ts(ts)
        seq = self._next_seq
        if seq - self._committed > self.max_pending:
            self._fail(StoreWriteFailed(
                f"{self.path}: {self.max_pending} events uncommitted, the writer cannot keep up "
                "(the producer must await wait_capacity())"
            ))
            self._raise_if_failed()
        self._next_seq = seq + 1
        self.last_body = data
        if durable:
            self._durable_upto = seq  # before the row is visible to the writer thread
        self._queue.append((seq, kind, ts_text, symbol, client_order_id, data))
        if not self._wake.is_set():
            self._wake.set()
        return seq

    def _refuse(self, kind: str) -> None:
        self._raise_if_failed()
        raise StoreWriteFailed(f"{self.path}: the writer is closed; event {kind!r} was not recorded")

    async def _wait_for(self, seq: int) -> None:
        if self._committed >= seq:
            return
        self._raise_if_failed()
        future: asyncio.Future[None] = self._loop.create_future()
        heapq.heappush(self._waiters, (seq, next(self._waiter_ids), future))
        if self._committed >= seq or self._failure is not None:  # raced with the thread: settle now
            self._release_waiters()
        await future

    def _release_waiters(self) -> None:
        """On the loop: settle every waiter whose seq is committed, or all of them if the writer failed."""
        committed = self._committed
        while self._waiters and (self._waiters[0][0] <= committed or self._failure is not None):
            seq, _, future = heapq.heappop(self._waiters)
            if future.done():
                continue
            if seq <= committed:
                future.set_result(None)
            else:
                future.set_exception(self._failure_error())

    def _fail(self, exc: BaseException) -> None:
        if self._failure is None:
            self._failure = exc
        self._report_failure()

    def _report_failure(self) -> None:
        """On the loop: fail the waiters, call on_failure once."""
        self._release_waiters()
        if self._failure_reported or self._failure is None:
            return
        self._failure_reported = True
        if self._on_failure is not None:
            self._on_failure(self._failure)

    def _failure_error(self) -> StoreWriteFailed:
        exc = self._failure
        first, last = self._committed + 1, self._next_seq - 1
        lost = f"; events {first}..{last} are not committed" if last >= first else ""
        if isinstance(exc, StoreWriteFailed):
            error = StoreWriteFailed(f"{exc}{lost}")
        else:
            why = f"{type(exc).__name__}: {exc}"
            error = StoreWriteFailed(
                f"{self.path}: the event store could not be written ({why}); events up to "
                f"{self._committed} are committed and kept{lost}"
            )
        error.__cause__ = exc
        return error

    def _raise_if_failed(self) -> None:
        """On the loop: raise StoreWriteFailed if failed, after on_failure has been called."""
        if self._failure is not None:
            self._report_failure()
            raise self._failure_error()

    # --- writer thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        checkpointer: sqlite3.Connection | None = None
        checkpointed = self._committed
        try:
            while True:
                self._wake.wait()
                if self._linger_s and not self._stopping:
                    time.sleep(self._linger_s)  # let a batch gather: a GIL hand-off per batch, not per event
                self._wake.clear()
                while self._queue and not self._write_broken:
                    with self._conn_lock:
                        # an inline commit may have taken it; an open unit's events wait for its end
                        batch = self._take(hold=True) if not self._write_broken else []
                        if batch:
                            self._write(batch, notify=True)
                    if not batch:
                        break
                if self._write_broken:  # an inline commit failed to write: it reported already
                    break
                if self._committed - checkpointed >= CHECKPOINT_EVERY:
                    checkpointer = checkpointer or sqlite3.connect(self.path, isolation_level=None)
                    checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")  # never blocks the writers
                    checkpointed = self._committed
                if self._stopping and not self._queue:
                    break
        except BaseException as exc:  # noqa: BLE001 - any failure to write must halt trading, never vanish
            self._failure = self._failure or exc
            with contextlib.suppress(RuntimeError):  # the loop is gone: _close reports it instead
                self._loop.call_soon_threadsafe(self._report_failure)
        finally:
            if checkpointer is not None:
                checkpointer.close()
            self._conn.close()  # the last connection to close checkpoints the rest

    def _take(self, *, hold: bool = False) -> list[_Row]:
        """The next batch (the caller holds ``_conn_lock``): up to ``max_batch`` rows, more if the cut would
        fall inside a unit; ``hold`` (the thread): none of an open unit's rows."""
        queue, units = self._queue, self._units
        with self._cut_lock:
            count = min(len(queue), self._max_batch)
            if hold and self._hold_from is not None and count:
                count = min(count, max(0, self._hold_from - queue[0][0]))
            if units and count:
                first_seq, cut = queue[0][0], queue[count - 1][0]
                while units and units[0][1] <= cut:
                    units.popleft()  # ends inside the batch: whole
                if units and units[0][0] <= cut:
                    count = min(len(queue), units[0][1] - first_seq + 1)
            return [queue.popleft() for _ in range(count)]

    def _write(self, batch: list[_Row], *, notify: bool) -> None:
        """Commit one batch (the caller holds ``_conn_lock``); ``notify``: tell the loop's waiters."""
        first, last = batch[0][0], batch[-1][0]
        conn = self._conn
        full = self._durable_full and self._durable_upto >= first
        if full:
            conn.execute("PRAGMA synchronous=FULL")
        try:
            conn.execute("BEGIN IMMEDIATE")
            _insert_rows(conn, batch, self._chunks)
            conn.execute(INSERT_BATCH, (first, last, datetime.now(UTC).isoformat(), self.run_id))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):  # the original error is what matters
                    conn.execute("ROLLBACK")
            raise
        if full:
            conn.execute("PRAGMA synchronous=NORMAL")
        self._committed = last
        if notify and self._waiters:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody can be waiting
                self._loop.call_soon_threadsafe(self._release_waiters)


CHECKPOINT_EVERY = 20_000  # events committed between two checkpoints of the WAL into the database file
_CHUNKS = (2048, 512, 128, 32, 8, 2, 1)  # multi-row INSERT sizes; few distinct statements, all cached
_ONE_STATEMENT_UP_TO = 32  # batches up to this many rows: one statement of their exact size


def _insert_rows(conn: sqlite3.Connection, rows: list[_Row], chunks: tuple[int, ...]) -> None:
    """Insert with multi-row ``INSERT ... VALUES (...), (...)`` statements.

    One statement step per chunk instead of one per row: the sqlite3 module releases and re-takes the
    GIL around every step, and with the event loop busy each re-take waits for the loop thread, so
    per-row steps would make the writer and the loop take turns row by row.
    """
    flat = chain.from_iterable
    start, total = 0, len(rows)
    if total <= _ONE_STATEMENT_UP_TO:  # a small batch (an order's write-ahead, a live bar): one statement
        conn.execute(_insert_statement(total), list(flat(rows)))
        return
    for size in chunks:
        statement = _insert_statement(size)
        while total - start >= size:
            conn.execute(statement, list(flat(rows[start:start + size])))
            start += size


@cache
def _insert_statement(rows: int) -> str:
    return INSERT_EVENT + ", (?, ?, ?, ?, ?, ?)" * (rows - 1)


def _lock_store(path: Path) -> int:
    lock_path = path.with_name(path.name + ".lock")
    try:
        if path.is_dir():
            raise StoreError(f"{path} is a directory, not an event store file")
        owner_only_dir(lock_path.parent)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError as exc:
        raise describe_sqlite_error(path, exc, "cannot create the store's lock file") from exc
    try:
        os.fchmod(fd, FILE_MODE)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreLocked(
            f"{path} is in use by another writer (a tradebot run holds its lock {lock_path})"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    return fd
