"""The ops layer as seen from the pipeline: dependency breakers, alerts, metrics.

One object so the engine, the guarded broker and the feed have one thing to call; every method is cheap
and never raises into trading (alerts and metrics are best-effort sinks; breakers are pure state), except
``read``, which returns the read's result or raises its last error.

- Orders: ``allow_order`` blocks any order while ``broker_submit``'s breaker is open, and an entry while
  any breaker the entry depends on (broker reads, the data feed, the calendar) is open, with
  CIRCUIT_OPEN_<DEP>; exits pass those (exits are never blocked by an entry rule).
- Broker reads: ``read`` runs an idempotent read under its breaker with bounded retries (tenacity).
- The data feed: ``feed_ok`` / ``feed_failed`` per bar or error; ``on_bar`` and ``check_data_age`` raise
  ALERT_STALE_DATA when no bar came for longer than ``stale_after_s`` past the bar that was due, at a time
  the instrument's exchange calendar says the market is open (times from the injected clock only).
  ``watch`` starts the watch of a feed before its first bar.
- The calendar: its lookups here feed the ``calendar`` breaker (a lookup that fails counts as a failure).
- Reconciliation: ``on_mismatch`` raises ALERT_RECONCILIATION_MISMATCH.
- Metrics (when enabled): bars, decisions, orders, fills, rejects, alerts, breaker and trading states,
  equity/PnL/positions, and the latency from a bar (or external intent) reaching the engine to its
  decisions and submits, on a monotonic timer that nothing in the pipeline reads back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from tradebot.domain.bars import Bar
from tradebot.domain.calendars import CalendarError, Calendars, shared_calendars
from tradebot.domain.clock import Clock
from tradebot.domain.errors import ErrorClass
from tradebot.domain.state import TradingState
from tradebot.ops.alerts import Alert, AlertDispatcher, AlertRules
from tradebot.ops.breakers import BreakerBoard, BreakerDecision, BreakerTransition, Dependency
from tradebot.ops.errors import ErrorClassifier, classify_exception
from tradebot.ops.metrics import POSITION_UNITS, LatencyTimer, Metrics, MetricsServer
from tradebot.ops.retry import RetryPolicy, retry_idempotent_read
from tradebot.pipeline.portfolio import Portfolio

if TYPE_CHECKING:  # apprise, under the notifier, loads only when notifications are configured
    from tradebot.ops.notify import Notifier

T = TypeVar("T")
SUBMIT = Dependency.BROKER_SUBMIT.value
# an entry needs these to be trustworthy: what we hold, what is working, the bars, the session
ENTRY_DEPENDENCIES: tuple[str, ...] = (
    Dependency.BROKER_POSITIONS.value,
    Dependency.BROKER_OPEN_ORDERS.value,
    Dependency.DATA_PRIMARY.value,
    Dependency.CALENDAR.value,
)


@dataclass(frozen=True, slots=True)
class _LastBar:
    end: datetime
    interval_s: float
    calendar: str


@dataclass(frozen=True, slots=True)
class OpsResources:
    """What the ops layer holds open during a run: closed when the run ends."""

    notifier: Notifier | None = None
    metrics_server: MetricsServer | None = None

    def close(self) -> None:
        """Send the notifications still queued, then stop serving metrics."""
        if self.notifier is not None:
            self.notifier.close()
        if self.metrics_server is not None:
            self.metrics_server.close()


@dataclass(slots=True)
class OpsHooks:
    breakers: BreakerBoard = field(default_factory=BreakerBoard)
    rules: AlertRules = field(default_factory=AlertRules)
    dispatcher: AlertDispatcher = field(default_factory=AlertDispatcher)
    metrics: Metrics | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    calendars: Calendars | None = None  # None: the process-wide cache, loaded on first use
    _last_bars: dict[str, _LastBar] = field(default_factory=dict)
    _latency: LatencyTimer = field(default_factory=LatencyTimer)

    def __post_init__(self) -> None:
        if self.metrics is not None:
            self.dispatcher.sinks.append(self._count_alert)

    # --- orders ------------------------------------------------------------------------------------
    def allow_order(self, now: datetime, reduce_only: bool) -> BreakerDecision:
        """May an order go out now? Open read/feed/calendar breakers block entries only; an open submit
        breaker blocks every order (it is asked last: a half-open probe is taken only for a real send)."""
        if not reduce_only:
            blocked = self.breakers.blocking(now, ENTRY_DEPENDENCIES)
            if blocked:
                return blocked[0]
        return self.breakers.allow(SUBMIT, now)

    def submit_succeeded(self, now: datetime) -> None:
        self._breaker(self.breakers.record_success(SUBMIT, now))

    def submit_failed(self, now: datetime, error: ErrorClass | None) -> None:
        self._breaker(self.breakers.record_failure(SUBMIT, now, error))
        if error is not None:
            self.dispatcher.emit(self.rules.on_error(now, error))

    # --- broker reads ------------------------------------------------------------------------------
    async def read(
        self,
        dependency: str,
        fn: Callable[[], Awaitable[T]],
        clock: Clock,
        classifier: ErrorClassifier | None = None,
    ) -> T:
        """An idempotent read under ``dependency``'s breaker, retried within the retry policy. Raises the
        last error (``CircuitOpenError``, a ``BrokerError``, when the breaker refuses the call)."""
        return await retry_idempotent_read(
            fn,
            dependency=dependency,
            clock=clock,
            breakers=self.breakers,
            policy=self.retry,
            broker=classifier,
            on_transition=self._breaker,
        )

    # --- the data feed -----------------------------------------------------------------------------
    def feed_ok(self, now: datetime) -> None:
        self._breaker(self.breakers.record_success(Dependency.DATA_PRIMARY.value, now))

    def feed_failed(
        self, now: datetime, exc: BaseException, classifier: ErrorClassifier | None = None
    ) -> None:
        error = classify_exception(exc, broker=classifier)
        self._breaker(self.breakers.record_failure(Dependency.DATA_PRIMARY.value, now, error))

    def on_bar(self, bar: Bar, calendar: str, now: datetime) -> None:
        """A bar arrived at ``now``: if the one before it left the feed silent for too long while the
        market was open, that gap is stale data (on a replay clock this is where a gap is seen)."""
        self.check_data_age(now, bar.symbol)
        self._last_bars[bar.symbol] = _LastBar(bar.end, float(bar.interval_s), calendar)
        if self.metrics is not None:
            self._latency.start()
            self.metrics.count_bar(bar.symbol, bar.end)

    def watch(self, symbol: str, calendar: str, interval_s: float, since: datetime) -> None:
        """Start the stale-data watch of ``symbol`` before its first bar (as if a bar ended ``since``)."""
        self._last_bars.setdefault(symbol, _LastBar(since, interval_s, calendar))

    def check_data_age(self, now: datetime, symbol: str | None = None) -> None:
        """ALERT_STALE_DATA for every watched symbol (or ``symbol``) whose next bar is more than
        ``stale_after_s`` late at ``now``, when the market was open at the moment it became stale, or has
        been open for ``stale_after_s`` at ``now`` (a feed that stayed silent through the open)."""
        stale_after = timedelta(seconds=self.rules.t.stale_after_s)
        if symbol is None:
            watched = list(self._last_bars.items())
        else:
            last_bar = self._last_bars.get(symbol)
            watched = [(symbol, last_bar)] if last_bar is not None else []
        for sym, last in watched:
            stale_at = last.end + timedelta(seconds=last.interval_s) + stale_after
            if now <= stale_at:
                continue
            open_when_stale = self.market_open(last.calendar, stale_at)
            if not open_when_stale and not (
                self.market_open(last.calendar, now - stale_after) and self.market_open(last.calendar, now)
            ):
                continue
            self.dispatcher.emit(self.rules.on_data_age(now, sym, last.end, last.interval_s))

    # --- the calendar ------------------------------------------------------------------------------
    def market_open(self, calendar: str, at: datetime) -> bool:
        """The exchange calendar's answer, through the calendar breaker. A failed lookup (or an open
        breaker) counts as open: better a stale-data alert too many than a silent feed."""
        dependency = Dependency.CALENDAR.value
        if not self.breakers.allow(dependency, at).allowed:
            return True
        calendars = self.calendars or shared_calendars()
        try:
            is_open = calendars.is_open(calendar, at)
        except CalendarError as exc:
            self._breaker(self.breakers.record_failure(dependency, at, classify_exception(exc)))
            return True
        self._breaker(self.breakers.record_success(dependency, at))
        return is_open

    # --- alerts and metrics ------------------------------------------------------------------------
    def _breaker(self, transition: BreakerTransition | None) -> None:
        if transition is None:
            return
        self.dispatcher.emit(self.rules.on_breaker_transition(transition))
        if self.metrics is not None:
            self.metrics.set_breakers(self.breakers.states(transition.at))

    def on_reject(self, now: datetime, client_order_id: str, symbol: str, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.count_reject(symbol)
        self.dispatcher.emit(self.rules.on_reject(now, client_order_id, symbol, reason))

    def on_state(self, now: datetime, state: TradingState, code: str, details: Mapping[str, Any]) -> None:
        if state is TradingState.HALTED:
            self.dispatcher.emit(self.rules.on_halt(now, code, details))
        if self.metrics is not None:
            self.metrics.set_trading_state(state)

    def on_mismatch(self, now: datetime, details: Mapping[str, Any]) -> None:
        self.dispatcher.emit(self.rules.on_reconciliation_mismatch(now, details))

    def input_received(self) -> None:
        """An external intent reached the engine: its decision's latency is measured from here."""
        if self.metrics is not None:
            self._latency.start()

    def on_decision(self, code: str | None, symbol: str = "") -> None:
        """A decision on ``symbol`` was made: ``code`` is the blocking reason (None: approved)."""
        if self.metrics is None:
            return
        self.metrics.count_intent(symbol, code)
        self._observe_latency("decision")

    def on_submitted(self, symbol: str, outcome: str) -> None:
        """The OMS returned ``outcome`` (SENT, FAILED, UNKNOWN, REFUSED, DUPLICATE) for an order."""
        if self.metrics is None:
            return
        self.metrics.count_order(symbol, outcome.lower())
        self._observe_latency("submit")

    def on_fill(self, symbol: str, side: str) -> None:
        if self.metrics is not None:
            self.metrics.count_fill(symbol, side)

    def on_portfolio(self, portfolio: Portfolio, symbol: str) -> None:
        """Equity, and ``symbol``'s position and PnL, after a bar or an order event moved them."""
        if self.metrics is None:
            return
        instrument = portfolio.instruments.get(symbol)
        if instrument is None:
            return
        currency = instrument.currency
        self.metrics.set_equity(portfolio.equity, currency)
        position = portfolio.positions.get(symbol)
        realized = position.realized_pnl if position else Decimal(0)
        fees = position.fees if position else Decimal(0)
        self.metrics.set_pnl(symbol, currency, realized, portfolio.unrealized_pnl(symbol), fees)
        unit = POSITION_UNITS.get(instrument.asset_class, "units")
        self.metrics.set_position(symbol, portfolio.position_qty(symbol), unit)

    def _observe_latency(self, stage: str) -> None:
        elapsed = self._latency.elapsed()
        if self.metrics is not None and elapsed is not None:
            self.metrics.observe_decision_latency(elapsed, stage)

    def _count_alert(self, alert: Alert) -> None:
        if self.metrics is not None:
            self.metrics.count_alert(alert.code, alert.severity.value)
