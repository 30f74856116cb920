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
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Generic, TypeVar

from tradebot.domain.bars import Bar
from tradebot.domain.calendars import ALWAYS_OPEN, Calendars, shared_calendars
from tradebot.domain.events import BrokerEvent, OrderCanceled, OrderExpired, OrderFilled, OrderRejected
from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import OrderIntent, OrderRequest
from tradebot.domain.recent import RecentIds
from tradebot.domain.state import Mode, TradingState
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import has_leverage
from tradebot.risk.pretrade_duplicate import order_key
from tradebot.risk.rule_state import RoundTrip
from tradebot.risk.rule_states import rule_states
from tradebot.risk.sleeve_allocation import AllocationRules

ZERO = Decimal(0)
ONE = Decimal(1)
ONE_DAY = timedelta(days=1)
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
    sleeve: str = ""  # the sleeve the order is attributed to


class _Times:
    """Event times, oldest first; ``frozen()`` is their tuple, made again only after a change."""

    __slots__ = ("_frozen", "items")

    def __init__(self) -> None:
        self.items: deque[datetime] = deque()
        self._frozen: tuple[datetime, ...] | None = ()

    def __len__(self) -> int:
        return len(self.items)

    def append(self, now: datetime) -> None:
        self.items.append(now)
        self._frozen = None

    def prune(self, horizon: datetime) -> None:
        items = self.items
        if items and items[0] <= horizon:
            while items and items[0] <= horizon:
                items.popleft()
            self._frozen = None

    def frozen(self) -> tuple[datetime, ...]:
        if self._frozen is None:
            self._frozen = tuple(self.items)
        return self._frozen


class _Sent(Generic[K]):
    """What was sent (key -> time sent, in insertion order) and its frozenset, maintained between reads."""

    __slots__ = ("_frozen", "_pending", "_read", "times")

    def __init__(self) -> None:
        self.times: dict[K, datetime] = {}
        self._frozen: frozenset[K] | None = frozenset()
        self._pending: list[K] = []
        self._read = False

    def add(self, key: K, now: datetime) -> None:
        times = self.times
        new = key not in times
        times[key] = now
        if new and self._frozen is not None:
            if self._read:  # read since the last change: one small union now, none at the next read
                self._frozen = self._frozen.union((key,))
            else:
                self._pending.append(key)
        self._read = False

    def drop_older(self, stale: datetime) -> None:
        """Drop the oldest entries up to the first one still fresh. Keys are inserted in time order; one
        updated in place keeps its old position, which only delays its removal (blocks duplicates longer:
        the safe side), so there is no need to scan the whole dict every bar."""
        seen = self.times
        dropped = False
        while seen:
            key = next(iter(seen))
            if seen[key] > stale:
                break
            del seen[key]
            dropped = True
        if dropped:
            self._frozen = None
            self._pending.clear()

    def oldest(self) -> datetime | None:
        seen = self.times
        return seen[next(iter(seen))] if seen else None

    def frozen(self) -> frozenset[K]:
        frozen = self._frozen
        if frozen is None:
            frozen = frozenset(self.times)
            self._pending.clear()
        elif self._pending:
            frozen = frozen.union(self._pending)
            self._pending.clear()
        self._frozen = frozen
        self._read = True
        return frozen


@dataclass(slots=True)
class _Book:
    position: Decimal = ZERO
    avg_price: Decimal = ZERO
    round_trip_pnl: Decimal = ZERO
    round_trip_notional: Decimal = ZERO  # the notional of the fills that opened the open position
    round_trip_sleeve: str = ""  # the sleeve of the entry that opened it
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
    recent_orders: _Times = field(default_factory=_Times)


_NO_BOOK = _Book()  # what a symbol without events reads as (never written)
_EVERY_TIME = datetime.min  # a prune-due time that makes every prune run in full


@dataclass(slots=True)
class _DayCache:
    """The session day of a calendar over [start, end): no calendar lookup while ``now`` stays inside."""

    start: datetime
    end: datetime
    day: date


class RiskTracker:
    def __init__(
        self,
        instruments: Mapping[str, Instrument],
        calendars: Calendars | None = None,
        *,
        history_s: int = 300,
        dedupe_horizon_s: int = 86_400,
        allocation: AllocationRules | None = None,
        constitution: Constitution | None = None,
    ) -> None:
        self.instruments = dict(instruments)
        self.calendars = calendars or shared_calendars()
        self._history = timedelta(seconds=history_s)
        self._dedupe_horizon = timedelta(seconds=dedupe_horizon_s)
        self._books: dict[str, _Book] = {}
        # the rules that keep their own state (risk.rule_state): fed here with every event, asked for views
        self.states = rule_states(self.instruments, allocation=allocation, constitution=constitution)
        self._working: dict[str, _Working] = {}
        # the same working orders per symbol (in the same order), and their cached (entry, exit) sums
        self._working_of: dict[str, dict[str, _Working]] = {}
        self._working_sums: dict[str, tuple[Decimal, Decimal]] = {}
        self._seen_fills: RecentIds[str] = RecentIds()
        self._recent_orders = _Times()
        self._recent_cancels = _Times()
        self._last_entry_at: datetime | None = None
        self._sent_intents: _Sent[str] = _Sent()
        self._sent_cids: _Sent[str] = _Sent()
        self._sent_keys: _Sent[tuple[str, str, str, str]] = _Sent()
        # no prune can drop anything before this time (None: nothing to prune)
        self._prune_at: datetime | None = None
        self._days: dict[str, _DayCache] = {}

    # --- internals ----------------------------------------------------------------------------------
    def _instrument(self, symbol: str) -> Instrument:
        try:
            return self.instruments[symbol]
        except KeyError:
            raise KeyError(f"RiskTracker: unknown instrument {symbol!r}") from None

    def _day(self, symbol: str, now: datetime) -> date:
        code = self._instrument(symbol).calendar
        cached = self._days.get(code)
        if cached is not None:
            try:
                if cached.start <= now < cached.end:
                    return cached.day
            except TypeError:  # a naive time: the calendar names the problem
                pass
        return self._lookup_day(code, now)

    def _lookup_day(self, code: str, now: datetime) -> date:
        """The calendar's session day, and how long from ``now`` on it stays the same: a 24/7 day is the UTC
        date; an exchange's lasts until its session closes or the next session opens, whichever is first
        (``Calendars.session_day``: the session containing ``now``, else the next one)."""
        calendars = self.calendars
        day = calendars.session_day(code, now)
        end: datetime | None
        if code == ALWAYS_OPEN:
            end = datetime.combine(day + ONE_DAY, time(0), tzinfo=UTC) if day < date.max else None
        else:
            session = calendars.session(code, day)
            next_open = calendars.next_open(code, now)
            end = None if session is None or next_open is None else min(session.close, next_open)
        if end is not None and now < end:
            self._days[code] = _DayCache(now, end, day)
        return day

    def _book(self, symbol: str, now: datetime) -> _Book:
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = _Book()
        day = self._day(symbol, now)
        if book.day != day:
            book.day = day
            book.realized_today = ZERO
            book.trades_today = 0
            book.consecutive_losses = 0
        return book

    def _due_after(self, at: datetime, horizon: timedelta) -> None:
        """``at`` was recorded: it can be pruned from ``at + horizon`` on. The skip in ``_prune`` is only
        trusted for UTC times (plain arithmetic); any other time makes every prune run in full."""
        due = self._prune_at
        if due is _EVERY_TIME:
            return
        if at.tzinfo is not UTC:
            self._prune_at = _EVERY_TIME
            return
        try:
            at = at + horizon
        except OverflowError:  # the end of time: it never gets old enough
            return
        if due is None or at < due:
            self._prune_at = at

    def _prune(self, now: datetime) -> None:
        due = self._prune_at
        if due is None:
            return  # nothing recorded: nothing to drop
        if due is not _EVERY_TIME and now.tzinfo is UTC and now < due:
            return  # nothing is old enough yet
        horizon = now - self._history
        self._recent_orders.prune(horizon)
        self._recent_cancels.prune(horizon)
        for book in self._books.values():
            book.recent_orders.prune(horizon)
        stale = now - self._dedupe_horizon
        self._sent_intents.drop_older(stale)
        self._sent_cids.drop_older(stale)
        self._sent_keys.drop_older(stale)
        self._prune_at = None
        history = self._history
        for times in (
            self._recent_orders,
            self._recent_cancels,
            *(b.recent_orders for b in self._books.values()),
        ):
            if times.items:
                self._due_after(times.items[0], history)
        for sent in (self._sent_intents, self._sent_cids, self._sent_keys):
            oldest = sent.oldest()
            if oldest is not None:
                self._due_after(oldest, self._dedupe_horizon)

    def _working_changed(self, symbol: str) -> None:
        self._working_sums.pop(symbol, None)

    def _add_working(self, client_order_id: str, working: _Working) -> None:
        old = self._working.get(client_order_id)
        self._working[client_order_id] = working
        symbol = working.symbol
        if old is not None and old.symbol != symbol:  # a client id reused for another symbol: reindex both
            self._working_of[old.symbol].pop(client_order_id, None)
            self._working_changed(old.symbol)
            self._working_of[symbol] = {cid: w for cid, w in self._working.items() if w.symbol == symbol}
        else:
            self._working_of.setdefault(symbol, {})[client_order_id] = working
        self._working_changed(symbol)

    def _remove_working(self, client_order_id: str) -> _Working | None:
        working = self._working.pop(client_order_id, None)
        if working is not None:
            self._working_of[working.symbol].pop(client_order_id, None)
            self._working_changed(working.symbol)
        return working

    def _sums(self, symbol: str) -> tuple[Decimal, Decimal]:
        """(working entry qty, working exit qty) of the symbol, signed; summed in order as they came."""
        sums = self._working_sums.get(symbol)
        if sums is None:
            entry = exit_ = ZERO
            for w in self._working_of.get(symbol, {}).values():
                if w.reduce_only:
                    exit_ = exit_ + w.remaining * w.sign
                else:
                    entry = entry + w.remaining * w.sign
            sums = self._working_sums[symbol] = (entry, exit_)
        return sums

    # --- events -------------------------------------------------------------------------------------
    def on_bar(self, bar: Bar, now: datetime) -> None:
        book = self._book(bar.symbol, now)
        day = book.day
        assert day is not None
        for state in self.states:
            state.on_bar(bar, day, now)
        book.last_price = Decimal(repr(bar.close))
        book.bars += 1
        self._prune(now)

    def on_order_submitted(
        self, request: OrderRequest, now: datetime, intent: OrderIntent | None = None
    ) -> None:
        """An order was sent (call once per request, after the ledger write, with its intent)."""
        book = self._book(request.symbol, now)
        working = _Working(
            request.symbol,
            request.side.sign,
            request.quantity,
            request.reduce_only,
            sleeve=intent.sleeve if intent is not None else "",
        )
        self._add_working(request.client_order_id, working)
        self._recent_orders.append(now)
        book.recent_orders.append(now)
        self._due_after(now, self._history)
        self._sent_cids.add(request.client_order_id, now)
        self._sent_intents.add(request.intent_id, now)
        bar_ts = (intent.bar_ts or intent.ts) if intent is not None else request.ts
        self._sent_keys.add(order_key(request.symbol, request.side.value, request.quantity, bar_ts), now)
        self._due_after(now, self._dedupe_horizon)
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
        for state in self.states:
            state.on_order_submitted(request, intent, now)
        self._prune(now)

    def on_cancel_request(self, client_order_id: str, now: datetime) -> None:
        self._recent_cancels.append(now)
        self._due_after(now, self._history)
        working = self._working.get(client_order_id)
        if working is not None:
            book = self._book(working.symbol, now)
            book.cancels_without_fill += 1
            book.last_cancel_bar = book.bars
        self._prune(now)

    def on_order_event(self, event: BrokerEvent, now: datetime) -> None:
        """Accepted/rejected/canceled/expired (a fill is passed on to ``on_fill``). Call once per event that
        changed the ledger."""
        for state in self.states:
            state.on_order_event(event, now)
        if isinstance(event, OrderFilled):
            self.on_fill(event, self.instruments.get(event.symbol), now=now)
            return
        if not isinstance(event, OrderRejected | OrderCanceled | OrderExpired):
            return
        self.on_order_closed(event.client_order_id, now)

    def on_decision(self, record: Mapping[str, Any], now: datetime) -> None:
        """A decision record was written (or read back from the store): only the rules' states want it."""
        for state in self.states:
            state.on_decision(record, now)

    def on_order_closed(self, client_order_id: str, now: datetime) -> None:
        """The order will not trade (any more): rejected, canceled, expired, abandoned by reconciliation
        (it never reached the venue) or found final at the venue. Its working quantity is released; an
        entry that never filled gives back its trade and its place in the position."""
        working = self._remove_working(client_order_id)
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
        if not self._seen_fills.add(fill.fill_id):
            return
        instrument = instrument or self._instrument(fill.symbol)
        # the session day is the pipeline's clock, not the venue's stamp: a fill stamped on another day
        # (clock skew, a late report) must not reset today's trade count, losses or P&L
        book = self._book(fill.symbol, now or fill.ts)
        working = self._working.get(fill.client_order_id)
        if working is not None:
            working.filled += fill.quantity
            working.remaining = max(working.remaining - fill.quantity, ZERO)
            self._working_changed(working.symbol)
            if working.remaining == ZERO:
                self._remove_working(fill.client_order_id)
        book.cancels_without_fill = 0
        book.realized_today -= fill.fee
        book.round_trip_pnl -= fill.fee
        signed = fill.quantity * fill.side.sign
        old = book.position
        new = old + signed
        sleeve = working.sleeve if working is not None else ""
        if old == ZERO or (old > ZERO) == (signed > ZERO):
            book.avg_price = instrument.average_entry(book.avg_price, abs(old), fill.price, abs(signed))
            book.position = new
            if old == ZERO:
                book.round_trip_sleeve = sleeve
            book.round_trip_notional += instrument.notional(fill.price, abs(signed))
            return
        closing = min(abs(old), abs(signed))
        direction = ONE if old > ZERO else -ONE
        pnl = instrument.pnl(book.avg_price, fill.price, closing * direction)
        book.realized_today += pnl
        book.round_trip_pnl += pnl
        book.position = new
        if new == ZERO or (new > ZERO) != (old > ZERO):
            book.consecutive_losses = book.consecutive_losses + 1 if book.round_trip_pnl < ZERO else 0
            trip = RoundTrip(
                fill.symbol,
                book.round_trip_sleeve,
                book.round_trip_pnl,
                book.round_trip_notional,
                now or fill.ts,
            )
            book.round_trip_pnl = ZERO
            book.round_trip_notional = ZERO
            if new != ZERO:  # flipped: the remainder opened at this fill
                book.round_trip_sleeve = sleeve
                book.round_trip_notional = instrument.notional(fill.price, abs(new))
            for state in self.states:
                state.on_round_trip(trip)
            if new == ZERO:
                book.avg_price = ZERO
                book.entries_in_position = sum(
                    1 for w in self._working_of.get(fill.symbol, {}).values() if not w.reduce_only
                )
            else:
                book.avg_price = fill.price
                book.entries_in_position = 1

    # --- reads --------------------------------------------------------------------------------------
    def position(self, symbol: str) -> Decimal:
        book = self._books.get(symbol)
        return book.position if book else ZERO

    def working_entry_qty(self, symbol: str) -> Decimal:
        return self._sums(symbol)[0]

    def working_exit_qty(self, symbol: str) -> Decimal:
        return self._sums(symbol)[1]

    def _unrealized(self, symbol: str, book: _Book) -> Decimal:
        if book.position == ZERO or book.last_price is None:
            return ZERO
        return self._instrument(symbol).pnl(book.avg_price, book.last_price, book.position)

    def daily_status(self, symbol: str, now: datetime) -> DailyStatus:
        book = self._books.get(symbol) or _NO_BOOK
        day = self._day(symbol, now)
        if book.day == day:
            realized, trades, losses = book.realized_today, book.trades_today, book.consecutive_losses
        else:
            realized, trades, losses = ZERO, 0, 0
        return DailyStatus(
            symbol=symbol,
            session_day=day,
            pnl_today=realized + self._unrealized(symbol, book),
            realized_today=realized,
            trades_today=trades,
            consecutive_losses=losses,
            position=book.position,
        )

    def exposure_by_symbol(self) -> dict[str, Decimal]:
        """Capital at risk per symbol: |position + working entries| x last price x multiplier / leverage."""
        result: dict[str, Decimal] = {}
        for symbol, book in self._books.items():
            qty = abs(book.position) + abs(self._sums(symbol)[0])
            if qty == ZERO or book.last_price is None:
                continue
            instrument = self._instrument(symbol)
            result[symbol] = instrument.notional(book.last_price, qty) / book.leverage
        return result

    def _views(self, intent: OrderIntent, now: datetime) -> dict[type, object]:
        views: dict[type, object] = {}
        for state in self.states:
            view = state.view(intent, now)
            if view is not None:
                views[type(view)] = view
        return views

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
        book = self._books.get(symbol) or _NO_BOOK
        status = self.daily_status(symbol, now)
        regimes: dict[str, int] = {}
        positions: dict[str, Decimal] = {}
        entering: set[str] = set()
        working: dict[str, Decimal] = {}
        for sym, other in self._books.items():
            pending = self._sums(sym)[0]
            if pending != ZERO:
                working[sym] = pending
            if other.position != ZERO:
                positions[sym] = other.position
            elif pending != ZERO:
                entering.add(sym)
            else:
                continue
            if other.regime is not None:
                regimes[other.regime] = regimes.get(other.regime, 0) + 1
        pending_entry, pending_exit = self._sums(symbol)
        last_cancel_bar = book.last_cancel_bar
        return GateContext(
            now=now,
            mode=mode,
            trading_state=trading_state,
            instrument=instrument,
            last_price=last_price,
            equity=equity,
            position_qty=book.position,
            pending_qty=pending_entry,
            positions=positions,
            entering=frozenset(entering),
            working_entries=working,
            views=self._views(intent, now),
            dvs=dvs,
            eqs=eqs,
            trading_state_reason=trading_state_reason,
            pending_exit_qty=pending_exit,
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
            recent_orders=self._recent_orders.frozen(),
            recent_orders_symbol=book.recent_orders.frozen(),
            recent_cancels=self._recent_cancels.frozen(),
            cancels_without_fill=book.cancels_without_fill,
            bars_since_last_cancel=None if last_cancel_bar is None else book.bars - last_cancel_bar,
            submitted_intent_ids=self._sent_intents.frozen(),
            submitted_client_ids=self._sent_cids.frozen(),
            submitted_keys=self._sent_keys.frozen(),
        )
