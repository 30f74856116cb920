"""Replay: same input, same bytes; a SIGKILL mid-replay resumes exactly where it stopped, nothing doubled."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
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
    assert re.search(r"^bars: +6826 processed", out, re.M)
    assert "intents:" in out and "blocked" in out and re.search(r"^pnl: +realized", out, re.M)
    assert "E-" not in out and "E+" not in out  # money exactly, never in exponent form
    status = tradebot("status", "--store", str(tmp_path / "run.db"))
    assert status.returncode == 0, status.stderr
    # the store alone tells the same story; the run adds where its log, manifest and report went
    assert out.strip().startswith(status.stdout.strip())
    assert status.stdout.strip().splitlines()[-1].split() == ["store:", str(tmp_path / "run.db")]
    assert re.search(r"^log: +\S+tradebot\.jsonl$", out, re.M) and re.search(r"^manifest: +\S+", out, re.M)


def test_two_replays_give_byte_identical_event_bodies(tmp_path: Path, sample: Path) -> None:
    digests = []
    for name in ("a.db", "b.db"):
        result = tradebot("replay", "--data", str(sample), "--out", str(tmp_path / name), "--quiet")
        assert result.returncode == 0, result.stderr
        with StoreReader(tmp_path / name) as reader:
            digests.append((reader.events_digest(), reader.count_by_kind()))
    assert digests[0] == digests[1]
    assert digests[0][1]["bar"] == 6826 and digests[0][1].get("decision", 0) > 0


FAULT_CHILD = REPO / "tests" / "faults" / "fault_child.py"


def test_sigkill_mid_replay_then_restart_resumes_without_duplicates(tmp_path: Path, sample: Path) -> None:
    store = tmp_path / "crash.db"
    # a deterministic kill: the process SIGKILLs itself as the decision stage takes its 5,000th bar. A replay
    # commits in groups as its writer thread gets to it; by then the writer's high-water mark (4,000 events
    # uncommitted, about one event a bar) has made the run wait for a commit at least once, so some of it is
    # stored whatever the threads' timing
    killed = subprocess.run(
        [sys.executable, str(FAULT_CHILD), "bar", "5000", "KILL", "--",
         "replay", "--data", str(sample), "--out", str(store)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=run_env(),
        timeout=240,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with StoreReader(store) as reader:
        assert reader.integrity_check() == "ok"
        last_bar = reader.last_event("bar")
        assert last_bar is not None
        killed_at = last_bar.body["ts"]
        bars_before = reader.count_by_kind()["bar"]
    assert 0 < bars_before < 6826

    result = tradebot("replay", "--data", str(sample), "--store", str(store), "--resume")
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
