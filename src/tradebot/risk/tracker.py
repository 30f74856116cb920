"""RiskTracker: the counters the gates read, fed by the pipeline's events; pure state, no I/O.

Per symbol and per session day (the instrument's exchange calendar): realized PnL with fees, entry
orders sent (trades), consecutive losing round trips. Per symbol: position and average price from fills,
working orders, entries stacked in the open position, last entry time, exposure, regime. Globally: recent
order and cancel times for throttles, sent intent ids / client ids / (symbol, side, qty, bar) keys for
duplicate suppression. ``snapshot`` freezes it into a GateContext for one intent.

Rules of counting:
- a trade is an entry (not reduce-only) order sent; one rejected, canceled or expired without any fill is
  given back (it never traded);
- a round trip closes when a fill takes the position to zero or through it; its PnL is the realized PnL
  of its closing fills minus every fee paid since it opened; PnL < 0 is a loss, anything else resets the
  run of losses;
- counters of a symbol reset when its session day changes (consecutive losses halt "until the next session").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from tradebot.domain.bars import Bar
from tradebot.domain.events import BrokerEvent, OrderCanceled, OrderExpired, OrderFilled, OrderRejected
from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import OrderIntent, OrderRequest
from tradebot.domain.state import Mode, TradingState
from tradebot.ops.calendars import Calendars, shared_calendars
from tradebot.risk.context import GateContext
from tradebot.risk.measures import has_leverage
from tradebot.risk.pretrade_duplicate import order_key

ZERO = Decimal(0)
ONE = Decimal(1)
K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class DailyStatus:
    """One symbol's day so far: what the trading state machine looks at."""

    symbol: str
    session_day: date
    pnl_today: Decimal
    realized_today: Decimal
    trades_today: int
    consecutive_losses: int
    position: Decimal

    @property
    def flat(self) -> bool:
        return self.position == ZERO


@dataclass(slots=True)
class _Working:
    symbol: str
    sign: int
    remaining: Decimal
    reduce_only: bool
    filled: Decimal = ZERO
    trade_day: date | None = None  # the session day whose trade count it took


@dataclass(slots=True)
class _Book:
    position: Decimal = ZERO
    avg_price: Decimal = ZERO
    round_trip_pnl: Decimal = ZERO
    leverage: Decimal = ONE
    regime: str | None = None
    confidence: float | None = None
    entries_in_position: int = 0
    last_price: Decimal | None = None
    bars: int = 0
    last_cancel_bar: int | None = None
    cancels_without_fill: int = 0
    day: date | None = None
    realized_today: Decimal = ZERO
    trades_today: int = 0
    consecutive_losses: int = 0
    last_entry_at: datetime | None = None
    recent_orders: deque[datetime] = field(default_factory=deque)


def _drop_older(seen: dict[K, datetime], stale: datetime) -> None:
    """Drop the oldest entries up to the first one still fresh. Keys are inserted in time order; one
    updated in place keeps its old position, which only delays its removal (blocks duplicates longer:
    the safe side), so there is no need to scan the whole dict every bar."""
    while seen:
        key = next(iter(seen))
        if seen[key] > stale:
            return
        del seen[key]


class RiskTracker:
    def __init__(
        self,
        instruments: Mapping[str, Instrument],
        calendars: Calendars | None = None,
        *,
        history_s: int = 300,
        dedupe_horizon_s: int = 86_400,
    ) -> None:
        self.instruments = dict(instruments)
        self.calendars = calendars or shared_calendars()
        self._history = timedelta(seconds=history_s)
        self._dedupe_horizon = timedelta(seconds=dedupe_horizon_s)
        self._books: dict[str, _Book] = {}
        self._working: dict[str, _Working] = {}
        self._seen_fills: set[str] = set()
        self._recent_orders: deque[datetime] = deque()
        self._recent_cancels: deque[datetime] = deque()
        self._last_entry_at: datetime | None = None
        self._sent_intents: dict[str, datetime] = {}
        self._sent_cids: dict[str, datetime] = {}
        self._sent_keys: dict[tuple[str, str, str, str], datetime] = {}

    # --- internals ----------------------------------------------------------------------------------
    def _instrument(self, symbol: str) -> Instrument:
        try:
            return self.instruments[symbol]
        except KeyError:
            raise KeyError(f"RiskTracker: unknown instrument {symbol!r}") from None

    def _day(self, symbol: str, now: datetime) -> date:
        return self.calendars.session_day(self._instrument(symbol).calendar, now)

    def _book(self, symbol: str, now: datetime) -> _Book:
        book = self._books.setdefault(symbol, _Book())
        day = self._day(symbol, now)
        if book.day != day:
            book.day = day
            book.realized_today = ZERO
            book.trades_today = 0
            book.consecutive_losses = 0
        return book

    def _prune(self, now: datetime) -> None:
        horizon = now - self._history
        for times in [
            self._recent_orders,
            self._recent_cancels,
            *(b.recent_orders for b in self._books.values()),
        ]:
            while times and times[0] <= horizon:
                times.popleft()
        stale = now - self._dedupe_horizon
        _drop_older(self._sent_intents, stale)
        _drop_older(self._sent_cids, stale)
        _drop_older(self._sent_keys, stale)

    # --- events -------------------------------------------------------------------------------------
    def on_bar(self, bar: Bar, now: datetime) -> None:
        book = self._book(bar.symbol, now)
        book.last_price = Decimal(repr(bar.close))
        book.bars += 1
        self._prune(now)

    def on_order_submitted(
        self, request: OrderRequest, now: datetime, intent: OrderIntent | None = None
    ) -> None:
        """An order was sent (call once per request, after the ledger write, with its intent)."""
        book = self._book(request.symbol, now)
        working = _Working(request.symbol, request.side.sign, request.quantity, request.reduce_only)
        self._working[request.client_order_id] = working
        self._recent_orders.append(now)
        book.recent_orders.append(now)
        self._sent_cids[request.client_order_id] = now
        self._sent_intents[request.intent_id] = now
        bar_ts = (intent.bar_ts or intent.ts) if intent is not None else request.ts
        self._sent_keys[order_key(request.symbol, request.side.value, request.quantity, bar_ts)] = now
        if not request.reduce_only:
            working.trade_day = book.day
            book.trades_today += 1
            book.last_entry_at = now
            self._last_entry_at = now
            book.entries_in_position += 1
            if intent is not None:
                book.confidence = intent.confidence
                book.regime = intent.regime
            instrument = self._instrument(request.symbol)
            if has_leverage(instrument) and request.leverage is not None and request.leverage > ZERO:
                book.leverage = request.leverage
        self._prune(now)

    def on_cancel_request(self, client_order_id: str, now: datetime) -> None:
        self._recent_cancels.append(now)
        working = self._working.get(client_order_id)
        if working is not None:
            book = self._book(working.symbol, now)
            book.cancels_without_fill += 1
            book.last_cancel_bar = book.bars
        self._prune(now)

    def on_order_event(self, event: BrokerEvent, now: datetime) -> None:
        """Accepted/rejected/canceled/expired (a fill is passed on to ``on_fill``)."""
        if isinstance(event, OrderFilled):
            self.on_fill(event, self.instruments.get(event.symbol), now=now)
            return
        if not isinstance(event, OrderRejected | OrderCanceled | OrderExpired):
            return
        working = self._working.pop(event.client_order_id, None)
        if working is None or working.reduce_only:
            return
        book = self._book(working.symbol, now)
        if working.filled == ZERO:
            if working.trade_day is not None and working.trade_day == book.day and book.trades_today > 0:
                book.trades_today -= 1  # it never traded
            if book.entries_in_position > 0:
                book.entries_in_position -= 1

    def on_fill(
        self, fill: OrderFilled, instrument: Instrument | None = None, now: datetime | None = None
    ) -> None:
        """One execution (a fill id seen before is ignored)."""
        if fill.fill_id in self._seen_fills:
            return
        self._seen_fills.add(fill.fill_id)
        instrument = instrument or self._instrument(fill.symbol)
        # the session day is the pipeline's clock, not the venue's stamp: a fill stamped on another day
        # (clock skew, a late report) must not reset today's trade count, losses or P&L
        book = self._book(fill.symbol, now or fill.ts)
        working = self._working.get(fill.client_order_id)
        if working is not None:
            working.filled += fill.quantity
            working.remaining = max(working.remaining - fill.quantity, ZERO)
            if working.remaining == ZERO:
                del self._working[fill.client_order_id]
        book.cancels_without_fill = 0
        book.realized_today -= fill.fee
        book.round_trip_pnl -= fill.fee
        signed = fill.quantity * fill.side.sign
        old = book.position
        new = old + signed
        if old == ZERO or (old > ZERO) == (signed > ZERO):
            book.avg_price = (book.avg_price * abs(old) + fill.price * abs(signed)) / abs(new)
            book.position = new
            return
        closing = min(abs(old), abs(signed))
        direction = ONE if old > ZERO else -ONE
        pnl = (fill.price - book.avg_price) * closing * direction * instrument.multiplier
        book.realized_today += pnl
        book.round_trip_pnl += pnl
        book.position = new
        if new == ZERO or (new > ZERO) != (old > ZERO):
            book.consecutive_losses = book.consecutive_losses + 1 if book.round_trip_pnl < ZERO else 0
            book.round_trip_pnl = ZERO
            if new == ZERO:
                book.avg_price = ZERO
                book.entries_in_position = sum(
                    1 for w in self._working.values() if w.symbol == fill.symbol and not w.reduce_only
                )
            else:
                book.avg_price = fill.price
                book.entries_in_position = 1

    # --- reads --------------------------------------------------------------------------------------
    def position(self, symbol: str) -> Decimal:
        book = self._books.get(symbol)
        return book.position if book else ZERO

    def working_entry_qty(self, symbol: str) -> Decimal:
        return sum(
            (
                w.remaining * w.sign
                for w in self._working.values()
                if w.symbol == symbol and not w.reduce_only
            ),
            ZERO,
        )

    def working_exit_qty(self, symbol: str) -> Decimal:
        return sum(
            (w.remaining * w.sign for w in self._working.values() if w.symbol == symbol and w.reduce_only),
            ZERO,
        )

    def _unrealized(self, symbol: str, book: _Book) -> Decimal:
        if book.position == ZERO or book.last_price is None:
            return ZERO
        multiplier = self._instrument(symbol).multiplier
        return (book.last_price - book.avg_price) * book.position * multiplier

    def daily_status(self, symbol: str, now: datetime) -> DailyStatus:
        book = self._books.get(symbol) or _Book()
        day = self._day(symbol, now)
        same_day = book.day == day
        realized = book.realized_today if same_day else ZERO
        return DailyStatus(
            symbol=symbol,
            session_day=day,
            pnl_today=realized + self._unrealized(symbol, book),
            realized_today=realized,
            trades_today=book.trades_today if same_day else 0,
            consecutive_losses=book.consecutive_losses if same_day else 0,
            position=book.position,
        )

    def exposure_by_symbol(self) -> dict[str, Decimal]:
        """Capital at risk per symbol: |position + working entries| x last price x multiplier / leverage."""
        result: dict[str, Decimal] = {}
        for symbol, book in self._books.items():
            qty = abs(book.position) + abs(self.working_entry_qty(symbol))
            if qty == ZERO or book.last_price is None:
                continue
            instrument = self._instrument(symbol)
            result[symbol] = instrument.notional(book.last_price, qty) / book.leverage
        return result

    def snapshot(
        self,
        intent: OrderIntent,
        now: datetime,
        equity: Decimal,
        last_price: Decimal,
        mode: Mode,
        trading_state: TradingState,
        dvs: float,
        eqs: float,
        *,
        trading_state_reason: str = "",
        mid_price: Decimal | None = None,
    ) -> GateContext:
        """The frozen state one intent is judged against. Reads only; changes nothing."""
        symbol = intent.symbol
        instrument = self._instrument(symbol)
        book = self._books.get(symbol) or _Book()
        status = self.daily_status(symbol, now)
        regimes: dict[str, int] = {}
        for sym, other in self._books.items():
            if (other.position != ZERO or self.working_entry_qty(sym) != ZERO) and other.regime is not None:
                regimes[other.regime] = regimes.get(other.regime, 0) + 1
        return GateContext(
            now=now,
            mode=mode,
            trading_state=trading_state,
            instrument=instrument,
            last_price=last_price,
            equity=equity,
            position_qty=book.position,
            pending_qty=self.working_entry_qty(symbol),
            positions={s: b.position for s, b in self._books.items() if b.position != ZERO},
            dvs=dvs,
            eqs=eqs,
            trading_state_reason=trading_state_reason,
            pending_exit_qty=self.working_exit_qty(symbol),
            mid_price=mid_price,
            session_day=status.session_day,
            pnl_today=status.pnl_today,
            trades_today=status.trades_today,
            consecutive_losses=status.consecutive_losses,
            last_entry_at=self._last_entry_at,
            last_entry_at_symbol=book.last_entry_at,
            entries_in_position=book.entries_in_position,
            position_confidence=book.confidence if book.position != ZERO else None,
            exposure_by_symbol=self.exposure_by_symbol(),
            positions_by_regime=regimes,
            recent_orders=tuple(self._recent_orders),
            recent_orders_symbol=tuple(book.recent_orders),
            recent_cancels=tuple(self._recent_cancels),
            cancels_without_fill=book.cancels_without_fill,
            bars_since_last_cancel=None if book.last_cancel_bar is None else book.bars - book.last_cancel_bar,
            submitted_intent_ids=frozenset(self._sent_intents),
            submitted_client_ids=frozenset(self._sent_cids),
            submitted_keys=frozenset(self._sent_keys),
        )
