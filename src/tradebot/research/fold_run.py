"""One fold, end to end: fit on its train window, verify the artifact, replay the live pipeline on its test
window, score the test window from the store.

The replay is the real one (``run_session`` in replay mode: every gate, the simulated venue and its costs,
the event store); only its inputs are the fold's. A fold's outputs are a function of its inputs alone: the
artifact's creation time is the train window's end, never the clock, so two runs give the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import orjson

from tradebot.research.config_bundle import ConfigBundle, environment
from tradebot.research.leakage import LeakageError, check_fit_window
from tradebot.research.params import ParamSet, param_label, recipes_with, warmup_bars
from tradebot.research.series import BarSeries
from tradebot.research.windows import Fold
from tradebot.settings import Settings


@dataclass(frozen=True, slots=True)
class Costs:
    """The simulated venue's costs for research replays (None: the config's ``[broker.sim]``)."""

    fee_bps: float | None = None
    slippage_bps: float | None = None


@dataclass(frozen=True, slots=True)
class FoldJob:
    fold: Fold
    profiles: tuple[str, ...]  # one: traded as is; several: chosen on the train window by post-cost return
    params: ParamSet = ()
    costs: Costs = field(default_factory=Costs)


METRICS = ("post_cost_return", "turnover", "max_drawdown", "hit_rate", "sharpe", "trades", "fees")


@dataclass(frozen=True, slots=True)
class FoldOutcome:
    symbol: str
    fold: Fold
    test_from: str  # ISO times of the test window's first bar and its last bar's end
    test_to: str
    profile: str  # the profile traded on the test window
    params: str
    model_digest: str
    metrics: dict[str, float | int | None]
    train_objective: dict[str, float | None]  # each candidate profile's post-cost return on the train window
    daily_returns: tuple[float, ...]  # the test window's daily post-cost returns (for the overfitting checks)

    def row(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            **self.fold.as_dict(),
            "test_from": self.test_from,
            "test_to": self.test_to,
            "profile": self.profile,
            "params": self.params,
            "model_digest": self.model_digest,
            **self.metrics,
            # each candidate profile's post-cost return on the train window (empty: nothing to choose)
            "train_objective": orjson.dumps(self.train_objective, option=orjson.OPT_SORT_KEYS).decode(),
        }


def run_fold(bundle: ConfigBundle, series: BarSeries, job: FoldJob, workdir: Path) -> FoldOutcome:
    """Run ``job`` in ``workdir`` (created; its files stay for inspection)."""
    from tradebot.models.builder import build_artifact
    from tradebot.models.verify import verify_artifact

    fold, bars = job.fold, series.bars
    settings = bundle.materialize(workdir / "config")
    settings = _with_costs(settings, job.costs)
    recipes = recipes_with(job.params, job.profiles)
    train = bars[fold.train_start : fold.train_end]
    model_dir = workdir / "model"
    build_artifact(
        train,
        model_dir,
        version=f"wf-{series.symbol}-fold{fold.index}",
        created_at=train[-1].end,
        source=series.name,
        recipes=recipes,
    )
    manifest = verify_artifact(model_dir)
    check_fit_window(manifest, bars, fold)
    objective: dict[str, float | None] = {}
    if len(job.profiles) > 1:
        warmup = warmup_bars(job.profiles, job.params)
        if fold.train_end - fold.train_start <= warmup:
            raise ValueError(
                f"fold {fold.index}: {fold.train_end - fold.train_start} train bars cannot score a profile "
                f"after its {warmup}-bar warm-up; lengthen --train"
            )
        for profile in job.profiles:
            store = _replay(  # the train window, cut at its end: marked there, never after it
                bundle,
                settings,
                series,
                model_dir,
                profile,
                workdir / f"train-{profile}",
                fold.train_start,
                fold.train_end,
            )
            metrics, _ = _score(store, bars[fold.train_start + warmup].ts)
            objective[profile] = _as_float(metrics["post_cost_return"])
        chosen = max(job.profiles, key=lambda p: _or_worst(objective[p]))
    else:
        chosen = job.profiles[0]
    store = _replay(
        bundle,
        settings,
        series,
        model_dir,
        chosen,
        workdir / "test",
        replay_start(fold, chosen, job.params),
        fold.test_end,
    )
    test_from = bars[fold.test_start].ts
    _check_no_order_before(store, test_from, fold)
    metrics, daily = _score(store, test_from)
    return FoldOutcome(
        symbol=series.symbol,
        fold=fold,
        test_from=test_from.isoformat(),
        test_to=bars[fold.test_end - 1].end.isoformat(),
        profile=chosen,
        params=param_label(job.params),
        model_digest=manifest.digest,
        metrics=metrics,
        train_objective=objective,
        daily_returns=daily,
    )


def replay_start(fold: Fold, profile: str, params: ParamSet) -> int:
    """The first bar the test replay reads: the ensemble speaks on its ``warmup_bars``-th bar, so that many
    bars less one come before the test window and its first decision is on the test window's first bar.
    Those bars only warm it up: an order among them stops the fold (``LeakageError``)."""
    start = fold.test_start - (warmup_bars((profile,), params) - 1)
    if start < 0:
        raise ValueError(f"fold {fold.index}: its test window starts before the ensemble can be warmed up")
    return start


def _with_costs(settings: Settings, costs: Costs) -> Settings:
    update = {
        k: v for k, v in (("fee_bps", costs.fee_bps), ("slippage_bps", costs.slippage_bps)) if v is not None
    }
    if not update:
        return settings
    if settings.broker.name != "sim":
        raise ValueError(
            f"research replays trade on the simulated venue; broker.name is {settings.broker.name!r}"
        )
    table = {**settings.broker.plugin_table("sim"), **update}
    return settings.model_copy(update={"broker": settings.broker.model_copy(update={"sim": table})})


def _replay(
    bundle: ConfigBundle,
    settings: Settings,
    series: BarSeries,
    model: Path,
    profile: str,
    directory: Path,
    start: int,
    end: int,
) -> Path:
    from tradebot.pipeline.app import RunOptions
    from tradebot.pipeline.session import run_session

    directory.mkdir(parents=True, exist_ok=True)
    data = series.write_window(directory / series.name, start, end)
    strategy = settings.strategy.model_copy(update={"model": model, "profile": profile})
    run_settings = settings.model_copy(
        update={
            "strategy": strategy,
            "sleeves": {},
            "run": settings.run.model_copy(update={"run_dir": directory / "runs"}),
        }
    )
    store = directory / "replay.db"
    options = RunOptions(mode="replay", data=data, symbol=series.symbol, store=store, quiet=True)
    with environment(bundle.env):
        anyio.run(run_session, run_settings, options)
    return store


def _check_no_order_before(store: Path, test_from: Any, fold: Fold) -> None:
    from tradebot.store import StoreReader

    with StoreReader(store) as reader:
        early = [e for e in reader.iter_events(kinds=("order_submit",)) if e.ts < test_from]
    if early:
        raise LeakageError(
            f"fold {fold.index}: an order was sent at {early[0].ts.isoformat()}, in the warm-up before the "
            f"test window ({test_from.isoformat()}): the warm-up must only warm the components up"
        )


def _score(store: Path, start: Any) -> tuple[dict[str, float | int | None], tuple[float, ...]]:
    from tradebot.analytics.performance import daily_returns, equity_curve, performance
    from tradebot.analytics.store_view import load_view
    from tradebot.analytics.trades import round_trips

    view = load_view(store, start=start)
    trades, _open = round_trips(view)
    perf = performance(view, trades)
    drawdown = perf["max_drawdown_pct"]
    metrics: dict[str, float | int | None] = {
        "post_cost_return": _as_float(perf["total_return"]),
        "turnover": _as_float(perf["turnover"]),
        "max_drawdown": abs(drawdown) if drawdown is not None else None,
        "hit_rate": _as_float(perf["win_rate"]),
        "sharpe": _as_float(perf["sharpe"]),
        "trades": int(perf["trades"]),
        "fees": _as_float(perf["fees"]),
    }
    daily = tuple(float(x) for x in daily_returns(equity_curve(view)).tolist())
    return metrics, daily


def _or_worst(value: float | None) -> float:
    return value if value is not None else float("-inf")


def _as_float(value: Any) -> float | None:
    if value is None:
        return None
    return round(float(value), 10)


def outcome_rows(outcomes: Sequence[FoldOutcome]) -> list[dict[str, Any]]:
    return [o.row() for o in outcomes]
