"""The run summary, derived from the event store alone, so a finished run and ``tradebot status`` print
the same thing: bars, refusals, signals, intents, approvals and blocks by reason code, orders, fills, PnL.
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

    Bars, signals and sizing records (most of a store) are counted by SQLite; of the bars only the first
    and each symbol's last are read (the final marks: fills never read a mark), and the sizing records'
    reason codes are counted by SQLite too. Everything else goes through ``summarize_events``.
    """
    from tradebot.store import StoreReader

    with StoreReader(path) as reader:
        counts = Counter(reader.count_by_kind())
        codes = reader.count_by_body_value("sizing", "code")
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
        elif kind == "order_filled" and portfolio is not None:
            portfolio.apply_fill(from_body(OrderFilled, body))
        elif kind == "trading_state":
            state = body["to"]
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
        "orders": counts["order_submit"] - counts["order_submit_failed"],
        "fills": counts["order_filled"],
        "rejects": counts["order_rejected"],
        "first_bar": first_bar,
        "last_bar": last_bar,
        "trading_state": state,
    }
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


def _symbol(body: Mapping[str, Any], instruments: Mapping[str, Instrument]) -> str:
    symbol = body.get("symbol")
    if isinstance(symbol, str):
        return symbol
    return next(iter(instruments))


def render_summary(summary: Mapping[str, Any]) -> str:
    """Human text: one fact a line, reason codes spelled out."""
    lines = ["== tradebot run summary =="]
    for run in summary.get("runs", []):
        resumed = f", resumed after bar {run['resumed_after']}" if run.get("resumed_after") else ""
        lines.append(f"run: mode {run['mode']}{resumed}")
    lines.append(f"bars: {summary['bars']} processed ({summary['first_bar']} .. {summary['last_bar']})")
    refused = summary["bars_refused"]
    lines.append(f"bars refused: {sum(refused.values())}" + _codes(refused))
    lines.append(f"signals: {summary['signals']}")
    for code, n in summary.get("signals_not_sized", {}).items():
        lines.append(f"  no intent {code}: {n}")
    lines.append(
        f"intents: {summary['intents']}  approved: {summary['approved']}  "
        f"blocked: {sum(summary['blocked'].values())}"
    )
    for code, n in summary["blocked"].items():
        lines.append(f"  blocked {code}: {n}")
    for code, n in summary["clamped"].items():
        lines.append(f"  clamped {code}: {n}")
    lines.append(f"orders: {summary['orders']}  fills: {summary['fills']}  rejects: {summary['rejects']}")
    if "net_pnl" in summary:
        lines.append(
            f"pnl: realized {summary['realized_pnl']}  unrealized {summary['unrealized_pnl']}  "
            f"fees {summary['fees']}  net {summary['net_pnl']}"
        )
        positions = ", ".join(f"{s} {q}" for s, q in summary["positions"].items()) or "none"
        lines.append(f"positions: {positions}")
    lines.append(f"trading state: {summary['trading_state']}")
    return "\n".join(lines)


def _codes(counts: Mapping[str, int]) -> str:
    if not counts:
        return ""
    return " (" + ", ".join(f"{code} {n}" for code, n in counts.items()) + ")"
