"""``tradebot research walk-forward``: every fold of every series, fitted on its train window and traded by
the live pipeline on its test window; the distribution across folds, the overfitting checks, and the files.

Outputs (``--out DIR``): ``folds.csv`` (a row per fold and instrument: windows, profile, model digest, every
metric) and ``summary.json`` (the plan, each file's name and sha256, each metric's distribution per instrument
and over all folds, the overfitting report). Neither holds a time of day or a path, so two runs of the same
inputs write the same bytes.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tradebot.research.config_bundle import ConfigBundle
from tradebot.research.distribution import distributions
from tradebot.research.fold_run import METRICS, Costs, FoldJob, FoldOutcome, run_fold
from tradebot.research.leakage import check_folds
from tradebot.research.overfit import overfit_report
from tradebot.research.params import ParamSet, param_label, warmup_bars
from tradebot.research.series import BarSeries
from tradebot.research.windows import Fold, WindowSpec, walk_forward_folds


@dataclass(frozen=True, slots=True)
class Plan:
    spec: WindowSpec = field(default_factory=WindowSpec)
    profiles: tuple[str, ...] = ("balanced",)
    params: ParamSet = ()
    costs: Costs = field(default_factory=Costs)
    seed: int = 0  # the bootstrap's

    def as_dict(self) -> dict[str, Any]:
        return {
            "windows_in_bars": self.spec.model_dump(),
            "profiles": list(self.profiles),
            "params": param_label(self.params),
            "fee_bps": self.costs.fee_bps,
            "slippage_bps": self.costs.slippage_bps,
            "seed": self.seed,
        }


def plan_folds(series: BarSeries, spec: WindowSpec, warmup: int) -> list[Fold]:
    """The folds of ``series``, checked for leakage before anything runs on them."""
    folds = walk_forward_folds(len(series), spec, warmup=warmup)
    check_folds(folds, spec)
    return folds


def run_walk_forward(
    bundle: ConfigBundle,
    series_list: Sequence[BarSeries],
    plan: Plan,
    out_dir: Path,
    *,
    keep_work: bool = False,
    on_fold: Callable[[FoldOutcome], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    warmup = warmup_bars(plan.profiles, plan.params)
    planned = [(s, plan_folds(s, plan.spec, warmup)) for s in series_list]
    empty = [s.symbol for s, folds in planned if not folds]
    if empty:
        needed = max(plan.spec.train + plan.spec.embargo, warmup) + plan.spec.test
        raise ValueError(f"{empty[0]}: too few bars for one fold (needs {needed}: train + embargo + test)")
    if on_plan is not None:
        on_plan(sum(len(f) for _, f in planned))
    out_dir.mkdir(parents=True, exist_ok=True)
    kept = out_dir / "work"
    if kept.exists():
        shutil.rmtree(kept)
    outcomes: list[FoldOutcome] = []
    for series, folds in planned:
        for fold in folds:
            # a short path of its own: a replay's control socket lives in its run directory, and a socket
            # path is limited to ~100 characters
            with tempfile.TemporaryDirectory(prefix="tb-fold-") as tmp:
                job = FoldJob(fold=fold, profiles=plan.profiles, params=plan.params, costs=plan.costs)
                outcome = run_fold(bundle, series, job, Path(tmp))
                if keep_work:
                    shutil.copytree(tmp, kept / series.symbol / f"fold-{fold.index:04d}", symlinks=True)
            outcomes.append(outcome)
            if on_fold is not None:
                on_fold(outcome)
    summary = summarize(series_list, plan, outcomes)
    (out_dir / "folds.csv").write_text(folds_csv(outcomes), encoding="utf-8")
    (out_dir / "summary.json").write_bytes(
        orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    )
    return summary


def summarize(
    series_list: Sequence[BarSeries], plan: Plan, outcomes: Sequence[FoldOutcome]
) -> dict[str, Any]:
    rows = [o.row() for o in outcomes]
    daily = [r for o in outcomes for r in o.daily_returns]
    return {
        "plan": plan.as_dict(),
        "data": {s.symbol: {"file": s.name, "sha256": s.sha256, "bars": len(s)} for s in series_list},
        "folds": len(outcomes),
        "per_instrument": {
            s.symbol: {
                "folds": sum(1 for o in outcomes if o.symbol == s.symbol),
                "distribution": distributions([r for r in rows if r["symbol"] == s.symbol], METRICS),
            }
            for s in series_list
        },
        "distribution": distributions(rows, METRICS),
        "profiles_chosen": {p: sum(1 for o in outcomes if o.profile == p) for p in plan.profiles},
        # the profile choice is the only selection a walk-forward makes: its trials are the candidates
        "overfit": overfit_report(daily, trials=len(plan.profiles), seed=plan.seed),
    }


def folds_csv(outcomes: Sequence[FoldOutcome]) -> str:
    rows = [o.row() for o in outcomes]
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()
