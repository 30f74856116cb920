"""Restart after a crash or a stop: rebuild state from the store, then reconcile it with the venue.

The store is the record of what we decided and sent; the venue is the truth about what happened to it.
Reconciliation by client order id: an order written ahead but unknown to the venue was never sent and is
abandoned (ORDER_NOT_SENT_AFTER_RESTART — its bar has passed; it is not sent late); an order the venue
knows is adopted with the venue's status; fills the venue reports that the store lacks are applied and
recorded (each once, by fill id); positions that still disagree afterwards halt trading
(RECONCILIATION_MISMATCH): the run never trades on a position it cannot explain.
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
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSnapshot,
)
from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import OrderIntent, OrderRequest
from tradebot.oms.ledger import Ledger
from tradebot.pipeline.portfolio import Portfolio
from tradebot.risk.tracker import RiskTracker
from tradebot.risk.trading_state import TradingStateMachine

if TYPE_CHECKING:
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
    clock_start: datetime | None = None
    last_refused_line: int = 0
    portfolio: Portfolio | None = None
    ledger: Ledger = field(default_factory=Ledger)
    tracker: RiskTracker | None = None
    machine: TradingStateMachine = field(default_factory=TradingStateMachine)
    last_fill_ts: datetime | None = None
    first_event_ts: datetime | None = None


def load_resume_state(
    store_path: Path, instruments: Mapping[str, Instrument], calendars: Any = None
) -> ResumeState:
    """Everything a restarted run needs from the store (an empty state for a new store)."""
    state = ResumeState(tracker=RiskTracker(instruments, calendars))
    if not store_path.exists():
        return state
    from tradebot.store import StoreReader

    tracker = state.tracker
    assert tracker is not None
    approved: dict[str, OrderIntent] = {}
    with StoreReader(store_path) as reader:
        if reader.max_seq() == 0:
            return state
        for event in reader.iter_events():
            kind, body = event.kind, event.body
            state.first_event_ts = state.first_event_ts or event.ts
            if kind == "run_start" and state.portfolio is None:
                state.portfolio = Portfolio(Decimal(body["starting_cash"]), instruments)
            elif kind == "bar":
                bar = from_body(Bar, body)
                state.last_bar_ts = bar.ts
                state.clock_start = event.ts
                tracker.on_bar(bar, event.ts)
                if state.portfolio is not None:
                    state.portfolio.mark(body["symbol"], Decimal(repr(body["close"])))
            elif kind == "bar_refused" and body.get("line"):
                state.last_refused_line = max(state.last_refused_line, int(body["line"]))
            elif kind == "decision" and body.get("approved"):
                intent = from_body(OrderIntent, body["approved"])
                approved[intent.intent_id] = intent
            elif kind == "order_submit":
                request = from_body(OrderRequest, body)
                if request.client_order_id not in state.ledger:
                    state.ledger.record_intent(request)
                    tracker.on_order_submitted(request, event.ts, approved.get(request.intent_id))
            elif kind == "order_adopted":
                state.ledger.adopt(from_body(OrderSnapshot, body))  # the venue's word, as recorded
            elif kind == "order_abandoned":
                state.ledger.abandon(body["client_order_id"], body["code"])
            elif kind in _EVENT_TYPES:
                broker_event = from_body(_EVENT_TYPES[kind], body)
                state.ledger.apply(broker_event)
                tracker.on_order_event(broker_event, event.ts)
                if isinstance(broker_event, OrderFilled):
                    state.last_fill_ts = broker_event.ts
                    if state.portfolio is not None:
                        state.portfolio.apply_fill(broker_event)
            elif kind == "trading_state" and body.get("machine"):
                state.machine = TradingStateMachine.restore(body["machine"])
    return state


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
                engine.ledger.adopt(known)
                engine.recorder.record(
                    "order_adopted",
                    asdict(known),
                    ts=now,
                    symbol=known.symbol,
                    client_order_id=known.client_order_id,
                )
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
        engine.fail_closed(reasons.RECONCILIATION_MISMATCH, mismatches=report["mismatches"])
    return report
