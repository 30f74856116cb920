"""The whole report of a store (``tradebot report``): TCA per order and its roll-ups, the trade list,
performance, PnL before and after costs per symbol, sleeve and exit reason, blocked intents by gate, the
halt history, and a one-line verdict. ``build_report`` reads the store read-only (a running daemon may be
writing it); ``report_json`` is the JSON-ready dict; ``render_text`` the human tables (rich).
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from tradebot.analytics import execution_report as ex
from tradebot.analytics.attribution import LABELS, Attribution, AttributionRules, counts
from tradebot.analytics.attribution_evidence import attribute_trades
from tradebot.analytics.performance import curve_points, equity_curve, performance
from tradebot.analytics.process_score import process_score
from tradebot.analytics.store_view import StoreView, load_view
from tradebot.analytics.tca import OrderTca, TcaConfig, order_tca, plain
from tradebot.analytics.trades import OpenPosition, Trade, round_trips

ZERO = Decimal(0)
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Report:
    view: StoreView
    tca: list[OrderTca]
    trades: list[Trade]
    open_positions: list[OpenPosition]
    attributions: list[Attribution]  # one per trade, in the same order
    data: dict[str, Any]  # JSON-ready


def build_report(
    store: Path,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    config: TcaConfig | None = None,
    rules: AttributionRules | None = None,
) -> Report:
    view = load_view(store, start=start, end=end)
    tca = order_tca(view, config)
    settings = _tca_settings(tca, config)
    trades, still_open = round_trips(view)
    attributions = attribute_trades(view, trades, rules or AttributionRules())
    perf = performance(view, trades)
    costs = _costs(tca, perf)
    by_key = {a.key: a for a in attributions}
    data: dict[str, Any] = {
        "store": str(store),
        "window": {"start": plain(start), "end": plain(end)},
        "modes": view.modes,
        **settings,
        "verdict": verdict(perf, costs),
        "costs": costs,
        "performance": perf,
        "pnl_by_symbol": _pnl_by(trades, lambda t: t.symbol),
        "pnl_by_sleeve": _pnl_by(trades, lambda t: _sleeve(view, t)),
        "pnl_by_exit_reason": _pnl_by(trades, lambda t: t.exit_reason),
        "execution": {
            "all": ex.rollup(tca),
            "by": ex.by_group(tca),
            "blocked": ex.blocked(view.decisions),
            "trades_per_day": ex.trades_per_day(trades),
            "flip_rate": ex.flip_rate(trades),
        },
        "halts": [{"ts": m.ts, "to": m.to, "code": m.code, "details": m.details} for m in view.state_moves],
        "attribution": {
            "counts": counts(attributions),
            "pnl_by_code": _pnl_by(trades, lambda t: by_key[t.key].code),
        },
        "process": process_score(view, trades, attributions),
        "trades": [
            {**t.as_dict(), "attribution": a.code, "attribution_reasons": list(a.reasons)}
            for t, a in zip(trades, attributions, strict=True)
        ],
        "open_positions": [
            {
                "symbol": p.symbol,
                "side": p.side,
                "quantity": p.quantity,
                "entry_price": p.entry_price,
                "entry_time": p.entry_time,
            }
            for p in still_open
        ],
        "tca": [r.as_dict() for r in tca],
    }
    return Report(view, tca, trades, still_open, attributions, to_json_ready(data))


def _tca_settings(tca: Sequence[OrderTca], config: TcaConfig | None) -> dict[str, Any]:
    """Where the TCA records come from and with which settings: the run's own records (``run``), or
    recomputed from the store with the report's options (``recomputed``)."""
    if config is not None:
        return {
            "tca_source": "recomputed",
            "arrival": config.arrival,
            "quotes": {symbol: book.source for symbol, book in sorted(config.quotes.items())},
            "proxy_model": config.proxy.name,
        }
    arrivals = sorted({r.arrival_mode for r in tca if r.benchmark in ("quote_mid", "bar_close")})
    quotes = {r.symbol: r.spread_model.removeprefix("quotes:") for r in tca if r.spread_source == "quotes"}
    proxies = sorted({r.spread_model for r in tca if r.spread_source == "proxy"})
    return {
        "tca_source": "run",
        "arrival": ", ".join(arrivals) or TcaConfig().arrival,
        "quotes": dict(sorted(quotes.items())),
        "proxy_model": ", ".join(proxies) or TcaConfig().proxy.name,
    }


def to_json_ready(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): to_json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_ready(v) for v in value]
    return plain(value)


def _costs(tca: Sequence[OrderTca], perf: Mapping[str, Any]) -> dict[str, Any]:
    filled = [r for r in tca if r.fills]
    fees = sum((r.fees for r in filled), ZERO)
    is_cost = sum((r.is_cost or ZERO for r in filled), ZERO)
    spread = sum((r.spread_paid_cost or ZERO for r in filled), ZERO)
    proxy = sum(1 for r in filled if r.spread_source == "proxy")
    return {
        "fees": fees,
        "implementation_shortfall": is_cost,
        "spread_paid": spread,
        "spread_source": "proxy" if proxy else ("quotes" if filled else "none"),
        "orders_with_proxy_spread": proxy,
        "pnl_before_costs": perf["pnl_gross"],
        "pnl_after_costs": perf["pnl_net"],
    }


def verdict(perf: Mapping[str, Any], costs: Mapping[str, Any]) -> str:
    dd = perf.get("max_drawdown_pct")
    dd_text = f"{money(perf['max_drawdown'])} ({dd * 100:.2f}%)" if dd is not None else "n/a"
    return (
        f"net PnL {money(perf['net_pnl'])} (trades: {money(costs['pnl_before_costs'])} before costs, "
        f"{money(costs['pnl_after_costs'])} after), fees {money(costs['fees'])}, "
        f"implementation shortfall {money(costs['implementation_shortfall'])}, max drawdown {dd_text}"
    )


def _pnl_by(trades: Sequence[Trade], key: Any) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Trade]] = defaultdict(list)
    for trade in trades:
        groups[key(trade) or "-"].append(trade)
    return {
        name: {
            "trades": len(rows),
            "wins": sum(1 for t in rows if t.pnl_net > ZERO),
            "win_rate": round(sum(1 for t in rows if t.pnl_net > ZERO) / len(rows), 6),
            "pnl_gross": sum((t.pnl_gross for t in rows), ZERO),
            "fees": sum((t.fees for t in rows), ZERO),
            "pnl_net": sum((t.pnl_net for t in rows), ZERO),
        }
        for name, rows in sorted(groups.items())
    }


def _sleeve(view: StoreView, trade: Trade) -> str:
    order = view.orders.get(trade.entry_order)
    decision = view.decisions_by_intent.get(order.intent_id) if order is not None else None
    if decision is None:
        return ""
    return decision.sleeve or decision.profile


def money(value: Any) -> str:
    """Money for people: to the cent, fixed point (never an exponent)."""
    if value is None:
        return "-"
    return format(Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_EVEN), "f")


def chart_data(report: Report) -> dict[str, Any]:
    """What the HTML charts draw: the equity curve, prices with entries/exits/stops, the IS values."""
    curve = equity_curve(report.view)
    prices: dict[str, Any] = {}
    for symbol, bars in sorted(report.view.bars.items()):
        shown = [b for b in bars if report.view.in_window(b.close_ts)]
        step = max(1, len(shown) // 5_000)
        sample = shown[::step]
        trades = [t for t in report.trades if t.symbol == symbol]
        stops = [
            (r.first_fill_at or r.submitted_at, r.arrival_price)
            for r in report.tca
            if r.symbol == symbol and r.role == "stop" and r.arrival_price is not None and r.first_fill_at
        ]
        prices[symbol] = {
            "ts": [plain(b.close_ts) for b in sample],
            "close": [float(b.close) for b in sample],
            "entries": [(plain(t.entry_time), float(t.entry_price), t.side) for t in trades],
            "exits": [(plain(t.exit_time), float(t.exit_price), t.exit_reason) for t in trades],
            "stops": [(plain(ts), float(level)) for ts, level in stops],
        }
    return {
        "curve": curve_points(curve),
        "prices": prices,
        "is_bps": [float(r.is_bps) for r in report.tca if r.is_bps is not None],
        "spread_bps": [float(r.spread_paid_bps) for r in report.tca if r.spread_paid_bps is not None],
    }


def render_text(data: Mapping[str, Any], *, max_trades: int = 50) -> str:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=140, record=True, file=io.StringIO())
    perf, costs, execution = data["performance"], data["costs"], data["execution"]
    console.print(
        f"[bold]tradebot report[/bold] {data['store']}  window {data['window']['start'] or '-'} .. "
        f"{data['window']['end'] or '-'}"
    )
    console.print(f"verdict: {data['verdict']}")
    spread_note = "quotes" if costs["spread_source"] == "quotes" else f"PROXY ({data['proxy_model']})"
    summary = Table(title="Summary", show_header=False)
    for key, value in (
        ("start equity", money(perf["start_equity"])),
        ("end equity", money(perf["end_equity"])),
        ("net PnL", money(perf["net_pnl"])),
        ("PnL before costs (closed trades)", money(costs["pnl_before_costs"])),
        ("PnL after costs (closed trades)", money(costs["pnl_after_costs"])),
        ("fees", money(costs["fees"])),
        ("implementation shortfall", money(costs["implementation_shortfall"])),
        (f"spread paid [{spread_note}]", money(costs["spread_paid"])),
        (
            "max drawdown",
            f"{money(perf['max_drawdown'])} ({_pct(perf['max_drawdown_pct'])}) "
            f"{perf['max_drawdown_start'] or ''} .. {perf['max_drawdown_end'] or ''}",
        ),
        ("trades / win rate", f"{perf['trades']} / {_pct(perf['win_rate'])}"),
        ("expectancy per trade", money(perf["expectancy"])),
        ("profit factor", _f(perf["profit_factor"])),
        ("SQN", _f(perf["sqn"])),
        ("Sharpe / Sortino (daily, ann.)", f"{_f(perf['sharpe'])} / {_f(perf['sortino'])}"),
        ("Calmar", _f(perf["calmar"])),
        ("probabilistic Sharpe", _f(perf["psr"])),
        (
            "max consecutive wins / losses",
            f"{perf['max_consecutive_wins']} / {perf['max_consecutive_losses']}",
        ),
        (
            "best day / worst day",
            f"{perf['best_day']} {money(perf['best_day_pnl'])} / "
            f"{perf['worst_day']} {money(perf['worst_day_pnl'])}",
        ),
        ("exposure", _pct(perf["exposure"])),
        ("turnover", _f(perf["turnover"])),
        ("flip rate", _pct(execution["flip_rate"])),
    ):
        summary.add_row(key, value)
    console.print(summary)
    for title, key in (
        ("PnL by symbol", "pnl_by_symbol"),
        ("PnL by sleeve", "pnl_by_sleeve"),
        ("PnL by exit reason", "pnl_by_exit_reason"),
    ):
        table = Table(title=title)
        for column in ("", "trades", "win rate", "before costs", "fees", "after costs"):
            table.add_column(column, justify="right" if column else "left")
        for name, row in data[key].items():
            table.add_row(
                name,
                str(row["trades"]),
                _pct(row["win_rate"]),
                money(row["pnl_gross"]),
                money(row["fees"]),
                money(row["pnl_net"]),
            )
        console.print(table)
    tca_table = Table(title=f"Execution by symbol (spread: {spread_note})")
    for column in (
        "symbol",
        "orders",
        "fills",
        "partial",
        "rejects",
        "cancels",
        "IS bps p50/p90/p99",
        "spread bps p50/p90/p99",
        "latency ms p50/p90/p99",
    ):
        tca_table.add_column(column)
    for name, row in execution["by"]["symbol"].items():
        tca_table.add_row(
            name,
            str(row["orders"]),
            str(row["fills"]),
            str(row["partial_fills"]),
            str(row["rejects"]),
            str(row["cancels"]),
            _pcts(row["is_bps"]),
            _pcts(row["spread_paid_bps"]),
            _pcts(row["fill_latency_ms"]),
        )
    console.print(tca_table)
    blocked = execution["blocked"]
    gates = Table(title=f"Intents blocked: {blocked['blocked']} of {blocked['intents']}")
    gates.add_column("gate")
    gates.add_column("count", justify="right")
    gates.add_column("% of intents", justify="right")
    for gate, row in blocked["by_gate"].items():
        gates.add_row(gate, str(row["count"]), f"{row['pct']:.2f}%")
    console.print(gates)
    if data["halts"]:
        halts = Table(title="Trading state changes")
        for column in ("time", "to", "reason code"):
            halts.add_column(column)
        for move in data["halts"]:
            halts.add_row(str(move["ts"]), move["to"], move["code"])
        console.print(halts)
    attribution = Table(title="Trades by attribution (docs/attribution.md)")
    for column in ("code", "", "trades", "after costs"):
        attribution.add_column(column)
    for code, n in data["attribution"]["counts"].items():
        if n:
            row = data["attribution"]["pnl_by_code"].get(code, {})
            attribution.add_row(code, LABELS[code], str(n), money(row.get("pnl_net")))
    console.print(attribution)
    process = data["process"]["run"]
    score = process["score"]
    parts = ", ".join(
        f"{name} {_pct(c['share'])}" for name, c in process["components"].items() if c["of"]
    )
    items = process["decisions"] + process["trades"]
    console.print(
        f"Process score: {_f(score)} ({process['followed']} of {items} decisions and trades followed the "
        f"process; {parts})"
    )
    trades = data["trades"]
    shown = trades[:max_trades]
    title = f"Trades ({len(trades)})" + (
        f", the first {max_trades}; --json for all" if len(trades) > max_trades else ""
    )
    table = Table(title=title)
    for column in (
        "symbol",
        "side",
        "entry",
        "exit",
        "qty",
        "entry px",
        "exit px",
        "before costs",
        "fees",
        "after costs",
        "exit reason",
        "attr.",
    ):
        table.add_column(column)
    for t in shown:
        table.add_row(
            t["symbol"],
            t["side"],
            _when(t["entry_time"]),
            _when(t["exit_time"]),
            t["quantity"],
            t["entry_price"],
            t["exit_price"],
            money(t["pnl_gross"]),
            money(t["fees"]),
            money(t["pnl_net"]),
            t["exit_reason"],
            t["attribution"],
        )
    console.print(table)
    return console.export_text()


def _when(iso: str) -> str:
    """An ISO time as ``YYYY-MM-DD HH:MM:SS`` (UTC, as stored)."""
    return iso[:19].replace("T", " ")


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f}%"


def _pcts(values: Mapping[str, float | None]) -> str:
    return " / ".join("-" if v is None else f"{v:.2f}" for v in values.values())
