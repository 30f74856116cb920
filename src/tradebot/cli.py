"""The ``tradebot`` command. Heavy modules are imported inside commands so ``--help`` stays fast."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tradebot.exit_codes import EXIT_CODES_HELP, ExitCode

app = typer.Typer(
    name="tradebot",
    help="A trading daemon that tells you exactly why it did or did not trade.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the runtime configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Config file (default: config/tradebot.toml).")
]


def _load(config: Path | None, **overrides: Any) -> Any:
    from tradebot.settings import ConfigError, load_settings

    try:
        return load_settings(config, **overrides)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(ExitCode.CONFIG_ERROR) from None


@app.command(help="Run the pipeline: observe (no order leaves the process) or live. " + EXIT_CODES_HELP)
def run(
    mode: Annotated[str, typer.Option(help="observe | live")] = "observe",
    config: ConfigOpt = None,
    data: Annotated[
        Path | None, typer.Option(help="Bar file (CSV) instead of the configured source.")
    ] = None,
    store: Annotated[
        Path | None, typer.Option(help="Event store path (default: <run_dir>/tradebot.db).")
    ] = None,
    arm: Annotated[
        bool, typer.Option("--arm", help="Allow live orders to a production environment.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the summary.")] = False,
    intents: Annotated[
        str | None,
        typer.Option(help="External intents as JSON lines (schema v1.0/v1.1): a file, or - for stdin."),
    ] = None,
    max_bars: Annotated[int | None, typer.Option(help="Stop taking bars after this many.", min=1)] = None,
    session: Annotated[
        str | None,
        typer.Option(
            help="Trade one session and exit: rth | eth | 24h | until=HH:MM[TZ] (from the instrument's "
            "exchange calendar). Waits for the open; on a holiday or after the close prints MARKET_CLOSED "
            "and exits 0; one instance per account and config."
        ),
    ] = None,
) -> None:
    if mode not in ("observe", "live"):
        typer.echo(f"--mode must be observe or live, not {mode!r}", err=True)
        raise typer.Exit(ExitCode.CONFIG_ERROR)
    overrides: dict[str, Any] = {}
    settings = _load(config, **overrides)
    from tradebot.pipeline.app import RunOptions, run_app

    code = run_app(
        settings,
        RunOptions(
            mode=mode,
            data=data,
            store=store,
            arm=arm,
            quiet=quiet,
            intents=intents,
            max_bars=max_bars,
            session=session,
        ),
    )
    raise typer.Exit(code)


@app.command(help="Replay a bar file through the same pipeline on the replay clock into a store.")
def replay(
    data: Annotated[Path, typer.Option(help="Bar file (CSV: ts,open,high,low,close,volume).")],
    out: Annotated[Path, typer.Option(help="Event store to write (resumed if it exists).")],
    config: ConfigOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    intents: Annotated[str | None, typer.Option(help="External intents as JSON lines (a file).")] = None,
) -> None:
    settings = _load(config)
    from tradebot.pipeline.app import RunOptions, run_app

    code = run_app(settings, RunOptions(mode="replay", data=data, store=out, quiet=quiet, intents=intents))
    raise typer.Exit(code)


@app.command(help="Print the summary of a run from its event store.")
def status(store: Annotated[Path, typer.Option(help="Event store path.")]) -> None:
    if not store.exists():
        typer.echo(f"no event store at {store}", err=True)
        raise typer.Exit(ExitCode.CONFIG_ERROR)
    from tradebot.pipeline.summary import render_summary, summarize_store

    typer.echo(render_summary(summarize_store(store)))


@config_app.command("check", help="Validate the config and print it resolved, secrets redacted.")
def config_check(config: ConfigOpt = None) -> None:
    import json

    settings = _load(config)
    typer.echo(json.dumps(settings.redacted(), indent=2, sort_keys=True))
    typer.echo(f"config ok (sha256 {settings.config_hash()[:16]})")


def _mount_subcommands() -> None:
    """Sub-apps that live in their own modules (plugins, model, kill/resume)."""
    from tradebot import cli_control, cli_model, cli_plugins

    app.add_typer(cli_plugins.app, name="plugins")
    app.add_typer(cli_model.app, name="model")
    app.command(name="kill")(cli_control.kill)
    app.command(name="resume")(cli_control.resume)


_mount_subcommands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
