"""A session run with post-trade learning killed (SIGKILL) during its close, then started again: the learning
step is done once — one overrides version for the day, the buffer moved by exactly its daily bound (3 bps),
one ``learning_override`` event — as in the run that was never killed.

Monday's RTH session of the ES week as MES, the simulated venue charging 15 bps and slipping 15 bps (the
day's median implementation shortfall is above 18 bps), the entry cost gate on at 0 bps. The close's steps:
cancel_day_orders, flatten, venue_snapshot, reconcile, learn (the 5th), write_reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tradebot
from tradebot.store import StoreReader

pytestmark = pytest.mark.timeout(300)

REPO = Path(tradebot.__file__).resolve().parents[2]
SAMPLE = REPO / "src" / "tradebot" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"
CHILD = Path(__file__).resolve().parent / "fault_child.py"
MES = "TRADEBOT_CONSTITUTION__INSTRUMENTS__MES__"


def _run(where: Path, *kill: str) -> subprocess.CompletedProcess[str]:
    if not (where / "tradebot.toml").exists():
        text = (REPO / "config" / "tradebot.toml").read_text()
        text = text.replace("slippage_bps = 1.0", "slippage_bps = 15.0")
        text = text.replace("fee_bps = 0.5", "fee_bps = 15.0")
        text = text.replace('constitution = "config/constitution.yaml"',
                            f'constitution = "{REPO / "config" / "constitution.yaml"}"')
        (where / "tradebot.toml").write_text(text + "\n[learning]\nenabled = true\nmin_tca_samples = 3\n")
        header, *rows = SAMPLE.read_text().splitlines()
        kept = [r for r in rows if r.startswith(("2013-10-07T1", "2013-10-07T2"))]
        (where / "bars.csv").write_text("\n".join([header, *kept]) + "\n")
    env = {**os.environ, "TRADEBOT_RUN__RUN_DIR": str(where / "run"),
           MES + "LIQUIDITY__ENTRY_COST_BUFFER_BPS": "0", MES + "LIMITS__DAILY_LOSS_CAP_USD": "500",
           MES + "LIMITS__MAX_CONSECUTIVE_LOSSES": "10"}
    command = [str(CHILD), *kill, "KILL", "--"] if kill else ["-m", "tradebot.cli"]
    args = ["run", "--config", str(where / "tradebot.toml"), "--data", str(where / "bars.csv"),
            "--store", str(where / "session.db"), "--session", "rth", "--quiet"]
    return subprocess.run([sys.executable, *command, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=240, env=env)


@pytest.mark.parametrize(
    ("point", "n"),
    [
        ("close_started", 1),  # nothing of the close stored yet
        ("close_step_work", 5),  # learned: the version written and its events stored, the step not yet
        ("close_step", 5),  # the learning step stored as done, the reports not written
    ],
)
def test_a_kill_during_the_close_learns_once(tmp_path: Path, point: str, n: int) -> None:
    killed = _run(tmp_path, point, str(n))
    assert killed.returncode == -9, killed.stderr
    restarted = _run(tmp_path)
    assert restarted.returncode == 0, restarted.stderr
    file = tmp_path / "run" / "learning" / "learned_overrides.json"
    assert sorted(p.name for p in file.with_name(file.name + ".versions").iterdir()) == ["000001.json"]
    version = json.loads(file.read_bytes())
    assert [(o["parameter"], o["previous"], o["value"]) for o in version["overrides"]] == [
        ("entry_cost_buffer_bps", "0", "3")
    ]
    with StoreReader(tmp_path / "session.db") as reader:
        events = list(reader.iter_events(kinds=["learning_override", "session_close", "session_close_step"]))
    changes = [e.body for e in events if e.kind == "learning_override"]
    assert [(c["from"], c["to"], c["version"]) for c in changes] == [("0", "3", 1)]
    close = next(e.body for e in events if e.kind == "session_close")
    assert close["ok"] and close["learning"]["version"] == 1
    assert [e.body["step"] for e in events if e.kind == "session_close_step"].count("learn") == 1
