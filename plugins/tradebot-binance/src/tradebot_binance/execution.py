"""Execution: submit, brackets (emulated OCO), cancel, cancel-all, and the venue's order updates.

A bracket is three orders: the entry (``/fapi/v1/order``) and two reduce-only conditional legs on the
Algo API (``<cid>-sl`` STOP_MARKET, ``<cid>-tp`` TAKE_PROFIT_MARKET, ``clientAlgoId`` = leg id). Binance
has no native OCO for USD-M, so the adapter emulates it: the first fill of one leg cancels the other; an
entry canceled/rejected/expired with nothing filled cancels both legs. Legs are sent right after the
entry is accepted; reduce-only keeps a leg from opening a position if it triggers before the entry fills.

Per-order bookkeeping is the core's ``OrderTracking``: an order that did not reach the venue produces no
event; an order found at the venue (a lookup, the open-orders report, after a restart) is adopted, legs
included, so its later updates become events at once and it is never accepted twice. Binance refuses a
reused client order id only while the first order is open, so a client order id new to this process is
looked up at the venue before it is sent: a known one is refused and never sent twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from loguru import logger

from tradebot.brokers.order_tracking import Fill, OrderTracking, TrackedOrder
from tradebot.domain.clock import Clock
from tradebot.domain.errors import BrokerError, ErrorAction, ErrorCategory, ErrorClass, ErrorScope
from tradebot.domain.events import BrokerEvent, OrderSnapshot
from tradebot.domain.orders import OrderRequest, Side, child_order_id
from tradebot_binance.account import AccountSetup
from tradebot_binance.errors import (
    DUPLICATE_CLIENT_ORDER_ID,
    NO_SUCH_ORDER_CODE,
    SYMBOL_NOT_TRADING,
    UNKNOWN_ORDER,
    UNKNOWN_ORDER_CODE,
    state_error,
)
from tradebot_binance.instruments import SymbolInfo
from tradebot_binance.orders import EventSink, VenueRef, algo_id_of, algo_venue_id
from tradebot_binance.rest import BinanceRest
from tradebot_binance.translate import algo_snapshot, is_algo, leg_params, order_params, order_snapshot

_NOT_FOUND = (NO_SUCH_ORDER_CODE, UNKNOWN_ORDER_CODE)
_LEGS = ("sl", "tp")


def _ts(ms: Any) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def _venue_code(exc: BrokerError) -> int | None:
    code = exc.error_class.details.get("venue_code")
    return int(code) if code is not None else None


def _bracket_siblings(client_order_id: str) -> tuple[str, ...]:
    """The other leg of a bracket leg ``<entry>-sl`` / ``<entry>-tp`` (none for any other id)."""
    base, _, leg = client_order_id.rpartition("-")
    if not base or leg not in _LEGS:
        return ()
    return tuple(child_order_id(base, other) for other in _LEGS if other != leg)


class Execution:
    def __init__(
        self,
        rest: BinanceRest,
        account: AccountSetup,
        sink: EventSink,
        clock: Clock,
        symbols: Callable[[str], SymbolInfo | None],
        hedge: bool,
        known_symbols: Callable[[], Iterable[str]],
    ) -> None:
        self._rest = rest
        self._account = account
        self._sink = sink
        self._clock = clock
        self._symbols = symbols
        self._hedge = hedge
        self._known_symbols = known_symbols
        self.tracking = OrderTracking(default_fee_currency="USDT")
        self._refs: dict[str, VenueRef] = {}
        self._sending: set[str] = set()  # submits in flight: unconfirmed, but not to be forgotten yet
        self._background: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ bookkeeping
    def _ref(self, client_order_id: str) -> VenueRef:
        return self._refs[client_order_id]

    def _expect(self, request: OrderRequest, algo: bool, legs: tuple[str, ...] = (),
                siblings: tuple[str, ...] = ()) -> TrackedOrder:
        self._refs.setdefault(request.client_order_id, VenueRef(request.symbol, algo))
        return self.tracking.expect(
            request.client_order_id, request.symbol, request.side, request.quantity,
            parent=request.parent_client_order_id, legs=legs, siblings=siblings,
        )

    def _forget(self, client_order_id: str) -> None:
        """The order never reached the venue: no trace of it, no event."""
        if client_order_id in self._sending:
            return  # its request is still on the wire: the answer decides
        self.tracking.forget(client_order_id)
        if self.tracking.get(client_order_id) is None:
            self._refs.pop(client_order_id, None)

    def _adopt(self, snap: OrderSnapshot) -> list[BrokerEvent]:
        """Track an order found at the venue (a leg keeps its OCO sibling); adoption emits nothing."""
        algo_id = algo_id_of(snap.venue_order_id)
        ref = self._refs.setdefault(snap.client_order_id, VenueRef(snap.symbol, algo_id is not None))
        if algo_id is not None:
            ref.algo_id = algo_id
        return self.tracking.adopt(snap, siblings=_bracket_siblings(snap.client_order_id))

    # ------------------------------------------------------------------ submit
    async def submit(self, request: OrderRequest) -> None:
        cid = request.client_order_id
        info = self._symbols(request.symbol)
        now = self._clock.now()
        if info is None or not info.tradable:
            self._expect(request, algo=False)
            status = "unknown" if info is None else info.status
            await self._sink.emit(
                self.tracking.rejected(cid, f"{SYMBOL_NOT_TRADING}: {request.symbol} is {status}", now, None)
            )
            return
        params = order_params(request, self._hedge)
        known = self.tracking.get(cid)
        if known is None:
            # new to this process: Binance takes a reused id once the first order is no longer open
            found = await self._lookup(cid, [request.symbol], algo=is_algo(params))
            if found is not None:
                await self._sink.emit(self._adopt(found))
                known = self.tracking.get(cid)
        if known is not None and (known.at_venue or known.terminal):
            raise BrokerError(
                f"binance: client order id {cid} was already used", duplicate_id_error(cid)
            )
        if request.leverage is not None:
            await self._account.set_leverage(request.symbol, max(1, int(request.leverage)))
        legs: tuple[str, ...] = ()
        if request.bracket is not None:
            legs = (child_order_id(cid, "sl"),)
            if request.bracket.take_profit is not None:
                legs += (child_order_id(cid, "tp"),)
        self._expect(request, is_algo(params), legs=legs)
        accepted = await self._place(cid, params)
        if accepted and request.bracket is not None:
            await self._place_legs(request)

    async def _place(self, client_order_id: str, params: dict[str, Any]) -> bool:
        """Send one order; a venue refusal becomes OrderRejected. True when the venue accepted it.

        A request the venue answered with an error created no order: it is forgotten (no event). A request
        whose answer was lost (network) stays unconfirmed, silent until the venue shows it or a lookup
        finds nothing.
        """
        client = self._rest.client
        ref = self._ref(client_order_id)
        self._sending.add(client_order_id)
        try:
            res = await self._rest.write(
                f"submit {client_order_id}", lambda: client.futures_create_order(**params)
            )
        except BrokerError as exc:
            self._sending.discard(client_order_id)
            if exc.error_class.category is ErrorCategory.ORDER_REJECTED:
                code = _venue_code(exc)
                await self._sink.emit(self.tracking.rejected(
                    client_order_id,
                    f"{exc.error_class.code}: {exc.error_class.details.get('message', '')}",
                    self._clock.now(),
                    None if code is None else str(code),
                ))
                return False
            answered = _venue_code(exc) is not None
            if answered or exc.error_class.category is not ErrorCategory.TRANSIENT_NETWORK:
                self._forget(client_order_id)
            raise
        finally:
            self._sending.discard(client_order_id)
        if ref.is_algo:
            ref.algo_id = int(res["algoId"])
            venue_id = algo_venue_id(ref.algo_id)
        else:
            venue_id = str(res["orderId"])
        await self._sink.emit(self.tracking.accepted(client_order_id, self._clock.now(), venue_id))
        return True

    async def _place_legs(self, request: OrderRequest) -> None:
        assert request.bracket is not None
        entry = request.client_order_id
        specs = [("sl", request.bracket.stop_loss, False)]
        if request.bracket.take_profit is not None:
            specs.append(("tp", request.bracket.take_profit, True))
        ids = tuple(child_order_id(entry, leg) for leg, _, _ in specs)
        legs: list[tuple[str, dict[str, Any]]] = []
        for leg, price, is_tp in specs:
            cid = child_order_id(entry, leg)
            self._refs.setdefault(cid, VenueRef(request.symbol, True))
            self.tracking.expect(cid, request.symbol, request.side.opposite, request.quantity, parent=entry,
                                 siblings=tuple(c for c in ids if c != cid))
            legs.append((cid, leg_params(cid, request.symbol, request.side, request.quantity, price, is_tp,
                                         self._hedge)))
        for cid, params in legs:
            try:
                ok = await self._place(cid, params)
            except BrokerError as exc:
                logger.error("binance bracket leg {} failed: {}", cid, exc)
                if self.tracking.get(cid) is None:  # never reached the venue: it is still our order's leg
                    self.tracking.expect(cid, request.symbol, request.side.opposite, request.quantity,
                                         parent=entry)
                await self._sink.emit(self.tracking.rejected(cid, exc.error_class.code, self._clock.now()))
                ok = False
            if not ok:
                # fail closed: no unprotected entry. Cancel the entry (if unfilled) and the other legs.
                await self._cancel_quietly(entry)
                for other, _ in legs:
                    if other != cid:
                        await self._cancel_quietly(other)
                return

    # ------------------------------------------------------------------ cancel
    async def cancel(self, client_order_id: str) -> None:
        order = self.tracking.get(client_order_id)
        if order is None or not order.at_venue:
            snap = await self.order_status(client_order_id)
            if snap is None:
                self._forget(client_order_id)
                raise state_error(UNKNOWN_ORDER, f"binance: no order {client_order_id} at the venue")
            order = self.tracking.get(client_order_id)
        if order is None or order.terminal:
            return
        await self._cancel(client_order_id)

    async def _cancel(self, client_order_id: str) -> None:
        client = self._rest.client
        ref = self._ref(client_order_id)
        try:
            if ref.is_algo and ref.actual_order_id is None:
                await self._rest.write(
                    f"cancel {client_order_id}",
                    lambda: (
                        client.futures_cancel_order(symbol=ref.symbol, algoId=ref.algo_id)
                        if ref.algo_id is not None
                        else client.futures_cancel_order(symbol=ref.symbol, clientAlgoId=client_order_id)
                    ),
                )
                await self._sink.emit(self.tracking.canceled(client_order_id, self._clock.now()))
                return
            if ref.actual_order_id is not None:
                res = await self._rest.write(
                    f"cancel {client_order_id}",
                    lambda: client.futures_cancel_order(symbol=ref.symbol, orderId=ref.actual_order_id),
                )
            else:
                res = await self._rest.write(
                    f"cancel {client_order_id}",
                    lambda: client.futures_cancel_order(symbol=ref.symbol, origClientOrderId=client_order_id),
                )
            if str(res.get("status")) == "CANCELED":
                await self.refresh(client_order_id)  # fills that raced the cancel come first
                await self._sink.emit(self.tracking.canceled(client_order_id, self._clock.now()))
        except BrokerError as exc:
            if _venue_code(exc) in _NOT_FOUND:
                await self.refresh(client_order_id)  # already done at the venue: report what happened
                order = self.tracking.get(client_order_id)
                if order is None or order.terminal:
                    return
            raise

    async def _cancel_quietly(self, client_order_id: str) -> None:
        order = self.tracking.get(client_order_id)
        if order is not None and order.terminal:
            return
        try:
            if order is None or not order.at_venue:
                await self.cancel(client_order_id)
            else:
                await self._cancel(client_order_id)
        except BrokerError as exc:
            logger.error("binance cancel of {} failed: {}", client_order_id, exc)

    async def cancel_all(self, symbol: str | None = None) -> None:
        client = self._rest.client
        found = await self.open_orders()  # adopts what an earlier process left: its cancel is reported
        if symbol is not None:
            symbols = {symbol}
        else:
            symbols = self.tracking.symbols() | set(self._known_symbols()) | {o.symbol for o in found}
        for sym in sorted(symbols):
            await self._rest.write(
                f"cancel all {sym}", partial(client.futures_cancel_all_open_orders, symbol=sym)
            )
            await self._rest.write(
                f"cancel all algo {sym}",
                partial(client.futures_cancel_all_open_orders, symbol=sym, conditional=True),
            )
        now = self._clock.now()
        pending = [o for o in self.tracking.working() + self.tracking.unconfirmed() if o.symbol in symbols]
        for order in pending:
            cid = order.client_order_id
            if not await self.refresh(cid):
                self._forget(cid)  # the venue never had it: nothing to report
                continue
            current = self.tracking.get(cid)
            if current is not None and current.at_venue and not current.terminal:
                await self._sink.emit(self.tracking.canceled(cid, now, "cancel_all"))

    # ------------------------------------------------------------------ queries
    async def open_orders(self) -> list[OrderSnapshot]:
        """Every open order at the venue; each is handed to the tracking (adopted when new to us)."""
        client = self._rest.client
        regular = await self._rest.read("open orders", lambda: client.futures_get_open_orders())
        algos = await self._rest.read(
            "open algo orders", lambda: client.futures_get_open_orders(conditional=True)
        )
        snaps = [order_snapshot(r) for r in regular] + [algo_snapshot(a) for a in algos]
        # parents first, so an entry's legs attach to it
        for snap in sorted(snaps, key=lambda s: s.parent_client_order_id is not None):
            await self._sink.emit(self._adopt(snap))
        return snaps

    async def order_status(self, client_order_id: str) -> OrderSnapshot | None:
        """The venue's word on one order; an order found is handed to the tracking."""
        snap = await self._lookup(client_order_id)
        if snap is not None:
            await self._sink.emit(self._adopt(snap))
        return snap

    async def _lookup(self, client_order_id: str, symbols: list[str] | None = None,
                      algo: bool | None = None) -> OrderSnapshot | None:
        """The venue's order with this client order id (regular and/or conditional), or None."""
        ref = self._refs.get(client_order_id)
        if symbols is None:
            symbols = [ref.symbol] if ref is not None else sorted(set(self._known_symbols()))
        client = self._rest.client
        for sym in symbols:
            try:
                raw = await self._rest.read(
                    f"order {client_order_id}",
                    partial(client.futures_get_order, symbol=sym, origClientOrderId=client_order_id),
                )
                return order_snapshot(raw)
            except BrokerError as exc:
                if _venue_code(exc) not in _NOT_FOUND:
                    raise
            if algo is False:
                continue
            try:
                raw = await self._rest.read(
                    f"algo order {client_order_id}",
                    partial(client.futures_get_order, symbol=sym, clientAlgoId=client_order_id),
                )
                return algo_snapshot(raw)
            except BrokerError as exc:
                if _venue_code(exc) not in _NOT_FOUND:
                    raise
        return None

    # ------------------------------------------------------------------ reconciliation of one order
    async def _emit_trades(self, client_order_id: str, venue_order_id: str) -> None:
        client = self._rest.client
        ref = self._ref(client_order_id)
        trades = await self._rest.read(
            f"trades of {client_order_id}",
            lambda: client.futures_account_trades(symbol=ref.symbol, orderId=int(venue_order_id)),
        )
        cum = Decimal(0)
        for trade in sorted(trades, key=lambda t: int(t["id"])):
            fill = trade_fill(trade)
            cum += fill.quantity
            await self._fill(client_order_id, Fill(
                fill.fill_id, fill.quantity, fill.price, fill.ts, fill.fee, fill.fee_currency, cum_qty=cum,
                venue_order_id=venue_order_id,
            ))

    async def refresh(self, client_order_id: str) -> bool:
        """Bring one order up to the venue's truth: missed fills, then its final state.

        False when the venue does not know the order.
        """
        client = self._rest.client
        ref = self._ref(client_order_id)
        now = self._clock.now()
        if ref.is_algo:
            try:
                raw = await self._rest.read(
                    f"algo order {client_order_id}",
                    lambda: client.futures_get_order(symbol=ref.symbol, clientAlgoId=client_order_id),
                )
            except BrokerError as exc:
                if _venue_code(exc) in _NOT_FOUND:
                    return False
                raise
            status = str(raw.get("algoStatus", ""))
            if raw.get("algoId") is not None:
                ref.algo_id = int(raw["algoId"])
            actual = str(raw.get("actualOrderId") or "")
            if actual and actual != "0":
                self._link_actual(client_order_id, actual)
            events = self.tracking.accepted(client_order_id, now, algo_venue_id(ref.algo_id)
                                            if ref.algo_id is not None else None)
            await self._sink.emit(events)
            if ref.actual_order_id is not None:
                await self._emit_trades(client_order_id, ref.actual_order_id)
            order = self.tracking.get(client_order_id)
            if status == "CANCELED":
                events = self.tracking.canceled(client_order_id, now)
            elif status == "EXPIRED":
                events = self.tracking.expired(client_order_id, now)
            elif status == "REJECTED":
                events = self.tracking.rejected(client_order_id, "ALGO_REJECTED", now)
            elif status == "FINISHED" and order is not None and order.filled_qty < order.quantity:
                events = self.tracking.expired(client_order_id, now)
            else:
                events = []
            await self._sink.emit(events)
            return True
        try:
            raw = await self._rest.read(
                f"order {client_order_id}",
                lambda: client.futures_get_order(symbol=ref.symbol, origClientOrderId=client_order_id),
            )
        except BrokerError as exc:
            if _venue_code(exc) in _NOT_FOUND:
                return False
            raise
        venue_id = str(raw["orderId"])
        await self._sink.emit(self.tracking.accepted(client_order_id, now, venue_id))
        order = self.tracking.get(client_order_id)
        if order is not None and Decimal(str(raw.get("executedQty", "0"))) > order.filled_qty:
            await self._emit_trades(client_order_id, venue_id)
        status = str(raw.get("status", ""))
        if status == "CANCELED":
            events = self.tracking.canceled(client_order_id, now)
        elif status in ("EXPIRED", "EXPIRED_IN_MATCH"):
            events = self.tracking.expired(client_order_id, now)
        elif status == "REJECTED":
            events = self.tracking.rejected(client_order_id, "REJECTED", now)
        else:
            events = []
        await self._sink.emit(events)
        return True

    async def recover(self) -> None:
        """After a user-stream gap: refresh every order not yet final (fills first, then end states)."""
        for order in self.tracking.working() + self.tracking.unconfirmed():
            try:
                if not await self.refresh(order.client_order_id) and not order.at_venue:
                    self._forget(order.client_order_id)
            except BrokerError as exc:
                logger.error("binance recovery of {} failed: {}", order.client_order_id, exc)
                raise

    def _link_actual(self, client_order_id: str, actual: str) -> None:
        self._ref(client_order_id).actual_order_id = actual
        self.tracking.link(client_order_id, actual, primary=False)

    # ------------------------------------------------------------------ user-data stream messages
    async def on_user_message(self, msg: Mapping[str, Any]) -> None:
        kind = msg.get("e")
        if kind == "ORDER_TRADE_UPDATE":
            await self._on_order_update(msg["o"], msg)
        elif kind == "ALGO_UPDATE":
            await self._on_algo_update(msg["o"], msg)

    async def _on_order_update(self, o: Mapping[str, Any], msg: Mapping[str, Any]) -> None:
        venue_id = str(o.get("i", ""))
        order = self.tracking.find(str(o.get("c", "")), venue_id)
        ts = _ts(o.get("T") or msg.get("E") or 0)
        if order is None:
            # neither sent nor adopted by this process (manual, another session): reconciliation reports it
            logger.debug("binance update for untracked order {} ({}) ignored", o.get("c"), venue_id)
            return
        cid = order.client_order_id
        ref = self._ref(cid)
        if not ref.is_algo:
            self.tracking.link(cid, venue_id)
        x = str(o.get("x", ""))
        if x == "NEW":
            if not ref.is_algo:
                await self._sink.emit(self.tracking.accepted(cid, ts, venue_id))
        elif x in ("TRADE", "CALCULATED"):
            cum = o.get("z")
            fill = Fill(
                str(o.get("t")),
                Decimal(str(o.get("l", "0"))),
                Decimal(str(o.get("L", "0"))),
                ts,
                Decimal(str(o.get("n", "0") or "0")),
                str(o.get("N") or "USDT"),
                cum_qty=Decimal(str(cum)) if cum not in (None, "") else None,
                venue_order_id=venue_id,
            )
            await self._fill(cid, fill)
        elif x == "CANCELED":
            await self._sink.emit(self.tracking.canceled(cid, ts))
            await self._after_final(cid)
        elif x == "EXPIRED":
            await self._sink.emit(self.tracking.expired(cid, ts))
            await self._after_final(cid)

    async def _on_algo_update(self, o: Mapping[str, Any], msg: Mapping[str, Any]) -> None:
        cid = str(o.get("caid", ""))
        order = self.tracking.find(cid, algo_venue_id(int(o["aid"])) if o.get("aid") is not None else None)
        if order is None:
            logger.debug("binance algo update for untracked order {} ignored", cid)
            return
        cid = order.client_order_id
        ref = self._ref(cid)
        ts = _ts(msg.get("T") or msg.get("E") or 0)
        venue_id: str | None = None
        if o.get("aid") is not None:
            ref.algo_id = int(o["aid"])
            venue_id = algo_venue_id(ref.algo_id)
        status = str(o.get("X", ""))
        actual = str(o.get("ai") or "")
        if actual and actual != "0":
            self._link_actual(cid, actual)
        if status == "NEW":
            events = self.tracking.accepted(cid, ts, venue_id)
        elif status == "CANCELED":
            events = self.tracking.canceled(cid, ts)
        elif status == "EXPIRED":
            events = self.tracking.expired(cid, ts)
        elif status == "REJECTED":
            events = self.tracking.rejected(cid, str(o.get("rm") or "ALGO_REJECTED"), ts)
        else:
            events = []
        await self._sink.emit(events)

    async def _fill(self, client_order_id: str, fill: Fill) -> None:
        before = self.tracking.get(client_order_id)
        first = before is not None and before.filled_qty == 0
        events = self.tracking.filled(client_order_id, fill)
        if not events:
            return
        await self._sink.emit(events)
        order = self.tracking.get(client_order_id)
        if first and order is not None and order.siblings:
            self._spawn(self._cancel_related(order.siblings, f"OCO: {client_order_id} filled"))

    async def _after_final(self, client_order_id: str) -> None:
        """An entry that ended without any fill takes its bracket legs with it."""
        order = self.tracking.get(client_order_id)
        if order is not None and order.legs and order.filled_qty == 0:
            self._spawn(self._cancel_related(order.legs, f"entry {client_order_id} ended unfilled"))

    async def _cancel_related(self, client_order_ids: tuple[str, ...], why: str) -> None:
        for cid in client_order_ids:
            other = self.tracking.get(cid)
            if other is None or not other.terminal:
                logger.info("binance {}: canceling {}", why, cid)
                await self._cancel_quietly(cid)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Wait for OCO cancels in flight (close() and tests)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*list(self._background), return_exceptions=True)


def duplicate_id_error(client_order_id: str) -> ErrorClass:
    return ErrorClass(
        ErrorCategory.ORDER_REJECTED,
        ErrorScope.SYMBOL,
        ErrorAction.SKIP_SYMBOL,
        DUPLICATE_CLIENT_ORDER_ID,
        details={"client_order_id": client_order_id},
    )


def trade_fill(trade: Mapping[str, Any]) -> Fill:
    """A /fapi/v1/userTrades row → one execution (fill id = Binance trade id)."""
    return Fill(
        fill_id=str(trade["id"]),
        quantity=Decimal(str(trade["qty"])),
        price=Decimal(str(trade["price"])),
        ts=_ts(trade["time"]),
        fee=Decimal(str(trade.get("commission", "0"))),
        fee_currency=str(trade.get("commissionAsset", "USDT")),
        venue_order_id=str(trade["orderId"]) if "orderId" in trade else None,
    )


def side_of(trade: Mapping[str, Any]) -> Side:
    return Side(str(trade["side"]))
