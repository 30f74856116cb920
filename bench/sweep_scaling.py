"""Sweep throughput against the number of Ray workers: the same grid of cells (a fit and a live-pipeline
replay of one walk-forward fold each, ``tradebot research sweep``) on a local Ray with 1, then 2 workers.

Two figures per worker count: end-to-end cells/s (Ray's start and stop included, what a user waits for)
and steady cells/s (between the first and the last finished cell: the scaling itself). The cells are SPY
daily folds (../shared/data), config/research-spy-daily.toml.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.common import Figure, result_document

REPO = Path(__file__).resolve().parent.parent
SPY_DAILY = REPO.parent / "shared" / "data" / "spy_1d_1998-01-02_2021-03-31.csv"
CONFIG = REPO / "config" / "research-spy-daily.toml"


def run_once(workers: int, param_values: list[int], folds: int, out: Path) -> tuple[float, float, int]:
    """(end-to-end seconds, steady seconds between the first and last finished cell, cells)."""
    from tradebot.domain.calendars import shared_calendars
    from tradebot.research.config_bundle import ConfigBundle
    from tradebot.research.fold_run import Costs
    from tradebot.research.params import parse_grid, warmup_bars
    from tradebot.research.ray_runner import RayRunner
    from tradebot.research.series import load_series
    from tradebot.research.sweep import SweepPlan, run_sweep
    from tradebot.research.walk_forward import plan_folds
    from tradebot.research.windows import WindowSpec

    bundle = ConfigBundle.from_config(CONFIG)
    settings = bundle.materialize(out / "config")
    series = load_series("SPY", SPY_DAILY, settings.instrument("SPY"), shared_calendars())
    grid = parse_grid([f"trend_ema.fast={','.join(str(v) for v in param_values)}"])
    spec = WindowSpec()
    warmup = max(warmup_bars(("balanced",), p) for p in grid)
    plan = SweepPlan(spec=spec, profiles=("balanced",), param_sets=tuple(grid))
    runner = RayRunner(
        bundle=bundle,
        series={"SPY": series},
        data={"SPY": SPY_DAILY.read_bytes()},
        costs=Costs(),
        num_workers=workers,
    )
    finished: list[float] = []
    start = time.perf_counter()
    summary = run_sweep(
        [series],
        {"SPY": plan_folds(series, spec, warmup)[:folds]},
        plan,
        out / "sweep",
        runner,
        on_cell=lambda _row: finished.append(time.perf_counter()),
    )
    total = time.perf_counter() - start
    if summary["failed"]:
        raise RuntimeError(f"sweep cells failed: {summary['failed'][:2]}")
    return total, finished[-1] - finished[0], len(finished)


def measure(work: Path, *, quick: bool, repeats: int) -> dict[str, Any]:
    values = [8, 10, 12] if quick else [6, 8, 10, 12, 14, 16]
    folds = 4 if quick else 8
    figures: list[Figure] = []
    runs: dict[str, Any] = {}
    for workers in (1, 2):
        end_to_end = Figure(
            f"cells_per_s_{workers}_workers", "cells/s", note="Ray start and shutdown included"
        )
        steady = Figure(
            f"steady_cells_per_s_{workers}_workers",
            "cells/s",
            note="between the first and the last finished cell",
        )
        for i in range(repeats):
            total, between, cells = run_once(workers, values, folds, work / f"w{workers}-{i}")
            end_to_end.add(cells / total)
            steady.add((cells - 1) / between)
            runs[f"{workers}_workers_{i}"] = {"cells": cells, "seconds": round(total, 3)}
        figures += [end_to_end, steady]
    speedup = Figure("steady_speedup_2_over_1", "x")
    speedup.runs = [b / a for a, b in zip(figures[1].runs, figures[3].runs, strict=True)]
    return result_document(
        "sweep",
        [*figures, speedup],
        params={
            "grid": f"balanced x trend_ema.fast={values} x {folds} SPY daily folds",
            "repeats": repeats,
            "windows_in_bars": {"train": 180, "test": 30, "step": 30, "embargo": 5},
        },
        notes=[
            "Each cell: calibrate the model on its fold's 180 train days, verify it, replay the live "
            "pipeline (run_session, replay mode, every gate, the simulated venue, the event store) on its 30 "
            "test days; one Ray task per cell, data and config through Ray's object store.",
            "With 2 cores the second worker competes with the driver process for a core; past one machine, "
            "--address ray://HEAD:10001 runs the same tasks on a cluster (docs/research.md).",
        ],
        extra={"runs": runs},
    )
