"""The decision stage: the one place that owns trading state.

Per bar, in this order (the same in every mode):
1. the simulated venue (if it is the venue) sees the bar first and fills resting orders — never on the
   bar that made the decision;
2. positions are marked to the bar's close;
3. flatten: if the session says positions must go (deadline, halt), reduce-only flatten intents;
4. the signal (computed upstream from bars alone) is sized into an intent against the current position;
5. every intent goes through the gate chain; the decision record is written; an approved intent becomes
   an exact OrderRequest and goes to the OMS (write-ahead, then the broker).
Broker events from a live venue arrive between bars and are applied here too, so one task mutates state.

The sizer runs here and not as a stage of its own because it reads the position; as a separate stage it
would race the fills of the bar before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from tradebot.brokers.protocol import Broker
from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.domain.clock import Clock, ReplayClock
from tradebot.domain.events import BrokerEvent, OrderFilled, OrderRejected
from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import OrderIntent
from tradebot.domain.signals import Signal
from tradebot.domain.state import Mode, TradingState
from tradebot.oms.builder import build_request
from tradebot.oms.client_ids import client_order_id
from tradebot.oms.ledger import Ledger
from tradebot.oms.manager import OrderManager, SubmitOutcome
from tradebot.pipeline.portfolio import Portfolio, TradeClosed
from tradebot.pipeline.recorder import Recorder
from tradebot.pipeline.stats import RunStats
from tradebot.risk.chain import GateChain
from tradebot.risk.context import GateContext
from tradebot.risk.verdict import Decision, Outcome


class BarVenue(Protocol):
    """A venue that matches resting orders against bars (the simulated venue)."""

    async def on_bar(self, bar: Bar) -> None: ...

    def drain_events(self) -> list[BrokerEvent]: ...


@dataclass(frozen=True, slots=True)
class SizingInput:
    signal: Signal
    instrument: Instrument
    position_qty: Decimal
    equity: Decimal
    now: datetime


# signal + state -> intents to evaluate, and a JSON-able record of how they were sized
Sizer = Callable[[SizingInput], tuple[Sequence[OrderIntent], Mapping[str, Any]]]
# state -> reduce-only flatten intents due now (deadline, halt)
Flattener = Callable[[datetime, Instrument, Decimal, Decimal], Sequence[OrderIntent]]


def _price(value: float) -> Decimal:
    return Decimal(repr(value))


class DecisionEngine:
    def __init__(
        self,
        *,
        mode: Mode,
        clock: Clock,
        instruments: Mapping[str, Instrument],
        broker: Broker,
        portfolio: Portfolio,
        chain: GateChain,
        sizer: Sizer,
        recorder: Recorder,
        stats: RunStats,
        flattener: Flattener | None = None,
        ledger: Ledger | None = None,
        trading_state: TradingState = TradingState.ACTIVE,
        resume_after: datetime | None = None,
    ) -> None:
        self.mode = mode
        self.clock = clock
        self.instruments = instruments
        self.broker = broker
        self.bar_venue: BarVenue | None = broker if hasattr(broker, "on_bar") else None  # type: ignore[assignment]
        self.portfolio = portfolio
        self.chain = chain
        self.sizer = sizer
        self.recorder = recorder
        self.stats = stats
        self.flattener = flattener
        self.ledger = ledger or Ledger()
        self.oms = OrderManager(broker, self.ledger, recorder, clock)
        self.trading_state = trading_state
        self.state_reason = ""
        self.on_trade_closed: list[Callable[[TradeClosed], None]] = []
        # resuming: bars up to here are in the store already; they only warm the ensemble upstream
        self.resume_after = resume_after

    # --- state --------------------------------------------------------------------------------------
    def set_trading_state(self, state: TradingState, code: str, **details: Any) -> None:
        if state is self.trading_state:
            return
        previous = self.trading_state
        self.trading_state = state
        self.state_reason = code
        self.stats.trading_state = state.value
        self.recorder.record(
            "trading_state",
            {"from": previous.value, "to": state.value, "code": code, "details": details},
            ts=self.clock.now(),
        )

    def on_store_failure(self, exc: BaseException) -> None:
        """The store cannot write: nothing may trade on without a record."""
        self.trading_state = TradingState.HALTED
        self.state_reason = reasons.STORE_WRITE_FAILED
        self.stats.trading_state = TradingState.HALTED.value

    # --- bars ---------------------------------------------------------------------------------------
    async def on_bar(self, bar: Bar, signal: Signal | None) -> None:
        if self.resume_after is not None and bar.ts <= self.resume_after:
            self.portfolio.mark(bar.symbol, _price(bar.close))
            return
        await self.recorder.wait_capacity()
        if isinstance(self.clock, ReplayClock):
            self.clock.advance_to(bar.end)
        now = self.clock.now()
        instrument = self.instruments[bar.symbol]
        if self.bar_venue is not None:
            await self.bar_venue.on_bar(bar)
            self._apply_venue_events()
        close = _price(bar.close)
        self.portfolio.mark(bar.symbol, close)
        self.stats.bars += 1
        self.stats.first_bar = self.stats.first_bar or bar.ts.isoformat()
        self.stats.last_bar = bar.ts.isoformat()
        self.recorder.record(
            "bar",
            {"symbol": bar.symbol, "ts": bar.ts, "open": bar.open, "high": bar.high, "low": bar.low, "close": bar.close,
             "volume": bar.volume, "interval_s": bar.interval_s},
            ts=now, symbol=bar.symbol,
        )
        intents: list[OrderIntent] = []
        if self.flattener is not None:
            intents.extend(
                self.flattener(now, instrument, self.portfolio.position_qty(bar.symbol), close)
            )
        if signal is not None and not intents:
            self.stats.signals += 1
            self.recorder.record("signal", asdict(signal), ts=now, symbol=bar.symbol)
            sized, record = self.sizer(
                SizingInput(signal, instrument, self.portfolio.position_qty(bar.symbol),
                            self.portfolio.equity, now)
            )
            if record:
                self.recorder.record("sizing", dict(record), ts=now, symbol=bar.symbol)
            intents.extend(sized)
        for intent in intents:
            await self.decide(intent)

    # --- decisions ----------------------------------------------------------------------------------
    def context(self, intent: OrderIntent) -> GateContext:
        instrument = self.instruments[intent.symbol]
        last = self.portfolio.last_prices.get(intent.symbol, intent.reference_price)
        return GateContext(
            now=self.clock.now(),
            mode=self.mode,
            trading_state=self.trading_state,
            instrument=instrument,
            last_price=last,
            equity=self.portfolio.equity,
            position_qty=self.portfolio.position_qty(intent.symbol),
            pending_qty=self.ledger.working_entry_qty(intent.symbol),
            positions={s: p.quantity for s, p in self.portfolio.positions.items()},
        )

    async def decide(self, intent: OrderIntent) -> Decision:
        self.stats.intents += 1
        now = self.clock.now()
        decision = self.chain.evaluate(intent, self.context(intent))
        for verdict in decision.verdicts:
            if verdict.outcome is Outcome.CLAMP and verdict.code:
                self.stats.clamped[verdict.code] += 1
        blocked = decision.blocked_by
        request = None
        if blocked is not None:
            self.stats.blocked[blocked.code or reasons.GATE_FAILURE] += 1
        else:
            assert decision.approved is not None
            approved = decision.approved
            try:
                request = build_request(
                    approved, self.instruments[approved.symbol], client_order_id(approved.intent_id)
                )
            except ValueError as exc:
                self.stats.blocked[reasons.INSTRUMENT_INCREMENT_BLOCK] += 1
                blocked_detail = {"error": str(exc)}
                self.recorder.record(
                    "decision", _decision_body(decision, None, blocked_detail), ts=now, symbol=intent.symbol
                )
                return decision
            self.stats.approved += 1
        self.recorder.record("decision", _decision_body(decision, request), ts=now, symbol=intent.symbol)
        if request is not None:
            outcome = await self.oms.submit(request)
            if outcome is SubmitOutcome.SENT:
                self.stats.orders += 1
            elif outcome is SubmitOutcome.UNKNOWN:
                self.set_trading_state(TradingState.REDUCING, "ORDER_STATUS_UNKNOWN",
                                       client_order_id=request.client_order_id)
            self._apply_venue_events()
        return decision

    # --- venue events -------------------------------------------------------------------------------
    def _apply_venue_events(self) -> None:
        if self.bar_venue is None:
            return
        for event in self.bar_venue.drain_events():
            self.on_broker_event(event)

    def on_broker_event(self, event: BrokerEvent) -> None:
        if not self.ledger.apply(event):
            if not isinstance(event, OrderFilled):
                self.recorder.record(event.kind, asdict(event), ts=self.clock.now())
            return
        symbol = getattr(event, "symbol", None)
        cid = getattr(event, "client_order_id", None)
        entry = self.ledger.get(cid) if cid else None
        self.recorder.record(event.kind, asdict(event), ts=self.clock.now(),
                             symbol=symbol or (entry.symbol if entry else None), client_order_id=cid)
        if isinstance(event, OrderFilled):
            self.stats.fills += 1
            closed = self.portfolio.apply_fill(event)
            if closed is not None:
                self.recorder.record("trade_closed", asdict(closed), ts=self.clock.now(), symbol=closed.symbol)
                for callback in self.on_trade_closed:
                    callback(closed)
        elif isinstance(event, OrderRejected):
            self.stats.rejects += 1

    def finish(self) -> None:
        self.stats.realized_pnl = self.portfolio.realized_pnl
        self.stats.unrealized_pnl = self.portfolio.total_unrealized
        self.stats.fees = self.portfolio.fees
        self.stats.positions = {s: str(p.quantity) for s, p in self.portfolio.positions.items()}


def _decision_body(
    decision: Decision, request: Any, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    blocked = decision.blocked_by
    return {
        "intent": asdict(decision.intent),
        "verdicts": [
            {"gate": v.gate, "outcome": v.outcome.value, "code": v.code, "details": dict(v.details)}
            for v in decision.verdicts
        ],
        "outcome": "BLOCKED" if blocked or extra else "APPROVED",
        "code": (blocked.code if blocked else None) or (reasons.INSTRUMENT_INCREMENT_BLOCK if extra else None),
        "order": asdict(request) if request is not None else None,
        "config_hash": decision.config_hash,
        **({"details": dict(extra)} if extra else {}),
    }
