"""SIGKILL a process in the middle of writing the event store, twice: the store stays sound, no event is
duplicated or missing, every durable (write-ahead) event reported committed is there, and a restarted
writer continues exactly after the last committed seq."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradebot.store import EventWriter, StoreReader

CHILD = Path(__file__).with_name("store_crash_child.py")


def run_and_kill(store: Path, run_id: str, durable_wanted: int) -> tuple[int, list[tuple[int, str]]]:
    """Start the child, wait until it reported ``durable_wanted`` durable commits, SIGKILL it."""
    child = subprocess.Popen([sys.executable, str(CHILD), str(store), run_id], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    try:
        first = child.stdout.readline().split()
        assert first and first[0] == "RESUMED", child.stderr.read() if child.stderr else ""
        resumed = int(first[1])
        durable: list[tuple[int, str]] = []
        while len(durable) < durable_wanted:
            line = child.stdout.readline()
            assert line, f"child ended early: {child.stderr.read() if child.stderr else ''}"
            _, seq, cid = line.split()
            durable.append((int(seq), cid))
        os.kill(child.pid, signal.SIGKILL)  # mid-stream: it was appending when this landed
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        if child.stderr is not None:
            child.stderr.close()
    return resumed, durable


def check_store(store: Path, durable: list[tuple[int, str]]) -> int:
    with StoreReader(store) as r:
        assert r.integrity_check() == "ok"
        events = list(r.iter_events())
        max_seq = r.max_seq()
        intents = {e.client_order_id: e.seq for e in r.iter_events(kinds=["order_intent"])}
    assert [e.seq for e in events] == list(range(1, max_seq + 1))  # contiguous from 1, no duplicate
    assert all(e.body["expect_seq"] == e.seq for e in events)  # each event once, in its place
    for seq, cid in durable:  # every write-ahead reported as committed survived the kill
        assert intents[cid] == seq
    return max_seq


@pytest.mark.timeout(120)
async def test_sigkill_mid_stream_then_restart(tmp_path: Path) -> None:
    store = tmp_path / "events.db"

    resumed, durable = run_and_kill(store, "run-1", durable_wanted=30)
    assert resumed == 0
    assert Path(f"{store}-wal").stat().st_size > 0  # killed with a live WAL: recovery is really exercised
    after_first = check_store(store, durable)
    assert after_first >= 30 * 21

    resumed, durable_2 = run_and_kill(store, "run-2", durable_wanted=10)
    assert resumed == after_first  # the restart reports exactly where it resumed
    after_second = check_store(store, durable + durable_2)
    with StoreReader(store) as r:
        first_of_run_2 = next(r.iter_events(after_seq=after_first))
        assert first_of_run_2.body["run"] == "run-2" and first_of_run_2.seq == after_first + 1
        batch = r.write_batch(after_first + 1)
        assert batch is not None and batch.run_id == "run-2"

    async with EventWriter.open(store, run_id="run-3") as w:
        assert w.resumed_after == after_second
        assert w.append("tick", {"expect_seq": after_second + 1}, ts=datetime.now(UTC)) == after_second + 1
    check_store(store, [])
