"""``tradebot promote``: read a store's shadow records and propose a shadow set that beat the live set (at
least 30 paper trades each and 5 % better after costs, ``shadow/promotion.py``) as a new model artifact.

It writes the artifact (the run's model with the set's profile replaced by the set's parameters, versioned,
its manifest naming the store's bars, verified after writing) into ``--out`` and prints what to set to use it;
it never changes a config or a running daemon. Exit codes: 0 a proposal written, 2 bad arguments or a store
without shadow records, 9 no set qualifies (each set's numbers and why are printed).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from tradebot.exit_codes import ExitCode


def _fail(message: str) -> typer.Exit:
    typer.echo(f"tradebot promote: {message}", err=True)
    return typer.Exit(ExitCode.CONFIG_ERROR)


def promote(
    store: Annotated[Path, typer.Option(help="Event store of a run with [shadow] sets (read-only).")],
    out: Annotated[
        Path | None, typer.Option(help="Directory for the proposed artifact (new or empty; default: none).")
    ] = None,
    set_name: Annotated[str | None, typer.Option("--set", help="Consider only this shadow set.")] = None,
    min_samples: Annotated[
        int, typer.Option(min=30, help="Closed paper trades each set needs (never below 30).")
    ] = 30,
    min_outperformance: Annotated[
        float, typer.Option(min=0.05, help="How much better the set's mean must be (never below 0.05).")
    ] = 0.05,
    as_json: Annotated[bool, typer.Option("--json", help="Print every comparison as JSON.")] = False,
) -> None:
    from tradebot.cli import existing_store
    from tradebot.shadow.config import LIVE
    from tradebot.shadow.promotion import compare
    from tradebot.store import StoreReader
    from tradebot.store.errors import StoreError

    store = existing_store("promote", store, None)
    trades: dict[str, list[Decimal]] = defaultdict(list)
    sets: dict[str, Any] = {}
    first = last = None
    try:
        with StoreReader(store) as reader:
            for event in reader.iter_events(kinds=("shadow_sets", "shadow_trade")):
                if event.kind == "shadow_sets":
                    sets = dict(event.body["sets"])
                else:
                    trades[str(event.body["set"])].append(Decimal(str(event.body["net_bps"])))
                    first = first or event.body["entry_ts"]
                    last = event.body["exit_ts"]
            bars = reader.count_by_kind().get("bar", 0)
    except StoreError as exc:
        raise _fail(str(exc)) from None
    if not sets:
        raise _fail(f"{store} holds no shadow sets (run with [shadow.NAME] sets first; docs/shadow.md)")
    names = sorted(sets)
    if set_name is not None:
        if set_name not in sets:
            raise _fail(f"--set {set_name!r}: not a shadow set of this store ({', '.join(names)})")
        names = [set_name]
    margin = Decimal(str(min_outperformance))
    results = [
        compare(
            name,
            trades.get(name, []),
            trades.get(LIVE, []),
            min_samples=min_samples,
            min_outperformance=margin,
        )
        for name in names
    ]
    proposed = [r for r in results if r.proposed]
    best = max(proposed, key=lambda r: r.outperformance or Decimal(0)) if proposed else None
    written: dict[str, str] | None = None
    if best is not None and out is not None:
        written = _write(out, best.name, sets[best.name], store, first, last, bars, best.why)
    if as_json:
        import orjson

        body = {
            "comparisons": [r.as_dict() for r in results],
            "proposed": best.name if best else None,
            "artifact": written,
        }
        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        for r in results:
            typer.echo(f"{'PROPOSED' if r.proposed else 'not proposed'}: {r.name}: {r.why}")
        if written is not None:
            typer.echo(
                f"artifact {written['version']} written to {written['path']} (verified); to use it set "
                f'[strategy] model = "{written["path"]}" and profile = "{written["profile"]}"'
            )
    if best is None:
        raise typer.Exit(ExitCode.CRITERIA_NOT_MET)


def _write(
    out: Path, name: str, resolved: dict[str, Any], store: Path, first: Any, last: Any, bars: int, why: str
) -> dict[str, str]:
    from datetime import datetime

    from tradebot.models.builder import write_artifact
    from tradebot.models.loader import default_model_path, load_model
    from tradebot.models.verify import ModelVerificationError, verify_artifact
    from tradebot.signals.params import EnsembleParams, ModelParams

    params = EnsembleParams.model_validate(resolved["params"])
    try:
        base_manifest, base = load_model(default_model_path())
    except (ModelVerificationError, OSError) as exc:
        raise _fail(f"the bundled model cannot be read: {exc}") from None
    profiles = {**base.profiles, params.profile: params}
    start, end = datetime.fromisoformat(first), datetime.fromisoformat(last)
    version = f"{base_manifest.version}+shadow.{name}.{end.strftime('%Y%m%d%H%M')}"
    try:
        write_artifact(
            ModelParams(profiles=profiles),
            out,
            version=version,
            created_at=end,
            source=f"shadow set {name} of {store.name}: {why}",
            start=start,
            end=end,
            rows=bars,
        )
        verify_artifact(out)
    except FileExistsError as exc:
        raise _fail(f"--out {exc}") from None
    return {"version": version, "path": str(out), "profile": params.profile}

