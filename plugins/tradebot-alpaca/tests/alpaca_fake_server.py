"""A local fake of Alpaca: trading REST, market-data REST, the msgpack bars stream and the JSON trade-updates
stream, on one aiohttp server at 127.0.0.1:<free port>, plus a small matching engine driven by a
``VenueController`` (``FakeAlpacaController``) the tests and the conformance kit use.

Wire shapes follow /work/shared/docs/broker-wire-notes.md section 2 (alpaca-py 0.44). Known gaps vs the real
venue: no order replace (PATCH), no notional orders, no quotes/trades streams, no per-account rate limiting
beyond the injected faults, fills are all-or-``qty`` at one price, no pending_new/accepted chatter, DAY
orders do not expire at the close, orders match bars at any hour, no wash-trade check. Modelled: an order
on the closing side of a position is refused (403 "insufficient qty available") beyond the shares not
already held for other open orders on that side (e.g. a bracket's exit legs).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import exchange_calendars
import msgpack
import pandas as pd  # type: ignore[import-untyped]
from aiohttp import WSMsgType, web

from tradebot.domain.bars import Bar
from tradebot.domain.events import OrderSnapshot, OrderStatus, PositionSnapshot
from tradebot.domain.orders import OrderType, Side, TimeInForce, child_order_id

KEY = "fake-key-id"
SECRET = "fake-secret-key"
NY = ZoneInfo("America/New_York")
OPEN_STATUSES = {"new", "accepted", "pending_new", "partially_filled", "held"}
ZERO = Decimal(0)


def _iso(ts: datetime | None) -> str | None:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z") if ts else None


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _parse_ts(value: str) -> datetime:
    ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def xnys_regular_open(ts: datetime) -> bool:
    """The NYSE regular session is open at ``ts`` (exchange-calendars XNYS: holidays, early closes)."""
    cal = exchange_calendars.get_calendar("XNYS")
    minute = pd.Timestamp(ts).tz_convert("UTC").floor("min")
    return bool(cal.first_minute <= minute <= cal.last_minute and cal.is_open_on_minute(minute))


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


@dataclass
class FakeOrder:
    id: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    qty: Decimal
    tif: str
    order_class: str
    status: str
    created_at: datetime
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    hwm: Decimal | None = None
    extended_hours: bool = False
    filled_qty: Decimal = ZERO
    filled_notional: Decimal = ZERO
    updated_at: datetime | None = None
    filled_at: datetime | None = None
    canceled_at: datetime | None = None
    expired_at: datetime | None = None
    parent_id: str | None = None
    legs: list[str] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def avg_price(self) -> Decimal | None:
        if not self.filled_qty:
            return None
        return (self.filled_notional / self.filled_qty).quantize(Decimal("0.0001"))


@dataclass
class DataSession:
    ws: web.WebSocketResponse
    queue: asyncio.Queue[bytes]
    bars: set[str] = field(default_factory=set)
    quotes: set[str] = field(default_factory=set)


@dataclass
class TradeSession:
    ws: web.WebSocketResponse
    queue: asyncio.Queue[bytes]


class FakeAlpaca:
    def __init__(self) -> None:
        self.assets: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, FakeOrder] = {}
        self.positions: dict[str, tuple[Decimal, Decimal]] = {}  # symbol -> (signed qty, avg price)
        self.cash = Decimal("100000")
        self.pattern_day_trader = False
        self.daytrade_count = 0
        self.activities: list[dict[str, Any]] = []
        self.history: dict[str, dict[datetime, Bar]] = {}
        self.last_price: dict[str, Decimal] = {}
        self.clock_open = True
        self.clock_time: datetime | None = datetime(2013, 10, 7, 15, 0, tzinfo=UTC)  # a Monday, 11:00 ET
        # replaying history: the venue's time is the close of the last bar pushed (clock endpoint, order
        # and fill timestamps) and the clock's is_open is the XNYS regular session at that time
        self.clock_follows_bars = False
        self.faults: deque[str] = deque()
        self.rejects: deque[str] = deque()
        self.requests: list[tuple[str, str]] = []
        self.trade_updates: list[dict[str, Any]] = []
        self.data_sessions: list[DataSession] = []
        self.trade_sessions: list[TradeSession] = []
        self.trading_stream_down = False
        self.data_stream_down = False
        self.ever_subscribed: set[str] = set()
        self.held_bars: dict[str, list[bytes]] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.add_asset("SPY")
        self.add_asset("AAPL")
        self.add_asset("PENNY", fractionable=False)

    # ---- lifecycle ----------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self, **overrides: Any) -> dict[str, Any]:
        table: dict[str, Any] = {
            "env": "paper",
            "key_id_env": "FAKE_APCA_KEY",
            "secret_key_env": "FAKE_APCA_SECRET",
            "trading_url": self.base_url,
            "data_url": self.base_url,
            "data_stream_url": f"ws://127.0.0.1:{self.port}/v2/iex",
            "trading_stream_url": f"ws://127.0.0.1:{self.port}/stream",
            "rest_retry_attempts": 0,
            "rest_retry_wait_s": 0.05,
            "stream_reconnect_min_s": 0.05,
            "stream_reconnect_max_s": 0.2,
            "stream_restart_s": 0.1,
            "clock_cache_s": 0,
        }
        table.update(overrides)
        return table

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        r.add_get("/stream", self._trade_ws)
        r.add_get("/v2/iex", self._data_ws)
        r.add_get("/v2/sip", self._data_ws)
        r.add_get("/v2/account", self._account)
        r.add_get("/v2/account/activities", self._activities)
        r.add_get("/v2/assets/{symbol}", self._asset)
        r.add_get("/v2/clock", self._clock)
        r.add_post("/v2/orders", self._submit)
        r.add_get("/v2/orders", self._list_orders)
        r.add_delete("/v2/orders", self._cancel_all)
        r.add_get("/v2/orders:by_client_order_id", self._order_by_client_id)
        r.add_get("/v2/orders/{id}", self._get_order)
        r.add_delete("/v2/orders/{id}", self._cancel_order)
        r.add_get("/v2/positions", self._positions)
        r.add_get("/v2/stocks/bars", self._bars)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        await self.drop_streams()
        if self._runner is not None:
            await self._runner.cleanup()

    def add_asset(self, symbol: str, *, fractionable: bool = True, tradable: bool = True,
                  shortable: bool = True, marginable: bool = True) -> None:
        self.assets[symbol] = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, symbol)), "class": "us_equity", "exchange": "ARCA",
            "symbol": symbol, "name": symbol, "status": "active", "tradable": tradable,
            "marginable": marginable, "shortable": shortable, "easy_to_borrow": shortable,
            "fractionable": fractionable, "attributes": [],
        }

    # ---- HTTP plumbing ------------------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        if request.path in ("/stream", "/v2/iex", "/v2/sip"):
            return await handler(request)  # type: ignore[no-any-return]
        self.requests.append((request.method, request.path_qs))
        if (request.headers.get("APCA-API-KEY-ID") != KEY
                or request.headers.get("APCA-API-SECRET-KEY") != SECRET):
            return _error(401, 40110000, "request is not authorized")
        if self.faults:
            kind = self.faults.popleft()
            if kind == "auth":
                return _error(401, 40110000, "request is not authorized")
            if kind == "rate_limit":
                return _error(429, 42910000, "rate limit exceeded")
            if kind == "server":
                return _error(500, 50010000, "internal server error")
            if kind == "network" and request.transport is not None:
                request.transport.abort()  # connection reset: the client sees a dropped connection
                raise asyncio.CancelledError
        return await handler(request)  # type: ignore[no-any-return]

    # ---- clock / account / assets / positions -------------------------------------------------------
    def now(self) -> datetime:
        if self.clock_follows_bars and self.clock_time is not None:
            return self.clock_time
        return datetime.now(UTC)

    def follow_bar(self, bar: Bar) -> None:
        """Replaying history: the venue clock moves to ``bar``'s close, open as XNYS's regular session."""
        self.clock_time = bar.end
        self.clock_open = xnys_regular_open(bar.end)

    async def _clock(self, request: web.Request) -> web.Response:
        ts = self.clock_time or self.now()
        local = ts.astimezone(NY)
        day_open = local.replace(hour=9, minute=30, second=0, microsecond=0)
        day_close = local.replace(hour=16, minute=0, second=0, microsecond=0)
        next_open = day_open if local < day_open else day_open + timedelta(days=1)
        next_close = day_close if local < day_close else day_close + timedelta(days=1)
        return web.json_response({"timestamp": local.isoformat(), "is_open": self.clock_open,
                                  "next_open": next_open.isoformat(), "next_close": next_close.isoformat()})

    def equity(self) -> Decimal:
        value = self.cash
        for symbol, (qty, avg) in self.positions.items():
            value += qty * self.last_price.get(symbol, avg)
        return value

    async def _account(self, request: web.Request) -> web.Response:
        equity = self.equity()
        return web.json_response({
            "id": "7c5e1b2a-0000-4000-8000-000000000001", "account_number": "PA1FAKE", "status": "ACTIVE",
            "currency": "USD", "cash": str(self.cash), "equity": str(equity), "portfolio_value": str(equity),
            "buying_power": str(equity * 2), "regt_buying_power": str(equity * 2), "multiplier": "2",
            "pattern_day_trader": self.pattern_day_trader, "daytrade_count": self.daytrade_count,
            "trading_blocked": False, "transfers_blocked": False, "account_blocked": False,
            "shorting_enabled": True, "created_at": "2020-01-01T00:00:00Z",
        })

    async def _asset(self, request: web.Request) -> web.Response:
        asset = self.assets.get(request.match_info["symbol"].upper())
        if asset is None:
            return _error(404, 40410000, "asset not found")
        return web.json_response(asset)

    def _position_json(self, symbol: str, qty: Decimal, avg: Decimal) -> dict[str, Any]:
        price = self.last_price.get(symbol, avg)
        return {
            "asset_id": self.assets[symbol]["id"], "symbol": symbol, "exchange": "ARCA",
            "asset_class": "us_equity", "avg_entry_price": str(avg), "qty": str(qty),
            "side": "long" if qty > 0 else "short", "market_value": str(qty * price),
            "cost_basis": str(qty * avg), "current_price": str(price), "qty_available": str(qty),
        }

    async def _positions(self, request: web.Request) -> web.Response:
        return web.json_response([self._position_json(s, q, a) for s, (q, a) in self.positions.items() if q])

    async def _activities(self, request: web.Request) -> web.Response:
        q = request.query
        kinds = q.get("activity_types", "FILL").split(",")
        items = [a for a in self.activities if a["activity_type"] in kinds]
        if "after" in q:
            after = _parse_ts(q["after"])
            items = [a for a in items if _parse_ts(a["transaction_time"]) > after]
        if "until" in q:
            until = _parse_ts(q["until"])
            items = [a for a in items if _parse_ts(a["transaction_time"]) <= until]
        if q.get("direction", "desc") == "desc":
            items = items[::-1]
        if "page_token" in q:
            ids = [a["id"] for a in items]
            items = items[ids.index(q["page_token"]) + 1:] if q["page_token"] in ids else []
        return web.json_response(items[: int(q.get("page_size", 100))])

    # ---- orders -------------------------------------------------------------------------------------
    def order_json(self, order: FakeOrder, nested: bool = True) -> dict[str, Any]:
        return {
            "id": order.id, "client_order_id": order.client_order_id,
            "created_at": _iso(order.created_at), "updated_at": _iso(order.updated_at or order.created_at),
            "submitted_at": _iso(order.created_at), "filled_at": _iso(order.filled_at),
            "expired_at": _iso(order.expired_at), "canceled_at": _iso(order.canceled_at), "failed_at": None,
            "replaced_at": None, "replaced_by": None, "replaces": None,
            "asset_id": self.assets[order.symbol]["id"], "symbol": order.symbol, "asset_class": "us_equity",
            "notional": None, "qty": str(order.qty), "filled_qty": str(order.filled_qty),
            "filled_avg_price": str(order.avg_price) if order.avg_price is not None else None,
            "order_class": order.order_class, "order_type": order.type, "type": order.type,
            "side": order.side,
            "time_in_force": order.tif,
            "limit_price": str(order.limit_price) if order.limit_price is not None else None,
            "stop_price": str(order.stop_price) if order.stop_price is not None else None,
            "status": order.status, "extended_hours": order.extended_hours,
            "legs": [self.order_json(self.orders[i]) for i in order.legs] if nested and order.legs else None,
            "trail_percent": None,
            "trail_price": str(order.trail_price) if order.trail_price is not None else None,
            "hwm": str(order.hwm) if order.hwm is not None else None,
        }

    def _new_order(self, body: dict[str, Any], **kw: Any) -> FakeOrder:
        now = self.now()
        order = FakeOrder(
            id=str(uuid.uuid4()), client_order_id=kw.pop("client_order_id", None) or str(uuid.uuid4()),
            symbol=body["symbol"].upper(), side=kw.pop("side", body["side"]),
            type=kw.pop("type", body["type"]),
            qty=Decimal(str(body["qty"])), tif=body.get("time_in_force", "day"),
            order_class=body.get("order_class") or "simple", status=kw.pop("status", "new"), created_at=now,
            extended_hours=bool(body.get("extended_hours", False)), **kw,
        )
        self.orders[order.id] = order
        return order

    async def _submit(self, request: web.Request) -> web.Response:
        body = await request.json()
        symbol = str(body.get("symbol", "")).upper()
        if symbol not in self.assets:
            return _error(422, 42210000, f"asset {symbol!r} not found")
        try:
            qty = Decimal(str(body["qty"]))
        except (KeyError, ArithmeticError):
            return _error(422, 40010000, "qty is required")
        if qty <= 0:
            return _error(422, 40010000, "qty must be > 0")
        if qty % 1 and not self.assets[symbol]["fractionable"]:
            return _error(422, 40010000, "fractional orders are not supported for this asset")
        cid = body.get("client_order_id")
        if cid and any(o.client_order_id == cid for o in self.orders.values()):
            return _error(422, 40010001, "client_order_id must be unique")
        if self.rejects:
            return _error(403, 40310000, self.rejects.popleft())
        refusal = self._insufficient_qty(symbol, str(body.get("side")), qty)
        if refusal is not None:
            return refusal
        order_class = body.get("order_class") or "simple"
        exit_side = "sell" if body["side"] == "buy" else "buy"
        tp, sl = body.get("take_profit"), body.get("stop_loss")
        if order_class == "oco":
            parent = self._new_order(body, client_order_id=cid, type="limit",
                                     limit_price=_dec(tp["limit_price"]))
            leg = self._new_order(body, type="stop_limit" if sl.get("limit_price") else "stop",
                                  stop_price=_dec(sl["stop_price"]), limit_price=_dec(sl.get("limit_price")),
                                  parent_id=parent.id)
            parent.legs.append(leg.id)
            self._publish("new", parent)
        else:
            parent = self._new_order(body, client_order_id=cid, limit_price=_dec(body.get("limit_price")),
                                     stop_price=_dec(body.get("stop_price")),
                                     trail_price=_dec(body.get("trail_price")))
            if order_class in ("bracket", "oto"):
                if tp:
                    leg = self._new_order(body, side=exit_side, type="limit", status="held",
                                          limit_price=_dec(tp["limit_price"]), parent_id=parent.id)
                    parent.legs.append(leg.id)
                if sl:
                    leg = self._new_order(body, side=exit_side, type="stop_limit" if sl.get("limit_price")
                                          else "stop", status="held", stop_price=_dec(sl["stop_price"]),
                                          limit_price=_dec(sl.get("limit_price")), parent_id=parent.id)
                    parent.legs.append(leg.id)
            self._publish("new", parent)
            if parent.type == "market" and symbol in self.last_price:
                self.execute(parent, self.last_price[symbol])
        return web.json_response(self.order_json(parent))

    def _insufficient_qty(self, symbol: str, side: str, qty: Decimal) -> web.Response | None:
        """Alpaca's "held for orders" rule: an order on the closing side of a position may only use the
        shares no other open order on that side holds (a bracket's or OCO's exit pair holds them once)."""
        position, _ = self.positions.get(symbol, (ZERO, ZERO))
        if not ((position > 0 and side == "sell") or (position < 0 and side == "buy")):
            return None
        held_by_root: dict[str, Decimal] = {}
        for order in self.orders.values():
            if order.symbol == symbol and order.side == side and order.status in ("new", "partially_filled"):
                root = order.parent_id or order.id
                held_by_root[root] = max(held_by_root.get(root, ZERO), order.qty - order.filled_qty)
        held = sum(held_by_root.values(), ZERO)
        available = max(abs(position) - held, ZERO)
        if qty <= available:
            return None
        return web.json_response({
            "code": 40310000, "symbol": symbol, "existing_qty": str(abs(position)),
            "held_for_orders": str(held), "available": str(available),
            "message": f"insufficient qty available for order (requested: {qty}, available: {available})",
        }, status=403)

    def _select(self, status: str, nested: bool, symbols: set[str] | None) -> list[FakeOrder]:
        def wanted(o: FakeOrder) -> bool:
            if symbols and o.symbol not in symbols:
                return False
            return status == "all" or (o.is_open if status == "open" else not o.is_open)

        orders = sorted(self.orders.values(), key=lambda o: o.created_at, reverse=True)
        if not nested:
            return [o for o in orders if wanted(o)]
        return [o for o in orders if o.parent_id is None
                and (wanted(o) or any(wanted(self.orders[i]) for i in o.legs))]

    async def _list_orders(self, request: web.Request) -> web.Response:
        q = request.query
        nested = q.get("nested", "false").lower() == "true"
        symbols = set(q["symbols"].split(",")) if q.get("symbols") else None
        orders = self._select(q.get("status", "open"), nested, symbols)[: int(q.get("limit", 50))]
        return web.json_response([self.order_json(o, nested) for o in orders])

    async def _get_order(self, request: web.Request) -> web.Response:
        order = self.orders.get(request.match_info["id"])
        if order is None:
            return _error(404, 40410000, "order not found")
        nested = request.query.get("nested", "false").lower() == "true"
        return web.json_response(self.order_json(order, nested))

    async def _order_by_client_id(self, request: web.Request) -> web.Response:
        cid = request.query.get("client_order_id")
        for order in self.orders.values():
            if order.client_order_id == cid:
                return web.json_response(self.order_json(order))
        return _error(404, 40410000, "order not found")

    async def _cancel_order(self, request: web.Request) -> web.Response:
        order = self.orders.get(request.match_info["id"])
        if order is None:
            return _error(404, 40410000, "order not found")
        if not order.is_open:
            return _error(422, 42210000, f"order is not cancelable (status {order.status})")
        self.cancel(order)
        return web.Response(status=204)

    async def _cancel_all(self, request: web.Request) -> web.Response:
        results = []
        for order in [o for o in self.orders.values() if o.is_open and o.parent_id is None]:
            self.cancel(order)
            results.append({"id": order.id, "status": 200, "body": self.order_json(order)})
        for order in [o for o in self.orders.values() if o.is_open]:  # legs of filled parents
            self.cancel(order)
            results.append({"id": order.id, "status": 200, "body": self.order_json(order)})
        return web.json_response(results, status=207)

    # ---- market data REST ---------------------------------------------------------------------------
    @staticmethod
    def bar_json(bar: Bar) -> dict[str, Any]:
        return {"t": _iso(bar.ts), "o": bar.open, "h": bar.high, "l": bar.low, "c": bar.close,
                "v": bar.volume, "n": 1, "vw": bar.close}

    async def _bars(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("timeframe") != "1Min":
            return _error(422, 42210000, f"unsupported timeframe {q.get('timeframe')}")
        start = _parse_ts(q["start"]) if "start" in q else None
        end = _parse_ts(q["end"]) if "end" in q else None
        limit = int(q.get("limit") or 10000)
        offset = int(q.get("page_token") or 0)
        out: dict[str, list[dict[str, Any]]] = {}
        token = None
        for symbol in q.get("symbols", "").split(","):
            bars = [b for ts, b in sorted(self.history.get(symbol, {}).items())
                    if (start is None or ts >= start) and (end is None or ts <= end)]
            page = bars[offset:offset + limit]
            if offset + limit < len(bars):
                token = str(offset + limit)
            out[symbol] = [self.bar_json(b) for b in page]
        return web.json_response({"bars": out, "next_page_token": token})

    # ---- websockets ---------------------------------------------------------------------------------
    async def _writer(self, ws: web.WebSocketResponse, queue: asyncio.Queue[bytes]) -> None:
        while not ws.closed:
            frame = await queue.get()
            await ws.send_bytes(frame)

    async def _data_ws(self, request: web.Request) -> web.StreamResponse:
        if self.data_stream_down:
            return web.Response(status=503, text="stream down")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = DataSession(ws, asyncio.Queue())
        await ws.send_bytes(msgpack.packb([{"T": "success", "msg": "connected"}]))
        writer = asyncio.get_running_loop().create_task(self._writer(ws, session.queue))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.BINARY and msg.type != WSMsgType.TEXT:
                    break
                data = msgpack.unpackb(msg.data) if msg.type == WSMsgType.BINARY else json.loads(msg.data)
                if data.get("action") == "auth":
                    if data.get("key") != KEY or data.get("secret") != SECRET:
                        failed = [{"T": "error", "code": 402, "msg": "auth failed"}]
                        await ws.send_bytes(msgpack.packb(failed))
                        break
                    await ws.send_bytes(msgpack.packb([{"T": "success", "msg": "authenticated"}]))
                elif data.get("action") == "subscribe":
                    session.bars.update(data.get("bars", []))
                    session.quotes.update(data.get("quotes", []))
                    if session not in self.data_sessions:
                        self.data_sessions.append(session)
                    session.queue.put_nowait(msgpack.packb([{
                        "T": "subscription", "trades": [], "quotes": sorted(session.quotes),
                        "bars": sorted(session.bars)}]))
                    for symbol in session.bars - self.ever_subscribed:
                        self.ever_subscribed.add(symbol)
                        for frame in self.held_bars.pop(symbol, []):
                            session.queue.put_nowait(frame)
        finally:
            writer.cancel()
            if session in self.data_sessions:
                self.data_sessions.remove(session)
        return ws

    async def _trade_ws(self, request: web.Request) -> web.StreamResponse:
        if self.trading_stream_down:
            return web.Response(status=503, text="stream down")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = TradeSession(ws, asyncio.Queue())
        writer = asyncio.get_running_loop().create_task(self._writer(ws, session.queue))
        try:
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                data = json.loads(msg.data)
                if data.get("action") == "authenticate":
                    auth = data.get("data", {})
                    ok = auth.get("key_id") == KEY and auth.get("secret_key") == SECRET
                    status = "authorized" if ok else "unauthorized"
                    reply = {"stream": "authorization", "data": {"status": status, "action": "authenticate"}}
                    await ws.send_bytes(json.dumps(reply).encode())
                    if not ok:
                        break
                elif data.get("action") == "listen":
                    streams = data.get("data", {}).get("streams", [])
                    if "trade_updates" in streams and session not in self.trade_sessions:
                        self.trade_sessions.append(session)
                    session.queue.put_nowait(json.dumps({"stream": "listening",
                                                         "data": {"streams": streams}}).encode())
        finally:
            writer.cancel()
            if session in self.trade_sessions:
                self.trade_sessions.remove(session)
        return ws

    def _publish(self, event: str, order: FakeOrder, **extra: Any) -> None:
        data = {"event": event, "timestamp": _iso(self.now()), "order": self.order_json(order), **extra}
        self.trade_updates.append(data)
        frame = json.dumps({"stream": "trade_updates", "data": data}).encode()
        for session in self.trade_sessions:
            session.queue.put_nowait(frame)

    async def publish_bar(self, bar: Bar) -> None:
        """Send ``bar`` to every data session subscribed to its symbol.

        Test convenience, not venue behaviour: bars pushed before anyone ever subscribed to the symbol are
        held and sent on the first subscription (so a test may push before the adapter's stream is up).
        Bars pushed while a once-subscribed stream is down are lost, as on the real venue (REST has them).
        """
        frame = msgpack.packb([{
            "T": "b", "S": bar.symbol, "o": bar.open, "h": bar.high, "l": bar.low, "c": bar.close,
            "v": bar.volume, "t": msgpack.Timestamp.from_datetime(bar.ts), "n": 1, "vw": bar.close,
        }])
        if bar.symbol not in self.ever_subscribed:
            self.held_bars.setdefault(bar.symbol, []).append(frame)
            return
        for session in self.data_sessions:
            if bar.symbol in session.bars:
                session.queue.put_nowait(frame)

    def quotes_subscribed(self, symbol: str) -> bool:
        return any(symbol in session.quotes for session in self.data_sessions)

    async def publish_quote(self, symbol: str, bid: Decimal, ask: Decimal, ts: datetime) -> None:
        """Send a best bid/ask to every data session subscribed to ``symbol``'s quotes (as the venue does:
        one ``q`` message per change; nothing is held for a later subscriber)."""
        frame = msgpack.packb([{
            "T": "q", "S": symbol, "bx": "V", "bp": float(bid), "bs": 1, "ax": "V", "ap": float(ask), "as": 1,
            "t": msgpack.Timestamp.from_datetime(ts), "c": ["R"], "z": "B",
        }])
        for session in self.data_sessions:
            if symbol in session.quotes:
                session.queue.put_nowait(frame)

    async def drop_streams(self, trading: bool = True, data: bool = True) -> None:
        sessions: list[DataSession | TradeSession] = []
        if trading:
            sessions += self.trade_sessions
            self.trade_sessions = []
        if data:
            sessions += self.data_sessions
            self.data_sessions = []
        for session in sessions:
            await session.ws.close(code=1001, message=b"going away")

    # ---- matching engine ----------------------------------------------------------------------------
    def execute(self, order: FakeOrder, price: Decimal, qty: Decimal | None = None) -> None:
        """Fill ``qty`` (default: all that is left) of ``order`` at ``price``."""
        leaves = order.qty - order.filled_qty
        qty = leaves if qty is None else min(qty, leaves)
        if qty <= 0 or not order.is_open:
            raise ValueError(f"order {order.client_order_id} cannot fill {qty} (status {order.status})")
        now = self.now()
        order.filled_qty += qty
        order.filled_notional += qty * price
        order.updated_at = now
        done = order.filled_qty == order.qty
        order.status = "filled" if done else "partially_filled"
        if done:
            order.filled_at = now
        signed = qty if order.side == "buy" else -qty
        held, avg = self.positions.get(order.symbol, (ZERO, ZERO))
        new_qty = held + signed
        if held == 0 or (held > 0) == (signed > 0):
            avg = (held * avg + signed * price) / new_qty if new_qty else ZERO
        elif (held > 0) != (new_qty > 0) and new_qty != 0:
            avg = price
        self.positions[order.symbol] = (new_qty, avg if new_qty else ZERO)
        self.cash -= signed * price
        execution_id = str(uuid.uuid4())
        self.activities.append({
            "id": f"{now.strftime('%Y%m%d%H%M%S%f')[:-3]}::{execution_id}", "activity_type": "FILL",
            "transaction_time": _iso(now), "type": "fill" if done else "partial_fill", "price": str(price),
            "qty": str(qty), "side": order.side, "symbol": order.symbol,
            "leaves_qty": str(order.qty - order.filled_qty),
            "order_id": order.id, "cum_qty": str(order.filled_qty), "order_status": order.status,
        })
        self._publish("fill" if done else "partial_fill", order, execution_id=execution_id, price=str(price),
                      qty=str(qty), position_qty=str(new_qty))
        if done and order.legs:  # bracket / OTO entry filled: its exits go live
            for leg_id in order.legs:
                leg = self.orders[leg_id]
                if leg.status == "held":
                    leg.status = "new"
                    self._publish("new", leg)
        if done and order.parent_id is not None:  # an exit filled: the other exit is canceled (OCO)
            parent = self.orders[order.parent_id]
            for other_id in [parent.id, *parent.legs]:
                other = self.orders[other_id]
                if other is not order and other.is_open and (other.parent_id is not None or parent.order_class
                                                             == "oco"):
                    self.cancel(other)
        if done and order.order_class == "oco" and order.parent_id is None:
            for leg_id in order.legs:
                if self.orders[leg_id].is_open:
                    self.cancel(self.orders[leg_id])

    def cancel(self, order: FakeOrder) -> None:
        if not order.is_open:
            return
        order.status = "canceled"
        order.canceled_at = order.updated_at = self.now()
        self._publish("canceled", order)
        for leg_id in order.legs:
            self.cancel(self.orders[leg_id])

    def expire(self, order: FakeOrder) -> None:
        order.status = "expired"
        order.expired_at = order.updated_at = self.now()
        self._publish("expired", order)

    def match_bar(self, bar: Bar) -> None:
        o, h, lo = Decimal(repr(bar.open)), Decimal(repr(bar.high)), Decimal(repr(bar.low))
        working = [x for x in self.orders.values()
                   if x.symbol == bar.symbol and x.status in ("new", "partially_filled")]
        for order in working:
            if not order.is_open:
                continue  # canceled by a sibling's fill earlier in this loop
            buy = order.side == "buy"
            price: Decimal | None = None
            if order.type == "market":
                price = o
            elif order.type == "limit" and order.limit_price is not None:
                lim = order.limit_price
                if (buy and lo <= lim) or (not buy and h >= lim):
                    price = min(lim, o) if buy else max(lim, o)
            elif order.type in ("stop", "stop_limit") and order.stop_price is not None:
                stop = order.stop_price
                if (buy and h >= stop) or (not buy and lo <= stop):
                    price = order.limit_price if order.type == "stop_limit" else (max(stop, o) if buy
                                                                                  else min(stop, o))
            elif order.type == "trailing_stop" and order.trail_price is not None:
                ref = order.hwm if order.hwm is not None else o
                stop = ref - order.trail_price if not buy else ref + order.trail_price
                if (not buy and lo <= stop) or (buy and h >= stop):
                    price = min(stop, o) if not buy else max(stop, o)
                else:
                    order.hwm = max(ref, h) if not buy else min(ref, lo)
            if price is not None:
                self.execute(order, price)

    def find(self, client_order_id: str) -> FakeOrder:
        for order in self.orders.values():
            if order.client_order_id == client_order_id:
                return order
        parent_cid, _, role = client_order_id.rpartition("-")
        if role in ("sl", "tp"):
            parent = self.find(parent_cid)
            for leg_id in parent.legs:
                leg = self.orders[leg_id]
                if ("tp" if leg.type == "limit" else "sl") == role:
                    return leg
        raise KeyError(f"fake alpaca: no order {client_order_id}")

    def our_client_id(self, order: FakeOrder) -> str:
        if order.parent_id is None:
            return order.client_order_id
        parent = self.orders[order.parent_id]
        return child_order_id(parent.client_order_id, "tp" if order.type == "limit" else "sl")


_TYPES = {t.value.lower(): t for t in OrderType}
_STATUS = {"new": OrderStatus.ACCEPTED, "held": OrderStatus.ACCEPTED, "accepted": OrderStatus.ACCEPTED,
           "pending_new": OrderStatus.SUBMITTED, "partially_filled": OrderStatus.PARTIALLY_FILLED}


class FakeAlpacaController:
    """tradebot.testing.controller.VenueController over FakeAlpaca (acts on the venue, never the adapter)."""

    def __init__(self, fake: FakeAlpaca) -> None:
        self.fake = fake

    async def push_bar(self, bar: Bar) -> None:
        fake = self.fake
        if fake.clock_follows_bars:
            fake.follow_bar(bar)
        fake.history.setdefault(bar.symbol, {})[bar.ts] = bar
        fake.match_bar(bar)  # the venue sees the bar before the strategy does
        fake.last_price[bar.symbol] = Decimal(repr(bar.close))
        await fake.publish_bar(bar)

    async def fill(
        self, client_order_id: str, price: Decimal | None = None, qty: Decimal | None = None
    ) -> None:
        order = self.fake.find(client_order_id)
        px = price or order.limit_price or order.stop_price or self.fake.last_price.get(order.symbol)
        if px is None:
            raise ValueError(f"fake alpaca: no price to fill {client_order_id} at")
        self.fake.execute(order, px, qty)

    async def reject_next(self, reason: str) -> None:
        self.fake.rejects.append(reason)

    async def fail_next(self, kind: str) -> None:
        self.fake.faults.append(kind)

    async def drop_connection(self) -> None:
        await self.fake.drop_streams()

    async def venue_open_orders(self) -> list[OrderSnapshot]:
        out = []
        for order in self.fake.orders.values():
            if not order.is_open:
                continue
            parent = self.fake.orders[order.parent_id].client_order_id if order.parent_id else None
            out.append(OrderSnapshot(
                client_order_id=self.fake.our_client_id(order), venue_order_id=order.id, symbol=order.symbol,
                side=Side.BUY if order.side == "buy" else Side.SELL, quantity=order.qty,
                filled_qty=order.filled_qty, order_type=_TYPES[order.type], status=_STATUS[order.status],
                limit_price=order.limit_price, stop_price=order.stop_price,
                tif=TimeInForce(order.tif.upper()), parent_client_order_id=parent,
            ))
        return out

    async def venue_positions(self) -> list[PositionSnapshot]:
        return [PositionSnapshot(s, q, a) for s, (q, a) in self.fake.positions.items() if q]

    async def set_last_price(self, symbol: str, price: Decimal) -> None:
        self.fake.last_price[symbol] = price
        for order in list(self.fake.orders.values()):
            working = order.status in ("new", "partially_filled")
            if order.symbol == symbol and order.type == "market" and working:
                self.fake.execute(order, price)
