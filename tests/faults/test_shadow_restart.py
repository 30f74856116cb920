"""Shadow sets survive a stop: a run with four shadow sets stopped at bar N (``--max-bars``, in the middle of
open paper trades) and resumed on the same store stores exactly the paper trades, and everything else, of the
same run uninterrupted (the sets are rebuilt from the bars the stopped run had decided; none of their trades
is stored twice). Real ``tradebot run`` processes on the bundled ES week, the shipped config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from kill_harness import ES_WEEK
from store_outcome import first_difference, outcome

from tradebot.store import StoreReader

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(600)
SETS = """
[shadow.conservative]
profile = "conservative"

[shadow.slow_ema]
params = {trend_ema = {fast = 20, slow = 60}}
"""


def tradebot_run(config: Path, store: Path, *extra: str) -> str:
    args = [
        "run",
        "--mode",
        "observe",
        "--config",
        str(config),
        "--data",
        str(ES_WEEK),
        "--store",
        str(store),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEBOT_")}
    env["TRADEBOT_RUN__RUN_DIR"] = str(store.parent / "run")
    done = subprocess.run(
        [sys.executable, "-m", "tradebot.cli", *args, "-q", *extra],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = (REPO / "config" / "tradebot.toml").read_text()
    text = text.replace(
        'constitution = "config/constitution.yaml"', f'constitution = "{REPO}/config/constitution.yaml"'
    )
    path = tmp_path_factory.mktemp("config") / "shadow.toml"
    path.write_text(text + SETS)
    return path


@pytest.fixture(scope="module")
def twin(config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("twin") / "twin.db"
    tradebot_run(config, store)
    return store


def paper_open_at(store: Path, bars: int) -> int:
    """How many paper trades were open after the run's first ``bars`` bars."""
    with StoreReader(store) as reader:
        times = [e.body["ts"] for e in reader.iter_events(kinds=("bar",))]
        cut = times[bars - 1]
        trades = [e.body for e in reader.iter_events(kinds=("shadow_trade",))]
    return sum(1 for t in trades if t["entry_ts"] <= cut < t["exit_ts"])


@pytest.mark.parametrize("stop_at", [1500, 3333, 5200])
def test_a_stopped_and_resumed_run_stores_the_paper_trades_of_the_uninterrupted_one(
    config: Path, twin: Path, tmp_path: Path, stop_at: int
) -> None:
    store = tmp_path / "resumed.db"
    tradebot_run(config, store, "--max-bars", str(stop_at))
    assert "resumed after" in tradebot_run(config, store, "--resume")
    expected = outcome(twin)
    assert sum(1 for e in expected if e.kind == "shadow_trade") >= 100
    difference = first_difference(expected, outcome(store))
    assert difference is None, difference


def test_the_stops_fall_inside_open_paper_trades(twin: Path) -> None:
    """The stops above are worth testing: at some of them paper trades were open (their entry before the stop,
    their exit after), so the resumed run had to rebuild them from the bars."""
    assert sum(paper_open_at(twin, n) for n in (1500, 3333, 5200)) >= 1
