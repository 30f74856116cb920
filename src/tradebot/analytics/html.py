"""The HTML report: one self-contained file. Plotly's JavaScript (shipped inside the plotly wheel) is
inlined once, so the page opens with no network. Charts: equity and drawdown, price per symbol with
entries, exits and stop fills, the implementation shortfall histogram, blocked intents by gate, PnL before
and after costs per symbol and per sleeve. Every number in the key-figure table carries ``data-key`` (the
JSON report's key), so a test can compare the page with the JSON.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from tradebot.analytics.report import Report, chart_data, money

# the key figures shown on the page: (label, where in the JSON report, how it is formatted)
FIGURES: tuple[tuple[str, str, str], ...] = (
    ("Net PnL", "performance.net_pnl", "money"),
    ("PnL before costs (closed trades)", "costs.pnl_before_costs", "money"),
    ("PnL after costs (closed trades)", "costs.pnl_after_costs", "money"),
    ("Fees", "costs.fees", "money"),
    ("Implementation shortfall", "costs.implementation_shortfall", "money"),
    ("Spread paid", "costs.spread_paid", "money"),
    ("Spread source", "costs.spread_source", "text"),
    ("Max drawdown", "performance.max_drawdown", "money"),
    ("Max drawdown %", "performance.max_drawdown_pct", "pct"),
    ("Trades", "performance.trades", "text"),
    ("Win rate", "performance.win_rate", "pct"),
    ("Expectancy", "performance.expectancy", "money"),
    ("Profit factor", "performance.profit_factor", "num"),
    ("SQN", "performance.sqn", "num"),
    ("Sharpe", "performance.sharpe", "num"),
    ("Sortino", "performance.sortino", "num"),
    ("Calmar", "performance.calmar", "num"),
    ("Probabilistic Sharpe", "performance.psr", "num"),
    ("Exposure", "performance.exposure", "pct"),
    ("Turnover", "performance.turnover", "num"),
    ("IS bps p50", "execution.all.is_bps.p50", "num"),
    ("IS bps p90", "execution.all.is_bps.p90", "num"),
    ("IS bps p99", "execution.all.is_bps.p99", "num"),
    ("Spread paid bps p50", "execution.all.spread_paid_bps.p50", "num"),
    ("Intents blocked", "execution.blocked.blocked", "text"),
)


def lookup(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def format_figure(value: Any, kind: str) -> str:
    """How the page writes a figure (the browser test formats the JSON value the same way)."""
    if value is None:
        return "-"
    if kind == "money":
        return money(value)
    if kind == "pct":
        return f"{float(value) * 100:.2f}%"
    if kind == "num":
        return f"{float(value):.4f}"
    return str(value)


def write_html(report: Report, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_html(report), encoding="utf-8")
    tmp.replace(path)
    return path


def render_html(report: Report) -> str:
    data = report.data
    charts = chart_data(report)
    divs = [
        _div(_equity(charts), "chart-equity"),
        *(
            _div(_price(symbol, series), f"chart-price-{_slug(symbol)}")
            for symbol, series in charts["prices"].items()
        ),
        _div(_histogram(charts), "chart-is"),
        _div(_blocked(data), "chart-blocked"),
        _div(_pnl(data["pnl_by_symbol"], "PnL per symbol"), "chart-pnl-symbol"),
        _div(_pnl(data["pnl_by_sleeve"], "PnL per sleeve"), "chart-pnl-sleeve"),
        _div(_monthly(data["performance"]["monthly_returns"]), "chart-monthly"),
        _div(_returns(data["performance"]["daily"]), "chart-returns"),
        _div(_rolling_sharpe(data["performance"]), "chart-rolling-sharpe"),
    ]
    rows = "\n".join(
        f'<tr><th>{html.escape(label)}</th><td data-key="{key}">'
        f"{html.escape(format_figure(lookup(data, key), kind))}</td></tr>"
        for label, key, kind in FIGURES
    )
    proxy_note = ""
    if data["costs"]["spread_source"] == "proxy":
        proxy_note = (
            f'<p class="proxy">Spread figures are a PROXY (no quotes): model '
            f"{html.escape(data['proxy_model'])}.</p>"
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>tradebot report</title>
<style>body{{font-family:sans-serif;margin:1.5em;color:#222}} table{{border-collapse:collapse}}
th,td{{border:1px solid #ccc;padding:.25em .6em;text-align:left}} .proxy{{color:#a30}}
.chart{{width:100%;height:420px;margin:1em 0}}</style>
<script type="text/javascript">{get_plotlyjs()}</script></head>
<body><h1>tradebot report</h1>
<p id="verdict">{html.escape(data["verdict"])}</p>
<p>store {html.escape(data["store"])} &middot; window {html.escape(str(data["window"]["start"] or "-"))} ..
{html.escape(str(data["window"]["end"] or "-"))} &middot; arrival: {html.escape(data["arrival"])}</p>
{proxy_note}
<table id="figures">{rows}</table>
{"".join(divs)}
</body></html>
"""


def _div(figure: go.Figure, div_id: str) -> str:
    figure.update_layout(margin={"l": 60, "r": 20, "t": 50, "b": 40}, height=420)
    body = figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displayModeBar": False, "responsive": True},
    )
    return f'<div class="chart-box">{body}</div>'


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text)


def _equity(charts: Mapping[str, Any]) -> go.Figure:
    curve = charts["curve"]
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.05)
    figure.add_trace(
        go.Scatter(
            x=[p["ts"] for p in curve], y=[float(p["equity"]) for p in curve], name="equity", mode="lines"
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Scatter(
            x=[p["ts"] for p in curve],
            y=[p["drawdown"] * 100 for p in curve],
            name="drawdown %",
            mode="lines",
            fill="tozeroy",
        ),
        row=2,
        col=1,
    )
    figure.update_layout(title="Equity and drawdown")
    return figure


def _price(symbol: str, series: Mapping[str, Any]) -> go.Figure:
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=series["ts"], y=series["close"], name=f"{symbol} close", mode="lines"))
    entries, exits, stops = series["entries"], series["exits"], series["stops"]
    figure.add_trace(
        go.Scatter(
            x=[e[0] for e in entries],
            y=[e[1] for e in entries],
            mode="markers",
            name="entry",
            text=[e[2] for e in entries],
            marker={"symbol": "triangle-up", "size": 8, "color": "green"},
        )
    )
    figure.add_trace(
        go.Scatter(
            x=[e[0] for e in exits],
            y=[e[1] for e in exits],
            mode="markers",
            name="exit",
            text=[e[2] for e in exits],
            marker={"symbol": "x", "size": 7, "color": "black"},
        )
    )
    figure.add_trace(
        go.Scatter(
            x=[s[0] for s in stops],
            y=[s[1] for s in stops],
            mode="markers",
            name="stop level (filled)",
            marker={"symbol": "line-ew-open", "size": 10, "color": "red"},
        )
    )
    figure.update_layout(title=f"{symbol}: price, entries, exits, stops")
    return figure


def _histogram(charts: Mapping[str, Any]) -> go.Figure:
    figure = go.Figure()
    figure.add_trace(go.Histogram(x=charts["is_bps"], name="implementation shortfall bps", nbinsx=40))
    figure.add_trace(go.Histogram(x=charts["spread_bps"], name="spread paid bps", nbinsx=40, opacity=0.6))
    figure.update_layout(
        title="Implementation shortfall and spread paid (bps, positive = cost)", barmode="overlay"
    )
    return figure


def _blocked(data: Mapping[str, Any]) -> go.Figure:
    by_gate = data["execution"]["blocked"]["by_gate"]
    names = list(by_gate) or ["(none blocked)"]
    counts = [row["count"] for row in by_gate.values()] or [0]
    figure = go.Figure(go.Bar(x=names, y=counts, name="blocked intents"))
    figure.update_layout(title="Intents blocked, by gate")
    return figure


def _pnl(groups: Mapping[str, Mapping[str, Any]], title: str) -> go.Figure:
    names = list(groups) or ["(no trades)"]
    before = [float(g["pnl_gross"]) for g in groups.values()] or [0.0]
    after = [float(g["pnl_net"]) for g in groups.values()] or [0.0]
    figure = go.Figure(
        [go.Bar(x=names, y=before, name="before costs"), go.Bar(x=names, y=after, name="after costs")]
    )
    figure.update_layout(title=title, barmode="group")
    return figure


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _monthly(monthly: Mapping[str, float | None]) -> go.Figure:
    """Monthly returns as a year × month heatmap (percent), each cell labelled."""
    years = sorted({key[:4] for key in monthly})
    z: list[list[float | None]] = [[None] * 12 for _ in years]
    for key, value in monthly.items():
        z[years.index(key[:4])][int(key[5:7]) - 1] = None if value is None else round(value * 100, 2)
    text = [["" if v is None else f"{v:.2f}%" for v in row] for row in z]
    figure = go.Figure(
        go.Heatmap(
            z=z, x=list(MONTHS), y=years, text=text, texttemplate="%{text}", colorscale="RdYlGn", zmid=0,
            colorbar={"title": "%"},
        )
    )
    figure.update_layout(title="Monthly returns (%)", yaxis={"type": "category"})
    return figure


def _returns(daily: Sequence[Mapping[str, Any]]) -> go.Figure:
    values = [d["return"] * 100 for d in daily if d["return"] is not None]
    figure = go.Figure(go.Histogram(x=values, name="daily return %", nbinsx=30))
    figure.update_layout(title=f"Distribution of daily returns (%), {len(values)} days")
    return figure


def _rolling_sharpe(performance: Mapping[str, Any]) -> go.Figure:
    days = performance["rolling_sharpe_days"]
    points = [p for p in performance["rolling_sharpe"] if p["sharpe"] is not None]
    dates, values = [p["date"] for p in points], [p["sharpe"] for p in points]
    figure = go.Figure(go.Scatter(x=dates, y=values, mode="lines", name="Sharpe"))
    title = f"Rolling Sharpe ratio ({days} trading days, annualized)"
    if not points:
        title += f": needs {days} days of returns, this window has {len(performance['daily'])}"
    figure.update_layout(title=title)
    return figure
