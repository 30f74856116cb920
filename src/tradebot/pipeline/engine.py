"""The decision stage: the one place that owns trading state.

Per bar, in this order (the same in every mode):
1. the simulated venue (if it is the venue) sees the bar first and fills resting orders — never on the
   bar that made the decision;
2. positions are marked to the bar's close;
3. flatten: if the session says positions must go (deadline, halt), reduce-only flatten intents; else a
   position whose entry's time stop has passed is closed (risk/time_stop.py);
4. the signal (computed upstream from bars alone) is sized into an intent against the current position;
5. every intent goes through the gate chain; the decision record is written; an approved intent becomes
   an exact OrderRequest and goes to the OMS (write-ahead, then the broker).
Broker events from a live venue arrive between bars and are applied here too, so one task mutates state.

The sizer runs here and not as a stage of its own because it reads the position; as a separate stage it
would race the fills of the bar before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from tradebot.brokers.cancel_orders import cancel_orders
from tradebot.brokers.protocol import Broker
from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.domain.clock import Clock, ReplayClock
from tradebot.domain.events import BrokerEvent, OrderFilled, OrderRejected, OrderStatus
from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import IntentSource, OrderIntent, OrderRequest
from tradebot.domain.signals import Signal, SleeveSignals
from tradebot.domain.state import Mode, TradingState
from tradebot.intents.history import IntentHistory, Triage, stale_verdict
from tradebot.learning.apply import AppliedOverrides
from tradebot.oms.builder import build_request
from tradebot.oms.client_ids import client_order_id
from tradebot.oms.ledger import Ledger
from tradebot.oms.manager import OrderManager, SubmitOutcome
from tradebot.pipeline.ops_hooks import OpsHooks
from tradebot.pipeline.portfolio import Portfolio, TradeClosed
from tradebot.pipeline.recorder import Recorder
from tradebot.pipeline.stats import RunStats
from tradebot.risk.chain import GateChain
from tradebot.risk.context import GateContext
from tradebot.risk.decision_record import decision_record
from tradebot.risk.execution_quality import ExecutionQuality
from tradebot.risk.feed_validity import FeedValidity
from tradebot.risk.flatten import flatten_intents
from tradebot.risk.quarantine import KIND as QUARANTINE_KIND
from tradebot.risk.quarantine import Quarantine
from tradebot.risk.rule_state import state_of
from tradebot.risk.rules import LimitsRules
from tradebot.risk.sleeve_allocation import allocation_state, weights_record
from tradebot.risk.time_stop import TimeStops
from tradebot.risk.tracker import RiskTracker
from tradebot.risk.trading_state import TradingStateMachine, Transition
from tradebot.risk.verdict import Decision, Outcome
from tradebot.shadow.runner import KIND as SHADOW_KIND
from tradebot.shadow.runner import ShadowRunner
from tradebot.sizing.netting import Netting


@runtime_checkable
class BarVenue(Protocol):
    """A venue that matches resting orders against bars (the simulated venue): the duties it has beyond
    the broker protocol. The run checks ``isinstance(broker, BarVenue)``, never single attributes.

    It keeps no state of its own: a restart rebuilds it from the store (pipeline/venue_projection.py), from
    the recorded bars, write-aheads and cancels. So the events a bar causes at the venue are recorded
    before the bar itself, and every order or cancel sent to it is recorded (before the call, or by the
    venue's answer to it)."""

    async def on_bar(self, bar: Bar) -> None: ...

    def drain_events(self) -> list[BrokerEvent]: ...

    def register_instrument(self, instrument: Instrument) -> None: ...


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


# a bar's signal (one strategy's, or every sleeve's) and the sizer's record of it, when the bar was sized
Sized = tuple[Signal | SleeveSignals, dict[str, Any] | None]


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
        limits: Callable[[str], LimitsRules],
        flattener: Flattener | None = None,
        ledger: Ledger | None = None,
        tracker: RiskTracker | None = None,
        machine: TradingStateMachine | None = None,
        constitution_sha256: str = "",
        snapshot_sha256: str = "",
        resume_after: datetime | None = None,
        resume_after_bar: tuple[datetime, str] | None = None,
        ops: OpsHooks | None = None,
        dvs: FeedValidity | None = None,
        eqs: ExecutionQuality | None = None,
        intent_history: IntentHistory | None = None,
        intent_max_age: timedelta = timedelta(minutes=2),
        netting: Netting | None = None,
        time_stops: TimeStops | None = None,
    ) -> None:
        self.mode = mode
        self.clock = clock
        self.instruments = instruments
        self.broker = broker
        self.bar_venue: BarVenue | None = broker if isinstance(broker, BarVenue) else None
        self.portfolio = portfolio
        self.chain = chain
        self.sizer = sizer
        self.netting = netting  # several sleeves: their targets netted into one order per instrument
        self.recorder = recorder
        self.stats = stats
        self.limits = limits
        self.flattener = flattener
        self.ledger = ledger or Ledger()
        self.tracker = tracker or RiskTracker(instruments)
        self.allocation = allocation_state(self.tracker.states)  # the sleeves' current capital weights
        self.quarantine = state_of(self.tracker.states, Quarantine)  # its starts and releases are stored
        self.machine = machine or TradingStateMachine()
        # resuming: the windows as the stopped run left them (rebuilt from the store)
        self.dvs = dvs or FeedValidity()
        self.eqs = eqs or ExecutionQuality()
        self.constitution_sha256 = constitution_sha256
        self.snapshot_sha256 = snapshot_sha256  # the stored decision_snapshot every record names
        self.ops = ops or OpsHooks()
        self.flatten_requested = False  # an operator's flatten, done at the next bar
        self.time_stops = time_stops or TimeStops()  # open positions' time stops (rebuilt on a restart)
        self.pending_external: list[OrderIntent] = []  # replay clock: external intents due later
        # external intents received and decided so far, by this run and the runs before it on this store
        self.intent_history = intent_history or IntentHistory()
        self.intent_max_age = intent_max_age  # older than this at the gates: INTENT_STALE
        # a cron session: bars closing before the open only warm up; the last bar of the window flattens
        self.session_open: datetime | None = None
        self.session_close: datetime | None = None
        self.flatten_at_session_close = True
        self.oms = OrderManager(broker, self.ledger, recorder, clock)
        self.stats.trading_state = self.machine.state.value
        self.on_trade_closed: list[Callable[[TradeClosed], None]] = []
        # the learned overrides this run applied (None: learning off): named in every decision record
        self.learned: AppliedOverrides | None = None
        # [shadow]: parameter sets traded on paper beside the live one, fed every bar (shadow/runner.py)
        self.shadow: ShadowRunner | None = None
        # resuming: bars up to here are in the store already; they only warm the ensemble upstream
        self.resume_after = resume_after
        # several feeds: the (end, symbol) of the last recorded bar, in the merged feeds' order
        self.resume_after_bar = resume_after_bar

    @property
    def trading_state(self) -> TradingState:
        return self.machine.state

    # --- state --------------------------------------------------------------------------------------
    def _record_transitions(self, transitions: Sequence[Transition | None]) -> None:
        for transition in transitions:
            if transition is None:
                continue
            self.stats.trading_state = transition.to_state.value
            self.recorder.record(
                "trading_state",
                {**transition.to_dict(), "machine": self.machine.to_dict()},
                ts=self.clock.now(),
            )
            self.ops.on_state(self.clock.now(), transition.to_state, transition.code, transition.details)

    def fail_closed(self, code: str, state: TradingState = TradingState.HALTED, **details: Any) -> None:
        """An error in the decision or order path: hold the state until an operator resumes."""
        self._record_transitions([self.machine.fail(self.clock.now(), code, state, **details)])

    def operator_halt(self, code: str, **details: Any) -> None:
        self._record_transitions([self.machine.operator_halt(self.clock.now(), code, **details)])

    def operator_resume(self, **details: Any) -> None:
        self._record_transitions([self.machine.operator_resume(self.clock.now(), **details)])

    def _update_state(self, symbol: str) -> None:
        now = self.clock.now()
        status = self.tracker.daily_status(symbol, now)
        self._record_transitions(self.machine.on_status(now, status, self.limits(symbol)))
        self.ops.on_portfolio(self.portfolio, symbol)

    def on_store_failure(self, exc: BaseException) -> None:
        """The store cannot write: nothing may trade on without a record (no recording: it is broken)."""
        self.machine.fail(self.clock.now(), reasons.STORE_WRITE_FAILED, error=repr(exc))
        self.stats.trading_state = TradingState.HALTED.value

    def _decided_before_restart(self, bar: Bar) -> bool:
        if self.resume_after_bar is not None:
            return (bar.end, bar.symbol) <= self.resume_after_bar
        return self.resume_after is not None and bar.ts <= self.resume_after

    def on_refused_bar(self, code: str, symbol: str | None = None) -> None:
        self.dvs.on_rejected_bar(code, symbol)

    # --- bars ---------------------------------------------------------------------------------------
    async def on_bar(self, bar: Bar, signal: Signal | SleeveSignals | None) -> None:
        if self._decided_before_restart(bar):
            self.portfolio.mark(bar.symbol, _price(bar.close))
            if self.shadow is not None:  # rebuilt from the bars: its trades of them are stored already
                self.shadow.on_bar(bar, signal)
            return
        await self.recorder.wait_capacity()
        # one commit unit per bar: what the venue did with it (its fills), the bar, and what was decided on
        # it. A kill never leaves a bar without its fills or its decisions: a restart resumes after the last
        # stored bar, so it neither loses a decision nor finds a fill its venue (rebuilt from the bars) lacks
        with self.recorder.unit():
            await self._on_bar(bar, signal)

    async def _on_bar(self, bar: Bar, signal: Signal | SleeveSignals | None) -> None:
        if isinstance(self.clock, ReplayClock):
            self.clock.advance_to(bar.end)
        now = self.clock.now()
        instrument = self.instruments[bar.symbol]
        if self.bar_venue is not None:
            await self.bar_venue.on_bar(bar)
            self._apply_venue_events()
        close = _price(bar.close)
        self.portfolio.mark(bar.symbol, close)
        if self.shadow is not None:
            for trade in self.shadow.on_bar(bar, signal):
                self.recorder.record(SHADOW_KIND, trade.as_dict(), ts=now, symbol=bar.symbol)
        self.tracker.on_bar(bar, now)
        self.dvs.on_bar(bar, now)
        self.ops.on_bar(bar, instrument.calendar, now)  # a gap in the feed: ALERT_STALE_DATA
        self.stats.bars += 1
        self.stats.first_bar = self.stats.first_bar or bar.ts.isoformat()
        self.stats.last_bar = bar.ts.isoformat()
        for change in self.allocation.changes:  # this bar closed a session day: sleeve weights moved
            self.recorder.record("sleeve_weight", change.body(), ts=now)
        intents, reasons_of, sized = self._intents(bar, signal, instrument, now, close)
        # one event per bar: the bar with the signal it produced and what the sizer made of it
        self.recorder.record("bar", _bar_body(bar, sized), ts=now, symbol=bar.symbol)
        self._record_quarantine_changes()
        self._update_state(bar.symbol)
        for intent in intents:
            await self.decide(intent, reasons_of.get(intent.intent_id))
        await self._release_external(now)

    def _intents(
        self,
        bar: Bar,
        signal: Signal | SleeveSignals | None,
        instrument: Instrument,
        now: datetime,
        close: Decimal,
    ) -> tuple[list[OrderIntent], dict[str, Mapping[str, Any]], Sized | None]:
        """What the bar makes the pipeline want: a flatten, a time stop's exit, or the sizer's intents; why
        the pipeline made each of its own; and the signal with the sizer's record when it was sized."""
        intents: list[OrderIntent] = []
        reasons_of: dict[str, Mapping[str, Any]] = {}  # intent id -> why it was made (its record's extra)
        position = self.portfolio.position_qty(bar.symbol)
        if self.session_open is not None and now < self.session_open:
            return intents, reasons_of, None  # before the session: the bar warms the signals, nothing decided
        if (
            self.session_close is not None
            and self.flatten_at_session_close
            and now + timedelta(seconds=bar.interval_s) >= self.session_close
            and position != 0
        ):
            intents.extend(flatten_intents(now, instrument, position, close, tag="session-close"))
        elif self.flatten_requested and position != 0:
            intents.extend(
                flatten_intents(
                    now,
                    instrument,
                    position,
                    close,
                    source=IntentSource.OPERATOR,
                    tag="operator-flatten",
                )
            )
        elif self.flattener is not None:
            intents.extend(self.flattener(now, instrument, position, close))
        self.flatten_requested = False
        if not intents and position != 0:
            due = self.time_stops.due(now, instrument, position, close, self.ledger.open_entries(bar.symbol))
            if due is not None:
                stop, exit_ = due
                reasons_of[exit_.intent_id] = stop.reason(now)
                intents.append(exit_)
        if intents or signal is None:
            return intents, reasons_of, None
        if isinstance(signal, SleeveSignals):
            netted, netting = self._netted(signal, instrument, now)
            return netted, reasons_of, (signal, netting)
        self.stats.signals += 1
        sized, record = self.sizer(SizingInput(signal, instrument, position, self.portfolio.equity, now))
        return list(sized), reasons_of, (signal, dict(record) if record else None)

    def _netted(
        self, signals: SleeveSignals, instrument: Instrument, now: datetime
    ) -> tuple[list[OrderIntent], dict[str, Any]]:
        """Several sleeves: their targets netted into at most one intent, and the netting's record."""
        assert self.netting is not None, "sleeve signals need the run's netting"
        self.stats.signals += sum(1 for each in signals.signals if each.signal is not None)
        position = self.portfolio.position_qty(signals.symbol)
        weights = self.allocation.weights()
        intents, record = self.netting(signals, instrument, position, self.portfolio.equity, now, weights)
        return intents, dict(record)

    # --- external intents ---
    async def on_external(self, item: Any) -> None:
        """A parsed external intent, or a refusal naming the bad field (recorded, never half-applied).

        On the replay clock an intent waits for the first bar that closes at or after its ``ts``, so a
        replay with an intent file is as deterministic as one without; on the wall clock it goes now.
        Each intent is received once and decided once, across restarts: an item the store already holds
        (the same line of the file read again) is not recorded again, and not decided again once decided;
        a new message reusing a received intent id is refused as a duplicate.
        """
        from tradebot.intents import IntentRefusal

        self.ops.input_received()
        history = self.intent_history
        triage = history.triage(item)
        if triage is Triage.SKIP:
            return
        if isinstance(item, IntentRefusal) or triage is Triage.REFUSE:
            refusal = item if isinstance(item, IntentRefusal) else history.duplicate_refusal(item)
            history.on_refused(refusal.line, refusal.raw)
            self.recorder.record("intent_refused", asdict(refusal), ts=self.clock.now())
            return
        intent = item.intent
        if triage is Triage.RECORD:
            history.on_received(intent.intent_id, item.line)
            self.recorder.record(
                "external_intent",
                {"intent": asdict(intent), "ignored": item.ignored, "line": item.line},
                ts=self.clock.now(),
                symbol=intent.symbol,
            )
        if isinstance(self.clock, ReplayClock) and intent.ts > self.clock.now():
            self.pending_external.append(intent)
            self.pending_external.sort(key=lambda i: (i.ts, i.intent_id))
            return
        await self._decide_external(intent)

    async def _release_external(self, now: datetime) -> None:
        while self.pending_external and self.pending_external[0].ts <= now:
            await self._decide_external(self.pending_external.pop(0))

    async def _decide_external(self, intent: OrderIntent) -> None:
        """Into the gates, unless it is older than the staleness horizon: then refused (INTENT_STALE) and
        recorded as a decision, never sent."""
        self.intent_history.on_decided(intent.intent_id)
        now = self.clock.now()
        stale = stale_verdict(intent, now, self.intent_max_age)
        if stale is None:
            await self.decide(intent)
            return
        self.stats.intents += 1
        self.stats.blocked[reasons.INTENT_STALE] += 1
        self.ops.on_decision(reasons.INTENT_STALE, intent.symbol)
        decision = Decision(intent, (stale,), None, self.chain.config_hash)
        self._record_decision(decision_record(decision, constitution_sha256=self.constitution_sha256), now)

    # --- decisions ----------------------------------------------------------------------------------
    def context(self, intent: OrderIntent, now: datetime | None = None) -> GateContext:
        now = now or self.clock.now()
        last = self.portfolio.last_prices.get(intent.symbol, intent.reference_price)
        return self.tracker.snapshot(
            intent,
            now,
            self.portfolio.equity,
            last,
            self.mode,
            self.machine.state,
            self.dvs.score(now, intent.symbol),
            self.eqs.score(now),
            trading_state_reason=self.machine.reason,
        )

    async def decide(self, intent: OrderIntent, reason: Mapping[str, Any] | None = None) -> Decision:
        """Gates, record, and (approved) the order. ``reason``: why the pipeline itself made the intent (a
        time stop), stored as the decision record's ``extra``."""
        self.stats.intents += 1
        now = self.clock.now()
        decision = self.chain.evaluate(intent, self.context(intent, now))
        for verdict in decision.verdicts:
            if verdict.outcome is Outcome.CLAMP and verdict.code:
                self.stats.clamped[verdict.code] += 1
        if decision.approved is not None:
            breaker = self.ops.allow_order(now, decision.approved.reduce_only)
            if not breaker.allowed:
                decision = Decision(
                    decision.intent,
                    (*decision.verdicts, breaker.to_verdict("breaker")),
                    None,
                    decision.config_hash,
                )
        blocked = decision.blocked_by
        self.ops.on_decision(blocked.code if blocked else None, intent.symbol)
        request: OrderRequest | None = None
        if blocked is not None:
            self.stats.blocked[blocked.code or reasons.GATE_FAILURE] += 1
        else:
            approved = decision.approved
            assert approved is not None
            try:
                request = build_request(
                    approved, self.instruments[approved.symbol], client_order_id(approved.intent_id)
                )
            except ValueError as exc:  # the instrument gate should have caught it: refuse, fail closed
                self.stats.blocked[reasons.INSTRUMENT_INCREMENT_BLOCK] += 1
                record = decision_record(
                    decision, constitution_sha256=self.constitution_sha256, extra=reason
                )
                record.update(outcome="BLOCKED", code=reasons.INSTRUMENT_INCREMENT_BLOCK, error=str(exc))
                self._record_decision(record, now)
                return decision
            self.stats.approved += 1
        self._record_decision(
            decision_record(
                decision, order=request, constitution_sha256=self.constitution_sha256, extra=reason
            ),
            now,
        )
        if request is None:
            return decision
        if request.reduce_only and not self.oms.unsupported(request):
            # an exit replaces the position's resting stop/target legs: a venue may hold the position for
            # them (Alpaca: 403 insufficient qty) or fill them after the position is gone
            code = _CANCEL_CODES.get(intent.source, reasons.EXIT_REPLACES_LEGS)
            await self._cancel_working_exits(request.symbol, code)
        self.time_stops.on_submit(request, decision.approved)  # an entry with a time stop is armed
        outcome = await self.oms.submit(request)
        self.ops.on_submitted(request.symbol, outcome.value)
        if outcome in (SubmitOutcome.SENT, SubmitOutcome.UNKNOWN):
            assert decision.approved is not None
            self.tracker.on_order_submitted(request, now, decision.approved)
            self.eqs.on_submitted(request.client_order_id, request.side, approved_price(decision), now)
        if outcome is SubmitOutcome.SENT:
            self.stats.orders += 1
            self.ops.submit_succeeded(now)
        elif outcome in (SubmitOutcome.FAILED, SubmitOutcome.UNKNOWN):
            self.ops.submit_failed(now, self.oms.last_error)
        elif outcome is SubmitOutcome.REFUSED:  # recorded by the OMS; nothing was sent
            self.stats.blocked[reasons.UNSUPPORTED_ORDER_TYPE] += 1
        if outcome is SubmitOutcome.UNKNOWN:
            self.fail_closed(
                reasons.ORDER_STATUS_UNKNOWN, TradingState.REDUCING, client_order_id=request.client_order_id
            )
        elif outcome is SubmitOutcome.FAILED and self.oms.last_error is not None:
            error = self.oms.last_error
            if error.action.value == "HALT_TRADING":
                self.fail_closed(error.code, client_order_id=request.client_order_id)
        self._apply_venue_events()
        return decision

    def _record_decision(self, record: dict[str, Any], now: datetime) -> None:
        """Store a decision record at ``now``, the time its gates were evaluated at; the rules that keep their
        own state read it too (as a restart does)."""
        if self.snapshot_sha256:  # everything it was decided with (``tradebot explain`` re-runs it)
            record["snapshot"] = self.snapshot_sha256
        if self.allocation.has_sleeves:  # the sleeves' capital weights this decision was made with
            record["sleeve_weights"] = weights_record(self.allocation.weights())
        if self.learned is not None:
            symbol = record["intent"]["symbol"]
            record["learned_overrides"] = self.learned.for_symbol(symbol) or {"version": self.learned.version}
        self.recorder.record("decision", record, ts=now, symbol=record["intent"]["symbol"])
        self.tracker.on_decision(record, now)
        self._record_quarantine_changes()

    def _record_quarantine_changes(self) -> None:
        """Store the quarantines the last event started or ended (and any a stopped run had not stored)."""
        for change in self.quarantine.take_changes():
            self.recorder.record(QUARANTINE_KIND, change, ts=self.clock.now(), symbol=change["symbol"])

    async def _cancel_working_exits(self, symbol: str, code: str) -> None:
        """Before an exit: take the position's resting stop/target legs off the venue."""
        now = self.clock.now()
        legs = [
            entry.client_order_id
            for entry in self.ledger.open_entries(symbol)
            if entry.reduce_only and entry.status is not OrderStatus.PENDING_SUBMIT
        ]
        for cid in legs:
            body = {"client_order_id": cid, "code": code}
            self.recorder.record("order_cancel_request", body, ts=now, symbol=symbol, client_order_id=cid)
            self.tracker.on_cancel_request(cid, now)
        await cancel_orders(self.broker, legs)  # in one call where the venue offers one
        self._apply_venue_events()

    # --- venue events -------------------------------------------------------------------------------
    def _apply_venue_events(self) -> None:
        if self.bar_venue is None:
            return
        for event in self.bar_venue.drain_events():
            self.on_broker_event(event)

    def on_broker_event(self, event: BrokerEvent) -> None:
        if not self.ledger.apply(event):
            if not isinstance(event, OrderFilled):
                self.recorder.record(event.kind, event, ts=self.clock.now())
            return
        symbol = getattr(event, "symbol", None)
        cid = getattr(event, "client_order_id", None)
        entry = self.ledger.get(cid) if cid else None
        self.recorder.record(
            event.kind,
            event,
            ts=self.clock.now(),
            symbol=symbol or (entry.symbol if entry else None),
            client_order_id=cid,
        )
        now = self.clock.now()
        self.tracker.on_order_event(event, now)
        self._record_quarantine_changes()
        self.eqs.on_order_event(event, now)
        if isinstance(event, OrderFilled):
            self.stats.fills += 1
            self.ops.on_fill(event.symbol, event.side.value)
            before = self.portfolio.position_qty(event.symbol)
            closed = self.portfolio.apply_fill(event)
            self.time_stops.on_fill(event, before, self.portfolio.position_qty(event.symbol))
            if closed is not None:
                self.recorder.record("trade_closed", closed, ts=self.clock.now(), symbol=closed.symbol)
                for callback in self.on_trade_closed:
                    callback(closed)
        elif isinstance(event, OrderRejected):
            self.stats.rejects += 1
            self.ops.on_reject(now, event.client_order_id, entry.symbol if entry else "", event.reason)
        if symbol or entry:
            self._update_state(symbol or entry.symbol)  # type: ignore[union-attr]

    def finish(self) -> None:
        self.stats.realized_pnl = self.portfolio.realized_pnl
        self.stats.unrealized_pnl = self.portfolio.total_unrealized
        self.stats.fees = self.portfolio.fees
        self.stats.positions = {s: str(p.quantity) for s, p in self.portfolio.positions.items()}


# the code of the cancel requests an exit sends for the position's resting stop/target legs, by its source
_CANCEL_CODES = {IntentSource.FLATTEN: reasons.FLATTEN_DEADLINE, IntentSource.TIME_STOP: reasons.TIME_STOP}


def _bar_body(bar: Bar, sized: Sized | None) -> dict[str, Any]:
    """The bar's event: its fields, then the signal (``signal``; several sleeves': ``signals``) and the
    sizer's record (``sizing``) when the bar was sized."""
    body: dict[str, Any] = {
        "symbol": bar.symbol,
        "ts": bar.ts,
        "open": bar.open,
        "high": bar.high,
        "low": bar.low,
        "close": bar.close,
        "volume": bar.volume,
        "interval_s": bar.interval_s,
    }
    if sized is None:
        return body
    signal, record = sized
    if isinstance(signal, SleeveSignals):
        spoke = [each for each in signal.signals if each.signal is not None]
        body["signals"] = [{"sleeve": each.sleeve, **_fields(each.signal)} for each in spoke]
    else:
        body["signal"] = signal
    if record is not None:
        body["sizing"] = record
    return body


def _fields(value: Any) -> dict[str, Any]:
    """A dataclass's fields by name, shallow (the store encodes the values)."""
    return {f.name: getattr(value, f.name) for f in fields(value)}


def approved_price(decision: Decision) -> Decimal:
    intent = decision.approved or decision.intent
    return intent.reference_price
