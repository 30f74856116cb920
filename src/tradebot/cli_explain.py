"""``tradebot explain SEQ``: re-run the stored decision #SEQ from the snapshot it names and the store's
events before it, and show that it reproduces (pipeline/explain.py).

Exit codes: 0 identical, 2 bad arguments or a store or event that cannot be explained (not a decision, no
snapshot), 9 the re-run differs from the record (each differing field is printed).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tradebot.exit_codes import ExitCode


def _fail(message: str) -> typer.Exit:
    typer.echo(f"tradebot explain: {message}", err=True)
    return typer.Exit(ExitCode.CONFIG_ERROR)


def explain(
    seq: Annotated[int, typer.Argument(min=1, help="The decision event's sequence number in the store.")],
    store: Annotated[
        Path | None,
        typer.Option(help="Event store (read-only; default: run.store, else the latest run's)."),
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Config file whose run directory holds the default store."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the stored and re-run records as JSON.")
    ] = False,
) -> None:
    from tradebot.cli import existing_store
    from tradebot.pipeline.explain import ExplainError
    from tradebot.pipeline.explain import explain as rerun
    from tradebot.store.errors import StoreError

    store = existing_store("explain", store, config_file)
    try:
        result = rerun(store, seq)
    except (ExplainError, StoreError) as exc:
        raise _fail(str(exc)) from None
    if as_json:
        import orjson

        sys.stdout.write(orjson.dumps(result.as_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _print(result)
    if result.redone is not None and not result.identical:
        raise typer.Exit(ExitCode.CRITERIA_NOT_MET)


def _print(result: Any) -> None:
    stored = result.stored
    intent = stored.get("intent") or {}
    typer.echo(
        f"decision #{result.seq} at {result.ts.isoformat()}: {intent.get('symbol')} {intent.get('side')} "
        f"{intent.get('quantity')} ({intent.get('source')}, intent {intent.get('intent_id')}) -> "
        f"{stored.get('outcome')} {stored.get('code')}"
    )
    typer.echo(f"snapshot {result.snapshot}; chain hash {stored.get('config_hash')}")
    for sleeve, params in (result.resolved.get("ensembles") or {}).get(intent.get("symbol"), {}).items():
        components = ", ".join(
            f"{c['name']}×{c['weight']} {c.get('params') or {}}" for c in params.get("components", [])
        )
        typer.echo(f"  ensemble{f' {sleeve}' if sleeve else ''}: {params.get('profile')}: {components}")
    for verdict in stored.get("verdicts") or []:
        details = ", ".join(f"{k}={v}" for k, v in (verdict.get("details") or {}).items())
        code = f" {verdict['code']}" if verdict.get("code") else ""
        typer.echo(
            f"  {verdict.get('gate')}: {verdict.get('outcome')}{code}" + (f" ({details})" if details else "")
        )
    if result.note:
        typer.echo(f"not re-run: {result.note}")
    if result.redone is None:
        return
    if result.identical:
        typer.echo("re-run from the snapshot and the store before it: IDENTICAL")
        return
    typer.echo("re-run from the snapshot and the store before it: DIFFERENT")
    for name, was, now in result.differences:
        typer.echo(f"  {name}: stored {_short(was)}")
        typer.echo(f"  {' ' * len(name)}  re-run {_short(now)}")


def _short(value: Any) -> str:
    import orjson

    text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return text if len(text) <= 400 else text[:400] + "…"
