"""The daily summary and the execution report of a session, derived from the event store alone.

``build_session_report(store, start=, end=)`` folds the events of the window ``[start, end)`` (by event
time; None: unbounded) into:

- ``summary``: the run summary of ``tradebot.pipeline.summary.summarize_events`` restricted to the window:
  counts (bars, signals, intents, approved, blocked and clamped by reason code, orders, fills, rejects,
  cancels) are what happened inside the window; realized PnL, fees and net PnL are the window's change;
  positions, unrealized PnL and the trading state are as of the window's end.
- ``orders``: one ``OrderRow`` per order with an event in the window: client order id, symbol, side,
  quantity, status, filled quantity, average fill price, fees, and slippage against the reference price
  (entries and flattens: the decision's reference price; bracket legs: their stop or target price).
  Slippage is signed so that positive is a cost: BUY ``avg - ref``, SELL ``ref - avg``; ``slippage_bps``
  is per unit against the reference, ``slippage_cost`` is in the instrument's currency.

``write_session_reports(report, out_dir, tca)`` writes ``summary.json``, ``summary.csv``, ``execution.json``
and ``execution.csv`` and, given the window's TCA (the session close gives it: ``write_window_reports``),
``tca.json`` (the verdict, costs, execution roll-ups with p50/p90/p99 of implementation shortfall, spread
paid and fill latency, the intents blocked by each gate, and every order's TCA record), ``tca.csv`` (one row
per order) and ``tca_rollup.csv`` (one row per symbol, sleeve, profile, order type, venue and role), each
atomically: a temp file renamed into place. The TCA is ``tradebot report``'s own (``analytics/``), over the
same window.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from tradebot.domain.codec import from_body
from tradebot.domain.instruments import Instrument
from tradebot.ops.atomic import write_atomic
from tradebot.pipeline.summary import summarize_events
from tradebot.session.heartbeat import HEARTBEAT_KIND
from tradebot.session.shutdown import SESSION_CLOSE_KIND
from tradebot.session.startup import STARTUP_CLEANUP_KIND
from tradebot.store import StoredEvent, StoreReader

ZERO = Decimal(0)
_COUNTS = ("bars", "signals", "intents", "approved", "orders", "fills", "rejects")
_COUNTERS = ("bars_refused", "signals_not_sized", "blocked", "clamped")
_PNL_DELTAS = ("realized_pnl", "fees", "net_pnl")
_ORDER_EVENTS = frozenset({
    "order_submit", "order_submit_failed", "order_accepted", "order_rejected", "order_filled",
    "order_canceled", "order_expired", "order_abandoned", "order_adopted",
})
_TERMINAL = frozenset({"FILLED", "CANCELED", "REJECTED", "EXPIRED", "ABANDONED", "SUBMIT_FAILED"})
_BPS = Decimal("0.01")
_PRICE = Decimal("1e-8")  # report precision of an average fill price (not an order price)


@dataclass(slots=True)
class OrderRow:
    client_order_id: str
    symbol: str = ""
    side: str = ""
    quantity: Decimal | None = None
    order_type: str = ""
    tif: str = ""
    reduce_only: bool = False
    parent_client_order_id: str | None = None
    intent_id: str = ""
    status: str = "UNKNOWN"
    filled_qty: Decimal = ZERO
    avg_fill_price: Decimal | None = None
    fees: Decimal = ZERO
    fills: int = 0
    reference_price: Decimal | None = None
    reference_kind: str = ""  # decision | stop | target | "" (none known)
    slippage_per_unit: Decimal | None = None
    slippage_bps: Decimal | None = None
    slippage_cost: Decimal | None = None
    submitted_at: str | None = None
    first_fill_at: str | None = None
    last_event_at: str | None = None
    reason: str = ""  # reject / cancel / abandon reason
    _notional: Decimal = field(default=ZERO, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self) if not f.name.startswith("_")}


@dataclass(frozen=True, slots=True)
class SessionReport:
    summary: dict[str, Any]
    orders: list[OrderRow]
    start: datetime | None = None
    end: datetime | None = None

    def execution(self) -> dict[str, Any]:
        rows = [o.as_dict() for o in self.orders]
        statuses = Counter(o.status for o in self.orders)
        return {
            "window": _window(self.start, self.end),
            "orders": rows,
            "by_status": dict(sorted(statuses.items())),
            "fees": str(sum((o.fees for o in self.orders), ZERO)),
            "slippage_cost": str(sum((o.slippage_cost or ZERO for o in self.orders), ZERO)),
        }


@dataclass(frozen=True, slots=True)
class ReportPaths:
    summary_json: Path
    summary_csv: Path
    execution_json: Path
    execution_csv: Path
    # the window's transaction cost analysis (``analytics/``): roll-ups and per-order records; one row per
    # order; p50/p90/p99 of IS, spread paid and fill latency by symbol, sleeve, profile, order type, venue
    tca_json: Path | None = None
    tca_csv: Path | None = None
    tca_rollup_csv: Path | None = None

    def as_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items() if v is not None}


def report_dir(run_dir: Path, day: str, sub: str = "reports") -> Path:
    """``<run_dir>/<sub>/<day>``: where a session's reports go (``day``: the session label, ISO date)."""
    return Path(run_dir) / sub / day


def write_window_reports(
    store_path: Path, run_dir: Path, *, start: datetime | None, end: datetime | None, day: str,
    sub: str = "reports",
) -> ReportPaths:
    """Build the report of ``[start, end)`` into ``<run_dir>/<sub>/<day>/`` (flush the store first).

    At the session's close pass ``start=window.open, end=None``: everything up to now, so the bar that closes
    at the close and the close sequence's own events (recorded at or after ``window.close``) are included.
    """
    report = build_session_report(store_path, start=start, end=end)
    out = report_dir(run_dir, day, sub)
    return write_session_reports(report, out, tca=_window_tca(store_path, start, end))


def build_session_report(
    store_path: Path, *, start: datetime | None = None, end: datetime | None = None
) -> SessionReport:
    """Summary and per-order rows of the events in ``[start, end)`` (see the module doc)."""
    if not Path(store_path).exists():
        raise FileNotFoundError(f"no event store at {store_path}")
    with StoreReader(store_path) as reader:
        before = summarize_events(_pairs(_events(reader, None, start))) if start is not None else None
        through = summarize_events(_pairs(_events(reader, None, end)))
        window_counts = Counter(e.kind for e in _events(reader, start, end))
        first_bar, last_bar = _bar_range(_events(reader, start, end))
        orders = _order_rows(_events(reader, None, end), start)
    summary = _window_summary(before, through)
    summary.update({
        "window": _window(start, end),
        "first_bar": first_bar,
        "last_bar": last_bar,
        "cancels": window_counts["order_canceled"],
        "expired": window_counts["order_expired"],
        "trades_closed": window_counts["trade_closed"],
        "heartbeats": window_counts[HEARTBEAT_KIND],
        "startup_cleanups": window_counts[STARTUP_CLEANUP_KIND],
        "session_closes": window_counts[SESSION_CLOSE_KIND],
        "blocked_total": sum(summary["blocked"].values()),
    })
    return SessionReport(summary, orders, start, end)


def _window_tca(store_path: Path, start: datetime | None, end: datetime | None) -> WindowTca:
    """The window's TCA as ``tradebot report --from --to`` computes it (proxy spreads: no quotes here)."""
    from tradebot.analytics import execution_report as ex
    from tradebot.analytics.report import build_report

    built = build_report(store_path, start=start, end=end)
    return WindowTca(
        json={"verdict": built.data["verdict"], "costs": built.data["costs"],
              "execution": built.data["execution"], "orders": built.data["tca"]},
        orders_csv=ex.tca_csv(built.tca),
        rollup_csv=ex.rollup_csv(ex.by_group(built.tca)),
    )


@dataclass(frozen=True, slots=True)
class WindowTca:
    json: dict[str, Any]
    orders_csv: str
    rollup_csv: str


def write_session_reports(
    report: SessionReport, out_dir: Path, tca: WindowTca | None = None
) -> ReportPaths:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = ReportPaths(
        out / "summary.json", out / "summary.csv", out / "execution.json", out / "execution.csv",
        *((out / "tca.json", out / "tca.csv", out / "tca_rollup.csv") if tca is not None else ()),
    )
    option = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
    write_atomic(paths.summary_json, orjson.dumps(report.summary, option=option, default=str))
    write_atomic(paths.summary_csv, _csv([("key", "value"), *_flatten(report.summary)]))
    write_atomic(paths.execution_json, orjson.dumps(report.execution(), option=option, default=str))
    header = [f.name for f in fields(OrderRow) if not f.name.startswith("_")]
    rows = [tuple("" if v is None else v for v in o.as_dict().values()) for o in report.orders]
    write_atomic(paths.execution_csv, _csv([tuple(header), *rows]))
    if tca is not None:
        assert paths.tca_json is not None and paths.tca_csv is not None and paths.tca_rollup_csv is not None
        write_atomic(paths.tca_json, orjson.dumps(tca.json, option=option, default=str))
        write_atomic(paths.tca_csv, tca.orders_csv.encode())
        write_atomic(paths.tca_rollup_csv, tca.rollup_csv.encode())
    return paths


# --- summary ---------------------------------------------------------------------------------------
def _events(reader: StoreReader, start: datetime | None, end: datetime | None) -> Iterator[StoredEvent]:
    return reader.iter_events(start=start, end=end)


def _pairs(events: Iterable[StoredEvent]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    return ((e.kind, e.body) for e in events)


def _window_summary(before: dict[str, Any] | None, through: dict[str, Any]) -> dict[str, Any]:
    summary = dict(through)
    if before is None:
        return summary
    for key in _COUNTS:
        summary[key] = through[key] - before[key]
    for key in _COUNTERS:
        diff = Counter(through[key])
        diff.subtract(before[key])
        summary[key] = {code: n for code, n in sorted(diff.items()) if n}
    for key in _PNL_DELTAS:
        if key in through:
            summary[key] = str(Decimal(through[key]) - Decimal(before.get(key, "0")))
    summary["runs"] = through["runs"][len(before["runs"]):]
    return summary


def _bar_range(events: Iterable[StoredEvent]) -> tuple[str | None, str | None]:
    first = last = None
    for event in events:
        if event.kind == "bar":
            first = first or event.body["ts"]
            last = event.body["ts"]
    return first, last


def _window(start: datetime | None, end: datetime | None) -> dict[str, str | None]:
    return {"start": start.isoformat() if start else None, "end": end.isoformat() if end else None}


# --- orders ----------------------------------------------------------------------------------------
def _order_rows(events: Iterable[StoredEvent], start: datetime | None) -> list[OrderRow]:
    rows: dict[str, OrderRow] = {}
    in_window: set[str] = set()
    references: dict[str, Decimal] = {}
    requests: dict[str, Mapping[str, Any]] = {}
    instruments: dict[str, Instrument] = {}
    for event in events:
        kind, body = event.kind, event.body
        if kind == "run_start":
            for spec in body.get("instruments", []):
                instruments[spec["symbol"]] = from_body(Instrument, spec)
            continue
        if kind == "decision":
            order = body.get("order")
            approved = body.get("approved") or body.get("intent") or {}
            if order and approved.get("reference_price") is not None:
                references[order["client_order_id"]] = Decimal(approved["reference_price"])
            continue
        if kind not in _ORDER_EVENTS:
            continue
        cid = event.client_order_id or body.get("client_order_id")
        if not cid:
            continue
        if start is None or event.ts >= start:
            in_window.add(cid)
        row = rows.get(cid)
        if row is None:
            row = rows[cid] = _new_row(cid, requests, references)
        _apply(row, kind, body, event.ts)
        if kind == "order_submit":
            requests[cid] = body
            _fill_request(row, body, references.get(cid))
    result = [rows[cid] for cid in rows if cid in in_window]
    for row in result:
        _slippage(row, instruments.get(row.symbol))
    return result


def _new_row(
    cid: str, requests: Mapping[str, Mapping[str, Any]], references: Mapping[str, Decimal]
) -> OrderRow:
    row = OrderRow(client_order_id=cid)
    parent_id, _, leg = cid.rpartition("-")
    parent = requests.get(parent_id)
    if leg in ("sl", "tp") and parent is not None and parent.get("bracket"):
        bracket = parent["bracket"]
        is_stop = leg == "sl"
        level = bracket.get("stop_loss") if is_stop else bracket.get("take_profit")
        row.symbol = parent["symbol"]
        row.side = "SELL" if parent["side"] == "BUY" else "BUY"
        row.quantity = Decimal(parent["quantity"])
        row.order_type = "STOP" if is_stop else "LIMIT"
        row.tif = ""  # a leg's time in force is the venue's choice (the store does not say)
        row.reduce_only = True
        row.parent_client_order_id = parent_id
        row.intent_id = parent.get("intent_id", "")
        row.status = "ACCEPTED"
        if level is not None:
            row.reference_price = Decimal(level)
            row.reference_kind = "stop" if is_stop else "target"
    elif cid in references:
        row.reference_price = references[cid]
        row.reference_kind = "decision"
    return row


def _fill_request(row: OrderRow, body: Mapping[str, Any], reference: Decimal | None) -> None:
    row.symbol = body["symbol"]
    row.side = body["side"]
    row.quantity = Decimal(body["quantity"])
    row.order_type = body.get("order_type", "")
    row.tif = body.get("tif", "")
    row.reduce_only = bool(body.get("reduce_only", False))
    row.parent_client_order_id = body.get("parent_client_order_id")
    row.intent_id = body.get("intent_id", "")
    if reference is not None:
        row.reference_price, row.reference_kind = reference, "decision"


def _apply(row: OrderRow, kind: str, body: Mapping[str, Any], ts: datetime) -> None:
    row.last_event_at = ts.isoformat()
    terminal = row.status in _TERMINAL
    if kind == "order_submit":
        row.submitted_at = ts.isoformat()
        if row.status == "UNKNOWN":
            row.status = "SUBMITTED"
    elif kind == "order_filled":
        qty, price = Decimal(body["quantity"]), Decimal(body["price"])
        row.fills += 1
        row.filled_qty += qty
        row._notional += qty * price
        row.fees += Decimal(body.get("fee", "0"))
        if row.filled_qty:
            row.avg_fill_price = (row._notional / row.filled_qty).quantize(_PRICE).normalize()
        row.first_fill_at = row.first_fill_at or body.get("ts") or ts.isoformat()
        row.symbol = row.symbol or body.get("symbol", "")
        row.side = row.side or body.get("side", "")
        row.status = "FILLED" if Decimal(body.get("leaves_qty", "0")) == ZERO else "PARTIALLY_FILLED"
    elif kind == "order_accepted":
        if not terminal and row.status in ("UNKNOWN", "SUBMITTED"):
            row.status = "ACCEPTED"
    elif kind == "order_adopted":
        row.status = str(body.get("status", row.status))
        row.symbol = row.symbol or body.get("symbol", "")
        row.side = row.side or body.get("side", "")
    elif not terminal:
        row.status, row.reason = {
            "order_rejected": ("REJECTED", body.get("reason", "")),
            "order_canceled": ("CANCELED", body.get("reason", "")),
            "order_expired": ("EXPIRED", ""),
            "order_abandoned": ("ABANDONED", body.get("code", "")),
            "order_submit_failed": ("SUBMIT_FAILED", str(body.get("code") or body.get("error") or "")),
        }[kind]


def _slippage(row: OrderRow, instrument: Instrument | None) -> None:
    if row.avg_fill_price is None or row.reference_price is None or row.reference_price == ZERO:
        return
    sign = Decimal(1) if row.side == "BUY" else Decimal(-1)
    per_unit = (row.avg_fill_price - row.reference_price) * sign
    row.slippage_per_unit = per_unit
    row.slippage_bps = (per_unit / row.reference_price * Decimal(10_000)).quantize(_BPS)
    point_value = instrument.point_value(row.reference_price) if instrument is not None else Decimal(1)
    row.slippage_cost = per_unit * row.filled_qty * point_value


# --- output ----------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            if not value:
                yield name, ""
            yield from _flatten(value, name + ".")
        elif isinstance(value, list):
            yield name, orjson.dumps(value, default=str).decode()
        else:
            yield name, "" if value is None else value


def _csv(rows: list[tuple[Any, ...]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue().encode()
