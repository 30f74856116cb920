"""The evidence learning reads from the event store, over the trailing window: per symbol, the
implementation shortfall of its filled orders (the ``order_tca`` records the run wrote) and the flip rate
of its closed trades (flips / trades: the share of consecutive round trips whose direction changes, as the
execution report counts it)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradebot.analytics.execution_report import flip_rate
from tradebot.analytics.store_view import load_view
from tradebot.analytics.trades import round_trips


@dataclass(frozen=True, slots=True)
class SymbolEvidence:
    symbol: str
    filled_orders: int  # filled orders with an IS figure in the window
    is_bps_median: Decimal | None
    is_bps_mean: Decimal | None
    closed_trades: int
    flip_rate: Decimal | None  # flips / (trades - 1); None under two trades

    def as_dict(self) -> dict[str, Any]:
        return {
            "filled_orders": self.filled_orders,
            "is_bps_median": _text(self.is_bps_median),
            "is_bps_mean": _text(self.is_bps_mean),
            "closed_trades": self.closed_trades,
            "flip_rate": _text(self.flip_rate),
        }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


_QUANTUM = Decimal("0.0001")


def window_start(now: datetime, window_days: int) -> datetime:
    return now - timedelta(days=window_days)


def evidence_from_records(
    tca: Mapping[str, Mapping[str, Any]], trades_by_symbol: Mapping[str, list[Any]], start: datetime
) -> dict[str, SymbolEvidence]:
    """Per symbol: the final (not pending) TCA records of orders first filled at or after ``start``, and the
    closed trades (already windowed by their exit)."""
    shortfalls: dict[str, list[Decimal]] = defaultdict(list)
    for record in tca.values():
        if record.get("pending") or record.get("is_bps") in (None, ""):
            continue
        filled_at = record.get("first_fill_at")
        if not filled_at or datetime.fromisoformat(str(filled_at)) < start:
            continue
        shortfalls[str(record["symbol"])].append(Decimal(str(record["is_bps"])))
    out: dict[str, SymbolEvidence] = {}
    for symbol in sorted(set(shortfalls) | set(trades_by_symbol)):
        values = shortfalls.get(symbol, [])
        trades = trades_by_symbol.get(symbol, [])
        rate = flip_rate(trades)
        out[symbol] = SymbolEvidence(
            symbol=symbol,
            filled_orders=len(values),
            is_bps_median=Decimal(statistics.median(values)).quantize(_QUANTUM) if values else None,
            is_bps_mean=(sum(values, Decimal(0)) / len(values)).quantize(_QUANTUM) if values else None,
            closed_trades=len(trades),
            flip_rate=None if rate is None else Decimal(str(rate)),
        )
    return out


def store_evidence(store: Path, now: datetime, window_days: int) -> dict[str, SymbolEvidence]:
    """The evidence of ``store`` for the ``window_days`` before ``now`` (later events are not read)."""
    start = window_start(now, window_days)
    view = load_view(store, start=start, end=now + timedelta(microseconds=1))
    trades, _ = round_trips(view)
    by_symbol: dict[str, list[Any]] = defaultdict(list)
    for trade in trades:
        by_symbol[trade.symbol].append(trade)
    return evidence_from_records(view.tca_records, by_symbol, start)
