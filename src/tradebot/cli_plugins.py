"""``tradebot plugins``: list installed broker plugins, check one against a config, create a new one.

Mounted by ``tradebot.cli`` as the ``plugins`` sub-command; bare ``tradebot plugins`` lists.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer

from tradebot.exit_codes import ExitCode

app = typer.Typer(
    help="Broker plugins: list what is installed (default), check one, or create one from the template.",
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DEFAULT_CONFIG = Path("config/tradebot.toml")


def _capability_summary(info: Any) -> str:
    caps = info.capabilities
    if caps is None:
        return ""
    flags = [flag for flag in ("brackets", "oco", "oto", "reduce_only", "native_cancel_all",
                               "fractional_qty", "leverage") if getattr(caps, flag)]
    bars = "streaming bars" if caps.streaming_bars else "polled bars"
    modes = "/".join(sorted(m.value.lower() for m in caps.position_modes))
    types = ",".join(sorted(t.value.lower() for t in caps.order_types))
    tifs = ",".join(sorted(t.value for t in caps.time_in_force))
    return f"{types}; tif {tifs}; {', '.join(flags)}; {modes}; {bars}"


@app.callback()
def plugins(ctx: typer.Context) -> None:
    """List installed broker plugins with version, distribution and capabilities."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.console import Console
    from rich.table import Table

    from tradebot.brokers.registry import list_plugins

    table = Table(title="tradebot broker plugins (entry-point group tradebot.brokers)")
    for column in ("name", "version", "distribution", "capabilities"):
        table.add_column(column, overflow="fold")
    infos = list_plugins()
    for info in infos:
        capabilities = _capability_summary(info) if info.ok else f"[red]failed to load: {info.error}[/red]"
        table.add_row(info.name, info.version, info.distribution, capabilities)
    Console().print(table)
    if not infos:
        typer.echo("no broker plugins installed")


def _plugin_table(name: str, config: Path | None) -> dict[str, Any]:
    path = config if config is not None else (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read config {path}: {exc}") from exc
    broker = data.get("broker", {})
    table = broker.get(name, {}) if isinstance(broker, dict) else {}
    if not isinstance(table, dict):
        raise ValueError(f"{path}: broker.{name} must be a table")
    return table


@app.command()
def check(
    name: Annotated[str, typer.Argument(help="Plugin name, as listed by `tradebot plugins`.")],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="TOML with a [broker.NAME] table.")
    ] = None,
) -> None:
    """Import plugin NAME and construct its broker with the [broker.NAME] table (no connection is made)."""
    from tradebot.brokers.registry import PluginError, load_plugin
    from tradebot.domain.clock import WallClock

    try:
        table = _plugin_table(name, config)
        plugin = load_plugin(name)
        broker = plugin.factory(table, WallClock())
    except (PluginError, ValueError) as exc:
        typer.echo(f"{name}: FAILED: {exc}", err=True)
        raise typer.Exit(ExitCode.CONFIG_ERROR) from None
    except Exception as exc:  # noqa: BLE001 - a third-party factory may raise anything: report, exit non-zero
        typer.echo(f"{name}: FAILED: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(ExitCode.CONFIG_ERROR) from None
    keys = ", ".join(sorted(table)) or "defaults"
    typer.echo(f"{name} {plugin.version}: ok (imports, constructs {type(broker).__name__} with {keys})")


@app.command()
def new(
    name: Annotated[str, typer.Argument(help="Plugin name: lowercase, e.g. `kraken` -> tradebot-kraken.")],
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to create tradebot-NAME.")
    ] = Path("plugins"),
) -> None:
    """Create a working plugin distribution tradebot-NAME from the template, tests wired to the kit."""
    from tradebot.brokers.template import TemplateError, render_plugin

    try:
        target = render_plugin(name, directory)
    except TemplateError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(ExitCode.CONFIG_ERROR) from None
    typer.echo(f"created {target}")
    typer.echo(f"next: pip install -e {target} && tradebot plugins && pytest {target}/tests")
