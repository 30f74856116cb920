"""``tradebot research``: walk-forward research and parameter sweeps on the live pipeline (offline acts; no
run mode imports this)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from tradebot.exit_codes import EXIT_CODES_HELP, ExitCode

app = typer.Typer(
    help="Research: walk-forward folds and parameter sweeps, out of sample.", no_args_is_help=True
)

DataOpt = Annotated[
    list[str],
    typer.Option(help="Bar file as SYMBOL=FILE (repeat for several instruments), or FILE with --symbol."),
]
ConfigOpt = Annotated[Path | None, typer.Option(help="Run config (TOML) every replay uses.")]
ProfileOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--profile", help="Profile (repeat: chosen per fold on its train window by post-cost return)."
    ),
]
SymbolOpt = Annotated[str | None, typer.Option(help="The instrument of a single --data FILE.")]
TrainOpt = Annotated[int, typer.Option(help="Train window, bars (daily: trading days).")]
TestOpt = Annotated[int, typer.Option(help="Test window, bars.")]
StepOpt = Annotated[int, typer.Option(help="Step between folds, bars.")]
EmbargoOpt = Annotated[int, typer.Option(help="Bars left out between train and test (and after test).")]
HorizonOpt = Annotated[int, typer.Option(help="Bars a training label looks ahead (purged).")]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", help="component.param=value laid over the recipe, e.g. trend_ema.fast=12."),
]


def fail(message: str, code: ExitCode = ExitCode.CONFIG_ERROR) -> typer.Exit:
    typer.echo(f"tradebot: {message}", err=True)
    return typer.Exit(code)


def load_inputs(config: Path | None, data: list[str], symbol: str | None) -> tuple[Any, list[Any]]:
    """The config bundle and each bar file as a research series (exit 2 naming the problem)."""
    from tradebot.domain.calendars import shared_calendars
    from tradebot.research.config_bundle import ConfigBundle
    from tradebot.research.series import SeriesError, load_series
    from tradebot.settings import ConfigError

    try:
        bundle = ConfigBundle.from_config(config)
        with tempfile.TemporaryDirectory(prefix="tradebot-research-config-") as tmp:
            settings = bundle.materialize(Path(tmp))  # read for its instruments only; nothing is left behind
    except ConfigError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"cannot read the config or its constitution: {exc}") from None
    pairs: list[tuple[str, Path]] = []
    for item in data:
        head, sep, tail = item.partition("=")
        if sep and head and tail:
            pairs.append((head, Path(tail)))
        elif len(data) == 1:
            pairs.append((symbol or settings.data.symbol, Path(item)))
        else:
            raise fail(f"--data {item!r}: several files need SYMBOL=FILE each")
    if len({s for s, _ in pairs}) != len(pairs):
        raise fail("--data: an instrument is given twice")
    calendars = shared_calendars()
    series = []
    for sym, path in pairs:
        try:
            instrument = settings.instrument(sym)
        except (KeyError, ValueError) as exc:
            raise fail(f"--data {sym}: {exc}") from None
        try:
            series.append(load_series(sym, path, instrument, calendars))
        except SeriesError as exc:
            raise fail(str(exc)) from None
    return bundle, series


def one_line(exc: Exception) -> str:
    """A pydantic error as one line naming the parameter; others as they are."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"--param {exc.title}.{where}: {first['msg']} (got {first.get('input')!r})"
    return str(exc)


def window_spec(train: int, test: int, step: int, embargo: int, label_horizon: int) -> Any:
    from pydantic import ValidationError

    from tradebot.research.windows import WindowSpec

    try:
        return WindowSpec(train=train, test=test, step=step, embargo=embargo, label_horizon=label_horizon)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "step"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise fail(f"--{where.replace('_', '-')}: {message}") from None


@app.command(
    "walk-forward",
    epilog=EXIT_CODES_HELP,
    help=(
        "Rolling walk-forward: per fold, calibrate the model on the train window only (purged, embargoed), "
        "verify it, replay the live pipeline on the test window; write folds.csv and summary.json (the "
        "distribution across folds and the overfitting checks) under --out."
    ),
)
def walk_forward(
    data: DataOpt,
    symbol: SymbolOpt = None,
    config: ConfigOpt = None,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("runs/research/walk-forward"),
    train: TrainOpt = 180,
    test: TestOpt = 30,
    step: StepOpt = 30,
    embargo: EmbargoOpt = 5,
    label_horizon: HorizonOpt = 0,
    profile: ProfileOpt = None,
    param: ParamOpt = None,
    fee_bps: Annotated[float | None, typer.Option(help="Fee per fill, bps (default: [broker.sim]).")] = None,
    slippage_bps: Annotated[float | None, typer.Option(help="Slippage, bps (default: [broker.sim]).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the block bootstrap.")] = 0,
    keep_work: Annotated[bool, typer.Option(help="Keep each fold's model and store under OUT/work.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    from tradebot.research.fold_run import Costs
    from tradebot.research.leakage import LeakageError
    from tradebot.research.params import parse_grid
    from tradebot.research.progress import progress_bar
    from tradebot.research.report import print_distribution
    from tradebot.research.walk_forward import Plan, run_walk_forward

    spec = window_spec(train, test, step, embargo, label_horizon)
    try:
        grid = parse_grid(param or [])
    except ValueError as exc:
        raise fail(str(exc)) from None
    if len(grid) != 1:
        raise fail(
            "--param: a walk-forward takes one value per parameter; sweep several with `research sweep`"
        )
    bundle, series = load_inputs(config, data, symbol)
    plan = Plan(
        spec=spec,
        profiles=tuple(profile or ("balanced",)),
        params=grid[0],
        costs=Costs(fee_bps=fee_bps, slippage_bps=slippage_bps),
        seed=seed,
    )
    with progress_bar("folds", disabled=quiet) as bar:
        try:
            summary = run_walk_forward(
                bundle,
                series,
                plan,
                out,
                keep_work=keep_work,
                on_plan=bar.start,
                on_fold=lambda _o: bar.advance(),
            )
        except LeakageError as exc:
            raise fail(f"leakage: {exc}", ExitCode.INTERNAL_ERROR) from None
        except ValueError as exc:
            raise fail(str(exc)) from None
    print_distribution(summary, title=f"walk-forward: {summary['folds']} folds")
    typer.echo(f"wrote {out / 'folds.csv'} and {out / 'summary.json'}")


@app.command(
    "sweep",
    epilog=EXIT_CODES_HELP,
    help=(
        "A grid of profiles × --param values × instruments × walk-forward folds, each cell a fit and a "
        "replay of the live pipeline run as a Ray task (local by default; --address for a cluster). Writes "
        "OUT/cells.csv "
        "(a row per cell, as it finishes: an interrupted sweep resumes), OUT/summary.json (configurations "
        "ranked under the constraints, with their distributions and the overfitting checks)."
    ),
)
def sweep(
    data: DataOpt,
    symbol: SymbolOpt = None,
    config: ConfigOpt = None,
    out: Annotated[Path, typer.Option(help="Output directory (resumed if it holds this sweep).")] = Path(
        "runs/research/sweep"
    ),
    train: TrainOpt = 180,
    test: TestOpt = 30,
    step: StepOpt = 30,
    embargo: EmbargoOpt = 5,
    label_horizon: HorizonOpt = 0,
    max_folds: Annotated[int | None, typer.Option(help="Only the first N folds of each instrument.")] = None,
    profile: ProfileOpt = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="component.param=v1,v2,... (repeat: the grid is their product)."),
    ] = None,
    fee_bps: Annotated[float | None, typer.Option(help="Fee per fill, bps (default: [broker.sim]).")] = None,
    slippage_bps: Annotated[float | None, typer.Option(help="Slippage, bps (default: [broker.sim]).")] = None,
    max_drawdown: Annotated[
        float | None, typer.Option(help="Constraint: every cell's max drawdown at most this (0.15 = 15 %).")
    ] = 0.15,
    min_trades: Annotated[
        float | None, typer.Option(help="Constraint: mean trades per cell at least.")
    ] = None,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster: ray://HOST:PORT or auto (default: a local Ray).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Local Ray CPUs (default: the machine's cores).")
    ] = None,
    retry_failed: Annotated[bool, typer.Option(help="Run the failed cells of an earlier try again.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the block bootstrap.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    from tradebot.research.fold_run import Costs
    from tradebot.research.leakage import LeakageError
    from tradebot.research.params import parse_grid, warmup_bars
    from tradebot.research.progress import progress_bar
    from tradebot.research.ray_runner import RayRunner, RayUnavailable
    from tradebot.research.report import print_distribution
    from tradebot.research.sweep import Constraints, SweepError, SweepPlan, run_sweep
    from tradebot.research.walk_forward import plan_folds

    spec = window_spec(train, test, step, embargo, label_horizon)
    if workers is not None and workers < 1:
        raise fail("--workers: at least 1")
    if workers is not None and address is not None:
        raise fail("--workers sizes a local Ray; a cluster at --address has its own")
    try:
        grid = parse_grid(param or [])
    except ValueError as exc:
        raise fail(str(exc)) from None
    profiles = tuple(profile or ("balanced",))
    bundle, series = load_inputs(config, data, symbol)
    costs = Costs(fee_bps=fee_bps, slippage_bps=slippage_bps)
    try:
        warmup = max(warmup_bars(profiles, params) for params in grid)
        folds = {s.symbol: plan_folds(s, spec, warmup)[:max_folds] for s in series}
    except (ValueError, LeakageError) as exc:
        raise fail(one_line(exc)) from None
    plan = SweepPlan(
        spec=spec,
        profiles=profiles,
        param_sets=tuple(grid),
        costs=costs,
        constraints=Constraints(max_drawdown=max_drawdown, min_trades=min_trades),
        seed=seed,
    )
    runner = RayRunner(
        bundle=bundle,
        series={s.symbol: s for s in series},
        data={s.symbol: _file_bytes(data, s.symbol) for s in series},
        costs=costs,
        address=address,
        num_workers=workers,
    )
    with progress_bar("cells", disabled=quiet) as bar:
        try:
            summary = run_sweep(
                series,
                folds,
                plan,
                out,
                runner,
                retry_failed=retry_failed,
                on_plan=lambda total, done: bar.start(total, done),
                on_cell=lambda _row: bar.advance(),
            )
        except SweepError as exc:
            raise fail(str(exc)) from None
        except RayUnavailable as exc:
            raise fail(str(exc), ExitCode.BROKER_UNREACHABLE) from None
    if summary["distribution"]:
        print_distribution(summary, title=f"sweep: best of {len(summary['configs'])}: {summary['best']}")
    typer.echo(
        f"cells: {summary['cells']}, ok {summary['ok']}, failed {len(summary['failed'])}; "
        f"feasible configurations: {len(summary['ranking'])} of {len(summary['configs'])}"
    )
    for failure in summary["failed"][:5]:
        typer.echo(
            f"  failed {failure['config']} {failure['symbol']} fold {failure['fold']}: {failure['error']}"
        )
    typer.echo(f"wrote {out / 'cells.csv'} and {out / 'summary.json'}")


def _file_bytes(data: list[str], wanted: str) -> bytes:
    """The bytes of the file given for ``wanted`` (``SYMBOL=FILE``, or the one plain ``FILE``)."""
    for item in data:
        head, sep, tail = item.partition("=")
        if sep and head == wanted:
            return Path(tail).read_bytes()
    return Path(data[0]).read_bytes()
