"""SIGTERM drains and exits 0; live mode needs arming for production; a store is resumable after a stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_helpers import REPO, run_env, tradebot

from tradebot.store import StoreReader

pytestmark = pytest.mark.timeout(300)


def _bars(store: Path) -> int:
    try:
        with StoreReader(store) as reader:
            return reader.count_by_kind().get("bar", 0)
    except Exception:
        return 0


def test_sigterm_stops_intake_drains_flushes_and_exits_zero(tmp_path: Path, sample: Path) -> None:
    store = tmp_path / "term.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradebot.cli", "replay", "--data", str(sample), "--out", str(store)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=run_env(),
    )
    deadline = time.monotonic() + 120
    while (store.exists() and _bars(store) < 800 and time.monotonic() < deadline) or not store.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the replay finished before the signal"
    os.kill(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert "tradebot run summary" in out
    # a clean stop on request: 0, even if a constitution halt held at that moment (only a halt held until an
    # operator resumes would make it 5; README, exit codes)
    assert proc.returncode == 0, err
    processed = int(out.split("bars: ")[1].split()[0])
    assert 0 < processed < 6826
    assert _bars(store) == processed  # everything processed was flushed to the store
    resumed = tradebot("replay", "--data", str(sample), "--store", str(store), "--resume", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert _bars(store) == 6826


def test_live_against_production_refuses_without_arming(tmp_path: Path) -> None:
    env_config = (
        (REPO / "config" / "tradebot.toml")
        .read_text()
        .replace('environment = "paper"', 'environment = "production"')
    )
    config = tmp_path / "prod.toml"
    config.write_text(
        env_config.replace(
            'constitution = "config/constitution.yaml"',
            f'constitution = "{REPO / "config" / "constitution.yaml"}"',
        )
    )
    result = tradebot("run", "--mode", "live", "--config", str(config), "--store", str(tmp_path / "p.db"))
    assert result.returncode == 2
    assert "arming" in result.stderr and "--arm" in result.stderr
    assert not (tmp_path / "p.db").exists()  # refused before touching anything
