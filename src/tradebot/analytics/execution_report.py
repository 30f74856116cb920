"""Execution roll-ups of TCA records and decisions: by symbol, order type, venue, role, profile and sleeve,
the p50/p90/p99 of implementation shortfall bps, spread-paid bps and fill latency ms (numpy's linear
interpolation between ranks), and counts of orders, fills, partial fills, rejects, cancels; the intents
blocked by each gate (with their share of all intents); trades per day and the flip rate.

The flip rate is the share of consecutive closed trades on the same symbol whose direction changes
(long then short, or short then long).
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from tradebot.analytics.store_view import DecisionRow
from tradebot.analytics.tca import OrderTca
from tradebot.analytics.trades import Trade

GROUPS: dict[str, Callable[[OrderTca], str]] = {
    "symbol": lambda r: r.symbol,
    "order_type": lambda r: r.order_type,
    "venue": lambda r: r.venue,
    "role": lambda r: r.role,
    "profile": lambda r: r.profile,
    "sleeve": lambda r: r.sleeve,
}
PERCENTILES = (50, 90, 99)


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {f"p{q}": None for q in PERCENTILES}
    points = np.percentile(np.asarray(values, dtype=float), PERCENTILES)
    return {f"p{q}": round(float(v), 4) for q, v in zip(PERCENTILES, points, strict=True)}


def rollup(records: Sequence[OrderTca]) -> dict[str, Any]:
    filled = [r for r in records if r.fills]
    return {
        "orders": len(records),
        "filled": sum(1 for r in records if r.status == "FILLED"),
        "fills": sum(r.fills for r in records),
        "partial_fills": sum(1 for r in records if r.partial),
        "rejects": sum(1 for r in records if r.status == "REJECTED"),
        "cancels": sum(1 for r in records if r.status.startswith(("CANCELED", "PARTIALLY_FILLED_CANCELED"))),
        "cancel_requests": sum(r.cancel_requests for r in records),
        "cancel_rate": round(sum(r.cancel_requests for r in records) / len(records), 6) if records else None,
        "fees": sum((r.fees for r in records), Decimal(0)),
        "is_cost": sum((r.is_cost or Decimal(0) for r in filled), Decimal(0)),
        "spread_cost": sum((r.spread_paid_cost or Decimal(0) for r in filled), Decimal(0)),
        "is_bps": percentiles([float(r.is_bps) for r in filled if r.is_bps is not None]),
        "spread_paid_bps": percentiles(
            [float(r.spread_paid_bps) for r in filled if r.spread_paid_bps is not None]
        ),
        "fill_latency_ms": percentiles(
            [float(r.fill_latency_ms) for r in filled if r.fill_latency_ms is not None]
        ),
        "spread_sources": dict(sorted(Counter(r.spread_source for r in filled).items())),
    }


def by_group(records: Sequence[OrderTca]) -> dict[str, dict[str, dict[str, Any]]]:
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for name, key in GROUPS.items():
        buckets: dict[str, list[OrderTca]] = defaultdict(list)
        for record in records:
            buckets[key(record)].append(record)
        result[name] = {value: rollup(rows) for value, rows in sorted(buckets.items())}
    return result


def blocked(decisions: Sequence[DecisionRow]) -> dict[str, Any]:
    total = len(decisions)
    blocked_rows = [d for d in decisions if d.outcome == "BLOCKED"]
    by_gate = Counter(d.gate or "unknown" for d in blocked_rows)
    by_code = Counter(d.code for d in blocked_rows)
    return {
        "intents": total,
        "blocked": len(blocked_rows),
        "blocked_pct": _pct(len(blocked_rows), total),
        "by_gate": {g: {"count": n, "pct": _pct(n, total)} for g, n in sorted(by_gate.items())},
        "by_code": {c: {"count": n, "pct": _pct(n, total)} for c, n in sorted(by_code.items())},
    }


def trades_per_day(trades: Iterable[Trade]) -> dict[str, int]:
    return dict(sorted(Counter(t.exit_time.date().isoformat() for t in trades).items()))


def flip_rate(trades: Sequence[Trade]) -> float | None:
    last: dict[str, str] = {}
    pairs = flips = 0
    for trade in sorted(trades, key=lambda t: t.entry_time):
        previous = last.get(trade.symbol)
        if previous is not None:
            pairs += 1
            flips += previous != trade.side
        last[trade.symbol] = trade.side
    return round(flips / pairs, 6) if pairs else None


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 4) if whole else None


def tca_csv(records: Sequence[OrderTca]) -> str:
    """One row per order, every TCA field (Decimals exact, empty for none)."""
    buffer = io.StringIO()
    rows = [r.as_dict() for r in records]
    if not rows:
        return ""
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()


def rollup_csv(groups: dict[str, dict[str, dict[str, Any]]]) -> str:
    """One row per (group, value): counts and the percentiles flattened (``is_bps_p50`` ...)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header: list[str] | None = None
    for group, values in groups.items():
        for value, stats in values.items():
            flat: dict[str, Any] = {"group": group, "value": value}
            for key, item in stats.items():
                if isinstance(item, dict):
                    flat.update(
                        {f"{key}_{k}": v for k, v in item.items()}
                        if key != "spread_sources"
                        else {key: ";".join(f"{k}={v}" for k, v in item.items())}
                    )
                else:
                    flat[key] = format(item, "f") if isinstance(item, Decimal) else item
            if header is None:
                header = list(flat)
                writer.writerow(header)
            writer.writerow(["" if flat.get(h) is None else flat.get(h) for h in header])
    return buffer.getvalue()
