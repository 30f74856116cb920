"""AlpacaBroker: tradebot's Broker protocol over alpaca-py (REST in worker threads, two websocket streams).

Orders and their events pass one lock, held across a submit's REST call too, so the trade-updates stream
never sees an order before we know its id and legs; events leave in venue order, each exactly once (the
core's OrderTracking). An order found at the venue (open-orders report, a lookup, a stream update after a
restart) is adopted, legs included: its later updates are reported at once, never accepted twice. After
every (re)connection of the trade-updates stream the working orders are reconciled from REST (order
lookups + FILL activities), so fills that happened while the stream was down still arrive.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import pydantic
import requests
from alpaca.common.exceptions import APIError
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.models import Order
from alpaca.trading.requests import GetOrdersRequest

from tradebot.brokers.capabilities import Capabilities, PositionMode
from tradebot.brokers.order_tracking import Fill, OrderTracking
from tradebot.domain.bars import Bar
from tradebot.domain.clock import Clock
from tradebot.domain.errors import BrokerError, ErrorAction, ErrorCategory, ErrorClass, ErrorScope
from tradebot.domain.events import (
    AccountSnapshot,
    BrokerEvent,
    ConnectionEvent,
    OrderFilled,
    OrderSnapshot,
    OrderStatus,
    PositionSnapshot,
)
from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import OrderRequest, OrderType, Side, TimeInForce, child_order_id
from tradebot_alpaca import errors
from tradebot_alpaca.account import (
    FillActivity,
    account_snapshot,
    fill_activity,
    parse_time,
    position_snapshot,
    to_decimal,
)
from tradebot_alpaca.config import AlpacaConfig, Credentials
from tradebot_alpaca.data import BAR_SECONDS, BarHub, BarStream, bar_from_rest
from tradebot_alpaca.execution import (
    OPEN_STATUSES,
    build_order_request,
    flatten,
    leg_role,
    order_snapshot,
)
from tradebot_alpaca.instruments import AssetFlags, asset_flags, instrument_from_asset
from tradebot_alpaca.market_hours import MarketHours, VenueClock
from tradebot_alpaca.quotes import QuoteFeed, QuoteHub
from tradebot_alpaca.rest import DataRest, TradingRest
from tradebot_alpaca.streams import HookedStockDataStream, HookedTradingStream, StreamRunner, data_feed

log = logging.getLogger(__name__)
T = TypeVar("T")

CAPABILITIES = Capabilities(
    order_types=frozenset(OrderType),
    time_in_force=frozenset({TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}),
    brackets=True,
    oco=True,
    oto=True,
    reduce_only=True,  # emulated: refused before submit when it would grow or flip the venue position
    native_cancel_all=True,
    position_modes=frozenset({PositionMode.ONE_WAY}),
    fractional_qty=True,
    leverage=False,
    streaming_bars=True,
)
REDUCE_ONLY_BLOCK = "REDUCE_ONLY_WOULD_INCREASE"
ORDER_INVALID = "ORDER_INVALID"
_REST_ERRORS = (APIError, requests.exceptions.RequestException, pydantic.ValidationError, OSError)
_ACTIVITY_PAGE = 100
_CONNECT_TIMEOUT_S = 15.0


def _state_error(message: str, code: str, **details: Any) -> BrokerError:
    return BrokerError(message, ErrorClass(ErrorCategory.BROKER_STATE, ErrorScope.SYMBOL,
                                           ErrorAction.SKIP_SYMBOL, code, details=details))


class EventStream:
    """``broker.events()``: an async iterator over the event queue that survives a cancelled ``__anext__``."""

    def __init__(self, queue: asyncio.Queue[BrokerEvent]) -> None:
        self._queue = queue

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> BrokerEvent:
        return await self._queue.get()


class AlpacaBroker:
    name = "alpaca"
    capabilities = CAPABILITIES

    def __init__(self, config: AlpacaConfig, credentials: Credentials, clock: Clock) -> None:
        self._cfg = config
        self._creds = credentials
        self._clock = clock
        self._trading = TradingRest(config, credentials)
        self._data = DataRest(config, credentials)
        self._limiter = anyio.CapacityLimiter(config.rest_concurrency)
        self._events: asyncio.Queue[BrokerEvent] = asyncio.Queue(maxsize=config.queue_size)
        self._tracker = OrderTracking(default_fee_currency="USD")
        self._lock = asyncio.Lock()
        self._hub = BarHub(self._fetch_bars, clock, config.queue_size)
        self._quote_hub = QuoteHub(config.queue_size)
        self._hours = MarketHours(self._fetch_clock, clock, cache_s=config.clock_cache_s,
                                  calendar_check=config.calendar_check, extended_hours=config.extended_hours)
        self._instruments: dict[str, Instrument] = {}
        self._assets: dict[str, AssetFlags] = {}
        self._trade_runner: StreamRunner | None = None
        self._data_runner: StreamRunner | None = None
        self._data_symbols: frozenset[str] = frozenset()
        self._quote_symbols: frozenset[str] = frozenset()
        self._trade_ready = asyncio.Event()
        self._data_lock = asyncio.Lock()
        self._connected = False
        self.reconciliations = 0  # completed gap reconciliations (observable by tests and metrics)

    # ---- plumbing -------------------------------------------------------------------------------
    async def _raw(self, fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args), limiter=self._limiter)

    async def _call(self, what: str, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await self._raw(fn, *args)
        except _REST_ERRORS as exc:
            raise errors.to_broker_error(exc, what) from exc

    async def _emit(self, events: Iterable[BrokerEvent]) -> None:
        for event in events:
            await self._events.put(event)

    def classify_error(self, exc: BaseException) -> ErrorClass | None:
        return errors.classify_error(exc)

    # ---- lifecycle ------------------------------------------------------------------------------
    async def connect(self) -> None:
        if self._connected:
            return
        await self._call("account", self._trading.account)  # proves the keys before any stream
        key, secret = self._creds.key_id.get_secret_value(), self._creds.secret_key.get_secret_value()
        stream = HookedTradingStream(
            key, secret, paper=self._cfg.env == "paper", raw_data=True, url_override=self._cfg.trading_stream,
            on_connected=self._on_trading_connected, on_disconnected=self._on_trading_disconnected,
            min_backoff_s=self._cfg.stream_reconnect_min_s, max_backoff_s=self._cfg.stream_reconnect_max_s,
        )
        stream.subscribe_trade_updates(self._on_trade_update)
        self._trade_ready = asyncio.Event()
        self._trade_runner = StreamRunner("trade-updates", stream, self._cfg.stream_restart_s)
        self._trade_runner.start()
        try:
            with anyio.fail_after(_CONNECT_TIMEOUT_S):
                await self._trade_ready.wait()
        except TimeoutError as exc:
            await self.close()
            raise BrokerError(
                f"alpaca trade-updates stream {self._cfg.trading_stream} not up after {_CONNECT_TIMEOUT_S}s",
                ErrorClass(ErrorCategory.TRANSIENT_NETWORK, ErrorScope.PROVIDER, ErrorAction.RETRY,
                           errors.NET_RETRY),
            ) from exc
        self._connected = True
        if self._cfg.symbols:  # bars and quotes in one subscription: adding either later restarts the stream
            quotes = frozenset(self._cfg.symbols) if self._cfg.stream_quotes else frozenset()
            await self._ensure_data_stream(set(self._cfg.symbols), quotes)

    async def close(self) -> None:
        self._connected = False
        for runner in (self._trade_runner, self._data_runner):
            if runner is not None:
                await runner.stop()
        self._trade_runner = self._data_runner = None
        self._data_symbols = self._quote_symbols = frozenset()
        self._trading.close()
        self._data.close()

    async def _on_trading_connected(self) -> None:
        await self._emit([ConnectionEvent("CONNECTED", self._clock.now(), "trade_updates")])
        first = not self._trade_ready.is_set()
        self._trade_ready.set()
        if not first or self._tracker.working():
            await self._reconcile_working()

    async def _on_trading_disconnected(self) -> None:
        await self._emit([ConnectionEvent("DISCONNECTED", self._clock.now(), "trade_updates")])

    async def _on_data_disconnected(self) -> None:
        log.warning("alpaca market-data stream dropped; bars will be backfilled on reconnect")

    # ---- instruments, market data ---------------------------------------------------------------
    async def instrument(self, symbol: str) -> Instrument:
        symbol = symbol.upper()
        if symbol not in self._instruments:
            asset = await self._call(f"asset {symbol}", self._trading.asset, symbol)
            self._instruments[symbol] = instrument_from_asset(asset)
            self._assets[symbol] = asset_flags(asset)
        return self._instruments[symbol]

    def asset_flags(self, symbol: str) -> AssetFlags | None:
        """Shortable / marginable / fractionable as the last asset lookup said."""
        return self._assets.get(symbol.upper())

    async def _fetch_bars(self, symbol: str, start: datetime, end: datetime | None) -> list[Bar]:
        request = StockBarsRequest(symbol_or_symbols=symbol, timeframe=TimeFrame.Minute, start=start, end=end,
                                   feed=data_feed(self._cfg.data_feed))
        barset = await self._call(f"bars {symbol}", self._data.bars, request)
        return [bar_from_rest(symbol, item) for item in barset.data.get(symbol, [])]

    async def _ensure_data_stream(self, symbols: set[str], quotes: frozenset[str] = frozenset()) -> None:
        """The market-data stream subscribed to the bars of ``symbols`` and the quotes of ``quotes``, on top
        of what it already carries (alpaca-py cannot subscribe from inside our loop: a change restarts it)."""
        async with self._data_lock:
            wanted = frozenset(symbols | self._data_symbols)
            wanted_quotes = quotes | self._quote_symbols
            if self._data_runner is not None and (wanted, wanted_quotes) == (
                self._data_symbols, self._quote_symbols
            ):
                return
            if self._data_runner is not None:  # alpaca-py cannot subscribe from inside our loop: restart
                await self._data_runner.stop()
            key, secret = self._creds.key_id.get_secret_value(), self._creds.secret_key.get_secret_value()
            stream = HookedStockDataStream(
                key, secret, raw_data=True, feed=data_feed(self._cfg.data_feed),
                url_override=self._cfg.data_stream, on_connected=self._hub.on_connected,
                on_disconnected=self._on_data_disconnected, min_backoff_s=self._cfg.stream_reconnect_min_s,
                max_backoff_s=self._cfg.stream_reconnect_max_s,
            )
            if wanted:
                stream.subscribe_bars(self._hub.on_stream_bar, *sorted(wanted))
            if wanted_quotes:
                stream.subscribe_quotes(self._quote_hub.on_stream_quote, *sorted(wanted_quotes))
            self._data_symbols, self._quote_symbols = wanted, wanted_quotes
            self._data_runner = StreamRunner("market-data", stream, self._cfg.stream_restart_s)
            self._data_runner.start()

    def bars(self, instrument: Instrument, bar_size_s: int) -> BarStream:
        if bar_size_s != BAR_SECONDS:
            raise ValueError(f"alpaca streams 1-minute bars only; bar_size_s must be 60, got {bar_size_s}")
        symbol = instrument.symbol
        return BarStream(self._hub, symbol, lambda: self._ensure_data_stream({symbol}))

    def quotes(self, instrument: Instrument) -> QuoteFeed:
        """Best bid/ask updates from the market-data stream: the TCA's quotes on a live run (QuoteStream).
        With ``stream_quotes = false`` nothing is subscribed and the feed stays silent (the TCA's proxy)."""
        symbol = instrument.symbol

        async def start() -> None:
            if self._cfg.stream_quotes:
                await self._ensure_data_stream(set(), frozenset({symbol}))

        return QuoteFeed(self._quote_hub, symbol, start)

    # ---- events ---------------------------------------------------------------------------------
    def events(self) -> EventStream:
        return EventStream(self._events)

    async def _on_trade_update(self, msg: Mapping[str, Any]) -> None:
        data = msg.get("data")
        if not isinstance(data, Mapping):
            log.error("alpaca trade update without data: %r", msg)
            return
        try:
            order = Order(**data["order"])
            ts = parse_time(data["timestamp"], "trade_update.timestamp")
        except (KeyError, TypeError, pydantic.ValidationError, BrokerError) as exc:
            log.error("alpaca trade update unreadable (%s); reconciling orders from REST instead", exc)
            asyncio.get_running_loop().create_task(self._reconcile_working())
            return
        async with self._lock:
            await self._emit(self._apply_update(str(data.get("event", "")), data, order, ts))

    def _resolve(self, order: Order, parent: Order | None = None, *,
                 before_event: Decimal | None = None) -> str:
        """Our client order id for a venue order, handing an order new to us to the tracking.

        A leg of an order this process placed is ours to report (its acceptance is still to come); any
        other order found at the venue is adopted: already accepted, its later updates reported at once.
        ``before_event``: the order arrived with a stream event still to be applied; it is adopted as it
        was before that event (working, with this much filled).
        """
        venue_id = str(order.id)
        cid = self._tracker.client_id_for(venue_id)
        parent_cid: str | None = None
        if parent is not None:
            parent_cid = self._tracker.client_id_for(str(parent.id)) or parent.client_order_id
        if cid is None and parent_cid is not None:
            cid = child_order_id(parent_cid, leg_role(order))
        if cid is None:
            cid = order.client_order_id
        tracked = self._tracker.get(cid)
        owner = self._tracker.get(parent_cid) if parent_cid is not None else None
        if tracked is None and owner is not None and not owner.adopted:
            side = Side.BUY if getattr(order.side, "value", order.side) == "buy" else Side.SELL
            tracked = self._tracker.expect(cid, str(order.symbol), side,
                                           to_decimal(order.qty or "0", "order.qty"), parent=parent_cid)
        if tracked is None:
            snapshot = order_snapshot(order, cid, parent_cid)
            if before_event is not None:
                snapshot = replace(snapshot, status=OrderStatus.ACCEPTED, filled_qty=before_event)
            self._tracker.adopt(snapshot)
        elif tracked.venue_order_id is None:
            # first sight of the venue's order: its quantity is the truth (a reused id keeps the original)
            self._tracker.relate(cid, quantity=to_decimal(order.qty or tracked.quantity, "order.qty"))
            self._tracker.link(cid, venue_id)
        elif tracked.venue_order_id != venue_id:
            self._tracker.link(cid, venue_id, primary=False)
        for leg in order.legs or []:
            self._resolve(leg, order)
        return cid

    def _apply_update(
        self, event: str, data: Mapping[str, Any], order: Order, ts: datetime
    ) -> list[BrokerEvent]:
        cum = to_decimal(order.filled_qty or "0", "order.filled_qty")
        filling = event in ("fill", "partial_fill")
        qty = to_decimal(data.get("qty"), "trade_update.qty") if filling else Decimal(0)
        cid = self._resolve(order, before_event=cum - qty)
        if event in ("new", "accepted"):
            return self._tracker.accepted(cid, ts)
        if filling:
            price = to_decimal(data.get("price"), "trade_update.price")
            fill_id = str(data.get("execution_id") or f"{order.id}:{cum}")
            return self._tracker.filled(cid, Fill(fill_id, qty, price, ts, cum_qty=cum))
        if event == "canceled":
            return self._tracker.canceled(cid, ts, "canceled at venue")
        if event == "expired":
            return self._tracker.expired(cid, ts)
        if event == "rejected":
            return self._tracker.rejected(cid, str(data.get("reason") or "rejected by venue"), ts, None)
        if event == "replaced":
            if order.replaced_by is not None:
                self._tracker.link(cid, str(order.replaced_by), primary=False)
            return []
        log.debug("alpaca trade update %s for %s ignored", event, cid)
        return []

    # ---- reconciliation of working orders (after a stream gap, or a duplicate submit) -----------
    async def _fill_activities(self, since: datetime) -> list[FillActivity]:
        out: list[FillActivity] = []
        token: str | None = None
        after = (since - timedelta(milliseconds=1)).isoformat()
        while True:
            params: dict[str, Any] = {"activity_types": "FILL", "after": after, "direction": "asc",
                                      "page_size": _ACTIVITY_PAGE}
            if token:
                params["page_token"] = token
            page = await self._call("account activities", self._trading.activities, params)
            out.extend(fill_activity(item) for item in page if item.get("activity_type", "FILL") == "FILL")
            if len(page) < _ACTIVITY_PAGE:
                return [a for a in out if a.ts >= since]
            token = str(page[-1]["id"])

    async def _sync_orders(self, roots: list[Order]) -> list[BrokerEvent]:
        """Bring the tracking up to the venue's truth for ``roots`` and their legs (caller holds the lock)."""
        now = self._clock.now()
        pairs = flatten(roots)
        ids = {str(order.id): self._resolve(order, parent) for order, parent in pairs}
        events: list[BrokerEvent] = []
        if not pairs:
            return events
        for order, _ in pairs:
            events += self._tracker.accepted(ids[str(order.id)], order.submitted_at or now)
        since = min(o.created_at for o, _ in pairs) - timedelta(seconds=1)
        for act in sorted(await self._fill_activities(since), key=lambda a: a.ts):
            cid = ids.get(act.venue_order_id) or self._tracker.client_id_for(act.venue_order_id)
            if cid is not None and self._tracker.get(cid) is not None:
                events += self._tracker.filled(
                    cid, Fill(act.execution_id, act.quantity, act.price, act.ts, cum_qty=act.cum_qty)
                )
        for order, _ in pairs:
            cid = ids[str(order.id)]
            events += self._catch_up_fill(cid, order, now)
            status = getattr(order.status, "value", order.status)
            ts = order.updated_at or now
            if status == "canceled":
                events += self._tracker.canceled(cid, order.canceled_at or ts, "canceled at venue")
            elif status == "expired":
                events += self._tracker.expired(cid, order.expired_at or ts)
            elif status == "rejected":
                events += self._tracker.rejected(cid, "rejected by venue", order.failed_at or ts)
        return events

    def _catch_up_fill(self, cid: str, order: Order, now: datetime) -> list[BrokerEvent]:
        """Fills the venue reports on the order but no activity explained: one fill for the difference."""
        tracked = self._tracker.get(cid)
        venue_filled = to_decimal(order.filled_qty or "0", "order.filled_qty")
        if tracked is None or venue_filled <= tracked.filled_qty or not order.filled_avg_price:
            return []
        missing = venue_filled - tracked.filled_qty
        avg = to_decimal(order.filled_avg_price, "order.filled_avg_price")
        price = (avg * venue_filled - tracked.filled_notional) / missing
        instrument = self._instruments.get(str(order.symbol))
        if instrument is not None:
            price = instrument.round_price(price)
        log.warning("alpaca order %s: %s filled without an activity; one catch-up fill", cid, missing)
        return self._tracker.filled(cid, Fill(f"{order.id}:cum:{venue_filled}", missing, price,
                                              order.filled_at or now, cum_qty=venue_filled))

    async def _root_orders(self, cids: Iterable[str]) -> list[Order]:
        roots: dict[str, Order] = {}
        for cid in cids:
            tracked = self._tracker.get(cid)
            while tracked is not None and tracked.parent is not None:
                tracked = self._tracker.get(tracked.parent)
            if tracked is None or tracked.venue_order_id is None or tracked.venue_order_id in roots:
                continue
            order = await self._call("order lookup", self._trading.order, tracked.venue_order_id)
            roots[tracked.venue_order_id] = order
        return list(roots.values())

    async def _reconcile_working(self) -> None:
        async with self._lock:
            working = [o.client_order_id for o in self._tracker.working()]
            try:
                roots = await self._root_orders(working)
                await self._emit(await self._sync_orders(roots))
            except BrokerError as exc:
                log.error("alpaca reconciliation after reconnect failed: %s", exc)
                await self._emit([ConnectionEvent("DEGRADED", self._clock.now(),
                                                  f"reconciliation failed: {exc.error_class.code}")])
                raise
            self.reconciliations += 1

    # ---- orders ---------------------------------------------------------------------------------
    async def _reduce_only_refusal(self, request: OrderRequest) -> str | None:
        positions = {p.symbol: p.quantity for p in await self.positions()}
        held = positions.get(request.symbol, Decimal(0))
        signed = request.quantity * request.side.sign
        if held == 0 or (held > 0) == (signed > 0) or abs(signed) > abs(held):
            return f"{REDUCE_ONLY_BLOCK}: position {held}, order {request.side.value} {request.quantity}"
        return None

    async def submit(self, request: OrderRequest) -> None:
        cid = request.client_order_id
        known = self._tracker.get(cid)
        fresh = known is None  # a record this call makes goes again if no order comes of it
        if known is not None and known.venue_order_id is not None:
            log.info("alpaca submit %s: already at the venue, not sent again", cid)
            return
        now = self._clock.now()
        session = await self._hours.check(request)
        if not session.allowed:
            await self._reject_locally(request, session.reason, now)
            return
        if request.reduce_only:
            refusal = await self._reduce_only_refusal(request)
            if refusal is not None:
                await self._reject_locally(request, refusal, now)
                return
        try:
            venue_request = build_order_request(request, extended_hours=session.extended_hours)
        except ValueError as exc:
            await self._reject_locally(request, f"{ORDER_INVALID}: {exc}", now)
            return
        async with self._lock:
            self._tracker.expect(cid, request.symbol, request.side, request.quantity,
                                 parent=request.parent_client_order_id)
            try:
                order = await self._raw(self._trading.submit, venue_request)
            except APIError as exc:
                await self._emit(await self._submit_refused(request, exc, fresh))
                return
            except _REST_ERRORS as exc:
                # the answer was lost: the order may be at the venue; it stays silent until it shows up
                raise errors.to_broker_error(exc, f"submit {cid}") from exc
            self._resolve(order)
            await self._emit(self._tracker.accepted(cid, order.submitted_at or now))

    async def _reject_locally(self, request: OrderRequest, reason: str, ts: datetime) -> None:
        log.warning("alpaca order %s refused before submit: %s", request.client_order_id, reason)
        async with self._lock:
            self._tracker.expect(request.client_order_id, request.symbol, request.side, request.quantity)
            await self._emit(self._tracker.rejected(request.client_order_id, reason, ts))

    async def _submit_refused(self, request: OrderRequest, exc: APIError, fresh: bool) -> list[BrokerEvent]:
        cid = request.client_order_id
        if errors.is_duplicate_client_order_id(exc):
            # The venue already has this client order id: adopt that order, never send a second one.
            log.warning("alpaca submit %s: duplicate client_order_id (422); adopting the existing order", cid)
            if fresh:  # not an order of this process: what it did before is not reported again
                self._tracker.forget(cid)
            try:
                existing = await self._raw(self._trading.order_by_client_id, cid)
            except _REST_ERRORS as lookup_exc:
                raise errors.to_broker_error(lookup_exc, f"duplicate lookup {cid}") from lookup_exc
            return await self._sync_orders([existing])
        if errors.is_order_refusal(exc):
            body = errors.api_error_body(exc)
            reason = str(body.get("message") or exc)
            code = str(body["code"]) if "code" in body else str(errors.api_status(exc))
            return self._tracker.rejected(cid, reason, self._clock.now(), code)
        self._tracker.forget(cid)  # the venue answered with an error: no order came of it
        raise errors.to_broker_error(exc, f"submit {cid}") from exc

    async def _venue_id_for(self, client_order_id: str) -> str | None:
        tracked = self._tracker.get(client_order_id)
        if tracked is not None and tracked.venue_order_id is not None:
            return tracked.venue_order_id
        snapshot = await self.order_status(client_order_id)
        return snapshot.venue_order_id if snapshot is not None else None

    async def cancel(self, client_order_id: str) -> None:
        venue_id = await self._venue_id_for(client_order_id)
        if venue_id is None:
            raise _state_error(f"alpaca cancel: no order {client_order_id} at the venue", "ORDER_UNKNOWN",
                               client_order_id=client_order_id)
        try:
            await self._raw(self._trading.cancel, venue_id)
        except APIError as exc:
            if errors.api_status(exc) == 422:  # already filled / canceled: its final event tells the rest
                log.info("alpaca cancel %s: not cancelable (%s)", client_order_id, errors.api_error_body(exc))
                return
            raise errors.to_broker_error(exc, f"cancel {client_order_id}") from exc
        except _REST_ERRORS as exc:
            raise errors.to_broker_error(exc, f"cancel {client_order_id}") from exc

    async def cancel_all(self, symbol: str | None = None) -> None:
        if symbol is None:
            results = await self._call("cancel all", self._trading.cancel_all)
            failed = {str(r.id): r.status for r in results if not 200 <= int(r.status) < 300}
        else:
            failed = {}
            for snap in await self.open_orders():
                if snap.symbol != symbol.upper():
                    continue
                try:
                    await self._raw(self._trading.cancel, snap.venue_order_id)
                except APIError as exc:
                    if errors.api_status(exc) != 422:
                        failed[snap.venue_order_id] = errors.api_status(exc) or 0
                except _REST_ERRORS as exc:
                    raise errors.to_broker_error(exc, "cancel all") from exc
        if failed:
            raise _state_error(f"alpaca cancel-all: {len(failed)} order(s) not canceled: {failed}",
                               "CANCEL_ALL_INCOMPLETE", failed=failed)

    async def order_status(self, client_order_id: str) -> OrderSnapshot | None:
        tracked = self._tracker.get(client_order_id)
        try:
            if tracked is not None and tracked.venue_order_id is not None:
                order = await self._raw(self._trading.order, tracked.venue_order_id)
                async with self._lock:
                    self._resolve(order)
                return order_snapshot(order, client_order_id, tracked.parent)
            parent_cid, _, leg = client_order_id.rpartition("-")
            if leg in ("sl", "tp") and parent_cid:
                parent_snap = await self.order_status(parent_cid)
                if parent_snap is not None:
                    parent = await self._raw(self._trading.order, parent_snap.venue_order_id)
                    async with self._lock:
                        found = [order for order, owner in flatten([parent])
                                 if owner is not None and self._resolve(order, owner) == client_order_id]
                    if found:
                        return order_snapshot(found[0], client_order_id, parent_cid)
            order = await self._raw(self._trading.order_by_client_id, client_order_id)
            async with self._lock:
                self._resolve(order)
            return order_snapshot(order, client_order_id, None)
        except APIError as exc:
            if errors.api_status(exc) == 404:
                return None
            raise errors.to_broker_error(exc, f"order status {client_order_id}") from exc
        except _REST_ERRORS as exc:
            raise errors.to_broker_error(exc, f"order status {client_order_id}") from exc

    # ---- reconciliation reports -----------------------------------------------------------------
    async def open_orders(self) -> list[OrderSnapshot]:
        request = GetOrdersRequest(status=QueryOrderStatus.OPEN, nested=True, limit=500)
        orders = await self._call("open orders", self._trading.orders, request)
        out = []
        async with self._lock:  # every open order found is handed to the tracking (legs included)
            for order, parent in flatten(orders):
                if getattr(order.status, "value", order.status) not in OPEN_STATUSES:
                    continue
                cid = self._resolve(order, parent)
                parent_cid = self._resolve(parent) if parent is not None else None
                out.append(order_snapshot(order, cid, parent_cid))
        return out

    async def positions(self) -> list[PositionSnapshot]:
        positions = await self._call("positions", self._trading.positions)
        return [snap for snap in (position_snapshot(p) for p in positions) if snap.quantity != 0]

    async def account(self) -> AccountSnapshot:
        return account_snapshot(await self._call("account", self._trading.account))

    async def fills_since(self, since: datetime) -> list[OrderFilled]:
        activities = await self._fill_activities(since)
        if not activities:
            return []
        request = GetOrdersRequest(status=QueryOrderStatus.ALL, nested=True, limit=500,
                                   after=since - timedelta(days=30))
        orders = await self._call("orders", self._trading.orders, request)
        known = {str(o.id): (o, p) for o, p in flatten(orders)}
        fills = []
        for act in activities:
            cid = self._tracker.client_id_for(act.venue_order_id)
            if cid is None and act.venue_order_id in known:
                cid = self._resolve(*known[act.venue_order_id])
            if cid is None:
                order = await self._call("order lookup", self._trading.order, act.venue_order_id)
                cid = self._resolve(order)
            fills.append(OrderFilled(
                client_order_id=cid, venue_order_id=act.venue_order_id, fill_id=act.execution_id,
                symbol=act.symbol, side=act.side, quantity=act.quantity, price=act.price, fee=Decimal(0),
                fee_currency="USD", ts=act.ts, leaves_qty=act.leaves_qty or Decimal(0),
            ))
        return fills

    async def _fetch_clock(self) -> VenueClock:
        clock = await self._call("clock", self._trading.clock)
        return VenueClock(
            timestamp=parse_time(clock.timestamp, "clock.timestamp"),
            is_open=bool(clock.is_open),
            next_open=parse_time(clock.next_open, "clock.next_open"),
            next_close=parse_time(clock.next_close, "clock.next_close"),
        )

