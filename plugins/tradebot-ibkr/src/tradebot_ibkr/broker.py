"""``IbkrBroker``: the Broker protocol on top of ib_async, wiring connection, instruments, data, execution."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ib_async import IB, ExecutionFilter, Future
from loguru import logger

from tradebot.brokers.capabilities import Capabilities
from tradebot.domain.bars import Bar
from tradebot.domain.clock import Clock
from tradebot.domain.errors import BrokerError, ErrorClass
from tradebot.domain.events import (
    AccountSnapshot,
    BrokerEvent,
    OrderFilled,
    OrderSnapshot,
    PositionSnapshot,
)
from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import OrderRequest, OrderType, Side
from tradebot_ibkr import errors as E
from tradebot_ibkr.account import account_snapshot, fetch_account_summary, position_snapshots
from tradebot_ibkr.config import IbkrConfig
from tradebot_ibkr.connection import ConnectionManager, ConnState
from tradebot_ibkr.data import BarFeed, BarStream, FeedQuality, QueueIterator
from tradebot_ibkr.execution import (
    ExecutionTracker,
    OrderRecord,
    build_legs,
    fill_report,
    snapshot_from_trade,
)
from tradebot_ibkr.instruments import FutureSpec, choose_front_month, spec_from_details, to_instrument


class IbkrBroker:
    """Interactive Brokers through TWS / IB Gateway. One instance = one API client id."""

    name = "ibkr"

    def __init__(
        self, config: IbkrConfig, clock: Clock, capabilities: Capabilities, ib: Any | None = None
    ) -> None:
        self.config = config
        self.capabilities = capabilities
        self._clock = clock
        self._ib: Any = ib if ib is not None else IB()
        self._ib.RaiseRequestErrors = True
        self._events: asyncio.Queue[BrokerEvent] = asyncio.Queue()
        self._tracker = ExecutionTracker(clock, self._events.put_nowait)
        self._feed = BarFeed(self._ib, clock, config.use_rth)
        self._contracts: dict[str, Any] = {}
        self._specs: dict[str, FutureSpec] = {}
        self._session_started: datetime | None = None
        self._request_lock = asyncio.Lock()
        self.connection = ConnectionManager(
            self._ib, config, clock, publish=self._events.put_nowait, resync=self._resync
        )
        self._ib.orderStatusEvent += self._tracker.on_status
        self._ib.execDetailsEvent += self._tracker.on_exec
        self._ib.commissionReportEvent += self._tracker.on_commission
        self._ib.errorEvent += self._on_error

    # ----- lifecycle
    async def connect(self) -> None:
        if self._session_started is None:
            self._tracker.history_mode = True  # the first sync replays today's executions: history
        await self.connection.connect()

    async def close(self) -> None:
        await self.connection.close()

    @property
    def ib(self) -> Any:
        """The underlying ``ib_async.IB`` (for diagnostics and tests)."""
        return self._ib

    def feed_quality(self, symbol: str, bar_size_s: int) -> FeedQuality | None:
        """DVS inputs (lag, missing 5-second bars) of the ``bars(symbol, bar_size_s)`` stream."""
        return self._feed.quality.get(f"{symbol}/{bar_size_s}")

    async def _resync(self, first: bool) -> None:
        """Run once the socket is synchronised, before READY: reconcile, resubscribe."""
        since = self._session_started
        self._session_started = self._clock.now()
        open_trades = [t for t in self._ib.openTrades() if t.order.orderRef]
        if first:
            # executions before this process started are history (fills_since reports them), not events
            self._tracker.fill_ids.update(str(f.execution.execId) for f in self._ib.fills())
            self._tracker.history_mode = False
            for trade in open_trades:
                self._tracker.on_status(trade)
            self._feed.resubscribe()  # bar streams opened before a close()/connect() keep flowing
            return
        # connectAsync already fetched today's executions (with commission reports) and open orders
        self._tracker.reconcile_fills(list(self._ib.fills()))
        self._tracker.reconcile_open(open_trades)
        self._feed.resubscribe()
        logger.info("ibkr resynchronised after reconnect (previous session from {})", since)

    def _exec_filter(self, since: datetime) -> Any:
        return ExecutionFilter(time=since.astimezone(UTC).strftime("%Y%m%d-%H:%M:%S"))

    def _on_error(self, req_id: int, code: int, text: str, contract: Any = None) -> None:
        if req_id > 0 and not self._ib.wrapper.trades.get((self._ib.wrapper.clientId, req_id)):
            self._tracker.on_error(req_id, code, text)

    async def _ready(self) -> None:
        """Wait (bounded by ``request_timeout``) for READY, e.g. while a reconnect is under way."""
        if self.connection.state is not ConnState.READY:
            await self.connection.wait_ready(self.config.request_timeout)

    async def _request(self, make: Callable[[], Awaitable[Any]], what: str) -> Any:
        """One bounded request/response round trip. Serialised: ib_async keys some requests by name
        ("positions", "openOrders"), so two at once would orphan the first."""
        await self._ready()
        try:
            async with self._request_lock:
                return await asyncio.wait_for(make(), self.config.request_timeout)
        except BrokerError:
            raise
        except Exception as exc:
            cls = E.classify_error(exc)
            if cls is None:
                raise
            raise BrokerError(f"IB {what} failed: {exc}", cls) from exc

    # ----- instruments
    async def instrument(self, symbol: str) -> Instrument:
        spec = self._specs.get(symbol)
        if spec is None:
            spec = await self._qualify(symbol)
        return to_instrument(symbol, spec)

    async def _qualify(self, symbol: str) -> FutureSpec:
        query = Future(symbol=symbol, exchange=self.config.exchange, currency=self.config.currency)
        details = await self._request(
            lambda: self._ib.reqContractDetailsAsync(query), f"contract details for {symbol}"
        )
        if not details:
            raise BrokerError(
                f"IB knows no {symbol} future on {self.config.exchange}", E.classify_ib_code(200)
            )
        specs = [spec_from_details(d) for d in details]
        try:
            spec = choose_front_month(specs, await self._venue_date(), self.config.roll_days)
        except ValueError as exc:
            raise BrokerError(f"{symbol}: {exc}", E.classify_ib_code(200)) from exc
        contract = next(d.contract for d in details if d.contract.conId == spec.con_id)
        self._specs[symbol] = spec
        self._contracts[symbol] = contract
        logger.info(
            "ibkr {} front month {} (expires {}, roll_days {})",
            symbol,
            spec.local_symbol,
            spec.expiry.isoformat(),
            self.config.roll_days,
        )
        return spec

    async def _venue_date(self) -> date:
        """Today at the venue (TWS's clock). Not the pipeline's clock: on bar time it reads 1970 until the
        first bar, and the front month must be chosen before any bar arrives."""
        venue_now = await self._request(self._ib.reqCurrentTimeAsync, "current time")
        if not isinstance(venue_now, datetime):
            raise BrokerError(f"IB current time is not a time: {venue_now!r}", E.classify_ib_code(200))
        return venue_now.astimezone(UTC).date()

    async def _contract(self, symbol: str) -> Any:
        if symbol not in self._contracts:
            await self._qualify(symbol)
        return self._contracts[symbol]

    # ----- market data
    def bars(self, instrument: Instrument, bar_size_s: int) -> AsyncIterator[Bar]:
        """Closed ``bar_size_s`` bars built from 5-second real-time bars; survives reconnects."""
        return BarStream(self._feed, self._contract, instrument.symbol, bar_size_s)

    # ----- execution
    async def submit(self, request: OrderRequest) -> None:
        """Place the order (bracket legs included) and wait for TWS's first answer on every leg.

        A rejection is an OrderRejected event, not an exception. Raises BrokerError when the request itself
        failed (pacing, permissions: nothing was placed, the id may be sent again) or when the connection
        dropped or TWS stayed silent (NET_RETRY: look the id up with ``order_status`` before any retry).
        """
        await self._ready()
        cid = request.client_order_id
        if self._tracker.get(cid) is not None:
            return  # idempotent: this client order id is already at the venue
        if await self.order_status(cid) is not None:
            # an order of an earlier process (TWS never refuses a reused orderRef): adopted, not sent again
            logger.warning("ibkr submit {}: the venue already has this client order id; not sent", cid)
            return
        contract = await self._contract(request.symbol)
        try:
            legs = build_legs(request, self.config.account, self._ib.client.getReqId)
        except ValueError as exc:
            raise BrokerError(str(exc), E.classify_ib_code(201)) from exc
        records = [OrderRecord.from_request(leg.request, int(leg.order.orderId)) for leg in legs]
        for record in records:
            self._tracker.add(record)
        try:
            for leg in legs:
                self._ib.placeOrder(contract, leg.order)
        except ConnectionError as exc:
            self._forget(records, refused=True)
            raise BrokerError(
                f"IB connection lost while sending {request.client_order_id}",
                E.network_error(E.IB_NOT_CONNECTED),
            ) from exc
        answered: asyncio.Future[Any] = asyncio.ensure_future(
            asyncio.gather(*(r.answered.wait() for r in records))
        )
        lost: asyncio.Future[Any] = asyncio.ensure_future(self.connection.wait_lost())
        try:
            await asyncio.wait(
                {answered, lost}, timeout=self.config.request_timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            answered.cancel()
            lost.cancel()
            await asyncio.gather(answered, lost, return_exceptions=True)  # retrieve, never leak
        failed = next((r for r in records if r.failure is not None), None)
        if failed is not None and failed.failure is not None:
            self._forget(records, refused=True)
            raise BrokerError(
                f"IB refused {request.client_order_id}: {failed.failure_message}", failed.failure
            )
        if all(r.answered.is_set() for r in records):
            return
        if self.connection.state is not ConnState.READY:
            self._forget([r for r in records if not r.answered.is_set()], refused=False)
            raise BrokerError(
                f"IB connection lost while submitting {request.client_order_id}; "
                "look it up by client order id before any retry",
                E.network_error(E.IB_SOCKET_DROPPED, client_order_id=request.client_order_id),
            )
        raise BrokerError(
            f"IB did not acknowledge {request.client_order_id} in {self.config.request_timeout}s; "
            "look it up by client order id before any retry",
            E.network_error(E.IB_REQUEST_TIMEOUT, client_order_id=request.client_order_id),
        )

    def _forget(self, records: list[OrderRecord], *, refused: bool) -> None:
        for record in records:
            cid = record.client_order_id
            if not self._tracker.is_accepted(cid) and not self._tracker.is_final(cid):
                self._tracker.forget(cid, refused=refused)

    async def cancel(self, client_order_id: str) -> None:
        await self._ready()
        record = self._tracker.get(client_order_id)
        if record is None:
            cls = E.classify_ib_code(10147)
            raise BrokerError(f"unknown client order id {client_order_id}", cls)
        if self._tracker.is_final(client_order_id):
            return
        trade = self._trade_for(client_order_id)
        if trade is not None:
            self._ib.cancelOrder(trade.order)
        else:
            self._ib.client.cancelOrder(record.order_id, "")

    def _trade_for(self, client_order_id: str) -> Any | None:
        """The ib_async Trade of ``client_order_id``: a live one first, else a completed one (from
        reqCompletedOrders at connect: orders that ended before this process started)."""
        matches = [t for t in self._ib.trades() if t.order.orderRef == client_order_id]
        live = [t for t in matches if t.order.orderId]
        return (live or matches or [None])[-1]

    async def cancel_all(self, symbol: str | None = None) -> None:
        await self._ready()
        if symbol is None:
            self._ib.reqGlobalCancel()
            return
        tracker = self._tracker
        mine = [r for r in tracker.records.values() if r.symbol == symbol]
        for record in mine:
            cid = record.client_order_id
            if not tracker.is_final(cid) and record.parent_client_order_id is None:
                await self.cancel(cid)
        for record in mine:
            cid, parent = record.client_order_id, record.parent_client_order_id
            # an unfilled parent takes its children along
            if parent is not None and not tracker.is_final(cid) and (
                tracker.get(parent) is None or tracker.filled(parent) > 0
            ):
                await self.cancel(cid)

    async def flatten(self, symbol: str, client_order_id: str) -> str | None:
        """Cancel ``symbol``'s orders and close its position with a market order; None if already flat."""
        await self.cancel_all(symbol)
        position = next((p for p in await self.positions() if p.symbol == symbol), None)
        if position is None or position.quantity == 0:
            return None
        side = Side.SELL if position.quantity > 0 else Side.BUY
        await self.submit(
            OrderRequest(
                client_order_id=client_order_id,
                intent_id=f"flatten-{symbol}",
                symbol=symbol,
                side=side,
                quantity=abs(position.quantity),
                order_type=OrderType.MARKET,
                ts=self._clock.now(),
                reduce_only=True,
            )
        )
        return client_order_id

    async def order_status(self, client_order_id: str) -> OrderSnapshot | None:
        """Our record, else TWS's (open or completed) order, which is then tracked (adopted)."""
        snapshot = self._tracker.snapshot(client_order_id)
        if snapshot is not None:
            return snapshot
        if client_order_id in self._tracker.never_sent:
            return None  # the request failed: ib_async's local trace of it is no order
        trade = self._trade_for(client_order_id)
        if trade is None:
            return None
        parent_ref = self._parent_ref(trade, self._ib.trades())
        found = snapshot_from_trade(trade, parent_ref, final=True)
        if not found.status.is_terminal:
            self._tracker.adopt(trade, parent_ref)
        return found

    # ----- reconciliation reports
    async def open_orders(self) -> list[OrderSnapshot]:
        trades = await self._request(self._ib.reqOpenOrdersAsync, "open orders")
        out = []
        for trade in trades:
            if not trade.order.orderRef or trade.orderStatus.status not in ("PreSubmitted", "Submitted"):
                continue
            parent_ref = self._parent_ref(trade, trades)
            out.append(snapshot_from_trade(trade, parent_ref))
            if self._tracker.get(str(trade.order.orderRef)) is None:
                self._tracker.adopt(trade, parent_ref)  # its later updates are reported at once
        return sorted(out, key=lambda s: int(s.venue_order_id))

    def _parent_ref(self, trade: Any, trades: list[Any]) -> str | None:
        parent_id = int(trade.order.parentId or 0)
        if not parent_id:
            return None
        for other in [*trades, *self._ib.trades()]:
            if other.order.orderId == parent_id and other.order.orderRef:
                return str(other.order.orderRef)
        coid = self._tracker.by_order_id.get(parent_id)
        return coid

    async def fills_since(self, since: datetime) -> list[OrderFilled]:
        fills = await self._request(
            lambda: self._ib.reqExecutionsAsync(self._exec_filter(since)), "executions"
        )
        now = self._clock.now()

        def quantity_of(coid: str) -> Decimal | None:
            record = self._tracker.get(coid)
            return record.quantity if record is not None else None

        known = self._ib.wrapper.fills
        rows = []
        for f in fills:
            first = known.get(f.execution.execId)
            rows.append(
                fill_report(f, quantity_of, now, first.commissionReport if first is not None else None)
            )
        return sorted((r for r in rows if r.ts >= since), key=lambda r: (r.ts, r.fill_id))

    async def positions(self) -> list[PositionSnapshot]:
        rows = await self._request(self._ib.reqPositionsAsync, "positions")
        return position_snapshots(rows, self.config.account)

    async def account(self) -> AccountSnapshot:
        await self._ready()
        try:
            values = await fetch_account_summary(self._ib, self.config.request_timeout)
        except BrokerError:
            raise
        except Exception as exc:
            cls = E.classify_error(exc)
            if cls is None:
                raise
            raise BrokerError(f"IB account summary failed: {exc}", cls) from exc
        return account_snapshot(values, self.config.account)

    # ----- events and errors
    def events(self) -> AsyncIterator[BrokerEvent]:
        """Order and connection events; cancelling a pending ``__anext__`` loses nothing."""
        return QueueIterator(self._events)

    def classify_error(self, exc: BaseException) -> ErrorClass | None:
        return E.classify_error(exc)
