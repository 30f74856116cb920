"""``tradebot model``: verify a model artifact, or build one offline from a bar file.

Building is an offline act done by an operator; no run mode trains or changes parameters.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer

from tradebot.exit_codes import ExitCode

app = typer.Typer(help="Model artifacts: verify checksums, build offline.", no_args_is_help=True)


@app.command(help="Verify a model artifact: print its manifest, or the failure (exit 2: a bad artifact).")
def verify(path: Annotated[Path, typer.Argument(help="Artifact directory (holds manifest.json).")]) -> None:
    from tradebot.models.verify import ModelVerificationError, verify_artifact

    try:
        manifest = verify_artifact(path)
    except ModelVerificationError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(ExitCode.CONFIG_ERROR) from None
    typer.echo(orjson.dumps(manifest.model_dump(mode="json"), option=orjson.OPT_INDENT_2).decode())
    typer.echo(f"OK: {path} verified ({len(manifest.files)} file(s))")


@app.command(help="Build a new artifact from a bar file (offline; never overwrites).")
def build(
    data: Annotated[Path, typer.Option(help="Bar file (CSV: ts,open,high,low,close,volume).")],
    out: Annotated[Path, typer.Option(help="New artifact directory (must not exist or be empty).")],
    version: Annotated[str, typer.Option(help="Version label written into the manifest.")],
    symbol: Annotated[str, typer.Option(help="Symbol the bars belong to.")] = "MES",
    interval_s: Annotated[int, typer.Option(help="Bar length in seconds.")] = 60,
) -> None:
    from tradebot.models.builder import build_artifact, read_bars_csv

    try:
        bars = read_bars_csv(data, symbol, interval_s)
        manifest = build_artifact(
            bars, out, version=version, created_at=datetime.now(UTC), source=data.name
        )
    except (OSError, ValueError) as exc:
        typer.echo(f"model build failed: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(orjson.dumps(manifest.model_dump(mode="json"), option=orjson.OPT_INDENT_2).decode())
