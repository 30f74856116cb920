"""The run summary, derived from the event store alone, so a finished run and ``tradebot status`` print
the same thing: bars, refusals, signals, intents, approvals and blocks by reason code, orders, fills, PnL,
and the trading state with the reason code that set it, since when, what holds it and its details (for a
fail-closed halt: the stage, the part and the error).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import Any

from tradebot.domain.codec import from_body
from tradebot.domain.events import OrderFilled
from tradebot.domain.instruments import Instrument
from tradebot.pipeline.portfolio import Portfolio

# what the fold needs to read event by event; the rest it only counts (see summarize_store)
FOLDED_KINDS = ("run_start", "bar_refused", "decision", "order_filled", "trading_state")


def summarize_store(path: Path) -> dict[str, Any]:
    """The summary of a whole store, equal to folding every event, without decoding every event.

    Bars (most of a store) are counted by SQLite, and so are the signals and the sizer's reason codes they
    carry (older stores: ``signal`` and ``sizing`` events of their own); of the bars only the first and each
    symbol's last are read (the final marks: fills never read a mark). Everything else goes through
    ``summarize_events``.
    """
    from tradebot.store import StoreReader

    with StoreReader(path) as reader:
        counts = Counter(reader.count_by_kind())
        counts["signal"] += sum(reader.count_body_items("bar", key) for key in ("signal", "signals"))
        codes = Counter(reader.count_by_body_value("sizing", "code"))
        codes.update(reader.count_by_body_value("bar", "sizing.code"))
        not_sized = Counter({code: n for code, n in codes.items() if code})
        first = reader.first_event("bar")
        bars = ([first] if first is not None else []) + reader.last_of_kind_by_symbol("bar")
        folded = ((e.kind, e.body) for e in reader.iter_events(kinds=FOLDED_KINDS))
        return summarize_events(
            chain(folded, ((e.kind, e.body) for e in bars)), counts=counts, not_sized=not_sized
        )


def summarize_events(
    events: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    counts: Counter[str] | None = None,
    not_sized: Counter[str] | None = None,
) -> dict[str, Any]:
    """Fold ``(kind, body)`` pairs, in store order, into the summary dict.

    ``counts`` (events by kind) and ``not_sized`` (sizing records by reason code), when given, are taken
    as they are instead of being counted from ``events``, which then need to hold only ``FOLDED_KINDS``,
    then the first bar and each symbol's last bar.
    """
    refused: Counter[str] = Counter()
    blocked: Counter[str] = Counter()
    clamped: Counter[str] = Counter()
    counting = counts is None
    counts = Counter() if counts is None else counts
    sizing_codes = not_sized is None
    not_sized = Counter() if not_sized is None else not_sized
    instruments: dict[str, Instrument] = {}
    portfolio: Portfolio | None = None
    starting_cash = Decimal(0)
    first_bar = last_bar = None
    runs: list[dict[str, Any]] = []
    state = "ACTIVE"
    last_move: Mapping[str, Any] | None = None
    by_symbol: dict[str, Counter[str]] = {}
    by_sleeve: dict[str, Counter[str]] = {}
    for kind, body in events:
        if counting:
            counts[kind] += 1
        if kind == "run_start":
            runs.append({"mode": body.get("mode"), "resumed_after": body.get("resumed_after")})
            for spec in body.get("instruments", []):
                instruments[spec["symbol"]] = from_body(Instrument, spec)
            if portfolio is None:
                starting_cash = Decimal(body.get("starting_cash", "0"))
                portfolio = Portfolio(starting_cash, instruments)
        elif kind == "bar":
            if counting:
                counts["signal"] += ("signal" in body) + len(body.get("signals", ()))
                sized = body.get("sizing") or {}
                if sizing_codes and sized.get("code"):
                    not_sized[sized["code"]] += 1
            first_bar = first_bar or body["ts"]
            last_bar = body["ts"]
            if portfolio is not None:
                portfolio.mark(_symbol(body, instruments), Decimal(repr(body["close"])))
        elif kind == "bar_refused":
            refused[body["code"]] += 1
        elif kind == "sizing" and sizing_codes and body.get("code"):
            not_sized[body["code"]] += 1
        elif kind == "decision":
            for verdict in body.get("verdicts", []):
                if verdict["outcome"] == "CLAMP" and verdict.get("code"):
                    clamped[verdict["code"]] += 1
            if body["outcome"] == "BLOCKED":
                blocked[body["code"]] += 1
            intent = body.get("intent") or {}
            tally = "blocked" if body["outcome"] == "BLOCKED" else "approved"
            for groups, name in ((by_symbol, intent.get("symbol")), (by_sleeve, intent.get("sleeve"))):
                if name:
                    groups.setdefault(str(name), Counter()).update(("intents", tally))
        elif kind == "order_filled" and portfolio is not None:
            portfolio.apply_fill(from_body(OrderFilled, body))
        elif kind == "trading_state":
            state = body["to"]
            last_move = body
    summary: dict[str, Any] = {
        "runs": runs,
        "bars": counts["bar"],
        "bars_refused": dict(sorted(refused.items())),
        "signals": counts["signal"],
        "signals_not_sized": dict(sorted(not_sized.items())),
        "intents": counts["decision"],
        "approved": counts["decision"] - sum(blocked.values()),
        "blocked": dict(sorted(blocked.items())),
        "clamped": dict(sorted(clamped.items())),
        "intents_refused": counts["intent_refused"],
        "intents_not_decided": counts["intent_not_decided"],  # INTENT_AFTER_END_OF_DATA
        "orders": counts["order_submit"] - counts["order_submit_failed"],
        "fills": counts["order_filled"],
        "rejects": counts["order_rejected"],
        "first_bar": first_bar,
        "last_bar": last_bar,
        "trading_state": state,
        "by_symbol": {k: _tally(v) for k, v in sorted(by_symbol.items())},
        "by_sleeve": {k: _tally(v) for k, v in sorted(by_sleeve.items())},
    }
    if last_move is not None:
        summary.update(_state_reason(last_move))
    if portfolio is not None:
        summary.update(
            {
                "realized_pnl": str(portfolio.realized_pnl),
                "unrealized_pnl": str(portfolio.total_unrealized),
                "fees": str(portfolio.fees),
                "net_pnl": str(portfolio.equity - starting_cash),
                "positions": {s: str(p.quantity) for s, p in sorted(portfolio.positions.items())},
            }
        )
    return summary


def _tally(counts: Counter[str]) -> dict[str, int]:
    return {"intents": counts["intents"], "approved": counts["approved"], "blocked": counts["blocked"]}


def _state_reason(move: Mapping[str, Any]) -> dict[str, Any]:
    """Why the trading state is what it is: the last ``trading_state`` event's code, time, hold, details."""
    machine = move.get("machine") or {}
    return {
        "trading_state_reason": move.get("code", ""),
        "trading_state_since": move.get("ts"),
        "trading_state_hold": machine.get("hold", ""),
        "trading_state_details": dict(move.get("details") or {}),
    }


# what holds a state, in words
_HOLDS = {
    "OPERATOR": "held until an operator resumes: `tradebot resume`",
    "SESSION": "an automatic hold, lifted at the symbol's next session",
}


def render_state(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The trading state row, with its reason, time and hold, and a row of its details."""
    state = summary["trading_state"]
    code = summary.get("trading_state_reason")
    if state == "ACTIVE" or not code:
        return [("trading state:", state)]
    hold = _HOLDS.get(summary.get("trading_state_hold") or "", "")
    rows = [("trading state:", f"{state} since {summary.get('trading_state_since')} ({code}" + (
        f"; {hold})" if hold else ")"
    ))]
    details = summary.get("trading_state_details") or {}
    if details:
        rows.append(("", ", ".join(f"{k}: {details[k]}" for k in sorted(details))))
    return rows


def _symbol(body: Mapping[str, Any], instruments: Mapping[str, Instrument]) -> str:
    symbol = body.get("symbol")
    if isinstance(symbol, str):
        return symbol
    return next(iter(instruments))


def money(value: object) -> str:
    """A Decimal amount exactly, without exponent or trailing zeros: ``0E-8`` -> ``0``, ``1.2500`` ->
    ``1.25``, ``1E+2`` -> ``100``; every significant digit kept."""
    amount = Decimal(str(value))
    if amount == 0:
        return "0"
    return format(amount.normalize(), "f")


def summary_rows(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The summary as (label, value) rows: one fact a row, reason codes spelled out."""
    rows: list[tuple[str, str]] = []
    for run in summary.get("runs", []):
        resumed = f", resumed after bar {run['resumed_after']}" if run.get("resumed_after") else ""
        rows.append(("run:", f"mode {run['mode']}{resumed}"))
    rows.append(("bars:", f"{summary['bars']} processed ({summary['first_bar']} .. {summary['last_bar']})"))
    refused = summary["bars_refused"]
    rows.append(("bars refused:", f"{sum(refused.values())}" + _codes(refused)))
    rows.append(("signals:", f"{summary['signals']}"))
    for code, n in summary.get("signals_not_sized", {}).items():
        rows.append((f"  no intent {code}:", f"{n}"))
    rows.append((
        "intents:",
        f"{summary['intents']}  approved: {summary['approved']}  blocked: {sum(summary['blocked'].values())}",
    ))
    for code, n in summary["blocked"].items():
        rows.append((f"  blocked {code}:", f"{n}"))
    for code, n in summary["clamped"].items():
        rows.append((f"  clamped {code}:", f"{n}"))
    groups = [("symbol", summary.get("by_symbol") or {})] if len(summary.get("by_symbol") or {}) > 1 else []
    groups += [("sleeve", summary.get("by_sleeve") or {})] if summary.get("by_sleeve") else []
    for what, tallies in groups:  # several instruments, or sleeves: each one's share
        for name, t in tallies.items():
            tally = f"{t['intents']}  approved: {t['approved']}  blocked: {t['blocked']}"
            rows.append((f"  {what} {name}:", tally))
    if summary.get("intents_refused") or summary.get("intents_not_decided"):
        rows.append((
            "external intents:",
            f"refused: {summary.get('intents_refused', 0)}  not decided: "
            f"{summary.get('intents_not_decided', 0)} (INTENT_AFTER_END_OF_DATA: after the last bar)",
        ))
    rows.append(("orders:", f"{summary['orders']}  fills: {summary['fills']}  rejects: {summary['rejects']}"))
    if "net_pnl" in summary:
        rows.append((
            "pnl:",
            f"realized {money(summary['realized_pnl'])}  unrealized {money(summary['unrealized_pnl'])}  "
            f"fees {money(summary['fees'])}  net {money(summary['net_pnl'])}",
        ))
        positions = ", ".join(f"{s} {money(q)}" for s, q in summary["positions"].items()) or "none"
        rows.append(("positions:", positions))
    rows.extend(render_state(summary))
    return rows


def render_summary(
    summary: Mapping[str, Any], paths: Mapping[str, object] | None = None, width: int | None = None
) -> str:
    """The summary as a table (rich), then ``paths`` (store, log, manifest, report) a row each.

    ``width``: the terminal's; None renders every row on one line, however long (logs, pipes, tests).
    """
    from io import StringIO

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title="tradebot run summary",
        title_justify="left",
        box=None,
        show_header=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )
    table.add_column("what", no_wrap=True, style="bold")
    table.add_column("value", overflow="fold")
    for label, value in summary_rows(summary):
        table.add_row(Text(label), Text(value))  # Text: a value's brackets are never markup
    for name, path in (paths or {}).items():
        table.add_row(Text(f"{name}:"), Text(str(path)))
    out = StringIO()
    console = Console(
        file=out,
        width=width or 100_000,
        color_system=None,
        force_terminal=False,
        highlight=False,
        emoji=False,
        markup=False,
    )
    console.print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())


def _codes(counts: Mapping[str, int]) -> str:
    if not counts:
        return ""
    return " (" + ", ".join(f"{code} {n}" for code, n in counts.items()) + ")"
