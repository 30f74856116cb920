"""``tradebot research sweep`` on a local Ray with 2 workers: 2 × 3 parameter sets × 3 folds of SPY daily
(1998–1999) = 18 cells, each a fit and a live-pipeline replay run as a Ray task. The configurations whose
slow EMA leaves too few training bars to calibrate are recorded cell by cell with their error; an
interrupted sweep resumes without running a finished cell again."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_helpers import REPO, run_env, tradebot

pytestmark = pytest.mark.timeout(600)

SPY_DAILY = REPO.parent / "shared" / "data" / "spy_1d_1998-01-02_2021-03-31.csv"
CONFIG = REPO / "config" / "research-spy-daily.toml"
GRID = ("--param", "trend_ema.fast=8,12", "--param", "trend_ema.slow=30,40,175")


@pytest.fixture(scope="module")
def spy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "spy_1998_1999.csv"
    path.write_text("\n".join(SPY_DAILY.read_text().splitlines()[:420]) + "\n")
    return path


def _args(spy: Path, out: Path) -> list[str]:
    return ["research", "sweep", "--data", f"SPY={spy}", "--config", str(CONFIG), "--out", str(out),
            "--workers", "2", "--max-folds", "3", *GRID, "-q"]


def _rows(out: Path) -> list[dict[str, str]]:
    with (out / "cells.csv").open() as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def swept(spy: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("sweep") / "out"
    done = tradebot(*_args(spy, out), env=run_env(out.parent / "run"), timeout=540)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done.stdout


def test_every_cell_has_a_row(swept: tuple[Path, str]) -> None:
    out, stdout = swept
    rows = _rows(out)
    assert len(rows) == 18 and len({r["cell_id"] for r in rows}) == 18
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cells"] == 18 and summary["missing"] == 0
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == 12 and all(r["model_digest"] and r["post_cost_return"] != "" for r in ok)
    assert "cells: 18, ok 12, failed 6" in stdout


def test_a_failing_configuration_is_recorded_with_its_error_never_dropped(swept: tuple[Path, str]) -> None:
    out, _ = swept
    failed = [r for r in _rows(out) if r["status"] == "failed"]
    assert {r["params"] for r in failed} == {
        "trend_ema.fast=8,trend_ema.slow=175",
        "trend_ema.fast=12,trend_ema.slow=175",
    }
    assert all("calibration needs at least 10 evidence values" in r["error"] for r in failed)
    summary = json.loads((out / "summary.json").read_text())
    configs = {c["config"]: c for c in summary["configs"]}
    bad = configs["balanced|trend_ema.fast=8,trend_ema.slow=175"]
    assert not bad["feasible"] and "3 failed cell(s)" in bad["violations"]
    assert summary["best"] in summary["ranking"] and bad["config"] not in summary["ranking"]


def test_the_summary_ranks_by_post_cost_return_under_the_constraints(swept: tuple[Path, str]) -> None:
    out, _ = swept
    summary = json.loads((out / "summary.json").read_text())
    configs = {c["config"]: c for c in summary["configs"]}
    means = [configs[c]["distribution"]["post_cost_return"]["mean"] for c in summary["ranking"]]
    assert means == sorted(means, reverse=True)
    assert summary["overfit"]["trials"] == 6 and summary["overfit"]["deflated_sharpe"] is not None


def test_cells_match_a_local_walk_forward_of_the_same_fold(
    swept: tuple[Path, str], spy: Path, tmp_path: Path
) -> None:
    """A Ray worker got the data through the object store and decided exactly as an in-process run."""
    out, _ = swept
    wf = tmp_path / "wf"
    done = tradebot(
        "research",
        "walk-forward",
        "--data",
        f"SPY={spy}",
        "--config",
        str(CONFIG),
        "--out",
        str(wf),
        "--param",
        "trend_ema.fast=12",
        "-q",
        env=run_env(tmp_path / "run"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with (wf / "folds.csv").open() as handle:
        local = {int(r["fold"]): r for r in csv.DictReader(handle)}
    cells = [r for r in _rows(out) if r["params"] == "trend_ema.fast=12,trend_ema.slow=30"]
    # the sweep's warm-up is its grid's longest (slow=175), so its folds start later: compare by test window
    by_window = {r["test_from"]: r for r in local.values()}
    matched = [c for c in cells if c["test_from"] in by_window]
    assert matched
    for cell in matched:
        twin = by_window[cell["test_from"]]
        assert cell["post_cost_return"] == twin["post_cost_return"] and cell["trades"] == twin["trades"]


def test_an_interrupted_sweep_resumes_without_redoing_finished_cells(spy: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = run_env(tmp_path / "run")
    process = subprocess.Popen(
        [sys.executable, "-m", "tradebot.cli", *_args(spy, out)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if (out / "cells.csv").exists() and len(_rows(out)) >= 3:
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = {r["cell_id"]: r for r in _rows(out)}
    assert 3 <= len(before) < 18, len(before)
    done = tradebot(*_args(spy, out)[:-1], env=env, timeout=540)  # with the progress bar this time
    assert done.returncode == 0, done.stderr[-3000:]
    after = _rows(out)
    assert len(after) == 18 and len({r["cell_id"] for r in after}) == 18  # no cell ran twice
    kept = {r["cell_id"]: r for r in after[: len(before)]}
    assert kept == before  # the first try's rows, untouched, first
