"""``tradebot report``: the report of an event store, read-only (works while a run is writing it).

Human tables by default; ``--json`` prints the whole report as JSON; ``--html FILE`` writes the
self-contained HTML page; ``--csv DIR`` writes ``tca.csv`` and ``execution.csv``. Each order's TCA is the
record the run wrote (with the run's quotes and settings); ``--quotes SYMBOL=FILE``, ``--arrival`` or
``--proxy-bps`` recompute every order's from the store instead (quotes give the bid/ask at arrival and at the
fill; without quotes the spread figures are a proxy and say so).
Exit codes: 0 done, 2 bad arguments or a missing or unreadable store or quotes file.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tradebot.exit_codes import ExitCode

if TYPE_CHECKING:
    from tradebot.analytics.readiness import ReadinessCriteria
    from tradebot.analytics.report import Report


def _fail(message: str) -> typer.Exit:
    typer.echo(f"tradebot report: {message}", err=True)
    return typer.Exit(ExitCode.CONFIG_ERROR)


def parse_bound(text: str | None, *, end: bool, option: str) -> datetime | None:
    """A date ``YYYY-MM-DD`` (UTC; as ``--to`` the whole day is included) or an ISO time with a zone."""
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return start + timedelta(days=1) if end else start
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(f"{option} {text!r} is neither a date (YYYY-MM-DD) nor an ISO time") from None
    if when.tzinfo is None:
        raise _fail(f"{option} {text!r} has no time zone (add Z for UTC)")
    return when


def report(
    store: Annotated[
        Path | None,
        typer.Option(help="Event store (any mode; read-only; default: run.store, else the latest run's)."),
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Config file whose run directory holds the default store."),
    ] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Window start: YYYY-MM-DD (UTC) or an ISO time.")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Window end: YYYY-MM-DD (that day included) or an ISO time.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole report as JSON.")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="Write the self-contained HTML report.")] = None,
    csv_dir: Annotated[
        Path | None, typer.Option("--csv", help="Write tca.csv and execution.csv into this directory.")
    ] = None,
    quotes: Annotated[
        list[str] | None,
        typer.Option("--quotes", help="SYMBOL=FILE: bid/ask quotes for a symbol (repeatable)."),
    ] = None,
    arrival: Annotated[
        str | None,
        typer.Option(help="Arrival benchmark time: decision (the bar's close) or submit. With this, --quotes "
                     "or --proxy-bps every order's TCA is recomputed; without, the run's own records are "
                     "shown."),
    ] = None,
    proxy_bps: Annotated[
        float | None,
        typer.Option(help="Without quotes: this full spread in bps (default: the bars' high-low estimator)."),
    ] = None,
    readiness: Annotated[
        bool,
        typer.Option(
            "--readiness",
            help="Go-live verdict of an observe history: session days observed, process score, A9 losses "
            "against [readiness] (exit 9 when NOT READY).",
        ),
    ] = False,
    min_days: Annotated[
        int | None, typer.Option(min=1, help="With --readiness: session days observed needed (default 20).")
    ] = None,
    min_score: Annotated[
        float | None,
        typer.Option(
            min=0, max=1, help="With --readiness: the process score must be above this (default 0.90)."
        ),
    ] = None,
    max_a9: Annotated[
        int | None, typer.Option(min=0, help="With --readiness: unexplained (A9) losses allowed (default 0).")
    ] = None,
) -> None:
    from tradebot.analytics.attribution import AttributionRules
    from tradebot.analytics.proxy import CorwinSchultz, FixedBps, SpreadModel
    from tradebot.analytics.quotes import QuoteBook, QuoteFileError, load_quotes
    from tradebot.analytics.readiness import ReadinessCriteria
    from tradebot.analytics.tca import TcaConfig
    from tradebot.store.errors import StoreError

    rules, criteria = AttributionRules(), ReadinessCriteria()
    if config_file is not None:
        from tradebot.cli import _load

        settings = _load(config_file)
        rules, criteria = settings.attribution, settings.readiness
    if not readiness and (min_days, min_score, max_a9) != (None, None, None):
        raise _fail("--min-days, --min-score and --max-a9 go with --readiness")
    overrides = {"min_days": min_days, "min_process_score": min_score, "max_a9": max_a9}
    criteria = criteria.model_copy(
        update={
            k: (Decimal(str(v)) if k == "min_process_score" else v)
            for k, v in overrides.items()
            if v is not None
        }
    )
    from tradebot.cli import existing_store

    store = existing_store("report", store, config_file)
    if arrival is not None and arrival not in ("decision", "submit"):
        raise _fail(f"--arrival must be decision or submit, not {arrival!r}")
    if proxy_bps is not None and not (proxy_bps >= 0):
        raise _fail(f"--proxy-bps must be a number of bps >= 0, not {proxy_bps}")
    start = parse_bound(from_, end=False, option="--from")
    end = parse_bound(to, end=True, option="--to")
    if start is not None and end is not None and end <= start:
        raise _fail(f"--to {to} is not after --from {from_}")
    books: dict[str, QuoteBook] = {}
    for item in quotes or []:
        symbol, sep, file = item.partition("=")
        if not sep or not symbol or not file:
            raise _fail(f"--quotes {item!r}: write SYMBOL=FILE")
        try:
            books[symbol] = load_quotes(Path(file))
        except QuoteFileError as exc:
            raise _fail(str(exc)) from None
    proxy: SpreadModel = FixedBps(proxy_bps) if proxy_bps is not None else CorwinSchultz()
    config = (
        TcaConfig(arrival="submit" if arrival == "submit" else "decision", quotes=books, proxy=proxy)
        if books or proxy_bps is not None or arrival is not None
        else None
    )

    from tradebot.analytics.report import build_report, render_text

    try:
        result = build_report(store, start=start, end=end, config=config, rules=rules)
    except StoreError as exc:
        raise _fail(str(exc)) from None
    unknown = sorted(set(books) - set(result.view.instruments))
    if unknown and result.view.instruments:
        raise _fail(
            f"--quotes names {', '.join(unknown)}, not an instrument of this store "
            f"({', '.join(sorted(result.view.instruments))})"
        )
    if html is not None:
        from tradebot.analytics.html import write_html

        write_html(result, html)
    if csv_dir is not None:
        from tradebot.analytics import execution_report as ex

        csv_dir.mkdir(parents=True, exist_ok=True)
        (csv_dir / "tca.csv").write_text(ex.tca_csv(result.tca))
        (csv_dir / "execution.csv").write_text(ex.rollup_csv(result.data["execution"]["by"]))
    if readiness:
        _print_readiness(result, criteria, as_json)
        return
    if as_json:
        import orjson

        sys.stdout.write(orjson.dumps(result.data, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    typer.echo(render_text(result.data))
    if html is not None:
        typer.echo(f"HTML report: {html}")


def _print_readiness(result: Report, criteria: ReadinessCriteria, as_json: bool) -> None:
    """The verdict with its components; exit 9 when NOT READY."""
    from tradebot.analytics.readiness import observed_days
    from tradebot.analytics.readiness import readiness as judge

    pnl = {t.key: t.pnl_net for t in result.trades}
    verdict = judge(result.view, result.data["process"], result.attributions, pnl, criteria)
    body = {
        **verdict.as_dict(),
        "criteria": criteria.model_dump(mode="json"),
        "days": observed_days(result.view),
        "process": result.data["process"]["run"],
        "attribution": result.data["attribution"]["counts"],
    }
    if as_json:
        import orjson

        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        typer.echo(f"readiness: {body['verdict']}")
        for check in body["checks"]:
            typer.echo(f"  [{'x' if check['met'] else ' '}] {check['criterion']}: {check['measured']}")
        process = body["process"]
        typer.echo(
            f"process score components ({process['decisions']} decisions, {process['trades']} trades):"
        )
        for name, part in process["components"].items():
            share = "-" if part["share"] is None else f"{part['share'] * 100:.2f}%"
            typer.echo(f"  {name}: {share} ({part['passed']} of {part['of']})")
        counts = ", ".join(f"{code} {n}" for code, n in body["attribution"].items() if n)
        typer.echo(f"attribution: {counts or 'no closed trades'}")
    if not verdict.ready:
        raise typer.Exit(ExitCode.CRITERIA_NOT_MET)
