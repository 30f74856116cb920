"""Everything a run writes is owner-only, whatever the umask: the event store (and its WAL, shared-memory
and lock files), the log, the manifest, the control directory, the instance lock and the session reports
are 0600, the directories tradebot creates 0700.

A real ``tradebot run --session rth`` on the bundled Monday, started with umask 000 (the most permissive),
so any file whose mode is left to the umask would come out world-writable.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "src" / "tradebot" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"

pytestmark = pytest.mark.timeout(300)


def _monday(path: Path) -> Path:
    header, *rows = SAMPLE.read_text().splitlines()
    path.write_text("\n".join([header, *(r for r in rows if r.startswith(("2013-10-07T1", "2013-10-07T2")))]))
    return path


def test_a_session_run_leaves_only_owner_only_files(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "mes"
    stores = tmp_path / "stores" / "daily"
    store = stores / "session.db"
    env = {**os.environ, "TRADEBOT_RUN__RUN_DIR": str(run_dir)}
    args = [
        "run",
        "--mode",
        "observe",
        "--data",
        str(_monday(tmp_path / "monday.csv")),
        "--store",
        str(store),
    ]
    done = subprocess.run(
        [sys.executable, "-m", "tradebot.cli", *args, "--session", "rth", "-q"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        preexec_fn=lambda: os.umask(0),
    )
    assert done.returncode == 0, done.stderr[-3000:]

    written = [p for root in (run_dir, stores) for p in [root, *root.rglob("*")]]
    names = {p.name for p in written}
    assert {"session.db", "session.db.lock", "tradebot.jsonl", "manifest.json", "summary.json"} <= names
    assert any(p.suffix == ".csv" for p in written)  # the session reports
    loose = {
        str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.lstat().st_mode))
        for p in written
        if stat.S_IMODE(p.lstat().st_mode) & 0o077
    }
    assert loose == {}, f"readable by group or others: {loose}"
    for directory in (tmp_path / "runs", run_dir, tmp_path / "stores", stores):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory  # created by tradebot: 0700
