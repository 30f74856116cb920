"""SIGTERM at any moment is a clean stop whose exit code says what happened (README, exit codes).

* during startup, before the store is open: exit 0, one line, nothing written;
* during startup, once the store is open (a restart, right after reconciliation): the run stops before its
  first bar, exit 0, and the next start goes on from where the store ends;
* while an automatic constitution halt (consecutive losses) holds: exit 0 — the stop was asked for, and
  that halt lifts by itself at the next session; the line names it;
* while a halt held until an operator resumes holds (here: a fail-closed halt): exit 5.

Each case runs the real command through ``inject_child.py``, which sends SIGTERM at a fixed point.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tradebot.store import StoreReader

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ES_WEEK = REPO / "src" / "tradebot" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sunday evening to Wednesday morning: a consecutive-loss halt on Tuesday 14:02."""
    header, *rows = ES_WEEK.read_text().splitlines()
    path = tmp_path_factory.mktemp("data") / "es_slice.csv"
    path.write_text("\n".join([header, *rows[:3000]]) + "\n")
    return path


def _run(args: list[str], run_dir: Path, child: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEBOT_")}
    env["TRADEBOT_RUN__RUN_DIR"] = str(run_dir)
    prefix = [sys.executable, str(HERE / "inject_child.py"), *child, "--"] if child else [
        sys.executable, "-m", "tradebot.cli"
    ]
    return subprocess.run(
        [*prefix, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("fault:")]


def _kinds(store: Path) -> list[str]:
    with StoreReader(store) as reader:
        return [e.kind for e in reader.iter_events()]


def test_sigterm_during_startup_before_the_store_opens_is_a_clean_stop(data: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    args = ["replay", "--data", str(data), "--out", str(store), "-q"]
    stopped = _run(args, tmp_path / "run", ["term", "tradebot.pipeline.run_parts:_build_ensembles", "1"])
    assert stopped.returncode == 0, stopped.stderr
    assert _lines(stopped.stderr) == [
        "tradebot: stopped by SIGTERM during startup (building the pipeline): nothing was recorded or traded"
    ]
    assert not store.exists()  # nothing half-written
    assert stopped.stdout == ""


def test_sigterm_during_a_restart_after_reconciliation_stops_before_the_first_bar(
    data: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store.db"
    run_dir = tmp_path / "run"
    first = _run(["replay", "--data", str(data), "--out", str(store), "-q"], run_dir)
    assert first.returncode in (0, 5), first.stderr
    # a second, shorter store so the restart has bars left: stop the first run after 1,500 bars
    store = tmp_path / "short.db"
    short = _run(["run", "--mode", "observe", "--data", str(data), "--store", str(store), "-q",
                  "--max-bars", "1500"], run_dir)
    assert short.returncode == 0, short.stderr
    before = _kinds(store)

    args = ["run", "--mode", "observe", "--data", str(data), "--store", str(store), "-q", "--resume"]
    stopped = _run(args, run_dir, ["term", "tradebot.pipeline.session:reconcile_after_restart", "1"])
    assert stopped.returncode == 0, stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert _lines(stopped.stderr) == ["tradebot: stopped by SIGTERM"]
    assert re.search(r"^bars: +1500 processed", stopped.stdout, re.M)
    after = _kinds(store)
    assert after[: len(before)] == before and "bar" not in after[len(before):]  # no bar taken after the stop

    done = _run(args, run_dir)
    assert done.returncode in (0, 5), done.stderr
    # the next start went on from where the store ended
    assert re.search(r"^bars: +3000 processed", done.stdout, re.M)


def test_sigterm_while_a_consecutive_loss_halt_holds_exits_zero_and_names_the_halt(tmp_path: Path) -> None:
    # up to Tuesday 20:59: the consecutive-loss halt of 14:02 still holds at the end (it lifts at 22:01)
    header, *rows = ES_WEEK.read_text().splitlines()
    data = tmp_path / "es_to_tuesday.csv"
    data.write_text("\n".join([header, *rows[:2700]]) + "\n")
    store = tmp_path / "store.db"
    args = ["replay", "--data", str(data), "--out", str(store), "-q"]
    stopped = _run(args, tmp_path / "run", ["term-on-state", "HALTED", "CONSECUTIVE_LOSSES_BLOCK"])
    assert "fault: trading state HALTED (CONSECUTIVE_LOSSES_BLOCK)" in stopped.stderr
    assert stopped.returncode == 0, stopped.stdout[-1500:] + stopped.stderr
    assert _lines(stopped.stderr) == [
        "tradebot: stopped by SIGTERM; trading was HALTED (CONSECUTIVE_LOSSES_BLOCK), an automatic hold "
        "that lifts at the next session"
    ]
    held = "(CONSECUTIVE_LOSSES_BLOCK; an automatic hold, lifted at the symbol's next session)"
    assert held in stopped.stdout


def test_sigterm_while_halted_until_an_operator_resumes_exits_five(data: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    run_dir = tmp_path / "run"
    args = ["replay", "--data", str(data), "--out", str(store), "-q"]
    failed = _run(args, run_dir, ["raise", "tradebot.pipeline.portfolio:Portfolio.mark", "1000", "KeyError"])
    assert failed.returncode == 70, failed.stderr
    term = ["term", "tradebot.pipeline.engine:DecisionEngine.on_bar", "1200"]
    stopped = _run([*args, "--resume"], run_dir, term)
    assert stopped.returncode == 5, stopped.stdout[-1500:] + stopped.stderr
    assert _lines(stopped.stderr) == [
        "tradebot: stopped by SIGTERM; trading stays HALTED (PROGRAMMING_ERROR_HALT) until `tradebot resume`"
    ]
