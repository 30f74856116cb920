"""Cron-launched sessions through the real command: one trading day, market closed, a second instance."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from e2e_helpers import REPO, run_env, tradebot

from tradebot.store import StoreReader

pytestmark = pytest.mark.timeout(300)


def _day_file(sample: Path, path: Path, prefixes: tuple[str, ...]) -> Path:
    lines = sample.read_text().splitlines()
    path.write_text("\n".join([lines[0], *(ln for ln in lines[1:] if ln.startswith(prefixes))]) + "\n")
    return path


def test_a_whole_rth_session_started_before_the_open(tmp_path: Path, sample: Path) -> None:
    # Monday 2013-10-07 from 06:00 New York (10:00Z), hours before the 09:30 open, into the evening
    data = _day_file(sample, tmp_path / "monday.csv", ("2013-10-07T1", "2013-10-07T2"))
    run_dir = tmp_path / "run"
    store = tmp_path / "session.db"
    result = tradebot(
        "run",
        "--mode",
        "observe",
        "--data",
        str(data),
        "--store",
        str(store),
        "--session",
        "rth",
        env=run_env(run_dir),
    )
    assert result.returncode == 0, result.stderr
    assert "SESSION_CLOSE_CLEANUP" in result.stderr
    with StoreReader(store) as reader:
        events = list(reader.iter_events())
    window = next(e.body for e in events if e.kind == "session_window")
    assert window["open"] == "2013-10-07T13:30:00+00:00" and window["close"] == "2013-10-07T20:00:00+00:00"
    decisions = [e for e in events if e.kind == "decision"]
    assert decisions and min(e.ts for e in decisions) >= datetime.fromisoformat(window["open"])
    bars = [e for e in events if e.kind == "bar"]
    assert max(e.ts for e in bars) <= datetime.fromisoformat(window["close"])  # nothing after the close
    close = next(e.body for e in events if e.kind == "session_close")
    assert close["ok"] is True and close["problems"] == []
    assert any(e.kind == "startup_cleanup" for e in events)
    position = sum(
        (1 if e.body["side"] == "BUY" else -1) * float(e.body["quantity"])
        for e in events
        if e.kind == "order_filled"
    )
    assert position == 0  # flat at the end of the session
    report_dir = run_dir / "reports" / "2013-10-07"
    summary = json.loads((report_dir / "summary.json").read_text())
    assert summary and (report_dir / "execution.csv").exists() and (report_dir / "summary.csv").exists()


def test_started_after_the_close_says_market_closed_and_exits_zero(tmp_path: Path, sample: Path) -> None:
    data = _day_file(sample, tmp_path / "evening.csv", ("2013-10-07T21", "2013-10-07T22"))
    store = tmp_path / "closed.db"
    result = tradebot(
        "run", "--mode", "observe", "--data", str(data), "--store", str(store), "--session", "rth"
    )
    assert result.returncode == 0, result.stderr
    assert "MARKET_CLOSED" in result.stderr
    assert not store.exists()  # nothing touched


def test_a_bad_session_spec_is_a_config_error(tmp_path: Path) -> None:
    result = tradebot("run", "--mode", "observe", "--store", str(tmp_path / "x.db"), "--session", "lunch")
    assert result.returncode == 2 and "lunch" in result.stderr


def test_two_concurrent_starts_exactly_one_runs(tmp_path: Path, sample: Path) -> None:
    data = _day_file(sample, tmp_path / "day.csv", ("2013-10-07", "2013-10-08"))
    env = run_env(tmp_path / "run")
    first = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tradebot.cli",
            "run",
            "--mode",
            "observe",
            "--data",
            str(data),
            "--store",
            str(tmp_path / "one.db"),
            "--session",
            "eth",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lock_dir = tmp_path / "run"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and first.poll() is None and not any(lock_dir.glob("**/*.lock")):
        time.sleep(0.02)
    assert first.poll() is None, "the first run ended before the second could start"
    os.kill(first.pid, signal.SIGSTOP)  # hold the first run mid-session, deterministically
    try:
        second = tradebot(
            "run",
            "--mode",
            "observe",
            "--data",
            str(data),
            "--store",
            str(tmp_path / "two.db"),
            "--session",
            "eth",
            env=env,
        )
    finally:
        os.kill(first.pid, signal.SIGCONT)
    assert second.returncode == 3, second.stderr
    assert "ALREADY_RUNNING" in second.stderr
    assert not (tmp_path / "two.db").exists()  # the second touched nothing
    _, err = first.communicate(timeout=240)
    assert first.returncode == 0, err


def test_sigkill_mid_session_then_restart_no_double_order_no_lost_fill(tmp_path: Path, sample: Path) -> None:
    # a 24h session from Monday 10:00Z: the first order comes early, a long tail follows (room to kill)
    data = _day_file(sample, tmp_path / "monday.csv", ("2013-10-07T1", "2013-10-07T2", "2013-10-08T0"))
    env = run_env(tmp_path / "run")
    store = tmp_path / "killed.db"
    args = ["run", "--mode", "observe", "--data", str(data), "--store", str(store), "--session", "24h"]
    # a deterministic kill: SIGKILL right after the first order's write-ahead is durable, before the venue
    killed = subprocess.run(
        [sys.executable, str(REPO / "tests" / "faults" / "fault_child.py"), "write_ahead", "1", "KILL", "--",
         *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    restarted = tradebot(*args, env=env)
    assert restarted.returncode == 0, restarted.stderr
    assert "resumed after bar" in restarted.stdout
    with StoreReader(store) as reader:
        events = list(reader.iter_events())
    submitted = [e.client_order_id for e in events if e.kind == "order_submit"]
    assert submitted and len(submitted) == len(set(submitted))  # no order sent twice
    fills = [e.body["fill_id"] for e in events if e.kind == "order_filled"]
    assert len(fills) == len(set(fills))
    reconciliation = [e.body for e in events if e.kind == "reconciliation"]
    assert reconciliation and reconciliation[0]["mismatches"] == []
    # the venue (rebuilt from the store, as a restart builds it) agrees with ours: same fills, positions
    from tradebot.pipeline.venue_projection import venue_from_store

    venue = venue_from_store(store)
    venue_fills = {f.fill_id for f in venue.all_fills()}
    venue_position = {p.symbol: p.quantity for p in venue.snapshot_positions()}
    venue.close()
    assert venue_fills == set(fills)
    ours = sum(
        (1 if e.body["side"] == "BUY" else -1) * float(e.body["quantity"])
        for e in events
        if e.kind == "order_filled"
    )
    assert float(venue_position.get("MES", 0)) == ours == 0
