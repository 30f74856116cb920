"""Execution: submit, brackets (emulated OCO), cancel, cancel-all, and the venue's order updates.

A bracket is three orders: the entry (``/fapi/v1/order``) and two reduce-only conditional legs on the
Algo API (``<cid>-sl`` STOP_MARKET, ``<cid>-tp`` TAKE_PROFIT_MARKET, ``clientAlgoId`` = leg id). Binance
has no native OCO for USD-M, so the adapter emulates it: the first fill of one leg cancels the other; an
entry canceled/rejected/expired with nothing filled cancels both legs. Legs are sent right after the
entry is accepted; reduce-only keeps a leg from opening a position if it triggers before the entry fills.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from loguru import logger

from tradebot.domain.clock import Clock
from tradebot.domain.errors import BrokerError, ErrorAction, ErrorCategory, ErrorClass, ErrorScope
from tradebot.domain.events import OrderSnapshot
from tradebot.domain.orders import OrderRequest, OrderType, Side, child_order_id
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
from tradebot_binance.orders import EventSink, OrderTracker, TrackedOrder
from tradebot_binance.rest import BinanceRest
from tradebot_binance.translate import algo_snapshot, is_algo, leg_params, order_params, order_snapshot


def _ts(ms: Any) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def _venue_code(exc: BrokerError) -> int | None:
    code = exc.error_class.details.get("venue_code")
    return int(code) if code is not None else None


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
        self.tracker = OrderTracker()
        self._background: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ submit
    def _track(self, request: OrderRequest, algo: bool, parent: str | None = None) -> TrackedOrder:
        return self.tracker.add(
            TrackedOrder(
                client_order_id=request.client_order_id,
                symbol=request.symbol,
                side=request.side,
                quantity=request.quantity,
                order_type=request.order_type,
                is_algo=algo,
                limit_price=request.limit_price,
                stop_price=request.stop_price,
                tif=request.tif,
                reduce_only=request.reduce_only,
                parent=parent or request.parent_client_order_id,
            )
        )

    async def submit(self, request: OrderRequest) -> None:
        info = self._symbols(request.symbol)
        now = self._clock.now()
        if info is None or not info.tradable:
            order = self._track(request, algo=False)
            status = "unknown" if info is None else info.status
            await self._sink.rejected(order, f"{SYMBOL_NOT_TRADING}: {request.symbol} is {status}", now, None)
            return
        known = self.tracker.get(request.client_order_id)
        if known is not None and (known.accepted or known.terminal):
            # never a second order under one client order id (Binance only refuses it while the first is open)
            raise BrokerError(
                f"binance: client order id {request.client_order_id} was already used",
                duplicate_id_error(request.client_order_id),
            )
        if request.leverage is not None:
            await self._account.set_leverage(request.symbol, max(1, int(request.leverage)))
        params = order_params(request, self._hedge)
        algo = is_algo(params)
        order = self._track(request, algo)
        if request.bracket is not None:
            legs = [child_order_id(request.client_order_id, "sl")]
            if request.bracket.take_profit is not None:
                legs.append(child_order_id(request.client_order_id, "tp"))
            order.children = tuple(legs)
        accepted = await self._place(order, params)
        if accepted and request.bracket is not None:
            await self._place_legs(order, request)

    async def _place(self, order: TrackedOrder, params: dict[str, Any]) -> bool:
        """Send one order; a venue refusal becomes OrderRejected. True when the venue accepted it."""
        client = self._rest.client
        try:
            res = await self._rest.write(
                f"submit {order.client_order_id}", lambda: client.futures_create_order(**params)
            )
        except BrokerError as exc:
            if exc.error_class.category is ErrorCategory.ORDER_REJECTED:
                code = _venue_code(exc)
                await self._sink.rejected(
                    order,
                    f"{exc.error_class.code}: {exc.error_class.details.get('message', '')}",
                    self._clock.now(),
                    None if code is None else str(code),
                )
                return False
            raise
        if order.is_algo:
            order.algo_id = int(res["algoId"])
            order.venue_order_id = f"algo:{order.algo_id}"
            self.tracker.link(order.client_order_id, order.venue_order_id)
        else:
            order.venue_order_id = str(res["orderId"])
            self.tracker.link(order.client_order_id, order.venue_order_id)
        await self._sink.accepted(order, self._clock.now())
        return True

    async def _place_legs(self, entry: TrackedOrder, request: OrderRequest) -> None:
        assert request.bracket is not None
        legs: list[tuple[TrackedOrder, dict[str, Any]]] = []
        specs = [("sl", request.bracket.stop_loss, False)]
        if request.bracket.take_profit is not None:
            specs.append(("tp", request.bracket.take_profit, True))
        for leg, price, is_tp in specs:
            cid = child_order_id(request.client_order_id, leg)
            leg_order = self.tracker.add(
                TrackedOrder(
                    client_order_id=cid,
                    symbol=request.symbol,
                    side=request.side.opposite,
                    quantity=request.quantity,
                    order_type=OrderType.LIMIT if is_tp else OrderType.STOP,
                    is_algo=True,
                    limit_price=price if is_tp else None,
                    stop_price=None if is_tp else price,
                    reduce_only=True,
                    parent=request.client_order_id,
                )
            )
            legs.append(
                (
                    leg_order,
                    leg_params(
                        cid, request.symbol, request.side, request.quantity, price, is_tp, self._hedge
                    ),
                )
            )
        ids = tuple(o.client_order_id for o, _ in legs)
        for leg_order, _ in legs:
            leg_order.siblings = tuple(c for c in ids if c != leg_order.client_order_id)
        for leg_order, params in legs:
            try:
                ok = await self._place(leg_order, params)
            except BrokerError as exc:
                logger.error("binance bracket leg {} failed: {}", leg_order.client_order_id, exc)
                await self._sink.rejected(leg_order, exc.error_class.code, self._clock.now(), None)
                ok = False
            if not ok:
                # fail closed: no unprotected entry. Cancel the entry (if unfilled) and the other legs.
                await self._cancel_quietly(entry)
                for other, _ in legs:
                    if other is not leg_order:
                        await self._cancel_quietly(other)
                return

    # ------------------------------------------------------------------ cancel
    async def cancel(self, client_order_id: str) -> None:
        order = self.tracker.get(client_order_id)
        if order is None:
            snap = await self.order_status(client_order_id)
            if snap is None:
                raise state_error(UNKNOWN_ORDER, f"binance: no order {client_order_id} at the venue")
            order = self._adopt(snap)
        if order.terminal:
            return
        await self._cancel(order)

    async def _cancel(self, order: TrackedOrder) -> None:
        client = self._rest.client
        try:
            if order.is_algo and order.actual_order_id is None:
                await self._rest.write(
                    f"cancel {order.client_order_id}",
                    lambda: (
                        client.futures_cancel_order(symbol=order.symbol, algoId=order.algo_id)
                        if order.algo_id is not None
                        else client.futures_cancel_order(
                            symbol=order.symbol, clientAlgoId=order.client_order_id
                        )
                    ),
                )
                await self._sink.canceled(order, self._clock.now())
            else:
                if order.actual_order_id is not None:
                    res = await self._rest.write(
                        f"cancel {order.client_order_id}",
                        lambda: client.futures_cancel_order(
                            symbol=order.symbol, orderId=order.actual_order_id
                        ),
                    )
                else:
                    res = await self._rest.write(
                        f"cancel {order.client_order_id}",
                        lambda: client.futures_cancel_order(
                            symbol=order.symbol, origClientOrderId=order.client_order_id
                        ),
                    )
                if str(res.get("status")) == "CANCELED":
                    await self.refresh(order)  # fills that raced the cancel come first
                    await self._sink.canceled(order, self._clock.now())
        except BrokerError as exc:
            if _venue_code(exc) in (UNKNOWN_ORDER_CODE, NO_SUCH_ORDER_CODE):
                await self.refresh(order)  # already done at the venue: report what happened
                if order.terminal:
                    return
            raise

    async def _cancel_quietly(self, order: TrackedOrder) -> None:
        if order.terminal:
            return
        try:
            await self._cancel(order)
        except BrokerError as exc:
            logger.error("binance cancel of {} failed: {}", order.client_order_id, exc)

    async def cancel_all(self, symbol: str | None = None) -> None:
        client = self._rest.client
        if symbol is not None:
            symbols = {symbol}
        else:
            symbols = {o.symbol for o in self.tracker.live()} | set(self._known_symbols())
            for snap in await self.open_orders():
                symbols.add(snap.symbol)
        for sym in sorted(symbols):
            await self._rest.write(
                f"cancel all {sym}", partial(client.futures_cancel_all_open_orders, symbol=sym)
            )
            await self._rest.write(
                f"cancel all algo {sym}",
                partial(client.futures_cancel_all_open_orders, symbol=sym, conditional=True),
            )
        now = self._clock.now()
        for order in self.tracker.live():
            if order.symbol in symbols:
                await self.refresh(order)
                if not order.terminal:
                    await self._sink.canceled(order, now, "cancel_all")

    # ------------------------------------------------------------------ queries
    async def open_orders(self) -> list[OrderSnapshot]:
        client = self._rest.client
        regular = await self._rest.read("open orders", lambda: client.futures_get_open_orders())
        algos = await self._rest.read(
            "open algo orders", lambda: client.futures_get_open_orders(conditional=True)
        )
        return [order_snapshot(r) for r in regular] + [algo_snapshot(a) for a in algos]

    async def order_status(self, client_order_id: str) -> OrderSnapshot | None:
        order = self.tracker.get(client_order_id)
        symbols = [order.symbol] if order is not None else sorted(set(self._known_symbols()))
        client = self._rest.client
        for sym in symbols:
            try:
                raw = await self._rest.read(
                    f"order {client_order_id}",
                    partial(client.futures_get_order, symbol=sym, origClientOrderId=client_order_id),
                )
                return order_snapshot(raw)
            except BrokerError as exc:
                if _venue_code(exc) not in (NO_SUCH_ORDER_CODE, UNKNOWN_ORDER_CODE):
                    raise
            try:
                raw = await self._rest.read(
                    f"algo order {client_order_id}",
                    partial(client.futures_get_order, symbol=sym, clientAlgoId=client_order_id),
                )
                return algo_snapshot(raw)
            except BrokerError as exc:
                if _venue_code(exc) not in (NO_SUCH_ORDER_CODE, UNKNOWN_ORDER_CODE):
                    raise
        return None

    def _adopt(self, snap: OrderSnapshot) -> TrackedOrder:
        algo = snap.venue_order_id.startswith("algo:")
        order = self.tracker.add(
            TrackedOrder(
                client_order_id=snap.client_order_id,
                symbol=snap.symbol,
                side=snap.side,
                quantity=snap.quantity,
                order_type=snap.order_type,
                is_algo=algo,
                limit_price=snap.limit_price,
                stop_price=snap.stop_price,
                tif=snap.tif,
                reduce_only=snap.reduce_only,
                parent=snap.parent_client_order_id,
                venue_order_id=snap.venue_order_id,
                accepted=True,
            )
        )
        if algo:
            order.algo_id = int(snap.venue_order_id.split(":", 1)[1])
        self.tracker.link(order.client_order_id, snap.venue_order_id)
        return order

    # ------------------------------------------------------------------ reconciliation of one order
    async def _emit_trades(self, order: TrackedOrder, venue_order_id: str) -> None:
        client = self._rest.client
        trades = await self._rest.read(
            f"trades of {order.client_order_id}",
            lambda: client.futures_account_trades(symbol=order.symbol, orderId=int(venue_order_id)),
        )
        for trade in sorted(trades, key=lambda t: int(t["id"])):
            await self._fill(order, trade_fill(trade), venue_order_id)

    async def refresh(self, order: TrackedOrder) -> None:
        """Bring one order up to the venue's truth: missed fills, then its terminal state."""
        client = self._rest.client
        now = self._clock.now()
        if order.is_algo:
            try:
                raw = await self._rest.read(
                    f"algo order {order.client_order_id}",
                    lambda: client.futures_get_order(symbol=order.symbol, clientAlgoId=order.client_order_id),
                )
            except BrokerError as exc:
                if _venue_code(exc) in (NO_SUCH_ORDER_CODE, UNKNOWN_ORDER_CODE):
                    return
                raise
            status = str(raw.get("algoStatus", ""))
            actual = str(raw.get("actualOrderId") or "")
            if actual and actual != "0":
                self._link_actual(order, actual)
            if order.actual_order_id is not None:
                await self._emit_trades(order, order.actual_order_id)
            if status == "NEW":
                await self._sink.accepted(order, now)
            elif status == "CANCELED":
                await self._sink.canceled(order, now)
            elif status == "EXPIRED":
                await self._sink.expired(order, now)
            elif status == "REJECTED":
                await self._sink.rejected(order, "ALGO_REJECTED", now, None)
            elif status == "FINISHED" and not order.terminal and order.filled < order.quantity:
                await self._sink.expired(order, now)
            return
        try:
            raw = await self._rest.read(
                f"order {order.client_order_id}",
                lambda: client.futures_get_order(
                    symbol=order.symbol, origClientOrderId=order.client_order_id
                ),
            )
        except BrokerError as exc:
            if _venue_code(exc) in (NO_SUCH_ORDER_CODE, UNKNOWN_ORDER_CODE):
                return
            raise
        venue_id = str(raw["orderId"])
        order.venue_order_id = order.venue_order_id or venue_id
        self.tracker.link(order.client_order_id, venue_id)
        await self._sink.accepted(order, now)
        if Decimal(str(raw.get("executedQty", "0"))) > order.filled:
            await self._emit_trades(order, venue_id)
        status = str(raw.get("status", ""))
        if status == "CANCELED":
            await self._sink.canceled(order, now)
        elif status in ("EXPIRED", "EXPIRED_IN_MATCH"):
            await self._sink.expired(order, now)
        elif status == "REJECTED":
            await self._sink.rejected(order, "REJECTED", now, None)

    async def recover(self) -> None:
        """After a user-stream gap: refresh every order not yet final (fills first, then end states)."""
        for order in list(self.tracker.live()):
            try:
                await self.refresh(order)
            except BrokerError as exc:
                logger.error("binance recovery of {} failed: {}", order.client_order_id, exc)
                raise

    def _link_actual(self, order: TrackedOrder, actual: str) -> None:
        order.actual_order_id = actual
        self.tracker.link(order.client_order_id, actual)

    # ------------------------------------------------------------------ user-data stream messages
    async def on_user_message(self, msg: Mapping[str, Any]) -> None:
        kind = msg.get("e")
        if kind == "ORDER_TRADE_UPDATE":
            await self._on_order_update(msg["o"], msg)
        elif kind == "ALGO_UPDATE":
            await self._on_algo_update(msg["o"], msg)

    async def _on_order_update(self, o: Mapping[str, Any], msg: Mapping[str, Any]) -> None:
        cid = str(o.get("c", ""))
        venue_id = str(o.get("i", ""))
        order = self.tracker.find(cid, venue_id)
        ts = _ts(o.get("T") or msg.get("E") or 0)
        if order is None:
            return  # not an order of this process (another session or manual); reconciliation reports it
        if not order.is_algo and order.venue_order_id is None:
            order.venue_order_id = venue_id
            self.tracker.link(order.client_order_id, venue_id)
        x = str(o.get("x", ""))
        if x == "NEW":
            if not order.is_algo:
                await self._sink.accepted(order, ts)
        elif x in ("TRADE", "CALCULATED"):
            fill = (
                str(o.get("t")),
                Decimal(str(o.get("l", "0"))),
                Decimal(str(o.get("L", "0"))),
                Decimal(str(o.get("n", "0") or "0")),
                str(o.get("N") or "USDT"),
                ts,
            )
            await self._fill(order, fill, venue_id)
        elif x == "CANCELED":
            await self._sink.canceled(order, ts)
            await self._after_final(order)
        elif x == "EXPIRED":
            await self._sink.expired(order, ts)
            await self._after_final(order)

    async def _on_algo_update(self, o: Mapping[str, Any], msg: Mapping[str, Any]) -> None:
        cid = str(o.get("caid", ""))
        order = self.tracker.find(cid, f"algo:{o.get('aid')}")
        if order is None:
            return
        ts = _ts(msg.get("T") or msg.get("E") or 0)
        if order.algo_id is None and o.get("aid") is not None:
            order.algo_id = int(o["aid"])
            order.venue_order_id = f"algo:{order.algo_id}"
        status = str(o.get("X", ""))
        actual = str(o.get("ai") or "")
        if actual and actual != "0":
            self._link_actual(order, actual)
        if status == "NEW":
            await self._sink.accepted(order, ts)
        elif status == "CANCELED":
            await self._sink.canceled(order, ts)
        elif status == "EXPIRED":
            await self._sink.expired(order, ts)
        elif status == "REJECTED":
            await self._sink.rejected(order, str(o.get("rm") or "ALGO_REJECTED"), ts, None)

    async def _fill(
        self, order: TrackedOrder, fill: tuple[str, Decimal, Decimal, Decimal, str, datetime], venue_id: str
    ) -> None:
        fill_id, qty, price, fee, fee_ccy, ts = fill
        first = order.filled == 0
        if not await self._sink.filled(order, fill_id, qty, price, fee, fee_ccy, ts, venue_id):
            return
        if first and order.siblings:
            self._spawn(self._cancel_siblings(order))

    async def _after_final(self, order: TrackedOrder) -> None:
        """An entry that ended without any fill takes its bracket legs with it."""
        if order.children and order.filled == 0:
            self._spawn(self._cancel_children(order))

    async def _cancel_siblings(self, order: TrackedOrder) -> None:
        for cid in order.siblings:
            sibling = self.tracker.get(cid)
            if sibling is not None and not sibling.terminal:
                logger.info("binance OCO: {} filled, canceling {}", order.client_order_id, cid)
                await self._cancel_quietly(sibling)

    async def _cancel_children(self, order: TrackedOrder) -> None:
        for cid in order.children:
            child = self.tracker.get(cid)
            if child is not None and not child.terminal:
                await self._cancel_quietly(child)

    def _spawn(self, coro: Any) -> None:
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


def trade_fill(trade: Mapping[str, Any]) -> tuple[str, Decimal, Decimal, Decimal, str, datetime]:
    """A /fapi/v1/userTrades row → (fill_id, qty, price, fee, fee currency, ts)."""
    return (
        str(trade["id"]),
        Decimal(str(trade["qty"])),
        Decimal(str(trade["price"])),
        Decimal(str(trade.get("commission", "0"))),
        str(trade.get("commissionAsset", "USDT")),
        _ts(trade["time"]),
    )


def side_of(trade: Mapping[str, Any]) -> Side:
    return Side(str(trade["side"]))
