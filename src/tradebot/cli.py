"""The ``tradebot`` command. Heavy modules are imported inside commands so ``--help`` stays fast."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from tradebot.exit_codes import EXIT_CODES_HELP, ExitCode

CONTEXT = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="tradebot",
    help="A trading daemon that tells you exactly why it did or did not trade. "
    "Add --debug anywhere to see the traceback of an error.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=CONTEXT,
    rich_markup_mode=None,  # help text is plain: `[broker.NAME]` stays as written
)
config_app = typer.Typer(
    help="Inspect the runtime configuration.", no_args_is_help=True, context_settings=CONTEXT
)
app.add_typer(config_app, name="config")

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Config file (default: config/tradebot.toml).")
]
ResumeOpt = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="Continue a store instead of writing a new one: the one named by --store (or run.store), else "
        "the latest under <run_dir>/stores. Refused (exit 2) if it was recorded with another config hash, "
        "other instruments or other data.",
    ),
]
SymbolOpt = Annotated[
    str | None,
    typer.Option(help="The instrument a single --data file feeds (default: [data] symbol); a preset or "
                 "an [instruments.X] table."),
]


def _data_options(values: list[str] | None, symbol: str | None) -> dict[str, Any]:
    """``--data FILE`` (one file, the instrument ``--symbol``) or ``--data SYMBOL=FILE`` repeated."""
    if not values:
        return {"data": None, "symbol": symbol}
    pairs = [_symbol_file(value) for value in values]
    if len(values) == 1 and pairs[0] is None:
        return {"data": Path(values[0]), "symbol": symbol}
    if any(pair is None for pair in pairs) or symbol is not None:
        raise typer.BadParameter(
            "several --data files need SYMBOL=FILE each (and no --symbol), e.g. --data MES=es.csv "
            "--data SPY=spy.csv",
            param_hint="--data",
        )
    return {"feeds": tuple(pair for pair in pairs if pair is not None)}


QuotesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--quotes",
        help="SYMBOL=FILE: best bid/ask (quote bars or bid/ask updates) for the TCA of SYMBOL's orders; "
        "repeatable. Without quotes the spread figures are a proxy and say so.",
    ),
]


def _quotes_options(values: list[str] | None) -> tuple[tuple[str, Path], ...]:
    pairs = []
    for value in values or []:
        pair = _symbol_file(value)
        if pair is None:
            raise typer.BadParameter(f"{value!r}: write SYMBOL=FILE, e.g. --quotes MES=es_quotes.csv",
                                     param_hint="--quotes")
        pairs.append(pair)
    return tuple(pairs)


def _symbol_file(value: str) -> tuple[str, Path] | None:
    """``SYMBOL=FILE`` as (SYMBOL, FILE); None for a plain file name."""
    head, sep, tail = value.partition("=")
    if sep and tail and head and "/" not in head and head.replace("_", "").replace(".", "").isalnum():
        return head, Path(tail)
    return None


class RunMode(StrEnum):
    observe = "observe"
    live = "live"


class CheckMode(StrEnum):
    observe = "observe"
    live = "live"
    replay = "replay"


SESSION_METAVAR = "[rth|eth|24h|until=HH:MM[TZ]]"


def _session_spec(value: str) -> str:
    """``--session``: one of the listed forms, parsed as the session module parses it (else exit 2)."""
    from tradebot.session.errors import SessionSpecError
    from tradebot.session.window import parse_session_spec

    try:
        parse_session_spec(value)
    except SessionSpecError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"tradebot {version('tradebot')}")
        raise typer.Exit(ExitCode.OK)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """A trading daemon that tells you exactly why it did or did not trade."""


def _load(config: Path | None, **overrides: Any) -> Any:
    from tradebot.settings import ConfigError, load_settings

    try:
        return load_settings(config, **overrides)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(ExitCode.CONFIG_ERROR) from None


@app.command(
    help="Run the pipeline: observe (no order leaves the process) or live. On bars from a file (a backtest) "
    "each run writes a new store under <run_dir>/stores unless --resume; on a broker feed or with --session "
    "the account's store (--store, run.store, else <run_dir>/tradebot.db) is always continued.",
    epilog=EXIT_CODES_HELP,
)
def run(
    mode: Annotated[RunMode, typer.Option(help="observe: nothing leaves the process; live: orders do.")] = (
        RunMode.observe
    ),
    config: ConfigOpt = None,
    data: Annotated[
        list[str] | None,
        typer.Option(
            help="Bar file (CSV) instead of the configured source; SYMBOL=FILE, repeated, for several "
            "instruments.",
        ),
    ] = None,
    symbol: SymbolOpt = None,
    quotes: QuotesOpt = None,
    store: Annotated[
        Path | None,
        typer.Option(
            help="Event store path (default: run.store, else a new <run_dir>/stores/<UTC time>-<mode>.db for "
            "a backtest, <run_dir>/tradebot.db on a broker feed or with --session)."
        ),
    ] = None,
    resume: ResumeOpt = False,
    arm: Annotated[
        bool, typer.Option("--arm", help="Allow live orders to a production environment.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No log lines and no progress bar: only the summary.")
    ] = False,
    intents: Annotated[
        str | None,
        typer.Option(help="External intents as JSON lines (schema v1.0/v1.1): a file, or - for stdin."),
    ] = None,
    max_bars: Annotated[int | None, typer.Option(help="Stop taking bars after this many.", min=1)] = None,
    session: Annotated[
        str | None,
        typer.Option(
            parser=_session_spec,
            metavar=SESSION_METAVAR,
            help="Trade one session and exit: rth, eth, 24h or until=HH:MM[TZ] (TZ: Z, UTC or an IANA name), "
            "from the instrument's exchange calendar. Waits for the open; on a holiday or after the close "
            "prints MARKET_CLOSED and exits 0; one instance per account and config. A restart continues "
            "the session's store.",
        ),
    ] = None,
) -> None:
    settings = _load(config)
    from tradebot.pipeline.app import RunOptions, run_app

    code = run_app(
        settings,
        RunOptions(
            mode=mode.value,
            **_data_options(data, symbol),
            store=store,
            arm=arm,
            quiet=quiet,
            intents=intents,
            max_bars=max_bars,
            session=session,
            resume=resume,
            quotes=_quotes_options(quotes),
        ),
    )
    raise typer.Exit(code)


@app.command(
    help="Replay a bar file through the same pipeline on the replay clock into a store: a new one under "
    "<run_dir>/stores unless --store or --resume.",
    epilog=EXIT_CODES_HELP,
)
def replay(
    data: Annotated[
        list[str],
        typer.Option(
            help="Bar file (CSV: ts,open,high,low,close,volume; daily files: ts_local dates); "
            "SYMBOL=FILE, repeated, for several instruments in one run.",
        ),
    ],
    symbol: SymbolOpt = None,
    quotes: QuotesOpt = None,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            help="Event store to write (default: a new <run_dir>/stores/<UTC time>-replay.db). One that "
            "already holds a run is refused unless --resume.",
        ),
    ] = None,
    resume: ResumeOpt = False,
    config: ConfigOpt = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No log lines and no progress bar: only the summary.")
    ] = False,
    intents: Annotated[str | None, typer.Option(help="External intents as JSON lines (a file).")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", hidden=True, help="The earlier name of --store.")
    ] = None,
) -> None:
    if store is not None and out is not None and store != out:
        typer.echo("give the store once: --store (--out is its earlier name)", err=True)
        raise typer.Exit(ExitCode.CONFIG_ERROR)
    settings = _load(config)
    from tradebot.pipeline.app import RunOptions, run_app

    options = RunOptions(
        mode="replay", **_data_options(data, symbol), store=store or out, quiet=quiet, intents=intents,
        resume=resume, quotes=_quotes_options(quotes),
    )
    raise typer.Exit(run_app(settings, options))


@app.command(
    help="Print the summary of a run from its event store, as the run printed it at its end, with the "
    "trading state, the reason code that set it, since when, what holds it and its details (for a "
    "fail-closed halt: the stage, part and error). Default store: run.store, else the latest written under "
    "the run directory.",
    epilog=EXIT_CODES_HELP,
)
def status(
    store: Annotated[
        Path | None, typer.Option(help="Event store path (default: run.store, else the latest run's).")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    path = store if store is not None else default_store_of(config)
    if not path.exists():  # a path that is there but no store: the store's own message (exit 2)
        typer.echo(f"no event store at {path}", err=True)
        raise typer.Exit(ExitCode.CONFIG_ERROR)
    from tradebot.pipeline.summary import render_summary, summarize_store

    typer.echo(render_summary(summarize_store(path), paths={"store": path}))


def existing_store(command: str, store: Path | None, config: Path | None) -> Path:
    """The event store ``report``, ``explain``, ``learn`` and ``promote`` open: ``store``, else the default
    one (``default_store_of``). A path that is not there, or is not a file, is refused (exit 2) naming it."""
    path = store if store is not None else default_store_of(config)
    if not path.is_file():
        problem = f"--store {path} is not a file" if path.exists() else f"no event store at {path}"
        typer.echo(f"tradebot {command}: {problem}", err=True)
        raise typer.Exit(ExitCode.CONFIG_ERROR)
    return path


def default_store_of(config: Path | None) -> Path:
    """The store ``status`` and ``report`` read without ``--store`` (exit 2 when there is none)."""
    settings = _load(config)
    from tradebot.pipeline.store_choice import default_store

    run_dir = Path(settings.run.run_dir)
    path = default_store(run_dir, settings.run.store)
    if path is None:
        typer.echo(f"no event store under {run_dir} (give --store PATH, or run first)", err=True)
        raise typer.Exit(ExitCode.CONFIG_ERROR)
    return path


@config_app.command(
    "check",
    help="Build everything `run` builds before it touches the store or a venue (settings, constitution with "
    "its TRADEBOT_CONSTITUTION__ overrides, broker tables, calendars, profile, model, sizer, gate chain), "
    "list every problem at once (exit 2), else print the config resolved, secrets redacted.",
)
def config_check(
    config: ConfigOpt = None,
    mode: Annotated[CheckMode, typer.Option(help="Check for this mode.")] = CheckMode.observe,
) -> None:
    import json

    settings = _load(config)
    from tradebot.domain.state import Mode
    from tradebot.pipeline.app import RunRefused
    from tradebot.pipeline.run_parts import (
        build_parts,
        check_ai_sizers,
        check_configured_feeds,
        configured_file_feeds,
    )

    run_mode = Mode(mode.value)
    from_file = settings.data.source == "csv" or run_mode is Mode.REPLAY
    try:
        parts = build_parts(settings, run_mode, from_file=from_file)
        if from_file:  # the configured bar files, as a run would read them
            check_configured_feeds(settings, parts.instruments)
        # an AI sizer (LIVE) that cannot size one lot refuses, as the run does
        checks = check_ai_sizers(settings, parts, configured_file_feeds(settings) if from_file else ())
    except RunRefused as exc:
        typer.echo(f"tradebot: {exc}", err=True)
        raise typer.Exit(exc.code) from None
    for check in checks:
        if check.warning is not None:
            typer.echo(f"warning: {check.warning}", err=True)
    typer.echo(json.dumps(settings.redacted(), indent=2, sort_keys=True))
    hashes = f"sha256 {settings.config_hash()[:16]}, constitution sha256 {parts.constitution.sha256[:16]}"
    typer.echo(f"config ok ({hashes})")


def _mount_subcommands() -> None:
    """Sub-apps that live in their own modules (plugins, model, kill/resume)."""
    from tradebot import cli_control, cli_model, cli_plugins

    app.add_typer(cli_plugins.app, name="plugins")
    app.add_typer(cli_model.app, name="model")
    app.add_typer(__import__("tradebot.cli_research").cli_research.app, name="research")
    app.add_typer(__import__("tradebot.cli_alerts").cli_alerts.app, name="alerts")
    app.command(name="kill")(cli_control.kill)
    app.command(name="resume")(cli_control.resume)
    from tradebot.cli_report import report
    app.command(name="report", help="Report of an event store: trades, costs, TCA, performance.")(report)
    from tradebot.cli_promote import promote

    app.command(
        name="promote", help="Propose a shadow set that beat the live one as a new model artifact (not used)."
    )(promote)
    from tradebot.cli_explain import explain

    app.command(
        name="explain", help="Re-run one stored decision from its snapshot and the store; show it reproduces."
    )(explain)
    from tradebot.cli_learn import learn
    app.command(name="learn", help="Post-trade learning over an event store, or --rollback of the learned "
                "overrides (docs/learning.md).")(learn)


_mount_subcommands()


def main() -> None:
    """The command; an error that reaches here prints one or two lines (the traceback with --debug)."""
    from tradebot.cli_errors import debug_requested, explain, leaves

    debug, sys.argv[1:] = debug_requested(sys.argv[1:])
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the boundary: every error becomes a message and an exit code
        if all(isinstance(leaf, KeyboardInterrupt) for leaf in leaves(exc)):
            sys.exit(130)
        error = explain(exc)
        if debug:
            import traceback

            traceback.print_exception(exc)
        print(f"tradebot: {error.message}", file=sys.stderr)
        sys.exit(int(error.code))


if __name__ == "__main__":
    main()
