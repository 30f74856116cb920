"""``tradebot research sweep``: a grid of profiles × parameter sets × instruments × folds, each cell an
independent fit-and-replay of one fold (``fold_run``), run as Ray tasks (``ray_runner``).

The cells' results go into one table, ``OUT/cells.csv``, a row per cell written (and fsynced) as the cell
finishes, so a sweep that is interrupted resumes where it stopped: a cell whose row is there is not run again
(a torn last line from a kill is dropped and that cell runs again). A cell that fails is a row too, with
its error; it is never dropped, and runs again only with ``--retry-failed``. ``OUT/sweep.json`` pins what
the sweep is (data digests, windows, profiles, parameter grid, costs): a directory holding another sweep is
refused. At the end ``OUT/summary.json`` ranks the configurations (profile × parameter set) that meet the
constraints (every cell's max drawdown ≤ ``max_drawdown``, at least ``min_trades`` trades per cell on
average) by their mean post-cost return across folds, each with its distribution, and the overfitting checks
of the best one against all that were tried.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tradebot.research.distribution import distributions
from tradebot.research.fold_run import METRICS, Costs
from tradebot.research.overfit import overfit_report, per_day_sharpe
from tradebot.research.params import ParamSet, param_label
from tradebot.research.series import BarSeries
from tradebot.research.windows import Fold, WindowSpec


class SweepError(ValueError):
    """The sweep cannot run as asked (another sweep's directory, an empty grid)."""


@dataclass(frozen=True, slots=True)
class Constraints:
    max_drawdown: float | None = 0.15
    min_trades: float | None = None

    def violations(self, rows: Sequence[Mapping[str, Any]]) -> list[str]:
        problems: list[str] = []
        if self.max_drawdown is not None:
            worst = max(
                (float(r["max_drawdown"]) for r in rows if r.get("max_drawdown") not in (None, "")),
                default=0.0,
            )
            if worst > self.max_drawdown:
                problems.append(f"max_drawdown {worst:.4f} > {self.max_drawdown}")
        if self.min_trades is not None:
            mean = sum(int(r["trades"]) for r in rows) / len(rows) if rows else 0.0
            if mean < self.min_trades:
                problems.append(f"trades per cell {mean:.2f} < {self.min_trades}")
        return problems


@dataclass(frozen=True, slots=True)
class Cell:
    index: int
    symbol: str
    fold: Fold
    profile: str
    params: ParamSet
    cell_id: str

    @property
    def config(self) -> str:
        return f"{self.profile}|{param_label(self.params)}"


@dataclass(frozen=True, slots=True)
class SweepPlan:
    spec: WindowSpec
    profiles: tuple[str, ...]
    param_sets: tuple[ParamSet, ...]
    costs: Costs = field(default_factory=Costs)
    constraints: Constraints = field(default_factory=Constraints)
    seed: int = 0

    def identity(self, series_list: Sequence[BarSeries]) -> dict[str, Any]:
        return {
            "data": {s.symbol: {"file": s.name, "sha256": s.sha256, "bars": len(s)} for s in series_list},
            "windows_in_bars": self.spec.model_dump(),
            "profiles": list(self.profiles),
            "param_sets": [param_label(p) for p in self.param_sets],
            "fee_bps": self.costs.fee_bps,
            "slippage_bps": self.costs.slippage_bps,
        }


def grid_cells(
    series_list: Sequence[BarSeries], folds: Mapping[str, Sequence[Fold]], plan: SweepPlan
) -> list[Cell]:
    cells: list[Cell] = []
    for profile in plan.profiles:
        for params in plan.param_sets:
            for series in series_list:
                for fold in folds[series.symbol]:
                    key = orjson.dumps(
                        [
                            series.sha256,
                            fold.as_dict(),
                            profile,
                            param_label(params),
                            plan.costs.fee_bps,
                            plan.costs.slippage_bps,
                        ]
                    )
                    cell_id = hashlib.sha256(key).hexdigest()[:16]
                    cells.append(Cell(len(cells), series.symbol, fold, profile, params, cell_id))
    return cells


ROW_FIELDS = (
    "cell_id",
    "cell",
    "symbol",
    "fold",
    "test_from",
    "test_to",
    "profile",
    "params",
    "status",
    "error",
    *METRICS,
    "model_digest",
    "daily_returns",
)


def ok_row(cell: Cell, outcome: Any) -> dict[str, Any]:
    return {
        **base_row(cell),
        "status": "ok",
        "error": "",
        "test_from": outcome.test_from,
        "test_to": outcome.test_to,
        **{m: outcome.metrics[m] for m in METRICS},
        "model_digest": outcome.model_digest,
        "daily_returns": orjson.dumps(list(outcome.daily_returns)).decode(),
    }


def failed_row(cell: Cell, error: str) -> dict[str, Any]:
    return {**base_row(cell), "status": "failed", "error": error[:2000]}


def base_row(cell: Cell) -> dict[str, Any]:
    return {
        "cell_id": cell.cell_id,
        "cell": cell.index,
        "symbol": cell.symbol,
        "fold": cell.fold.index,
        "profile": cell.profile,
        "params": param_label(cell.params),
    }


class CellTable:
    """``cells.csv``: the sweep's one table and its resume journal."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {}
        text = self.path.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):  # a row torn by a kill: drop it, its cell runs again
            text = text[: text.rfind("\n") + 1]
            self.path.write_text(text, encoding="utf-8")
        return {row["cell_id"]: row for row in csv.DictReader(io.StringIO(text))}

    def forget(self, cell_ids: Iterable[str]) -> None:
        drop = set(cell_ids)
        kept = [r for r in self.load().values() if r["cell_id"] not in drop]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=ROW_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept)
        self.path.write_text(buffer.getvalue(), encoding="utf-8")

    def append(self, row: Mapping[str, Any]) -> None:
        new = not self.path.exists() or self.path.stat().st_size == 0
        with self.path.open("a", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=ROW_FIELDS, lineterminator="\n")
            if new:
                writer.writeheader()
            writer.writerow({k: ("" if row.get(k) is None else row.get(k, "")) for k in ROW_FIELDS})
            handle.flush()
            os.fsync(handle.fileno())


CellRunner = Callable[[Sequence[Cell], Callable[[Cell, dict[str, Any]], None]], None]
"""Runs the cells, calling back with each cell's row as it finishes (``ray_runner.RayRunner``)."""


def run_sweep(
    series_list: Sequence[BarSeries],
    folds: Mapping[str, Sequence[Fold]],
    plan: SweepPlan,
    out_dir: Path,
    runner: CellRunner,
    *,
    retry_failed: bool = False,
    on_plan: Callable[[int, int], None] | None = None,
    on_cell: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    cells = grid_cells(series_list, folds, plan)
    if not cells:
        raise SweepError("the grid has no cell: no fold fits the data with these windows")
    out_dir.mkdir(parents=True, exist_ok=True)
    identity = plan.identity(series_list)
    pinned = out_dir / "sweep.json"
    if pinned.exists():
        if orjson.loads(pinned.read_bytes()) != identity:
            raise SweepError(f"{out_dir} holds another sweep (its sweep.json differs); give a new --out")
    else:
        pinned.write_bytes(orjson.dumps(identity, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    table = CellTable(out_dir / "cells.csv")
    done = table.load()
    if retry_failed:
        failed = [cid for cid, row in done.items() if row["status"] == "failed"]
        table.forget(failed)
        done = table.load()
    todo = [c for c in cells if c.cell_id not in done]
    if on_plan is not None:
        on_plan(len(cells), len(cells) - len(todo))

    def finished(cell: Cell, row: dict[str, Any]) -> None:
        table.append(row)
        if on_cell is not None:
            on_cell(row)

    if todo:
        runner(todo, finished)
    rows = table.load()
    ordered = [rows[c.cell_id] for c in cells if c.cell_id in rows]
    summary = summarize(cells, ordered, plan)
    (out_dir / "summary.json").write_bytes(
        orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    )
    return summary


def summarize(cells: Sequence[Cell], rows: Sequence[Mapping[str, Any]], plan: SweepPlan) -> dict[str, Any]:
    by_config: dict[str, list[Mapping[str, Any]]] = {}
    for cell in cells:
        by_config.setdefault(cell.config, [])
    index = {c.cell_id: c for c in cells}
    for row in rows:
        by_config[index[row["cell_id"]].config].append(row)
    configs: list[dict[str, Any]] = []
    daily_of: dict[str, list[float]] = {}
    for config, config_rows in by_config.items():
        ok = [_numeric(r) for r in config_rows if r["status"] == "ok"]
        failed = [r for r in config_rows if r["status"] == "failed"]
        daily_of[config] = [
            x for r in config_rows if r["status"] == "ok" for x in orjson.loads(r["daily_returns"])
        ]
        violations = plan.constraints.violations(ok)
        if failed:
            violations.append(f"{len(failed)} failed cell(s)")
        profile, _, params = config.partition("|")
        configs.append(
            {
                "config": config,
                "profile": profile,
                "params": params,
                "cells": len(config_rows),
                "ok": len(ok),
                "failed": len(failed),
                "feasible": not violations and bool(ok),
                "violations": violations,
                "distribution": distributions(ok, METRICS),
            }
        )
    feasible = [c for c in configs if c["feasible"]]
    feasible.sort(key=lambda c: (-(c["distribution"]["post_cost_return"].get("mean") or 0.0), c["config"]))
    sharpes = [s for d in daily_of.values() if (s := per_day_sharpe(d)) is not None]
    best = feasible[0]["config"] if feasible else None
    return {
        "cells": len(cells),
        "ok": sum(1 for r in rows if r["status"] == "ok"),
        "failed": [
            {
                "cell_id": r["cell_id"],
                "config": index[r["cell_id"]].config,
                "symbol": r["symbol"],
                "fold": int(r["fold"]),
                "error": r["error"],
            }
            for r in rows
            if r["status"] == "failed"
        ],
        "missing": len(cells) - len(rows),
        "constraints": {
            "max_drawdown": plan.constraints.max_drawdown,
            "min_trades": plan.constraints.min_trades,
        },
        "ranking": [c["config"] for c in feasible],
        "configs": configs,
        "best": best,
        "overfit": overfit_report(daily_of[best], trials=len(configs), trial_sharpes=sharpes, seed=plan.seed)
        if best is not None
        else None,
        "distribution": feasible[0]["distribution"] if feasible else {},
    }


def _numeric(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = dict(row)
    for metric in METRICS:
        value = row.get(metric)
        out[metric] = None if value in (None, "") else (int(value) if metric == "trades" else float(value))
    return out
