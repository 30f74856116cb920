"""Restart after a crash or a stop: rebuild state from the store, then reconcile it with the venue.

The store is the record of what we decided and sent; the venue is the truth about what happened to it.
Reconciliation by client order id: an order written ahead but unknown to the venue was never sent and is
abandoned (ORDER_NOT_SENT_AFTER_RESTART — its bar has passed; it is not sent late); an order the venue
knows is adopted with the venue's status; fills the venue reports that the store lacks are applied and
recorded (each once, by fill id); positions that still disagree afterwards halt trading
(RECONCILIATION_MISMATCH): the run never trades on a position it cannot explain.

The rebuilt state is the state the run had when it stopped: every rolling state the gates read (the risk
tracker's counters and windows, the data validity window, the execution quality window, the trading state)
is fed the stored events in the order the run applied them, with the times it applied them. An abandoned
order is released like a rejected one — by reconciliation, and again by every later rebuild, which reads
its ``order_abandoned`` event. External intents already received or decided are known (``IntentHistory``),
so a restart decides each intent once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.domain.codec import from_body
from tradebot.domain.events import (
    BrokerEvent,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSnapshot,
    OrderStatus,
)
from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import IntentSource, OrderIntent, OrderRequest, child_order_id
from tradebot.intents.history import IntentHistory
from tradebot.oms.ledger import Ledger
from tradebot.pipeline.portfolio import Portfolio
from tradebot.risk.constitution import Constitution
from tradebot.risk.execution_quality import ExecutionQuality
from tradebot.risk.feed_validity import FeedValidity
from tradebot.risk.quarantine import KIND as QUARANTINE_KIND
from tradebot.risk.quarantine import Quarantine
from tradebot.risk.rule_state import state_of
from tradebot.risk.sleeve_allocation import AllocationRules
from tradebot.risk.time_stop import TimeStops
from tradebot.risk.tracker import RiskTracker
from tradebot.risk.trading_state import TradingStateMachine

if TYPE_CHECKING:
    from tradebot.analytics.attribution_watch import AttributionWatch
    from tradebot.analytics.tca_watch import TcaWatch
    from tradebot.brokers.protocol import Broker
    from tradebot.pipeline.engine import DecisionEngine

_EVENT_TYPES: dict[str, type[Any]] = {
    "order_accepted": OrderAccepted,
    "order_rejected": OrderRejected,
    "order_filled": OrderFilled,
    "order_canceled": OrderCanceled,
    "order_expired": OrderExpired,
}


@dataclass(slots=True)
class ResumeState:
    last_bar_ts: datetime | None = None
    last_bar: tuple[datetime, str] | None = None  # (end, symbol) of the last recorded bar
    clock_start: datetime | None = None
    last_refused_line: int = 0
    last_refused_lines: dict[str, int] = field(default_factory=dict)  # per feed symbol (several files)
    portfolio: Portfolio | None = None
    ledger: Ledger = field(default_factory=Ledger)
    tracker: RiskTracker | None = None
    machine: TradingStateMachine = field(default_factory=TradingStateMachine)
    last_fill_ts: datetime | None = None
    first_event_ts: datetime | None = None
    dvs: FeedValidity = field(default_factory=FeedValidity)
    eqs: ExecutionQuality = field(default_factory=ExecutionQuality)
    intents: IntentHistory = field(default_factory=IntentHistory)
    tca: TcaWatch | None = None  # the orders whose TCA records are still to be written
    attribution: AttributionWatch | None = None  # the trades open at the end of the store
    time_stops: TimeStops = field(default_factory=TimeStops)  # open positions' time stops


@dataclass(slots=True)
class _Submit:
    """An order written ahead whose submit has not returned yet in the stored record."""

    request: OrderRequest
    ts: datetime
    intent: OrderIntent | None


class _Rebuild:
    """Applies stored events to a ResumeState as the engine applied them when they happened.

    The engine counts an order as working when its submit returns SENT or UNKNOWN, after the write-ahead
    and the OMS's own records of that submit (failure, resubmit, adoption); a FAILED submit (the venue
    refused it: a failure record with any code but ORDER_STATUS_UNKNOWN) is never counted. A venue event
    changes the tracker only when it changed the ledger (a repeat is recorded but not applied)."""

    _SUBMIT_RECORDS = ("order_submit_failed", "order_resubmit", "order_adopted")

    def __init__(self, state: ResumeState, tracker: RiskTracker) -> None:
        self.state = state
        self.tracker = tracker
        self.approved: dict[str, OrderIntent] = {}
        self.pending: _Submit | None = None

    def flush(self) -> None:
        pending, self.pending = self.pending, None
        if pending is None:
            return
        request = pending.request
        self.tracker.on_order_submitted(request, pending.ts, pending.intent)
        arrival = pending.intent.reference_price if pending.intent is not None else None
        if arrival is not None:
            self.state.eqs.on_submitted(request.client_order_id, request.side, arrival, pending.ts)

    def apply(self, kind: str, ts: datetime, client_order_id: str | None, body: dict[str, Any]) -> None:
        state, tracker = self.state, self.tracker
        pending = self.pending
        ours = pending is not None and kind in self._SUBMIT_RECORDS and (
            body.get("client_order_id", client_order_id) == pending.request.client_order_id
        )
        if ours:
            assert pending is not None
            if kind == "order_submit_failed" and body.get("code") != reasons.ORDER_STATUS_UNKNOWN:
                self.pending = None  # FAILED: the venue does not have it; the engine never counted it
            elif kind == "order_adopted":
                state.ledger.adopt(from_body(OrderSnapshot, body))
            return
        self.flush()
        if kind == "run_start" and state.portfolio is None:
            state.portfolio = Portfolio(Decimal(body["starting_cash"]), tracker.instruments)
        elif kind == "bar":
            bar = from_body(Bar, body)
            state.last_bar_ts = bar.ts
            state.last_bar = (bar.end, bar.symbol)
            state.clock_start = ts
            tracker.on_bar(bar, ts)
            state.dvs.on_bar(bar, ts)
            if state.portfolio is not None:
                state.portfolio.mark(body["symbol"], Decimal(repr(body["close"])))
        elif kind == "bar_refused":
            state.dvs.on_rejected_bar(body["code"], body.get("symbol"))
            if body.get("line"):
                state.last_refused_line = max(state.last_refused_line, int(body["line"]))
                symbol = str(body.get("symbol") or "")
                lines = state.last_refused_lines
                lines[symbol] = max(lines.get(symbol, 0), int(body["line"]))
        elif kind == "decision":
            tracker.on_decision(body, ts)
            intent_body = body.get("intent") or {}
            if intent_body.get("source") == IntentSource.EXTERNAL.value:
                state.intents.on_decided(intent_body["intent_id"])
            if body.get("approved"):
                intent = from_body(OrderIntent, body["approved"])
                self.approved[intent.intent_id] = intent
        elif kind == "external_intent":
            state.intents.on_received(body["intent"]["intent_id"], body.get("line"))
        elif kind == "intent_refused" and body.get("line") is not None:
            state.intents.on_refused(int(body["line"]), body.get("raw", ""))
        elif kind == "order_submit":
            request = from_body(OrderRequest, body)
            if request.client_order_id not in state.ledger:
                state.ledger.record_intent(request)
                approved = self.approved.get(request.intent_id)
                state.time_stops.on_submit(request, approved)
                self.pending = _Submit(request, ts, approved)
        elif kind == "order_cancel_request":
            tracker.on_cancel_request(body["client_order_id"], ts)
        elif kind == "order_adopted":
            snapshot = from_body(OrderSnapshot, body)
            state.ledger.adopt(snapshot)  # the venue's word, as recorded
            state.eqs.on_found_at_venue(snapshot.client_order_id, ts)
            if snapshot.status.is_terminal:
                tracker.on_order_closed(snapshot.client_order_id, ts)
        elif kind == "order_abandoned":
            cid = body["client_order_id"]
            state.ledger.abandon(cid, body["code"])
            tracker.on_order_closed(cid, ts)
            state.eqs.forget(cid)
        elif kind in _EVENT_TYPES:
            event: BrokerEvent = from_body(_EVENT_TYPES[kind], body)
            if not state.ledger.apply(event):
                return
            tracker.on_order_event(event, ts)
            state.eqs.on_order_event(event, ts)
            if isinstance(event, OrderFilled):
                state.last_fill_ts = event.ts
                if state.portfolio is not None:
                    before = state.portfolio.position_qty(event.symbol)
                    state.portfolio.apply_fill(event)
                    state.time_stops.on_fill(event, before, state.portfolio.position_qty(event.symbol))
        elif kind == QUARANTINE_KIND:
            state_of(tracker.states, Quarantine).on_stored_change(body)
        elif kind == "trading_state" and body.get("machine"):
            state.machine = TradingStateMachine.restore(body["machine"])


def load_resume_state(
    store_path: Path,
    instruments: Mapping[str, Instrument],
    calendars: Any = None,
    *,
    tca: TcaWatch | None = None,
    allocation: AllocationRules | None = None,
    constitution: Constitution | None = None,
    until_seq: int | None = None,
    attribution: AttributionWatch | None = None,
) -> ResumeState:
    """Everything a restarted run needs from the store (an empty state for a new store). ``tca``, when
    given, is fed every stored event (the records it has still to write are those of the stored orders).
    ``allocation``: the sleeves' base weights and how they move (None: the single [strategy]); the weights
    are rebuilt from the stored bars and fills, so the stored ``sleeve_weight`` events are not read.
    ``constitution``: the rules the quarantine reads (its starts and releases are rebuilt too; a stored
    ``quarantine`` event only marks that change as stored). ``attribution``, with ``tca``, follows the
    stored trades (what it decides is discarded: a stored closing fill has its attribution beside it).
    ``until_seq``: the state just before that event (``tradebot explain`` re-runs a stored decision on it)."""
    tracker = RiskTracker(instruments, calendars, allocation=allocation, constitution=constitution)
    state = ResumeState(tracker=tracker, tca=tca, attribution=attribution if tca is not None else None)
    if not store_path.exists():
        return state
    from tradebot.store import StoreReader

    rebuild = _Rebuild(state, tracker)
    with StoreReader(store_path) as reader:
        if reader.max_seq() == 0:
            return state
        for event in reader.iter_events():
            if until_seq is not None and event.seq >= until_seq:
                break
            state.first_event_ts = state.first_event_ts or event.ts
            rebuild.apply(event.kind, event.ts, event.client_order_id, event.body)
            if tca is not None:
                tca.on_event(event.kind, event.ts, event.symbol, event.client_order_id, event.body, event.seq)
                if attribution is not None:
                    kind, cid, body = event.kind, event.client_order_id, event.body
                    attribution.on_event(tca.view, kind, event.ts, event.symbol, cid, body, event.seq)
    rebuild.flush()  # the last write-ahead: its submit never returned (reconciliation decides)
    return state


def _adopt(engine: DecisionEngine, known: OrderSnapshot, now: datetime) -> None:
    """Take the venue's state of an order, and record it (a later rebuild reads it)."""
    engine.ledger.adopt(known)
    engine.eqs.on_found_at_venue(known.client_order_id, now)
    if known.status.is_terminal:  # final at the venue: it will not trade any more
        engine.tracker.on_order_closed(known.client_order_id, now)
    engine.recorder.record(
        "order_adopted", asdict(known), ts=now, symbol=known.symbol, client_order_id=known.client_order_id
    )


async def _adopt_lost_legs(engine: DecisionEngine, broker: Broker, now: datetime) -> None:
    """The bracket legs the venue made for a parent whose events were lost with the kill (the parent's
    acknowledgement, the legs' own): looked up by their client order ids and adopted, so the run knows them
    as the uninterrupted run did — an exit cancels them, their fills close the position."""
    for entry in engine.ledger.entries():
        request = entry.request
        if request is None or request.bracket is None or entry.status is OrderStatus.REJECTED:
            continue  # no bracket, or the venue never had it (rejected, or abandoned at a restart)
        for leg in ("sl", "tp"):
            cid = child_order_id(entry.client_order_id, leg)
            if cid in engine.ledger:
                continue
            known = await broker.order_status(cid)
            if known is not None:
                _adopt(engine, known, now)


async def reconcile_after_restart(
    engine: DecisionEngine, broker: Broker, state: ResumeState
) -> dict[str, Any]:
    """Bring the rebuilt ledger and portfolio in line with the venue; record what was found."""
    now = engine.clock.now()
    report: dict[str, Any] = {"adopted": [], "abandoned": [], "fills_recovered": [], "mismatches": []}
    for entry in engine.ledger.entries():
        if not entry.is_open:
            continue
        known = await broker.order_status(entry.client_order_id)
        if known is None:
            if entry.status.value in ("PENDING_SUBMIT", "SUBMITTED"):
                engine.ledger.abandon(entry.client_order_id, reasons.ORDER_NOT_SENT_AFTER_RESTART)
                # released like a rejected order: it holds no exposure, no trade, no place in the position
                engine.tracker.on_order_closed(entry.client_order_id, now)
                engine.eqs.forget(entry.client_order_id)
                engine.recorder.record(
                    "order_abandoned",
                    {"client_order_id": entry.client_order_id, "code": reasons.ORDER_NOT_SENT_AFTER_RESTART},
                    ts=now,
                    symbol=entry.symbol,
                    client_order_id=entry.client_order_id,
                )
                report["abandoned"].append(entry.client_order_id)
            continue
        if known.status is not entry.status:
            report["adopted"].append({"client_order_id": entry.client_order_id, "status": known.status.value})
    since = (state.last_fill_ts or state.first_event_ts or now) - timedelta(seconds=1)
    for fill in await broker.fills_since(since):
        before = engine.stats.fills
        engine.on_broker_event(fill)
        if engine.stats.fills > before:
            report["fills_recovered"].append(fill.fill_id)
    for entry in engine.ledger.entries():
        if entry.is_open:
            known = await broker.order_status(entry.client_order_id)
            if known is not None and known.status is not entry.status:
                _adopt(engine, known, now)
    await _adopt_lost_legs(engine, broker, now)
    venue_positions = {p.symbol: p.quantity for p in await broker.positions()}
    ours = {s: p.quantity for s, p in engine.portfolio.positions.items() if p.quantity != 0}
    for symbol in sorted(set(venue_positions) | set(ours)):
        if venue_positions.get(symbol, Decimal(0)) != ours.get(symbol, Decimal(0)):
            report["mismatches"].append(
                {
                    "symbol": symbol,
                    "venue": str(venue_positions.get(symbol, 0)),
                    "ours": str(ours.get(symbol, 0)),
                }
            )
    engine.recorder.record("reconciliation", {"code": reasons.STARTUP_CLEANUP, **report}, ts=now)
    if report["mismatches"]:
        engine.ops.on_mismatch(now, {"when": "restart", "mismatches": report["mismatches"]})
        engine.fail_closed(reasons.RECONCILIATION_MISMATCH, mismatches=report["mismatches"])
    return report
