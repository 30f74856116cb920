"""One read-only pass over the event store into the plain records the analytics need.

``load_view(path, start=, end=)`` reads every event with an event time before ``end`` (the portfolio and the
orders need their history), and marks which fall inside the window ``[start, end)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradebot.domain.codec import from_body
from tradebot.domain.instruments import Instrument
from tradebot.store import StoreReader

KINDS = (
    "run_start",
    "run_manifest",
    "bar",
    "decision",
    "order_submit",
    "order_submit_failed",
    "order_accepted",
    "order_rejected",
    "order_filled",
    "order_canceled",
    "order_cancel_request",
    "order_expired",
    "order_abandoned",
    "trading_state",
    "order_tca",
    "bar_refused",
    "trade_attribution",
)


@dataclass(frozen=True, slots=True)
class BarRow:
    symbol: str
    open_ts: datetime
    close_ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    seq: int = 0  # the event's place in the store (orders bars against fills)


@dataclass(frozen=True, slots=True)
class DecisionRow:
    ts: datetime
    symbol: str
    intent_id: str
    outcome: str  # APPROVED | BLOCKED | CLAMPED ...
    code: str
    gate: str  # the gate that blocked ("" when not blocked)
    side: str
    reference_price: Decimal | None
    source: str  # strategy | external | flatten | operator
    reduce_only: bool
    sleeve: str
    profile: str
    client_order_id: str | None
    stop_loss: Decimal | None = None  # the approved exit plan's stop level
    dvs: float | None = None  # the data validity score the dvs_floor gate saw (None: not reached)
    gates: tuple[str, ...] = ()  # the gates that gave a verdict, in chain order


@dataclass(frozen=True, slots=True)
class DataIssue:
    """A bar of one symbol refused by validation (its code)."""

    ts: datetime
    symbol: str
    code: str


@dataclass(frozen=True, slots=True)
class FillRow:
    seq: int
    client_order_id: str
    fill_id: str
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    ts: datetime  # the venue's execution time
    leaves_qty: Decimal


@dataclass(slots=True)
class OrderRecord:
    """Everything the store says about one client order id."""

    client_order_id: str
    symbol: str = ""
    side: str = ""
    quantity: Decimal | None = None
    order_type: str = ""
    reduce_only: bool = False
    intent_id: str = ""
    parent_client_order_id: str | None = None
    leg: str = ""  # sl | tp for a bracket leg
    trigger_price: Decimal | None = None  # a leg's stop or target level
    submitted_at: datetime | None = None
    in_window: bool = False
    fills: list[FillRow] = field(default_factory=list)
    rejected: bool = False
    canceled: bool = False
    cancel_requests: int = 0
    expired: bool = False
    abandoned: bool = False  # written ahead, never sent: a restart found the venue without it
    reason: str = ""


@dataclass(frozen=True, slots=True)
class StateMove:
    ts: datetime
    to: str
    code: str
    details: Mapping[str, Any]


@dataclass(slots=True)
class StoreView:
    start: datetime | None
    end: datetime | None
    starting_cash: Decimal = Decimal(0)
    instruments: dict[str, Instrument] = field(default_factory=dict)
    profile: str = ""
    modes: list[str] = field(default_factory=list)
    bars: dict[str, list[BarRow]] = field(default_factory=dict)  # every bar before ``end``
    decisions: list[DecisionRow] = field(default_factory=list)  # in the window
    decisions_by_intent: dict[str, DecisionRow] = field(default_factory=dict)  # every one before ``end``
    orders: dict[str, OrderRecord] = field(default_factory=dict)
    fills: list[FillRow] = field(default_factory=list)  # every fill before ``end``, store order
    state_moves: list[StateMove] = field(default_factory=list)  # in the window
    brackets: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # parent cid -> {sl, tp} levels
    tca_records: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # cid -> its latest order_tca
    data_issues: list[DataIssue] = field(default_factory=list)  # every one before ``end``
    attributions: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # trade key -> stored body
    chain: tuple[str, ...] = ()  # the gate chain of the first run
    # (run mode, symbol, hour) -> the first and last bar start in that hour: which days each mode saw
    bar_hours: dict[tuple[str, str, datetime], tuple[datetime, datetime]] = field(default_factory=dict)
    track_days: bool = False  # keep ``bar_hours`` (a reader of the whole store; the TCA watch does not)

    def in_window(self, ts: datetime) -> bool:
        return (self.start is None or ts >= self.start) and (self.end is None or ts < self.end)

    def point_value(self, symbol: str, entry: Decimal) -> Decimal:
        """Currency value of a one-point move per unit held from ``entry`` (the multiplier of a linear
        contract; face / entry of an inverse one)."""
        instrument = self.instruments.get(symbol)
        return instrument.point_value(entry) if instrument is not None else Decimal(1)

    def money(self, symbol: str, amount: Decimal) -> Decimal:
        """``amount`` as the run's portfolio keeps it: an inverse contract's to the 8th decimal."""
        instrument = self.instruments.get(symbol)
        return instrument.money(amount) if instrument is not None else amount

    def venue(self, symbol: str) -> str:
        instrument = self.instruments.get(symbol)
        return instrument.venue if instrument is not None else ""


# what the trades and their attribution need: no bars (MAE/MFE are then measured on the fills only), no
# acceptances, cancel requests or TCA records
TRADE_KINDS = tuple(
    k for k in KINDS if k not in ("bar", "order_accepted", "order_cancel_request", "order_tca")
)


def load_view(
    path: Path,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    kinds: tuple[str, ...] = KINDS,
) -> StoreView:
    view = StoreView(start, end, track_days=True)
    with StoreReader(path) as reader:
        for e in reader.iter_events(kinds=kinds, end=end):
            apply_event(view, e.seq, e.kind, e.ts, e.symbol, e.client_order_id, e.body)
    return view


def _bar_hour(view: StoreView, bar: BarRow) -> None:
    """Which run mode saw ``bar`` (the days an observe history covers)."""
    when = bar.open_ts
    key = (view.modes[-1] if view.modes else "", bar.symbol, when.replace(minute=0, second=0, microsecond=0))
    seen = view.bar_hours.get(key)
    view.bar_hours[key] = (when, when) if seen is None else (min(seen[0], when), max(seen[1], when))


def apply_event(
    view: StoreView,
    seq: int,
    kind: str,
    ts: datetime,
    symbol: str | None,
    cid: str | None,
    body: Mapping[str, Any],
) -> None:
    if kind == "run_start":
        view.modes.append(str(body.get("mode", "")))
        for spec in body.get("instruments", []):
            view.instruments[spec["symbol"]] = from_body(Instrument, spec)
        if len(view.modes) == 1:
            view.starting_cash = Decimal(str(body.get("starting_cash", "0")))
            view.chain = tuple(str(g) for g in body.get("chain") or ())
    elif kind == "run_manifest":
        strategy = (body.get("config") or {}).get("strategy") or {}
        view.profile = view.profile or str(strategy.get("profile") or "")
    elif kind == "bar":
        _bar(view, seq, symbol, body)
    elif kind == "decision":
        _decision(view, ts, body)
    elif kind == "order_tca":
        view.tca_records[str(body["client_order_id"])] = body
    elif kind == "bar_refused":
        name = str(symbol or body.get("symbol") or "")
        view.data_issues.append(DataIssue(ts, name, str(body.get("code", ""))))
    elif kind == "trade_attribution":
        view.attributions[str(body["trade"])] = body
    elif kind == "trading_state":
        if view.in_window(ts):
            view.state_moves.append(
                StateMove(
                    ts, str(body.get("to", "")), str(body.get("code", "")), dict(body.get("details") or {})
                )
            )
    else:
        _order_event(view, seq, kind, ts, cid or body.get("client_order_id"), body)


def _bar(view: StoreView, seq: int, symbol: str | None, body: Mapping[str, Any]) -> None:
    name = symbol or body.get("symbol") or next(iter(view.instruments), "")
    ts = body["ts"]
    open_ts = ts if isinstance(ts, datetime) else datetime.fromisoformat(ts)
    interval = timedelta(seconds=int(body.get("interval_s", 60)))
    row = BarRow(
        name,
        open_ts,
        open_ts + interval,
        _dec(body["open"]),
        _dec(body["high"]),
        _dec(body["low"]),
        _dec(body["close"]),
        seq,
    )
    view.bars.setdefault(name, []).append(row)
    if view.track_days:
        _bar_hour(view, row)


def _decision(view: StoreView, ts: datetime, body: Mapping[str, Any]) -> None:
    intent = body.get("approved") or body.get("intent") or {}
    gate = ""
    dvs: float | None = None
    verdicts = body.get("verdicts", [])
    for verdict in verdicts:
        if verdict.get("gate") == "dvs_floor" and (verdict.get("details") or {}).get("dvs") is not None:
            dvs = float(verdict["details"]["dvs"])
        if verdict.get("outcome") == "BLOCK":
            gate = str(verdict.get("gate", ""))
            break
    reference = intent.get("reference_price")
    stop_loss = (intent.get("exit_plan") or {}).get("stop_loss")
    order = body.get("order") or {}
    row = DecisionRow(
        ts=ts,
        symbol=str(intent.get("symbol", "")),
        intent_id=str(intent.get("intent_id", "")),
        outcome=str(body.get("outcome", "")),
        code=str(body.get("code", "")),
        gate=gate,
        side=str(intent.get("side", "")),
        reference_price=None if reference is None else Decimal(str(reference)),
        source=str(intent.get("source", "")),
        reduce_only=bool(intent.get("reduce_only", False)),
        sleeve=str(intent.get("sleeve") or body.get("sleeve") or ""),
        profile=str(intent.get("profile") or body.get("profile") or view.profile),
        client_order_id=order.get("client_order_id"),
        stop_loss=None if stop_loss is None else Decimal(str(stop_loss)),
        dvs=dvs,
        gates=tuple(str(v.get("gate", "")) for v in verdicts),
    )
    view.decisions_by_intent[row.intent_id] = row
    if view.in_window(ts):
        view.decisions.append(row)


def _order_event(
    view: StoreView, seq: int, kind: str, ts: datetime, cid: str | None, body: Mapping[str, Any]
) -> None:
    if not cid:
        return
    order = view.orders.get(cid)
    if order is None:
        order = view.orders[cid] = _new_order(view, cid)
    if view.in_window(ts):
        order.in_window = True
    if kind == "order_submit":
        order.symbol = str(body["symbol"])
        order.side = str(body["side"])
        order.quantity = Decimal(str(body["quantity"]))
        order.order_type = str(body.get("order_type", ""))
        order.reduce_only = bool(body.get("reduce_only", False))
        order.intent_id = str(body.get("intent_id", ""))
        order.parent_client_order_id = body.get("parent_client_order_id")
        order.submitted_at = datetime.fromisoformat(body["ts"]) if body.get("ts") else ts
        bracket = body.get("bracket") or {}
        levels = {"sl": bracket.get("stop_loss"), "tp": bracket.get("take_profit")}
        view.brackets[cid] = {leg: Decimal(str(v)) for leg, v in levels.items() if v is not None}
    elif kind == "order_filled":
        fill = FillRow(
            seq,
            cid,
            str(body.get("fill_id", f"{cid}#{seq}")),
            str(body.get("symbol") or order.symbol),
            str(body.get("side") or order.side),
            Decimal(str(body["quantity"])),
            Decimal(str(body["price"])),
            Decimal(str(body.get("fee", "0"))),
            datetime.fromisoformat(body["ts"]) if body.get("ts") else ts,
            Decimal(str(body.get("leaves_qty", "0"))),
        )
        if any(f.fill_id == fill.fill_id for f in order.fills):
            return  # the same execution told twice
        order.fills.append(fill)
        order.symbol = order.symbol or fill.symbol
        order.side = order.side or fill.side
        view.fills.append(fill)
    elif kind in ("order_rejected", "order_submit_failed"):
        order.rejected = True
        order.reason = str(body.get("reason") or body.get("code") or body.get("error") or "")
    elif kind == "order_canceled":
        order.canceled = True
        order.reason = str(body.get("reason", ""))
    elif kind == "order_cancel_request":
        order.cancel_requests += 1
    elif kind == "order_expired":
        order.expired = True
    elif kind == "order_abandoned":
        order.abandoned = True
        order.reason = str(body.get("code", ""))


def _new_order(view: StoreView, cid: str) -> OrderRecord:
    """A bracket leg (``<parent>-sl`` / ``<parent>-tp``) has no submit of its own: it is described by its
    parent's bracket (opposite side, same quantity, reduce-only, the stop or target level)."""
    order = OrderRecord(cid)
    parent_id, _, leg = cid.rpartition("-")
    parent = view.orders.get(parent_id)
    if leg not in ("sl", "tp") or parent is None:
        return order
    order.leg = leg
    order.symbol = parent.symbol
    order.side = "SELL" if parent.side == "BUY" else "BUY"
    order.quantity = parent.quantity
    order.order_type = "STOP" if leg == "sl" else "LIMIT"
    order.reduce_only = True
    order.intent_id = parent.intent_id
    order.parent_client_order_id = parent_id
    order.trigger_price = view.brackets.get(parent_id, {}).get(leg)
    return order


def _dec(value: Any) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
