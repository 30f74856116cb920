"""Performance statistics: the equity curve from marks, drawdown, daily returns and trade statistics.

- **equity** = starting cash + realized PnL − fees + unrealized PnL, marked at each bar's close (fills and
  bars applied in store order, exactly as the daemon's portfolio does); one point per bar close time.
- **drawdown** at a point = equity / running peak − 1 (and in currency, equity − peak); the max drawdown is
  the lowest, with its peak (start), trough (end) and recovery (first point back at the peak, or none).
- **daily returns**: the last equity of each UTC day over the day before's (the first day over the
  equity at the window's start). Sharpe, Sortino, Calmar and the annual return come from empyrical
  (``empyrical-reloaded``) on those returns, annualized with 252 periods: Sharpe = mean/std(ddof=1)·√252,
  Sortino = mean·252 / (√mean(min(r,0)²)·√252), Calmar = annual return / |max drawdown of daily equity|.
- **probabilistic Sharpe ratio** (Bailey and López de Prado) against 0:
  Φ(SR·√(n−1) / √(1 − γ₃·SR + (γ₄−1)/4·SR²)) with the daily (not annualized) SR, γ₃ the skewness and γ₄ the
  (non-excess) kurtosis of the daily returns (scipy, biased estimators).
- **trade statistics** on the closed trades' net PnL: win rate (net > 0), expectancy (mean net PnL per trade),
  profit factor (gross wins / |gross losses|), SQN = √n · mean / std(ddof=1), max consecutive wins and losses.
- **exposure** = share of bar close times at which any position was open; **turnover** = traded notional
  (Σ notional of the window's fills: |qty·price·multiplier|, an inverse contract's face) / mean equity.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import empyrical
import numpy as np
import pandas as pd
from scipy import stats

from tradebot.analytics.store_view import BarRow, FillRow, StoreView
from tradebot.analytics.tca import plain
from tradebot.analytics.trades import Trade
from tradebot.domain.events import OrderFilled
from tradebot.domain.orders import Side
from tradebot.pipeline.portfolio import Portfolio

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class EquityPoint:
    ts: datetime
    equity: Decimal
    drawdown: float  # equity / peak − 1
    drawdown_amount: Decimal  # equity − peak
    exposed: bool


@dataclass(frozen=True, slots=True)
class EquityCurve:
    start_equity: Decimal  # at the window's start
    points: list[EquityPoint]
    notional: Decimal  # traded in the window


def equity_curve(view: StoreView) -> EquityCurve:
    portfolio = Portfolio(view.starting_cash, view.instruments)
    events: list[tuple[int, BarRow | FillRow]] = [(f.seq, f) for f in view.fills]
    for bars in view.bars.values():
        events.extend((b.seq, b) for b in bars)
    events.sort(key=lambda pair: pair[0])
    start_equity: Decimal | None = None
    notional = ZERO
    by_time: dict[datetime, tuple[Decimal, bool]] = {}
    for _, item in events:
        if isinstance(item, FillRow):
            if item.symbol not in view.instruments:
                continue
            portfolio.apply_fill(_filled(item))
            if view.in_window(item.ts):
                notional += abs(item.quantity * item.price) * view.point_value(item.symbol, item.price)
            continue
        portfolio.mark(item.symbol, item.close)
        if not view.in_window(item.close_ts):
            if view.start is not None and item.close_ts < view.start:
                start_equity = portfolio.equity
            continue
        exposed = any(p.quantity != ZERO for p in portfolio.positions.values())
        by_time[item.close_ts] = (portfolio.equity, exposed)
    first = view.starting_cash if start_equity is None else start_equity
    points: list[EquityPoint] = []
    peak = first
    for ts in sorted(by_time):
        equity, exposed = by_time[ts]
        peak = max(peak, equity)
        points.append(
            EquityPoint(ts, equity, float(equity / peak - 1) if peak > ZERO else 0.0, equity - peak, exposed)
        )
    return EquityCurve(first, points, notional)


def _filled(fill: FillRow) -> OrderFilled:
    return OrderFilled(
        client_order_id=fill.client_order_id,
        venue_order_id="",
        fill_id=fill.fill_id,
        symbol=fill.symbol,
        side=Side(fill.side),
        quantity=fill.quantity,
        price=fill.price,
        fee=fill.fee,
        fee_currency="",
        ts=fill.ts,
        leaves_qty=fill.leaves_qty,
    )


def max_drawdown(curve: EquityCurve) -> dict[str, Any]:
    """The deepest drawdown: fraction, amount, the peak it fell from (start), the trough (end), recovery."""
    peak_value, peak_ts = curve.start_equity, curve.points[0].ts if curve.points else None
    worst: dict[str, Any] = {"pct": 0.0, "amount": ZERO, "start": None, "end": None, "recovered": None}
    worst_peak = peak_value
    for point in curve.points:
        if point.equity >= peak_value:
            if (
                worst["end"] is not None
                and worst["recovered"] is None
                and point.equity >= worst_peak
                and point.ts > worst["end"]
            ):
                worst["recovered"] = point.ts
            if point.equity > peak_value:
                peak_value, peak_ts = point.equity, point.ts
            continue
        if point.drawdown < worst["pct"]:
            worst = {
                "pct": point.drawdown,
                "amount": point.drawdown_amount,
                "start": peak_ts,
                "end": point.ts,
                "recovered": None,
            }
            worst_peak = peak_value
    return worst


_INSTANT = timedelta(microseconds=1)


def daily_equity(curve: EquityCurve) -> list[tuple[date, Decimal]]:
    """Each UTC day's closing equity. A point is a bar's close: the bar ending at midnight belongs to the
    day it traded in, not to a day of its own after it."""
    days: dict[date, Decimal] = {}
    for point in curve.points:
        days[(point.ts - _INSTANT).date()] = point.equity
    return sorted(days.items())


ROLLING_SHARPE_DAYS = 20  # the trailing window of the rolling Sharpe chart (about a trading month)


def daily_returns(curve: EquityCurve) -> pd.Series:
    previous = curve.start_equity
    values: list[float] = []
    index: list[pd.Timestamp] = []
    for day, equity in daily_equity(curve):
        values.append(float(equity / previous - 1) if previous else 0.0)
        index.append(pd.Timestamp(day, tz="UTC"))
        previous = equity
    return pd.Series(values, index=pd.DatetimeIndex(index), dtype=float)


def return_statistics(returns: pd.Series) -> dict[str, float | None]:
    n = len(returns)
    if n == 0:
        return {k: None for k in ("sharpe", "sortino", "calmar", "annual_return", "psr", "volatility")}
    return {
        "sharpe": _num(empyrical.sharpe_ratio(returns, period="daily")) if n > 1 else None,
        "sortino": _num(empyrical.sortino_ratio(returns, period="daily")) if n > 1 else None,
        "calmar": _num(empyrical.calmar_ratio(returns, period="daily")),
        "annual_return": _num(empyrical.annual_return(returns, period="daily")),
        "volatility": _num(empyrical.annual_volatility(returns, period="daily")) if n > 1 else None,
        "psr": probabilistic_sharpe(returns.to_numpy()),
    }


def probabilistic_sharpe(returns: Sequence[float] | np.ndarray, benchmark: float = 0.0) -> float | None:
    values = np.asarray(returns, dtype=float)
    n = len(values)
    if n < 3:
        return None
    std = float(np.std(values, ddof=1))
    if std == 0:
        return None
    sharpe = float(np.mean(values)) / std
    skew = float(stats.skew(values))
    kurt = float(stats.kurtosis(values, fisher=False))
    denominator = 1 - skew * sharpe + (kurt - 1) / 4 * sharpe**2
    if denominator <= 0:
        return None
    return _num(float(stats.norm.cdf((sharpe - benchmark) * math.sqrt(n - 1) / math.sqrt(denominator))))


def trade_statistics(trades: Sequence[Trade]) -> dict[str, Any]:
    nets = [t.pnl_net for t in trades]
    wins = [x for x in nets if x > ZERO]
    losses = [x for x in nets if x <= ZERO]
    n = len(nets)
    gross_win, gross_loss = sum(wins, ZERO), sum(losses, ZERO)
    floats = [float(x) for x in nets]
    sqn = None
    if n > 1 and float(np.std(floats, ddof=1)) > 0:
        sqn = _num(math.sqrt(n) * float(np.mean(floats)) / float(np.std(floats, ddof=1)))
    return {
        "trades": n,
        "wins": len(wins),
        "losses": len(losses),
        "win_rate": _num(len(wins) / n) if n else None,
        "pnl_gross": sum((t.pnl_gross for t in trades), ZERO),
        "fees": sum((t.fees for t in trades), ZERO),
        "pnl_net": sum(nets, ZERO),
        "expectancy": _mean(nets),
        "avg_win": _mean(wins),
        "avg_loss": _mean(losses),
        "profit_factor": _num(float(gross_win / -gross_loss)) if gross_loss < ZERO else None,
        "sqn": sqn,
        "max_consecutive_wins": _longest(x > ZERO for x in nets),
        "max_consecutive_losses": _longest(x <= ZERO for x in nets),
        "avg_mae": _mean([t.mae_cost for t in trades]),
        "avg_mfe": _mean([t.mfe_cost for t in trades]),
    }


def _mean(values: Sequence[Decimal]) -> Decimal | None:
    """A mean of money, to 1e-8 (a mean is not exact money; eight places keep it comparable)."""
    return (sum(values, ZERO) / len(values)).quantize(Decimal("1e-8")) if values else None


def _longest(flags: Iterable[bool]) -> int:
    best = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


def performance(view: StoreView, trades: Sequence[Trade]) -> dict[str, Any]:
    curve = equity_curve(view)
    returns = daily_returns(curve)
    days = daily_equity(curve)
    previous = curve.start_equity
    daily: list[dict[str, Any]] = []
    for day, equity in days:
        daily.append(
            {
                "date": day.isoformat(),
                "equity": equity,
                "pnl": equity - previous,
                "return": _num(float(equity / previous - 1)) if previous else None,
            }
        )
        previous = equity
    end_equity = curve.points[-1].equity if curve.points else curve.start_equity
    equities = [p.equity for p in curve.points]
    mean_equity = sum(equities, ZERO) / len(equities) if equities else curve.start_equity
    monthly = empyrical.aggregate_returns(returns, "monthly") if len(returns) else pd.Series(dtype=float)
    best = max(daily, key=lambda d: d["pnl"]) if daily else None
    worst = min(daily, key=lambda d: d["pnl"]) if daily else None
    dd = max_drawdown(curve)
    return {
        "start_equity": curve.start_equity,
        "end_equity": end_equity,
        "net_pnl": end_equity - curve.start_equity,
        "total_return": _num(float(end_equity / curve.start_equity - 1)) if curve.start_equity else None,
        "max_drawdown_pct": _num(dd["pct"]),
        "max_drawdown": dd["amount"],
        "max_drawdown_start": dd["start"],
        "max_drawdown_end": dd["end"],
        "max_drawdown_recovered": dd["recovered"],
        **return_statistics(returns),
        **trade_statistics(trades),
        "best_day": best["date"] if best else None,
        "best_day_pnl": best["pnl"] if best else None,
        "worst_day": worst["date"] if worst else None,
        "worst_day_pnl": worst["pnl"] if worst else None,
        "exposure": _num(sum(p.exposed for p in curve.points) / len(curve.points)) if curve.points else None,
        "traded_notional": curve.notional,
        "turnover": _num(float(curve.notional / mean_equity)) if mean_equity else None,
        "daily": daily,
        "monthly_returns": {f"{y:04d}-{m:02d}": _num(float(r)) for (y, m), r in monthly.items()},
        "rolling_sharpe_days": ROLLING_SHARPE_DAYS,
        "rolling_sharpe": rolling_sharpe(returns),
    }


def rolling_sharpe(returns: pd.Series, window: int | None = None) -> list[dict[str, Any]]:
    """The annualized Sharpe ratio of each trailing ``window`` daily returns (empyrical), one per day from the
    ``window``-th on: empty while there are fewer days."""
    window = window or ROLLING_SHARPE_DAYS
    if len(returns) < window:
        return []
    rolled = empyrical.roll_sharpe_ratio(returns, window=window, period="daily")
    return [{"date": ts.date().isoformat(), "sharpe": _num(float(v))} for ts, v in rolled.items()]


def curve_points(curve: EquityCurve, limit: int = 5_000) -> list[dict[str, Any]]:
    """At most ``limit`` points of the curve for a chart (every k-th, the deepest drawdown point kept)."""
    points = curve.points
    if len(points) > limit:
        step = math.ceil(len(points) / limit)
        keep = set(range(0, len(points), step)) | {len(points) - 1}
        deepest = min(range(len(points)), key=lambda i: points[i].drawdown)
        keep.add(deepest)
        points = [points[i] for i in sorted(keep)]
    return [{"ts": plain(p.ts), "equity": plain(p.equity), "drawdown": p.drawdown} for p in points]


def _num(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 6)
