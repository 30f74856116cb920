"""The simulated venue: a matching engine with working orders keyed by client order id.

It behaves like a venue, not like a helper of the strategy: it accepts or rejects orders, matches resting
orders against bars that arrive AFTER the order (never the bar that produced the decision), keeps
positions and an account, and publishes every order event once, in order, on a sequence-numbered journal
that connected sessions read from (a session that reconnects resumes from its last sequence number, so no
event is lost or doubled). Faults (rejects, request failures, dropped connections) are injected through
``tradebot.brokers.sim.controller.SimController``.

Rules (see docs/plugins.md):
- Orders: MARKET, LIMIT, STOP, STOP_LIMIT; time in force DAY and GTC (both rest until filled or canceled:
  the sim has no session boundaries) and IOC (expires if its first eligible bar does not fill it).
- Brackets: entry + stop-loss child ``<cid>-sl`` (STOP) + optional take-profit child ``<cid>-tp`` (LIMIT),
  both reduce-only and accepted with the entry. Children are held until the entry fills, then work for the
  filled quantity from the next bar on; they are one-cancels-other (when both could fill on one bar the stop
  is taken first: pessimistic). Canceling an unfilled entry cancels its children.
- Reduce-only: refused at submit (REDUCE_ONLY_REJECT) when there is no position to reduce; at fill time the
  quantity is trimmed to the open position and the remainder canceled (REDUCE_ONLY_TRIMMED) - a reduce-only
  order never increases or flips a position.
- A reused client order id is refused with OrderRejected(venue_code=DUPLICATE_CLIENT_ORDER_ID); the
  original order is untouched and no second order exists.
- Prices must be on the instrument's tick grid and quantities on its lot grid (INVALID_ORDER otherwise).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from tradebot.brokers.sim.book import ZERO, SimOrder, SimPosition
from tradebot.brokers.sim.config import SimConfig
from tradebot.brokers.sim.data import BarBroadcast
from tradebot.brokers.sim.errors import (
    SimAuthError,
    SimNetworkError,
    SimRateLimitError,
    SimUnknownInstrumentError,
)
from tradebot.brokers.sim.instruments import InstrumentCatalog
from tradebot.brokers.sim.matching import BPS, BarPrices, match
from tradebot.brokers.sim.meta import MetaRows, MetaValue
from tradebot.brokers.sim.state import VenueState, VenueStateFile
from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.domain.clock import Clock
from tradebot.domain.events import (
    AccountSnapshot,
    BrokerEvent,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderSnapshot,
    OrderStatus,
    PositionSnapshot,
)
from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import OrderRequest, OrderType, Side, TimeInForce, child_order_id
from tradebot.domain.recent import RETAINED

FaultKind = Literal["auth", "rate_limit", "network"]
FEE_QUANTUM = Decimal("0.00000001")
FILL_ID_PREFIX = "SIMF-"  # fill ids are this and the venue's fill number, 1, 2, ...
SUPPORTED_TYPES = frozenset({OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT})
SUPPORTED_TIF = frozenset({TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC})
# the reasons of OrderCanceled events a client's request caused (every other cancel is the venue's own doing)
CANCELED_BY_CLIENT = "canceled by client"
CANCELED_BY_CANCEL_ALL = "cancel all"
CLIENT_CANCEL_REASONS = frozenset({CANCELED_BY_CLIENT, CANCELED_BY_CANCEL_ALL})
VENUE_REJECT = "VENUE_REJECT"  # the venue_code of a valid order the venue refused anyway (an injected reject)


@dataclass(slots=True)
class _Change:
    """What one venue operation changed: written in one transaction, then published."""

    orders: dict[str, SimOrder] = field(default_factory=dict)
    fills: list[OrderFilled] = field(default_factory=list)
    positions: set[str] = field(default_factory=set)
    events: list[BrokerEvent] = field(default_factory=list)


class SimSession:
    """One connection to the venue: reads the journal from its cursor on; dropped sessions stop reading."""

    def __init__(
        self, venue: SimVenue, on_new: Callable[[], None], on_drop: Callable[[str], None], cursor: int
    ) -> None:
        self._venue = venue
        self._on_new = on_new
        self._on_drop = on_drop
        self.cursor = cursor
        self.alive = True

    def pull(self) -> list[BrokerEvent]:
        """Every journal event after this session's cursor (empty once the session is dropped)."""
        if not self.alive:
            return []
        events, self.cursor = self._venue.journal_after(self.cursor)
        return events

    def close(self) -> None:
        self.alive = False
        self._venue.detach(self)


class SimVenue:
    def __init__(self, config: SimConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.catalog = InstrumentCatalog(config)
        self._file = VenueStateFile(config.state_path) if config.state_path is not None else None
        state = self._file.load() if self._file is not None else VenueState()
        self._orders: dict[str, SimOrder] = state.orders
        self._order_seq: dict[str, int] = {cid: i for i, cid in enumerate(state.orders)}
        self._next_seq = len(self._order_seq)
        # open orders, overall and per symbol, in arrival order: per-bar work is O(open orders)
        self._open_ids: dict[str, None] = {cid: None for cid, o in state.orders.items() if o.is_open}
        self._open_by_symbol: dict[str, dict[str, SimOrder]] = {}
        for cid in self._open_ids:
            order = state.orders[cid]
            self._open_by_symbol.setdefault(order.symbol, {})[cid] = order
        # the most recent fills and finished orders only (``domain/recent.py``): memory stays flat
        self._fills: deque[OrderFilled] = deque(state.fills, maxlen=RETAINED)
        self._finished: dict[str, None] = {cid: None for cid, o in state.orders.items() if not o.is_open}
        self._positions: dict[str, SimPosition] = state.positions
        meta = state.meta
        self._realized = Decimal(meta.get("realized", "0"))
        self._fees = Decimal(meta.get("fees", "0"))
        self._next_order_no = int(meta.get("next_order_no", "1"))
        self._next_fill_no = int(meta.get("next_fill_no", "1"))
        self._last_bar_ts = {
            k[7:]: datetime.fromisoformat(v) for k, v in meta.items() if k.startswith("bar_ts:")
        }
        self._last_bar_end = {
            k[8:]: datetime.fromisoformat(v) for k, v in meta.items() if k.startswith("bar_end:")
        }
        # a bar's close stays a float until someone needs the mark (``_mark``): most bars never do
        self._marks: dict[str, Decimal | float] = {
            k[5:]: Decimal(v) for k, v in meta.items() if k.startswith("mark:")
        }
        self._meta_rows = MetaRows(meta)  # what the state file holds now
        self._latency_bars = config.latency_bars
        self._fill_price = config.fill_price
        self._slippage_bps = config.slippage_bps
        self._fee_rate = Decimal(repr(config.fee_bps)) / BPS
        self._journal: list[BrokerEvent] = []
        self._journal_base = 0  # sequence number of self._journal[0]
        self._sessions: list[SimSession] = []
        self._reject_next: deque[str] = deque()
        self._fail_next: deque[FaultKind] = deque()
        self.feed = BarBroadcast()  # the venue's market-data stream

    # --- sessions and the journal -------------------------------------------------------------------
    @property
    def journal_end(self) -> int:
        return self._journal_base + len(self._journal)

    def open_session(
        self, on_new: Callable[[], None], on_drop: Callable[[str], None], cursor: int | None = None
    ) -> SimSession:
        """Connect. ``cursor``: resume after that sequence number (a reconnect, which does not consume an
        injected fault); None: a new connection from now on (a request: injected faults apply)."""
        if cursor is None:
            self._request()
        start = self.journal_end if cursor is None else max(cursor, self._journal_base)
        session = SimSession(self, on_new, on_drop, start)
        self._sessions.append(session)
        return session

    def detach(self, session: SimSession) -> None:
        if session in self._sessions:
            self._sessions.remove(session)

    def journal_after(self, cursor: int) -> tuple[list[BrokerEvent], int]:
        start = max(cursor - self._journal_base, 0)
        return self._journal[start:], self.journal_end

    def _publish(self, events: Iterable[BrokerEvent]) -> None:
        self._journal.extend(events)
        for session in list(self._sessions):
            session._on_new()
        self._trim_journal()

    def _trim_journal(self) -> None:
        if len(self._journal) < 4096 or not self._sessions:
            return
        low = min(s.cursor for s in self._sessions)
        drop = low - self._journal_base
        if drop > 0:
            del self._journal[:drop]
            self._journal_base = low

    def forget_journal(self) -> None:
        """Drop the events published so far (nobody can ask for them: no session reads before them)."""
        self._journal_base = self.journal_end
        self._journal = []

    @property
    def has_state_file(self) -> bool:
        return self._file is not None

    def drop_connections(self, reason: str = "venue dropped the connection") -> None:
        sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.alive = False
            session._on_drop(reason)

    # --- faults -------------------------------------------------------------------------------------
    def reject_next(self, reason: str) -> None:
        self._reject_next.append(reason)

    def fail_next(self, kind: FaultKind) -> None:
        if kind not in ("auth", "rate_limit", "network"):
            raise ValueError(f"unknown fault kind {kind!r}: auth | rate_limit | network")
        self._fail_next.append(kind)

    def _request(self) -> None:
        """Every request from a client passes here; an armed fault fails it before the venue acts."""
        if not self._fail_next:
            return
        kind = self._fail_next.popleft()
        if kind == "auth":
            raise SimAuthError("401 Unauthorized: invalid API key (injected)")
        if kind == "rate_limit":
            raise SimRateLimitError("429 Too Many Requests (injected)", self.config.rate_limit_retry_after_s)
        raise SimNetworkError("connection reset by peer (injected)")

    # --- requests -----------------------------------------------------------------------------------
    def instrument(self, symbol: str) -> Instrument:
        self._request()
        return self.catalog.get(symbol)

    def submit(self, request: OrderRequest) -> None:
        self._request()
        now = self.clock.now()
        cid = request.client_order_id
        if cid in self._orders:
            self._publish([OrderRejected(
                cid, f"client order id {cid} is already in use at the venue", now,
                venue_code=reasons.DUPLICATE_CLIENT_ORDER_ID,
            )])
            return
        change = _Change()
        entry = self._new_order(request, now)
        problem: tuple[str, str] | None = None
        if self._reject_next:
            problem = (VENUE_REJECT, self._reject_next.popleft())
        else:
            problem = self._validate(request)
        if problem is not None:
            entry.status = OrderStatus.REJECTED
            self._stage_order(change, entry)
            change.events.append(OrderRejected(cid, problem[1], now, venue_code=problem[0]))
            self._commit(change)
            return
        self._stage_order(change, entry)
        change.events.append(OrderAccepted(cid, entry.venue_order_id, now))
        for child in self._bracket_children(request, entry, now):
            self._stage_order(change, child)
            change.events.append(OrderAccepted(child.client_order_id, child.venue_order_id, now))
        self._commit(change)

    def cancel(self, client_order_id: str) -> bool:
        """Cancel a working order; False (and no event) when the venue has no open order by that id."""
        self._request()
        order = self._orders.get(client_order_id)
        if order is None or not order.is_open:
            return False
        change = _Change()
        self._cancel(change, order, CANCELED_BY_CLIENT)
        if order.filled_qty == ZERO:
            for child in self._children(order):
                if child.is_open:
                    self._cancel(change, child, "parent canceled")
        self._commit(change)
        return True

    def cancel_all(self, symbol: str | None = None) -> int:
        self._request()
        change = _Change()
        for order in [self._orders[cid] for cid in self._open_ids]:
            if order.is_open and (symbol is None or order.symbol == symbol):
                self._cancel(change, order, CANCELED_BY_CANCEL_ALL)
        self._commit(change)
        return len(change.events)

    def order(self, client_order_id: str) -> OrderSnapshot | None:
        self._request()
        order = self._orders.get(client_order_id)
        return None if order is None else order.snapshot()

    def open_orders(self) -> list[OrderSnapshot]:
        self._request()
        return self.snapshot_open_orders()

    def snapshot_open_orders(self) -> list[OrderSnapshot]:
        """The venue's own truth (for the controller; not a client request)."""
        return [self._orders[cid].snapshot() for cid in self._open_ids]

    def fills_since(self, since: datetime) -> list[OrderFilled]:
        self._request()
        return [f for f in self._fills if f.ts >= since]

    def all_fills(self) -> list[OrderFilled]:
        """The fills the venue still keeps, in order: every fill it made, up to the most recent
        ``RETAINED`` (its own truth; not a client request)."""
        return list(self._fills)

    def forgot_fill(self, fill_id: str) -> bool:
        """True for a fill this venue made but no longer keeps (older than every fill it keeps)."""
        number = fill_id.removeprefix(FILL_ID_PREFIX)
        forgotten = self._next_fill_no - 1 - len(self._fills)
        return number.isdigit() and 0 < int(number) <= forgotten

    def positions(self) -> list[PositionSnapshot]:
        self._request()
        return self.snapshot_positions()

    def snapshot_positions(self) -> list[PositionSnapshot]:
        """The venue's own truth (for the controller; not a client request)."""
        return [
            PositionSnapshot(symbol, p.quantity, p.avg_price)
            for symbol, p in sorted(self._positions.items())
            if p.quantity != ZERO
        ]

    def account(self) -> AccountSnapshot:
        self._request()
        unrealized = ZERO
        for symbol, position in self._positions.items():
            mark = self._mark(symbol)
            if position.quantity != ZERO and mark is not None:
                unrealized += self.catalog.get(symbol).pnl(position.avg_price, mark, position.quantity)
        equity = self.config.starting_cash + self._realized - self._fees + unrealized
        return AccountSnapshot(self.config.currency, equity, equity, account_id="SIM")

    # --- the venue acting on its own (market data, the controller) ----------------------------------
    def on_bar(self, bar: Bar) -> None:
        """A bar closed at the venue: match resting orders of ``bar.symbol`` against it.

        A bar at or before the last one seen for that symbol is ignored, so feeding a bar twice (from the
        pipeline and from a controller) matches it once.
        """
        symbol = bar.symbol
        ts = bar.ts
        last = self._last_bar_ts.get(symbol)
        if last is not None and ts <= last:
            return
        self._last_bar_ts[symbol] = ts
        self._last_bar_end[symbol] = bar.end
        self._marks[symbol] = bar.close
        instrument = self.catalog.get(symbol)
        working = self._open_by_symbol.get(symbol)
        if not working:
            return  # nothing can fill: no change, no write (see ``_commit``)
        change = _Change()
        prices: BarPrices | None = None
        for order in list(working.values()):
            if not order.is_open or not order.active:
                continue
            if order.not_before is not None and ts < order.not_before:
                continue
            if order.bars_waited < self._latency_bars:
                order.bars_waited += 1
                self._stage_order(change, order)
                continue
            if prices is None:
                prices = BarPrices.of(bar)
            result = match(
                order_type=order.order_type, side=order.side, limit_price=order.limit_price,
                stop_price=order.stop_price, triggered=order.triggered, bar=bar, instrument=instrument,
                fill_price=self._fill_price, slippage_bps=self._slippage_bps, prices=prices,
            )
            if result.triggered and not order.triggered:
                order.triggered = True
                self._stage_order(change, order)
            if result.price is None:
                if order.tif is TimeInForce.IOC:
                    order.status = OrderStatus.EXPIRED
                    self._stage_order(change, order)
                    change.events.append(OrderExpired(order.client_order_id, bar.end))
                continue
            self._execute(change, order, result.price, order.leaves, ts if result.at_open else bar.end,
                          bar.end)
        self._commit(change)

    def fill(self, client_order_id: str, price: Decimal | None = None, qty: Decimal | None = None) -> None:
        """Execute a working order now (fully, or ``qty`` of it) at ``price`` or its own price."""
        order = self._orders.get(client_order_id)
        if order is None or not order.is_open:
            raise ValueError(f"no working order {client_order_id!r} at the venue")
        if not order.active:
            raise ValueError(f"order {client_order_id!r} is a bracket child waiting for its entry to fill")
        instrument = self.catalog.get(order.symbol)
        if price is None:
            price = order.limit_price if order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) else (
                order.stop_price if order.order_type is OrderType.STOP else self._mark(order.symbol)
            )
            if price is None:
                raise ValueError(f"no price to fill {client_order_id!r}: set_last_price or push a bar first")
        qty = order.leaves if qty is None else qty
        if qty <= ZERO or qty > order.leaves:
            raise ValueError(f"fill quantity {qty} outside (0, {order.leaves}] for {client_order_id!r}")
        change = _Change()
        now = self.clock.now()
        bar_end = self._last_bar_end.get(order.symbol)
        self._execute(change, order, instrument.round_price(price), qty, now, bar_end)
        self._commit(change)

    def set_last_price(self, symbol: str, price: Decimal) -> None:
        self._marks[symbol] = price
        self._commit(_Change())

    def close(self) -> None:
        self.feed.close()
        if self._file is not None:
            self._file.close()
            self._file = None

    # --- internals ----------------------------------------------------------------------------------
    def _new_order(self, request: OrderRequest, now: datetime) -> SimOrder:
        venue_id = f"SIM-{self._next_order_no}"
        self._next_order_no += 1
        return SimOrder(
            client_order_id=request.client_order_id,
            venue_order_id=venue_id,
            symbol=request.symbol,
            side=request.side,
            quantity=request.quantity,
            order_type=request.order_type,
            created=now,
            tif=request.tif,
            limit_price=request.limit_price,
            stop_price=request.stop_price,
            reduce_only=request.reduce_only,
            parent_client_order_id=request.parent_client_order_id,
            not_before=self._last_bar_end.get(request.symbol),
        )

    def _bracket_children(self, request: OrderRequest, entry: SimOrder, now: datetime) -> list[SimOrder]:
        if request.bracket is None:
            return []
        legs: list[tuple[str, OrderType, Decimal]] = [("sl", OrderType.STOP, request.bracket.stop_loss)]
        if request.bracket.take_profit is not None:
            legs.append(("tp", OrderType.LIMIT, request.bracket.take_profit))
        children = []
        for leg, order_type, price in legs:
            child = self._new_order(request, now)
            child.client_order_id = child_order_id(request.client_order_id, leg)
            child.side = request.side.opposite
            child.order_type = order_type
            child.tif = TimeInForce.GTC
            child.limit_price = price if order_type is OrderType.LIMIT else None
            child.stop_price = price if order_type is OrderType.STOP else None
            child.reduce_only = True
            child.parent_client_order_id = entry.client_order_id
            child.oco_group = entry.client_order_id if len(legs) > 1 else None
            child.active = False
            child.not_before = None
            children.append(child)
        return children

    def _validate(self, request: OrderRequest) -> tuple[str, str] | None:
        try:
            instrument = self.catalog.get(request.symbol)
        except SimUnknownInstrumentError:
            return reasons.UNKNOWN_INSTRUMENT, f"unknown instrument {request.symbol!r}"
        if request.order_type not in SUPPORTED_TYPES:
            return reasons.INVALID_ORDER, f"order type {request.order_type} is not supported"
        if request.tif not in SUPPORTED_TIF:
            return reasons.INVALID_ORDER, f"time in force {request.tif} is not supported"
        if not instrument.is_valid_qty(request.quantity):
            return reasons.INVALID_ORDER, (
                f"quantity {request.quantity} is not a positive multiple of lot step {instrument.lot_step} "
                f"at or above min qty {instrument.min_qty}"
            )
        needs_limit = request.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        needs_stop = request.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
        prices = {"limit_price": request.limit_price if needs_limit else None,
                  "stop_price": request.stop_price if needs_stop else None}
        if request.bracket is not None:
            prices["bracket.stop_loss"] = request.bracket.stop_loss
            prices["bracket.take_profit"] = request.bracket.take_profit
        for name, price in prices.items():
            required = (name == "limit_price" and needs_limit) or (name == "stop_price" and needs_stop) or (
                name == "bracket.stop_loss")
            if price is None:
                if required:
                    return reasons.INVALID_ORDER, f"{request.order_type} order needs {name}"
                continue
            if not instrument.is_valid_price(price):
                return reasons.INVALID_ORDER, f"{name} {price} is off the tick grid ({instrument.tick_size})"
        if request.bracket is not None:
            if request.reduce_only:
                return reasons.INVALID_ORDER, "a bracket entry cannot be reduce-only"
            stop, target = request.bracket.stop_loss, request.bracket.take_profit
            if target is not None and (stop - target) * request.side.sign >= 0:
                return reasons.INVALID_ORDER, f"bracket stop {stop} / target {target} on the wrong sides"
            for leg in ("sl", "tp"):
                if child_order_id(request.client_order_id, leg) in self._orders:
                    return reasons.DUPLICATE_CLIENT_ORDER_ID, f"bracket leg id {leg} is already in use"
        if request.reduce_only:
            position = self._positions.get(request.symbol, SimPosition()).quantity
            if position * request.side.sign >= 0:
                return reasons.REDUCE_ONLY_REJECT, (
                    f"reduce-only {request.side} with position {position}: it would open or increase it"
                )
        return None

    def _children(self, order: SimOrder) -> list[SimOrder]:
        """The bracket legs of ``order`` (stop first, then target)."""
        cid = order.client_order_id
        legs = (self._orders.get(child_order_id(cid, "sl")), self._orders.get(child_order_id(cid, "tp")))
        return [leg for leg in legs if leg is not None and leg.parent_client_order_id == cid]

    def _cancel(self, change: _Change, order: SimOrder, reason: str) -> None:
        order.status = OrderStatus.CANCELED
        self._stage_order(change, order)
        change.events.append(OrderCanceled(order.client_order_id, self.clock.now(), reason))

    def _execute(
        self, change: _Change, order: SimOrder, price: Decimal, qty: Decimal, ts: datetime,
        bar_end: datetime | None,
    ) -> None:
        instrument = self.catalog.get(order.symbol)
        position = self._positions.setdefault(order.symbol, SimPosition())
        trimmed = False
        if order.reduce_only:
            room = abs(position.quantity) if position.quantity * order.side.sign < 0 else ZERO
            if room == ZERO:
                self._cancel(change, order, f"{reasons.REDUCE_ONLY_TRIMMED}: no position left to reduce")
                return
            if qty > room:
                qty, trimmed = room, True
        fee = (instrument.notional(price, qty) * self._fee_rate).quantize(FEE_QUANTUM)
        order.filled_qty += qty
        order.status = OrderStatus.FILLED if order.leaves == ZERO else OrderStatus.PARTIALLY_FILLED
        fill = OrderFilled(
            client_order_id=order.client_order_id,
            venue_order_id=order.venue_order_id,
            fill_id=f"{FILL_ID_PREFIX}{self._next_fill_no}",
            symbol=order.symbol,
            side=order.side,
            quantity=qty,
            price=price,
            fee=fee,
            fee_currency=self.config.currency,
            ts=ts,
            leaves_qty=order.leaves,
            simulated=True,
        )
        self._next_fill_no += 1
        self._fees += fee
        self._apply_position(position, order.side, qty, price, instrument)
        self._stage_order(change, order)
        change.fills.append(fill)
        change.positions.add(order.symbol)
        change.events.append(fill)
        if trimmed:
            self._cancel(change, order, f"{reasons.REDUCE_ONLY_TRIMMED}: remainder above the position")
        for child in self._children(order):
            if child.is_open:
                child.quantity = order.filled_qty
                if not child.active:
                    child.active = True
                    child.not_before = bar_end
                self._stage_order(change, child)
        if order.oco_group is not None:
            self._one_cancels_other(change, order)

    def _one_cancels_other(self, change: _Change, filled: SimOrder) -> None:
        # siblings share the entry's symbol; closed orders are skipped anyway: scan the open ones only
        for sibling in list(self._open_by_symbol.get(filled.symbol, {}).values()):
            if sibling is filled or sibling.oco_group != filled.oco_group or not sibling.is_open:
                continue
            if filled.leaves == ZERO:
                self._cancel(change, sibling, f"one-cancels-other: {filled.client_order_id} filled")
            else:
                sibling.quantity = sibling.filled_qty + filled.leaves
                self._stage_order(change, sibling)

    def _apply_position(
        self, position: SimPosition, side: Side, qty: Decimal, price: Decimal, instrument: Instrument
    ) -> None:
        signed = qty * side.sign
        current = position.quantity
        if current == ZERO or current * signed > 0:
            position.avg_price = instrument.average_entry(position.avg_price, abs(current), price, qty)
            position.quantity = current + signed
            return
        closing = min(qty, abs(current))
        direction = 1 if current > 0 else -1
        self._realized += instrument.pnl(position.avg_price, price, closing * direction)
        position.quantity = current + signed
        if position.quantity == ZERO:
            position.avg_price = ZERO
        elif qty > closing:  # flipped through zero: the rest opens at this price
            position.avg_price = price

    def _stage_order(self, change: _Change, order: SimOrder) -> None:
        cid = order.client_order_id
        if cid not in self._orders:
            self._orders[cid] = order
            self._order_seq[cid] = self._next_seq
            self._next_seq += 1
        if order.is_open:
            self._open_ids[cid] = None
            self._open_by_symbol.setdefault(order.symbol, {})[cid] = order
        else:
            self._open_ids.pop(cid, None)
            working = self._open_by_symbol.get(order.symbol)
            if working is not None:
                working.pop(cid, None)
            self._finished[cid] = None
            if len(self._finished) > RETAINED:
                self._forget_oldest_finished()
        change.orders[cid] = order

    def _forget_oldest_finished(self) -> None:
        """Drop the oldest finished order, unless its bracket legs still work (then it waits its turn again
        at the back): a late question about it gets "unknown order", as at a real venue."""
        cid = next(iter(self._finished))
        del self._finished[cid]
        order = self._orders.get(cid)
        if order is not None and any(leg.is_open for leg in self._children(order)):
            self._finished[cid] = None
            return
        self._orders.pop(cid, None)
        self._order_seq.pop(cid, None)

    def _mark(self, symbol: str) -> Decimal | None:
        mark = self._marks.get(symbol)
        if mark is None or isinstance(mark, Decimal):
            return mark
        exact = self._marks[symbol] = Decimal(repr(mark))
        return exact

    def _meta(self) -> Iterator[tuple[str, MetaValue]]:
        """Every meta row's value (counters, last bar per symbol, marks); ``MetaRows`` formats them."""
        yield "realized", self._realized
        yield "fees", self._fees
        yield "next_order_no", self._next_order_no
        yield "next_fill_no", self._next_fill_no
        for symbol, ts in self._last_bar_ts.items():
            yield f"bar_ts:{symbol}", ts
        for symbol, end in self._last_bar_end.items():
            yield f"bar_end:{symbol}", end
        for symbol, mark in self._marks.items():
            yield f"mark:{symbol}", mark

    def _commit(self, change: _Change) -> None:
        """Durably write what changed, then publish its events (write first: a crash loses no fill)."""
        self._fills.extend(change.fills)
        idle = not (change.orders or change.fills or change.positions or change.events)
        if self._file is not None and not idle:
            # a bar that changed nothing needs no write: fed again after a restart it matches nothing
            # again (matching is deterministic, and orders placed later cannot fill on an earlier bar)
            meta, sources = self._meta_rows.changes(self._meta())
            self._file.write(
                orders=list(change.orders.values()),
                fills=change.fills,
                positions={s: self._positions[s] for s in change.positions},
                meta=meta,
                order_seq=self._order_seq,
            )
            self._meta_rows.written(meta, sources)
        if change.events:
            self._publish(change.events)
