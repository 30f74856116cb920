"""Replay: same input, same bytes; a SIGKILL mid-replay resumes exactly where it stopped, nothing doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from e2e_helpers import REPO, run_env, tradebot

from tradebot.store import StoreReader

pytestmark = pytest.mark.timeout(600)


def test_make_run_equivalent_prints_the_summary(tmp_path: Path) -> None:
    result = tradebot("run", "--mode", "observe", "--store", str(tmp_path / "run.db"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "bars: 6826 processed" in out
    assert "intents:" in out and "blocked" in out and "pnl: realized" in out
    status = tradebot("status", "--store", str(tmp_path / "run.db"))
    assert status.returncode == 0, status.stderr
    assert status.stdout.strip() == out.strip()  # the store alone tells the same story


def test_two_replays_give_byte_identical_event_bodies(tmp_path: Path, sample: Path) -> None:
    digests = []
    for name in ("a.db", "b.db"):
        result = tradebot("replay", "--data", str(sample), "--out", str(tmp_path / name), "--quiet")
        assert result.returncode == 0, result.stderr
        with StoreReader(tmp_path / name) as reader:
            digests.append((reader.events_digest(), reader.count_by_kind()))
    assert digests[0] == digests[1]
    assert digests[0][1]["bar"] == 6826 and digests[0][1].get("decision", 0) > 0


def _bars_in(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with StoreReader(store) as reader:
            return reader.count_by_kind().get("bar", 0)
    except Exception:
        return 0


def test_sigkill_mid_replay_then_restart_resumes_without_duplicates(tmp_path: Path, sample: Path) -> None:
    store = tmp_path / "crash.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradebot.cli", "replay", "--data", str(sample), "--out", str(store)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=run_env(),
    )
    deadline = time.monotonic() + 120
    while _bars_in(store) < 1500 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the replay finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with StoreReader(store) as reader:
        assert reader.integrity_check() == "ok"
        last_bar = reader.last_event("bar")
        assert last_bar is not None
        killed_at = last_bar.body["ts"]
        bars_before = reader.count_by_kind()["bar"]
    assert 0 < bars_before < 6826

    result = tradebot("replay", "--data", str(sample), "--out", str(store))
    assert result.returncode == 0, result.stderr
    assert f"resumed after bar {killed_at}" in result.stdout

    with StoreReader(store) as reader:
        assert reader.integrity_check() == "ok"
        events = list(reader.iter_events())
    seqs = [e.seq for e in events]
    assert seqs == list(range(1, len(seqs) + 1))
    bar_ts = [e.body["ts"] for e in events if e.kind == "bar"]
    assert len(bar_ts) == 6826 and len(set(bar_ts)) == 6826  # every bar once, none twice
    decisions = Counter(e.body["intent"]["intent_id"] for e in events if e.kind == "decision")
    assert decisions and max(decisions.values()) == 1
    submits = Counter(e.client_order_id for e in events if e.kind == "order_submit")
    assert not submits or max(submits.values()) == 1  # no order sent twice
    fills = Counter(e.body["fill_id"] for e in events if e.kind == "order_filled")
    assert not fills or max(fills.values()) == 1  # no fill recorded twice
    assert [e.kind for e in events].count("run_start") == 2
