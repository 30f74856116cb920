"""The writer batches off the loop, flushes, commits durable events before returning, resumes after
max seq, applies backpressure, and on a failure halts (on_failure once) and refuses everything after."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradebot.domain import reasons
from tradebot.store import EventWriter, StoreLocked, StoreReader, StoreWriteFailed

TS = datetime(2013, 10, 7, 13, 30, tzinfo=UTC)

pytestmark = pytest.mark.timeout(60)


@contextmanager
def write_lock(path: Path) -> Iterator[None]:
    """Another connection holds the write lock: the writer's commits wait until it is released."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("COMMIT")
        conn.close()


def seqs(path: Path) -> list[int]:
    with StoreReader(path) as r:
        return [e.seq for e in r.iter_events()]


async def test_append_flush_and_batching(store_path: Path) -> None:
    async with EventWriter.open(store_path, run_id="r", busy_timeout_s=30) as w:
        assert w.resumed_after == 0
        w.append("warmup", {"i": 0}, ts=TS)
        await w.flush()
        with write_lock(store_path):  # the writer is stuck: everything below queues up
            appended = [w.append("tick", {"i": i}, ts=TS, symbol="MES") for i in range(1, 2701)]
            assert appended == list(range(2, 2702))
            assert w.last_seq == 2701
            assert w.pending >= 2699  # at most the first one was taken before the lock bit
        await w.flush()
        assert w.pending == 0 and w.committed_seq == 2701
        with StoreReader(store_path) as r:  # visible to another connection once flush returns
            assert r.max_seq() == 2701
            batches = {r.write_batch(s) for s in range(1, 2702)}
            assert all(e.body["i"] == e.seq - 1 for e in r.iter_events(kinds=["tick"]))
    assert seqs(store_path) == list(range(1, 2702))
    assert len(batches) <= 3  # the queued events went in one or two transactions, not 2,700
    assert all(b is not None and b.run_id == "r" for b in batches)


async def test_append_durable_returns_only_when_committed(store_path: Path) -> None:
    async with EventWriter.open(store_path) as w:
        for i in range(50):
            w.append("tick", {"i": i}, ts=TS)
        seq = await w.append_durable("order_intent", {"cid": "tb-1"}, ts=TS, client_order_id="tb-1")
        assert seq == 51 and w.committed_seq >= 51
        with StoreReader(store_path) as r:
            last = r.last_event("order_intent")
            assert last is not None and last.seq == 51 and last.client_order_id == "tb-1"
            assert r.max_seq() >= 51


async def test_restart_continues_after_max_seq(store_path: Path) -> None:
    async with EventWriter.open(store_path) as w:
        for i in range(5):
            w.append("tick", {"i": i}, ts=TS)
    async with EventWriter.open(store_path) as w:
        assert w.resumed_after == 5
        assert w.append("tick", {"i": 5}, ts=TS) == 6
    assert seqs(store_path) == [1, 2, 3, 4, 5, 6]


async def test_one_writer_per_store(store_path: Path) -> None:
    async with EventWriter.open(store_path):
        with pytest.raises(StoreLocked, match="another writer"):
            async with EventWriter.open(store_path):
                pass
    async with EventWriter.open(store_path):  # released on close
        pass


async def test_bad_body_is_refused_without_using_a_seq(store_path: Path) -> None:
    async with EventWriter.open(store_path) as w:
        with pytest.raises(TypeError):
            w.append("tick", {"x": object()}, ts=TS)
        with pytest.raises(ValueError, match="naive"):
            w.append("tick", {"x": 1}, ts=datetime(2013, 10, 7))
        assert w.append("tick", {"x": 1}, ts=TS) == 1
        assert not w.failed
    assert seqs(store_path) == [1]


async def test_wait_capacity_blocks_until_the_backlog_drains(store_path: Path) -> None:
    async with EventWriter.open(store_path, high_water=10, max_pending=1000, busy_timeout_s=30) as w:
        with write_lock(store_path):
            for i in range(20):
                w.append("tick", {"i": i}, ts=TS)
            waiting = asyncio.ensure_future(w.wait_capacity())
            await asyncio.sleep(0.05)
            assert not waiting.done()  # 20 uncommitted >= high_water: the producer must wait
        await waiting
        assert w.pending <= 5  # down to high_water // 2 at least
        await w.wait_capacity()  # returns at once below high_water


async def test_overflow_halts_but_keeps_what_was_accepted(store_path: Path) -> None:
    failures: list[BaseException] = []
    with pytest.raises(StoreWriteFailed, match="cannot keep up"):
        async with EventWriter.open(store_path, on_failure=failures.append, high_water=2, max_pending=4,
                                    busy_timeout_s=30) as w:
            with write_lock(store_path):
                for i in range(4):
                    w.append("tick", {"i": i}, ts=TS)
                with pytest.raises(StoreWriteFailed, match="cannot keep up"):
                    w.append("tick", {"i": 4}, ts=TS)
                assert w.failed and len(failures) == 1
                with pytest.raises(StoreWriteFailed):
                    w.append("tick", {"i": 5}, ts=TS)
    assert len(failures) == 1
    assert seqs(store_path) == [1, 2, 3, 4]  # everything append accepted was still written


async def test_write_failure_halts_once_and_refuses_everything_after(store_path: Path) -> None:
    failures: list[BaseException] = []
    with pytest.raises(StoreWriteFailed) as outer:
        async with EventWriter.open(store_path, on_failure=failures.append) as w:
            for i in range(3):
                w.append("tick", {"i": i}, ts=TS)
            await w.flush()
            saboteur = sqlite3.connect(store_path)  # e.g. a full disk: every insert from now on fails
            saboteur.execute("CREATE TRIGGER sabotage BEFORE INSERT ON events "
                             "BEGIN SELECT RAISE(ABORT, 'injected write failure'); END")
            saboteur.commit()
            saboteur.close()
            w.append("tick", {"i": 3}, ts=TS)
            with pytest.raises(StoreWriteFailed, match="injected write failure") as flushed:
                await w.flush()
            assert "events 4..4 are not committed" in str(flushed.value)
            assert flushed.value.code == reasons.STORE_WRITE_FAILED
            await asyncio.sleep(0)  # let the failure callback run
            assert w.failed
            assert len(failures) == 1 and isinstance(failures[0], sqlite3.IntegrityError)
            with pytest.raises(StoreWriteFailed):
                w.append("tick", {"i": 4}, ts=TS)
            with pytest.raises(StoreWriteFailed):
                await w.append_durable("order_intent", {"i": 5}, ts=TS)
            with pytest.raises(StoreWriteFailed):
                await w.wait_capacity()
    assert "injected write failure" in str(outer.value)
    assert len(failures) == 1
    assert seqs(store_path) == [1, 2, 3]


async def test_failure_wakes_a_pending_durable_append(store_path: Path) -> None:
    failures: list[BaseException] = []
    saboteur = sqlite3.connect(store_path)
    with pytest.raises(StoreWriteFailed):
        async with EventWriter.open(store_path, on_failure=failures.append) as w:
            saboteur.execute("CREATE TRIGGER sabotage BEFORE INSERT ON events "
                             "WHEN NEW.kind = 'order_intent' BEGIN SELECT RAISE(ABORT, 'no room'); END")
            saboteur.commit()
            saboteur.close()
            with pytest.raises(StoreWriteFailed, match="no room"):
                await w.append_durable("order_intent", {"cid": "tb-1"}, ts=TS, client_order_id="tb-1")
    assert len(failures) == 1


async def test_an_inline_durable_commit_takes_everything_queued_before_it(store_path: Path) -> None:
    # linger long: the thread would not have written the queued events yet
    async with EventWriter.open(store_path, linger_s=5.0) as w:
        for i in range(5):
            w.append("tick", {"i": i}, ts=TS)
        seq = await w.append_durable("order_intent", {"cid": "tb-1"}, ts=TS, client_order_id="tb-1")
        assert seq == 6 and w.committed_seq == 6 and w.pending == 0
        with StoreReader(store_path) as r:
            assert [e.kind for e in r.iter_events()] == ["tick"] * 5 + ["order_intent"]


async def test_the_writer_thread_checkpoints_the_wal_while_open(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tradebot.store.writer as writer_module

    monkeypatch.setattr(writer_module, "CHECKPOINT_EVERY", 500)
    async with EventWriter.open(store_path) as w:
        await w.flush()
        empty = store_path.stat().st_size
        for i in range(3000):
            w.append("tick", {"i": i, "pad": "x" * 200}, ts=TS)
            await w.wait_capacity()
        await w.flush()
        for _ in range(200):  # commits never checkpoint: only the thread copies pages into the file
            if store_path.stat().st_size > empty:
                break
            await asyncio.sleep(0.01)
            w.append("tick", {"i": -1}, ts=TS)  # wake the thread: it checkpoints after a batch
        assert store_path.stat().st_size > empty
