"""A local fake of Binance USD-M futures: REST (/fapi, /api/v3 ping+time) and websockets, on 127.0.0.1:0.

It speaks what python-binance 1.0.37 sends (see /work/shared/docs/broker-wire-notes.md section 1):
HMAC-SHA256 signatures over ``query string + body`` (minus ``&signature=``) verified like Binance (-1022),
``timestamp``/``recvWindow`` checked against the fake's clock (-1021), ``X-MBX-APIKEY`` required
(-2015), Binance-shaped JSON and ``{"code", "msg"}`` errors, ``X-MBX-USED-WEIGHT-1M`` on every answer.
Conditional types on /fapi/v1/order get -4120 (they live on the Algo API, /fapi/v1/algoOrder).

Websockets: ``/market/stream?streams=<sym>@kline_<i>`` or ``<sym>@bookTicker`` (combined envelope) and
``/market/ws/<stream>``;
``/private/ws?listenKey=<key>`` for the user-data stream (ORDER_TRADE_UPDATE, ALGO_UPDATE,
listenKeyExpired). The matching engine fills market orders at the last price, limit orders and triggered
conditionals on pushed bars, and anything on ``fill()``; one-way positions with average entry price.

Known gaps versus the real venue (acceptable for adapter tests): no order book or partial fills on its
own (partials only through ``fill(qty=)``), no funding, no liquidation, no ACCOUNT_UPDATE events, no
price bands, hedge mode only stored (positions are netted), weight is 1 per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tradebot.domain.bars import Bar
from tradebot.domain.events import OrderSnapshot, OrderStatus, PositionSnapshot
from tradebot.domain.orders import OrderType, Side, TimeInForce

ZERO = Decimal(0)
PARAMS = web.RequestKey("params", dict)
FEE_RATE = Decimal("0.0004")
CONDITIONAL = {"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"}
UNSIGNED = {"/fapi/v1/time", "/fapi/v1/exchangeInfo", "/fapi/v1/klines", "/fapi/v1/ping"}
INTERVALS = {60: "1m", 180: "3m", 300: "5m", 900: "15m", 3600: "1h"}


def _s(d: Decimal) -> str:
    return format(d.normalize(), "f") if d != 0 else "0"


class ApiError(Exception):
    def __init__(self, status: int, code: int, msg: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg, self.headers = status, code, msg, headers or {}


@dataclass
class SymbolSpec:
    symbol: str
    tick: Decimal
    step: Decimal
    min_qty: Decimal
    min_notional: Decimal
    status: str = "TRADING"
    price_precision: int = 2
    qty_precision: int = 3

    def exchange_info(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "pair": self.symbol,
            "contractType": "PERPETUAL",
            "status": self.status,
            "baseAsset": self.symbol.removesuffix("USDT"),
            "quoteAsset": "USDT",
            "marginAsset": "USDT",
            "pricePrecision": self.price_precision,
            "quantityPrecision": self.qty_precision,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "tickSize": _s(self.tick),
                    "minPrice": _s(self.tick),
                    "maxPrice": "1000000",
                },
                {
                    "filterType": "LOT_SIZE",
                    "stepSize": _s(self.step),
                    "minQty": _s(self.min_qty),
                    "maxQty": "1000",
                },
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "stepSize": _s(self.step),
                    "minQty": _s(self.min_qty),
                    "maxQty": "120",
                },
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                {"filterType": "MIN_NOTIONAL", "notional": _s(self.min_notional)},
                {
                    "filterType": "PERCENT_PRICE",
                    "multiplierUp": "1.0500",
                    "multiplierDown": "0.9500",
                    "multiplierDecimal": "4",
                },
            ],
            "orderTypes": [
                "LIMIT",
                "MARKET",
                "STOP",
                "STOP_MARKET",
                "TAKE_PROFIT",
                "TAKE_PROFIT_MARKET",
                "TRAILING_STOP_MARKET",
            ],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        }


DEFAULT_SYMBOLS = {
    "BTCUSDT": SymbolSpec("BTCUSDT", Decimal("0.1"), Decimal("0.001"), Decimal("0.001"), Decimal("100")),
    "ADAUSDT": SymbolSpec(
        "ADAUSDT",
        Decimal("0.0001"),
        Decimal("1"),
        Decimal("1"),
        Decimal("5"),
        price_precision=4,
        qty_precision=0,
    ),
    "DELISTUSDT": SymbolSpec(
        "DELISTUSDT", Decimal("0.01"), Decimal("1"), Decimal("1"), Decimal("5"), status="SETTLING"
    ),
}


@dataclass
class Position:
    qty: Decimal = ZERO
    entry: Decimal = ZERO


@dataclass
class Order:
    order_id: int
    client_id: str
    symbol: str
    side: str
    type: str
    qty: Decimal
    price: Decimal
    tif: str
    reduce_only: bool
    position_side: str
    stop_price: Decimal = ZERO
    status: str = "NEW"
    executed: Decimal = ZERO
    cum_quote: Decimal = ZERO
    time: int = 0
    update_time: int = 0

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.executed

    def json(self) -> dict[str, Any]:
        avg = self.cum_quote / self.executed if self.executed else ZERO
        return {
            "orderId": self.order_id,
            "symbol": self.symbol,
            "status": self.status,
            "clientOrderId": self.client_id,
            "price": _s(self.price),
            "avgPrice": _s(avg),
            "origQty": _s(self.qty),
            "executedQty": _s(self.executed),
            "cumQty": _s(self.executed),
            "cumQuote": _s(self.cum_quote),
            "timeInForce": self.tif,
            "type": self.type,
            "origType": self.type,
            "reduceOnly": self.reduce_only,
            "closePosition": False,
            "side": self.side,
            "positionSide": self.position_side,
            "stopPrice": _s(self.stop_price),
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": 0,
            "time": self.time,
            "updateTime": self.update_time,
        }


@dataclass
class Algo:
    algo_id: int
    client_id: str
    symbol: str
    side: str
    order_type: str
    qty: Decimal
    trigger: Decimal
    price: Decimal
    reduce_only: bool
    close_position: bool
    position_side: str
    tif: str
    status: str = "NEW"
    actual_order_id: int | None = None
    create_time: int = 0
    update_time: int = 0
    trigger_time: int = 0

    def json(self, executed: Decimal = ZERO) -> dict[str, Any]:
        return {
            "algoId": self.algo_id,
            "clientAlgoId": self.client_id,
            "algoType": "CONDITIONAL",
            "orderType": self.order_type,
            "symbol": self.symbol,
            "side": self.side,
            "positionSide": self.position_side,
            "timeInForce": self.tif,
            "quantity": _s(self.qty),
            "algoStatus": self.status,
            "triggerPrice": _s(self.trigger),
            "price": _s(self.price),
            "icebergQuantity": None,
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "workingType": "CONTRACT_PRICE",
            "priceMatch": "NONE",
            "closePosition": self.close_position,
            "priceProtect": False,
            "reduceOnly": self.reduce_only,
            "activatePrice": "",
            "callbackRate": "",
            "createTime": self.create_time,
            "updateTime": self.update_time,
            "triggerTime": self.trigger_time,
            "goodTillDate": 0,
            "actualOrderId": "" if self.actual_order_id is None else str(self.actual_order_id),
            "executedQty": _s(executed),
        }


@dataclass
class Fault:
    status: int
    code: int
    msg: str
    headers: dict[str, str] = field(default_factory=dict)
    network: bool = False
    only: frozenset[tuple[str, str]] = frozenset()  # (method, path) it hits; empty: the next request


ORDER_ENTRY = frozenset({("POST", "/fapi/v1/order"), ("POST", "/fapi/v1/algoOrder")})


class FakeBinance:
    """The venue. ``start()`` binds 127.0.0.1:0; ``controller`` drives it from tests."""

    def __init__(
        self,
        api_key: str = "fake-key",
        api_secret: str = "fake-secret",
        symbols: dict[str, SymbolSpec] | None = None,
        wallet: Decimal = Decimal(10000),
    ) -> None:
        self.api_key, self.api_secret = api_key, api_secret
        self.symbols = dict(symbols or DEFAULT_SYMBOLS)
        self.wallet = wallet
        self.clock_offset_ms = 0
        self.orders: dict[int, Order] = {}
        self.algos: dict[int, Algo] = {}
        self.trades: list[dict[str, Any]] = []
        self.positions: dict[str, Position] = {}
        self.last_price: dict[str, Decimal] = {}
        self.klines: dict[tuple[str, str], dict[int, list[Any]]] = {}
        self.leverage: dict[str, int] = {}
        self.margin_type: dict[str, str] = {}
        self.dual_side = False
        self.listen_key: str | None = None
        self.listen_keys_issued: list[str] = []
        self.keepalives = 0
        self.requests: list[tuple[str, str]] = []
        self.faults: list[Fault] = []
        self.reject_next_reason: str | None = None
        self.weight_used = 0
        self.weight_minute = -1
        self._ids = itertools.count(1000)
        self._trade_ids = itertools.count(5_000_000)
        self._market_ws: list[tuple[web.WebSocketResponse, set[str], bool]] = []
        self._book_update = 0
        self._user_ws: list[tuple[web.WebSocketResponse, str]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ server
    async def start(self) -> FakeBinance:
        app = web.Application(middlewares=[self._middleware])
        r = app.router
        r.add_get("/api/v3/ping", self._ping)
        r.add_get("/api/v3/time", self._time)
        r.add_get("/fapi/v1/ping", self._ping)
        r.add_get("/fapi/v1/time", self._time)
        r.add_get("/fapi/v1/exchangeInfo", self._exchange_info)
        r.add_get("/fapi/v1/klines", self._get_klines)
        r.add_route("*", "/fapi/v1/order", self._order)
        r.add_route("*", "/fapi/v1/algoOrder", self._algo_order)
        r.add_get("/fapi/v1/openOrders", self._open_orders)
        r.add_get("/fapi/v1/openAlgoOrders", self._open_algo_orders)
        r.add_delete("/fapi/v1/allOpenOrders", self._cancel_all)
        r.add_delete("/fapi/v1/algoOpenOrders", self._cancel_all_algo)
        r.add_get("/fapi/v2/account", self._account)
        r.add_get("/fapi/v3/balance", self._balance)
        r.add_get("/fapi/v3/positionRisk", self._position_risk)
        r.add_post("/fapi/v1/leverage", self._leverage)
        r.add_post("/fapi/v1/marginType", self._margin_type)
        r.add_get("/fapi/v1/symbolConfig", self._symbol_config)
        r.add_route("*", "/fapi/v1/positionSide/dual", self._dual)
        r.add_get("/fapi/v1/userTrades", self._user_trades)
        r.add_route("*", "/fapi/v1/listenKey", self._listen_key)
        r.add_get("/market/stream", self._market_stream)
        r.add_get("/market/ws/{stream}", self._market_stream)
        r.add_get("/private/ws", self._user_stream)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        await self.drop_all()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def urls(self) -> dict[str, str]:
        return {
            "api_url": f"{self.base}/api",
            "futures_url": f"{self.base}/fapi",
            "stream_url": f"ws://127.0.0.1:{self.port}/",
        }

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.clock_offset_ms

    async def _ping(self, request: web.Request) -> web.Response:
        return self._json({})

    async def _time(self, request: web.Request) -> web.Response:
        return self._json({"serverTime": self.now_ms()})

    @staticmethod
    def _json(body: Any, status: int = 200) -> web.Response:
        return web.json_response(body, status=status)

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        path = request.path
        if path.startswith(("/market", "/private")):
            return await handler(request)
        self.requests.append((request.method, path))
        minute = self.now_ms() // 60_000
        if minute != self.weight_minute:
            self.weight_minute, self.weight_used = minute, 0
        self.weight_used += 1
        headers = {"X-MBX-USED-WEIGHT-1M": str(self.weight_used)}
        try:
            fault = next((f for f in self.faults if not f.only or (request.method, path) in f.only), None)
            if fault is not None:
                self.faults.remove(fault)
                if fault.network:
                    assert request.transport is not None
                    request.transport.close()
                    raise ConnectionResetError("fake: connection reset")
                raise ApiError(fault.status, fault.code, fault.msg, fault.headers)
            params = await self._authenticate(request)
            request[PARAMS] = params
            response = await handler(request)
        except ApiError as err:
            response = web.json_response(
                {"code": err.code, "msg": err.msg}, status=err.status, headers=err.headers
            )
        response.headers.update(headers)
        return response

    async def _authenticate(self, request: web.Request) -> dict[str, str]:
        body = await request.text()
        raw = "&".join(part for part in (request.query_string, body) if part)
        params = dict(parse_qsl(raw, keep_blank_values=True))
        path = request.path
        if path.startswith("/api/") or path in UNSIGNED:
            return params
        if request.headers.get("X-MBX-APIKEY") != self.api_key:
            raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        if path == "/fapi/v1/listenKey":
            return params
        marker = "&signature="
        if marker not in raw:
            raise ApiError(
                400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
            )
        payload, signature = raw.rsplit(marker, 1)
        expected = hmac.new(self.api_secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise ApiError(400, -1022, "Signature for this request is not valid.")
        try:
            ts = int(params["timestamp"])
        except (KeyError, ValueError):
            raise ApiError(400, -1102, "Mandatory parameter 'timestamp' was not sent.") from None
        window = int(params.get("recvWindow", "5000"))
        now = self.now_ms()
        if ts >= now + 1000 or now - ts > window:
            raise ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")
        return params

    # ------------------------------------------------------------------ market data
    async def _exchange_info(self, request: web.Request) -> web.Response:
        return self._json(
            {
                "timezone": "UTC",
                "serverTime": self.now_ms(),
                "futuresType": "U_MARGINED",
                "rateLimits": [
                    {
                        "rateLimitType": "REQUEST_WEIGHT",
                        "interval": "MINUTE",
                        "intervalNum": 1,
                        "limit": 2400,
                    },
                    {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
                    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
                ],
                "exchangeFilters": [],
                "assets": [{"asset": "USDT", "marginAvailable": True}],
                "symbols": [s.exchange_info() for s in self.symbols.values()],
            }
        )

    async def _get_klines(self, request: web.Request) -> web.Response:
        p = request[PARAMS]
        rows = self.klines.get((p["symbol"], p["interval"]), {})
        start = int(p.get("startTime", 0))
        end = int(p.get("endTime", 2**62))
        limit = min(int(p.get("limit", 500)), 1500)
        out = [rows[t] for t in sorted(rows) if start <= t <= end][:limit]
        return self._json(out)

    async def _market_stream(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        combined = "stream" not in request.match_info
        names = (
            set(request.query.get("streams", "").split("/")) if combined else {request.match_info["stream"]}
        )
        entry = (ws, names, combined)
        self._market_ws.append(entry)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            if entry in self._market_ws:
                self._market_ws.remove(entry)
        return ws

    async def push_bar(self, bar: Bar) -> None:
        """Match resting orders against the bar (the venue sees it first), then publish the closed kline."""
        symbol = bar.symbol
        interval = INTERVALS[bar.interval_s]
        t0 = int(bar.ts.timestamp() * 1000)
        t1 = t0 + bar.interval_s * 1000 - 1
        row = [
            t0,
            repr(bar.open),
            repr(bar.high),
            repr(bar.low),
            repr(bar.close),
            repr(bar.volume),
            t1,
            repr(bar.volume * bar.close),
            10,
            "0",
            "0",
            "0",
        ]
        self.klines.setdefault((symbol, interval), {})[t0] = row
        await self._match_bar(bar)
        self.last_price[symbol] = Decimal(repr(bar.close))
        name = f"{symbol.lower()}@kline_{interval}"
        data = {
            "e": "kline",
            "E": self.now_ms(),
            "s": symbol,
            "k": {
                "t": t0,
                "T": t1,
                "s": symbol,
                "i": interval,
                "f": 1,
                "L": 10,
                "o": row[1],
                "c": row[4],
                "h": row[2],
                "l": row[3],
                "v": row[5],
                "n": 10,
                "x": True,
                "q": row[7],
                "V": "0",
                "Q": "0",
                "B": "0",
            },
        }
        for ws, names, combined in list(self._market_ws):
            if name in names and not ws.closed:
                await ws.send_str(json.dumps({"stream": name, "data": data} if combined else data))

    async def push_book_ticker(
        self, symbol: str, bid: str, ask: str, *, ts_ms: int | None = None, update_id: int | None = None
    ) -> None:
        """Publish a best bid/ask on ``<symbol>@bookTicker`` (USD-M payload; an empty side as "")."""
        self._book_update += 1
        when = self.now_ms() if ts_ms is None else ts_ms
        data = {
            "e": "bookTicker",
            "u": self._book_update if update_id is None else update_id,
            "s": symbol,
            "b": bid,
            "B": "1.000" if bid else "0",
            "a": ask,
            "A": "1.000" if ask else "0",
            "T": when,
            "E": when + 1,
        }
        name = f"{symbol.lower()}@bookTicker"
        for ws, names, combined in list(self._market_ws):
            if name in names and not ws.closed:
                await ws.send_str(json.dumps({"stream": name, "data": data} if combined else data))

    def subscribed(self, stream: str) -> bool:
        """Some open market socket carries ``stream`` (e.g. ``btcusdt@kline_1m``)."""
        return any(stream in names and not ws.closed for ws, names, _ in self._market_ws)

    def market_subscribers(self) -> int:
        return len(self._market_ws)

    # ------------------------------------------------------------------ user data stream
    async def _listen_key(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            if self.listen_key is None:
                self.listen_key = f"lk{next(self._ids)}" + "x" * 40
                self.listen_keys_issued.append(self.listen_key)
            return self._json({"listenKey": self.listen_key})
        key = request[PARAMS].get("listenKey")
        if key != self.listen_key:
            raise ApiError(400, -1125, "This listenKey does not exist.")
        if request.method == "PUT":
            self.keepalives += 1
            return self._json({"listenKey": key})
        self.listen_key = None
        return self._json({})

    async def _user_stream(self, request: web.Request) -> web.StreamResponse:
        key = request.query.get("listenKey", "")
        if key != self.listen_key:
            raise web.HTTPBadRequest(text='{"code":-1125,"msg":"This listenKey does not exist."}')
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        entry = (ws, key)
        self._user_ws.append(entry)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            if entry in self._user_ws:
                self._user_ws.remove(entry)
        return ws

    def user_subscribers(self) -> int:
        return sum(1 for _, key in self._user_ws if key == self.listen_key)

    async def _push_user(self, event: dict[str, Any]) -> None:
        for ws, key in list(self._user_ws):
            if key == self.listen_key and not ws.closed:
                await ws.send_str(json.dumps(event))

    async def expire_listen_key(self) -> None:
        """The key times out: ``listenKeyExpired`` goes out, and nothing more on that key."""
        key = self.listen_key
        self.listen_key = None
        for ws, k in list(self._user_ws):
            if k == key and not ws.closed:
                await ws.send_str(json.dumps({"e": "listenKeyExpired", "E": self.now_ms(), "listenKey": key}))

    @staticmethod
    async def _drop(ws: web.WebSocketResponse) -> None:
        """Close from the server side without waiting long for the peer's close frame (a dropped link)."""
        with contextlib.suppress(TimeoutError, ConnectionError):
            await asyncio.wait_for(ws.close(), 0.2)

    async def drop_user_stream(self) -> None:
        for entry in list(self._user_ws):
            self._user_ws.remove(entry)
            await self._drop(entry[0])

    async def drop_market_streams(self) -> None:
        for entry in list(self._market_ws):
            self._market_ws.remove(entry)
            await self._drop(entry[0])

    async def drop_all(self) -> None:
        await self.drop_user_stream()
        await self.drop_market_streams()

    # ------------------------------------------------------------------ orders
    def _spec(self, symbol: str) -> SymbolSpec:
        spec = self.symbols.get(symbol)
        if spec is None:
            raise ApiError(400, -1121, "Invalid symbol.")
        return spec

    def _check_qty_price(self, spec: SymbolSpec, qty: Decimal, price: Decimal | None) -> None:
        if qty <= 0 or qty % spec.step != 0 or qty < spec.min_qty:
            raise ApiError(400, -1111, "Precision is over the maximum defined for this asset.")
        if price is not None and (price <= 0 or price % spec.tick != 0):
            raise ApiError(400, -4014, "Price not increased by tick size.")

    def _check_reduce_only(self, symbol: str, side: str, reduce_only: bool) -> None:
        if not reduce_only:
            return
        pos = self.positions.get(symbol, Position()).qty
        sign = 1 if side == "BUY" else -1
        if pos == 0 or pos * sign > 0:
            raise ApiError(400, -2022, "ReduceOnly Order is rejected.")

    async def _order(self, request: web.Request) -> web.Response:
        p = request[PARAMS]
        if request.method == "POST":
            return self._json(await self._new_order(p))
        symbol = p.get("symbol", "")
        order = self._find_order(symbol, p)
        if request.method == "GET":
            return self._json(order.json())
        if order.status not in ("NEW", "PARTIALLY_FILLED"):
            raise ApiError(400, -2011, "Unknown order sent.")
        await self._finish(order, "CANCELED")
        return self._json(order.json())

    def _find_order(self, symbol: str, p: dict[str, str]) -> Order:
        for order in self.orders.values():
            if order.symbol != symbol:
                continue
            if ("orderId" in p and str(order.order_id) == p["orderId"]) or (
                "origClientOrderId" in p and order.client_id == p["origClientOrderId"]
            ):
                return order
        raise ApiError(400, -2013, "Order does not exist.")

    def _reject_if_asked(self) -> None:
        if self.reject_next_reason is not None:
            reason, self.reject_next_reason = self.reject_next_reason, None
            raise ApiError(400, -2019, reason)

    async def _new_order(self, p: dict[str, str]) -> dict[str, Any]:
        kind = p.get("type", "")
        if kind in CONDITIONAL:
            raise ApiError(
                400,
                -4120,
                "Order type not supported for this endpoint. Please use the Algo Order "
                "API endpoints instead.",
            )
        if kind not in ("LIMIT", "MARKET"):
            raise ApiError(400, -1116, "Invalid orderType.")
        spec = self._spec(p["symbol"])
        if spec.status != "TRADING":
            raise ApiError(400, -4140, "Invalid symbol status for opening position.")
        cid = p.get("newClientOrderId", "")
        if any(o.client_id == cid and o.status in ("NEW", "PARTIALLY_FILLED") for o in self.orders.values()):
            raise ApiError(400, -4116, "ClientOrderId is duplicated.")
        qty = Decimal(p["quantity"])
        price = Decimal(p["price"]) if kind == "LIMIT" else None
        self._check_qty_price(spec, qty, price)
        reduce_only = p.get("reduceOnly", "false") == "true"
        self._check_reduce_only(spec.symbol, p["side"], reduce_only)
        ref = price if price is not None else self.last_price.get(spec.symbol, ZERO)
        if not reduce_only and ref * qty < spec.min_notional:
            raise ApiError(
                400,
                -4164,
                f"Order's notional must be no smaller than {_s(spec.min_notional)} "
                "(unless you choose reduce only).",
            )
        self._reject_if_asked()
        now = self.now_ms()
        order = Order(
            next(self._ids),
            cid,
            spec.symbol,
            p["side"],
            kind,
            qty,
            price or ZERO,
            p.get("timeInForce", "GTC") if kind == "LIMIT" else "GTC",
            reduce_only,
            p.get("positionSide", "BOTH"),
            time=now,
            update_time=now,
        )
        self.orders[order.order_id] = order
        await self._push_order(order, "NEW")
        if kind == "MARKET" and spec.symbol in self.last_price:
            asyncio.get_running_loop().call_soon(
                lambda: asyncio.ensure_future(self._execute(order, self.last_price[order.symbol]))
            )
        return order.json()

    async def _push_order(
        self,
        order: Order,
        execution: str,
        last_qty: Decimal = ZERO,
        last_price: Decimal = ZERO,
        trade_id: int = 0,
        fee: Decimal = ZERO,
    ) -> None:
        avg = order.cum_quote / order.executed if order.executed else ZERO
        now = self.now_ms()
        await self._push_user(
            {
                "e": "ORDER_TRADE_UPDATE",
                "E": now,
                "T": now,
                "o": {
                    "s": order.symbol,
                    "c": order.client_id,
                    "S": order.side,
                    "o": order.type,
                    "f": order.tif,
                    "q": _s(order.qty),
                    "p": _s(order.price),
                    "ap": _s(avg),
                    "sp": _s(order.stop_price),
                    "x": execution,
                    "X": order.status,
                    "i": order.order_id,
                    "l": _s(last_qty),
                    "z": _s(order.executed),
                    "L": _s(last_price),
                    "N": "USDT",
                    "n": _s(fee),
                    "T": now,
                    "t": trade_id,
                    "b": "0",
                    "a": "0",
                    "m": False,
                    "R": order.reduce_only,
                    "wt": "CONTRACT_PRICE",
                    "ot": order.type,
                    "ps": order.position_side,
                    "cp": False,
                    "rp": "0",
                    "pP": False,
                    "si": 0,
                    "ss": 0,
                    "V": "EXPIRE_MAKER",
                    "pm": "NONE",
                    "gtd": 0,
                },
            }
        )

    async def _finish(self, order: Order, status: str) -> None:
        order.status = status
        order.update_time = self.now_ms()
        await self._push_order(order, "CANCELED" if status == "CANCELED" else "EXPIRED")

    async def _execute(self, order: Order, price: Decimal, qty: Decimal | None = None) -> None:
        """One trade of ``order`` (default: all that remains), at ``price``."""
        if order.status not in ("NEW", "PARTIALLY_FILLED"):
            return
        qty = order.remaining if qty is None else min(qty, order.remaining)
        pos = self.positions.setdefault(order.symbol, Position())
        sign = 1 if order.side == "BUY" else -1
        cut = False
        if order.reduce_only:
            if pos.qty == 0 or pos.qty * sign > 0:
                await self._finish(order, "EXPIRED")
                return
            if qty > abs(pos.qty):
                qty, cut = abs(pos.qty), True
        fee = (price * qty * FEE_RATE).quantize(Decimal("0.00000001"))
        realized = self._apply_position(pos, sign * qty, price)
        self.wallet += realized - fee
        order.executed += qty
        order.cum_quote += price * qty
        order.status = "FILLED" if order.remaining == 0 else "PARTIALLY_FILLED"
        order.update_time = self.now_ms()
        trade_id = next(self._trade_ids)
        self.trades.append(
            {
                "buyer": order.side == "BUY",
                "commission": _s(fee),
                "commissionAsset": "USDT",
                "id": trade_id,
                "maker": order.type == "LIMIT",
                "orderId": order.order_id,
                "price": _s(price),
                "qty": _s(qty),
                "quoteQty": _s(price * qty),
                "realizedPnl": _s(realized),
                "side": order.side,
                "positionSide": order.position_side,
                "symbol": order.symbol,
                "time": order.update_time,
            }
        )
        await self._push_order(order, "TRADE", qty, price, trade_id, fee)
        if cut and order.remaining > 0:
            await self._finish(order, "EXPIRED")
        await self._after_fill(order)

    @staticmethod
    def _apply_position(pos: Position, signed: Decimal, price: Decimal) -> Decimal:
        realized = ZERO
        if pos.qty == 0 or (pos.qty > 0) == (signed > 0):
            total = pos.qty + signed
            pos.entry = (pos.entry * abs(pos.qty) + price * abs(signed)) / abs(total)
            pos.qty = total
            return realized
        closing = min(abs(signed), abs(pos.qty))
        direction = 1 if pos.qty > 0 else -1
        realized = (price - pos.entry) * closing * direction
        pos.qty += signed
        if pos.qty == 0:
            pos.entry = ZERO
        elif (pos.qty > 0) != (direction > 0):
            pos.entry = price
        return realized

    async def _after_fill(self, order: Order) -> None:
        for algo in self.algos.values():
            if algo.actual_order_id == order.order_id and order.status == "FILLED":
                algo.status = "FINISHED"
                algo.update_time = self.now_ms()
                await self._push_algo(algo)

    # ------------------------------------------------------------------ algo (conditional) orders
    async def _algo_order(self, request: web.Request) -> web.Response:
        p = request[PARAMS]
        if request.method == "POST":
            return self._json(await self._new_algo(p))
        algo = self._find_algo(p)
        if request.method == "GET":
            executed = self.orders[algo.actual_order_id].executed if algo.actual_order_id else ZERO
            return self._json(algo.json(executed))
        if algo.status != "NEW":
            raise ApiError(400, -2011, "Unknown order sent.")
        algo.status = "CANCELED"
        algo.update_time = self.now_ms()
        await self._push_algo(algo)
        return self._json(
            {"algoId": algo.algo_id, "clientAlgoId": algo.client_id, "code": "200", "msg": "success"}
        )

    def _find_algo(self, p: dict[str, str]) -> Algo:
        for algo in self.algos.values():
            if ("algoId" in p and str(algo.algo_id) == p["algoId"]) or (
                "clientAlgoId" in p and algo.client_id == p["clientAlgoId"]
            ):
                return algo
        raise ApiError(400, -2013, "Order does not exist.")

    async def _new_algo(self, p: dict[str, str]) -> dict[str, Any]:
        if p.get("algoType") != "CONDITIONAL":
            raise ApiError(400, -1116, "Invalid algoType.")
        kind = p.get("type", "")
        if kind not in CONDITIONAL - {"TRAILING_STOP_MARKET"}:
            raise ApiError(400, -1116, "Invalid orderType.")
        spec = self._spec(p["symbol"])
        cid = p.get("clientAlgoId", "")
        if any(a.client_id == cid and a.status == "NEW" for a in self.algos.values()):
            raise ApiError(400, -4116, "ClientOrderId is duplicated.")
        qty = Decimal(p.get("quantity", "0"))
        trigger = Decimal(p["triggerPrice"])
        price = Decimal(p["price"]) if "price" in p else ZERO
        self._check_qty_price(spec, qty, trigger)
        self._reject_if_asked()
        now = self.now_ms()
        algo = Algo(
            next(self._ids),
            cid,
            spec.symbol,
            p["side"],
            kind,
            qty,
            trigger,
            price,
            p.get("reduceOnly", "false") == "true",
            p.get("closePosition", "false") == "true",
            p.get("positionSide", "BOTH"),
            p.get("timeInForce", "GTC"),
            create_time=now,
            update_time=now,
        )
        self.algos[algo.algo_id] = algo
        await self._push_algo(algo)
        return algo.json()

    async def _push_algo(self, algo: Algo) -> None:
        executed = self.orders[algo.actual_order_id].executed if algo.actual_order_id else ZERO
        now = self.now_ms()
        await self._push_user(
            {
                "e": "ALGO_UPDATE",
                "T": now,
                "E": now,
                "o": {
                    "caid": algo.client_id,
                    "aid": algo.algo_id,
                    "at": "CONDITIONAL",
                    "o": algo.order_type,
                    "s": algo.symbol,
                    "S": algo.side,
                    "ps": algo.position_side,
                    "f": algo.tif,
                    "q": _s(algo.qty),
                    "X": algo.status,
                    "ai": "" if algo.actual_order_id is None else str(algo.actual_order_id),
                    "ap": "0",
                    "aq": _s(executed),
                    "act": "MARKET",
                    "tp": _s(algo.trigger),
                    "p": _s(algo.price),
                    "V": "EXPIRE_MAKER",
                    "wt": "CONTRACT_PRICE",
                    "pm": "NONE",
                    "cp": algo.close_position,
                    "pP": False,
                    "R": algo.reduce_only,
                    "tt": algo.trigger_time,
                    "gtd": 0,
                },
            }
        )

    async def _trigger(self, algo: Algo, price: Decimal | None = None, qty: Decimal | None = None) -> Order:
        """The trigger condition is met: place the real order and execute it."""
        now = self.now_ms()
        market = algo.order_type.endswith("MARKET")
        pos = self.positions.get(algo.symbol, Position()).qty
        qty_to_send = abs(pos) if algo.close_position else algo.qty
        order = Order(
            next(self._ids),
            algo.client_id,
            algo.symbol,
            algo.side,
            "MARKET" if market else "LIMIT",
            qty_to_send or algo.qty,
            ZERO if market else algo.price,
            algo.tif,
            algo.reduce_only or algo.close_position,
            algo.position_side,
            stop_price=algo.trigger,
            time=now,
            update_time=now,
        )
        self.orders[order.order_id] = order
        algo.actual_order_id, algo.status, algo.trigger_time, algo.update_time = (
            order.order_id,
            "TRIGGERED",
            now,
            now,
        )
        await self._push_algo(algo)
        await self._push_order(order, "NEW")
        fill_price = price if price is not None else (algo.trigger if market else algo.price)
        await self._execute(order, fill_price, qty)
        return order

    async def _open_algo_orders(self, request: web.Request) -> web.Response:
        symbol = request[PARAMS].get("symbol")
        return self._json(
            [
                a.json()
                for a in self.algos.values()
                if a.status == "NEW" and (symbol is None or a.symbol == symbol)
            ]
        )

    async def _cancel_all_algo(self, request: web.Request) -> web.Response:
        symbol = request[PARAMS]["symbol"]
        for algo in list(self.algos.values()):
            if algo.symbol == symbol and algo.status == "NEW":
                algo.status = "CANCELED"
                algo.update_time = self.now_ms()
                await self._push_algo(algo)
        return self._json({"code": 200, "msg": "The operation of cancel all open order is done."})

    # ------------------------------------------------------------------ queries
    async def _open_orders(self, request: web.Request) -> web.Response:
        symbol = request[PARAMS].get("symbol")
        return self._json(
            [
                o.json()
                for o in self.orders.values()
                if o.status in ("NEW", "PARTIALLY_FILLED") and (symbol is None or o.symbol == symbol)
            ]
        )

    async def _cancel_all(self, request: web.Request) -> web.Response:
        symbol = request[PARAMS]["symbol"]
        for order in list(self.orders.values()):
            if order.symbol == symbol and order.status in ("NEW", "PARTIALLY_FILLED"):
                await self._finish(order, "CANCELED")
        return self._json({"code": 200, "msg": "The operation of cancel all open order is done."})

    def _unrealized(self) -> Decimal:
        total = ZERO
        for symbol, pos in self.positions.items():
            mark = self.last_price.get(symbol, pos.entry)
            total += (mark - pos.entry) * pos.qty
        return total

    async def _account(self, request: web.Request) -> web.Response:
        upnl = self._unrealized()
        return self._json(
            {
                "totalWalletBalance": _s(self.wallet),
                "totalUnrealizedProfit": _s(upnl),
                "totalMarginBalance": _s(self.wallet + upnl),
                "availableBalance": _s(self.wallet + upnl),
                "maxWithdrawAmount": _s(self.wallet),
                "assets": [],
                "positions": [],
            }
        )

    async def _balance(self, request: web.Request) -> web.Response:
        return self._json(
            [
                {
                    "accountAlias": "fake",
                    "asset": "USDT",
                    "balance": _s(self.wallet),
                    "crossWalletBalance": _s(self.wallet),
                    "crossUnPnl": _s(self._unrealized()),
                    "availableBalance": _s(self.wallet),
                    "maxWithdrawAmount": _s(self.wallet),
                    "marginAvailable": True,
                    "updateTime": self.now_ms(),
                }
            ]
        )

    async def _position_risk(self, request: web.Request) -> web.Response:
        symbol = request[PARAMS].get("symbol")
        rows = []
        for sym, pos in self.positions.items():
            if symbol is not None and sym != symbol:
                continue
            mark = self.last_price.get(sym, pos.entry)
            rows.append(
                {
                    "symbol": sym,
                    "positionSide": "BOTH",
                    "positionAmt": _s(pos.qty),
                    "entryPrice": _s(pos.entry),
                    "breakEvenPrice": _s(pos.entry),
                    "markPrice": _s(mark),
                    "unRealizedProfit": _s((mark - pos.entry) * pos.qty),
                    "liquidationPrice": "0",
                    "notional": _s(mark * pos.qty),
                    "marginAsset": "USDT",
                    "initialMargin": "0",
                    "maintMargin": "0",
                    "adl": 0,
                    "updateTime": self.now_ms(),
                }
            )
        return self._json(rows)

    async def _leverage(self, request: web.Request) -> web.Response:
        p = request[PARAMS]
        self._spec(p["symbol"])
        lev = int(p["leverage"])
        if not 1 <= lev <= 125:
            raise ApiError(400, -4028, "Leverage is not valid.")
        self.leverage[p["symbol"]] = lev
        return self._json({"leverage": lev, "maxNotionalValue": "1000000", "symbol": p["symbol"]})

    async def _margin_type(self, request: web.Request) -> web.Response:
        p = request[PARAMS]
        if self.margin_type.get(p["symbol"], "CROSSED") == p["marginType"]:
            raise ApiError(400, -4046, "No need to change margin type.")
        self.margin_type[p["symbol"]] = p["marginType"]
        return self._json({"code": 200, "msg": "success"})

    async def _symbol_config(self, request: web.Request) -> web.Response:
        symbol = request[PARAMS].get("symbol")
        return self._json(
            [
                {
                    "symbol": s,
                    "marginType": self.margin_type.get(s, "CROSSED"),
                    "isAutoAddMargin": False,
                    "leverage": self.leverage.get(s, 20),
                    "maxNotionalValue": "1000000",
                }
                for s in self.symbols
                if symbol is None or s == symbol
            ]
        )

    async def _dual(self, request: web.Request) -> web.Response:
        if request.method == "GET":
            return self._json({"dualSidePosition": self.dual_side})
        want = request[PARAMS]["dualSidePosition"] == "true"
        if want == self.dual_side:
            raise ApiError(400, -4059, "No need to change position side.")
        if any(p.qty != 0 for p in self.positions.values()):
            raise ApiError(400, -4068, "Position side cannot be changed if there exists position.")
        self.dual_side = want
        return self._json({"code": 200, "msg": "success"})

    async def _user_trades(self, request: web.Request) -> web.Response:
        p = request[PARAMS]
        symbol = p["symbol"]
        start = int(p.get("startTime", 0))
        rows = [
            t
            for t in self.trades
            if t["symbol"] == symbol
            and t["time"] >= start
            and ("orderId" not in p or str(t["orderId"]) == p["orderId"])
        ]
        return self._json(rows[: int(p.get("limit", 500))])

    # ------------------------------------------------------------------ matching on bars
    async def _match_bar(self, bar: Bar) -> None:
        high, low = Decimal(repr(bar.high)), Decimal(repr(bar.low))
        opening = Decimal(repr(bar.open))
        for order in list(self.orders.values()):
            if order.symbol != bar.symbol or order.status not in ("NEW", "PARTIALLY_FILLED"):
                continue
            if order.type == "MARKET":
                await self._execute(order, opening)
            elif order.side == "BUY" and low <= order.price:
                await self._execute(order, min(order.price, opening))
            elif order.side == "SELL" and high >= order.price:
                await self._execute(order, max(order.price, opening))
        for algo in list(self.algos.values()):
            if algo.symbol != bar.symbol or algo.status != "NEW":
                continue
            stop = algo.order_type.startswith("STOP")
            up = high >= algo.trigger
            down = low <= algo.trigger
            hit = (down if algo.side == "SELL" else up) if stop else (up if algo.side == "SELL" else down)
            if hit:
                await self._trigger(algo)


class FakeVenueController:
    """``tradebot.testing.controller.VenueController`` over a FakeBinance, plus Binance-specific faults."""

    def __init__(self, fake: FakeBinance) -> None:
        self.fake = fake

    async def push_bar(self, bar: Bar) -> None:
        await self.fake.push_bar(bar)

    async def fill(
        self, client_order_id: str, price: Decimal | None = None, qty: Decimal | None = None
    ) -> None:
        for order in self.fake.orders.values():
            if order.client_id == client_order_id and order.status in ("NEW", "PARTIALLY_FILLED"):
                fill_price = price or (order.price if order.price else self.fake.last_price[order.symbol])
                await self.fake._execute(order, fill_price, qty)
                return
        for algo in self.fake.algos.values():
            if algo.client_id == client_order_id and algo.status == "NEW":
                await self.fake._trigger(algo, price, qty)
                return
        raise KeyError(f"fake binance: no working order {client_order_id}")

    async def reject_next(self, reason: str) -> None:
        self.fake.reject_next_reason = reason

    async def fail_next(self, kind: str) -> None:
        """The venue's next new-order request fails (lookups before it pass)."""
        if kind == "auth":
            self.fake.faults.append(
                Fault(401, -2015, "Invalid API-key, IP, or permissions for action.", only=ORDER_ENTRY)
            )
        elif kind == "rate_limit":
            self.fake.faults.append(
                Fault(
                    429,
                    -1003,
                    "Too many requests; current limit of IP is 2400 requests per minute.",
                    {"Retry-After": "1"},
                    only=ORDER_ENTRY,
                )
            )
        elif kind == "network":
            self.fake.faults.append(Fault(0, 0, "", network=True, only=ORDER_ENTRY))
        else:
            raise ValueError(f"unknown fault kind {kind!r}")

    async def fail_next_raw(
        self, status: int, code: int, msg: str, retry_after: int | None = None, *, orders_only: bool = False
    ) -> None:
        """The next request (``orders_only``: the next new-order request) gets this error answer."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        only = ORDER_ENTRY if orders_only else frozenset()
        self.fake.faults.append(Fault(status, code, msg, headers, only=only))

    async def fail_next_network(self) -> None:
        """The next new-order request loses its connection before the venue reads it."""
        self.fake.faults.append(Fault(0, 0, "", network=True, only=ORDER_ENTRY))

    async def drop_connection(self) -> None:
        await self.fake.drop_all()

    async def drop_user_stream(self) -> None:
        await self.fake.drop_user_stream()

    async def expire_listen_key(self) -> None:
        await self.fake.expire_listen_key()

    def shift_clock(self, ms: int) -> None:
        self.fake.clock_offset_ms += ms

    async def venue_open_orders(self) -> list[OrderSnapshot]:
        out = []
        for o in self.fake.orders.values():
            if o.status in ("NEW", "PARTIALLY_FILLED"):
                out.append(
                    OrderSnapshot(
                        o.client_id,
                        str(o.order_id),
                        o.symbol,
                        Side(o.side),
                        o.qty,
                        o.executed,
                        OrderType.LIMIT if o.type == "LIMIT" else OrderType.MARKET,
                        OrderStatus.ACCEPTED if o.status == "NEW" else OrderStatus.PARTIALLY_FILLED,
                        limit_price=o.price or None,
                        tif=TimeInForce(o.tif),
                        reduce_only=o.reduce_only,
                    )
                )
        for a in self.fake.algos.values():
            if a.status == "NEW":
                tp = a.order_type.startswith("TAKE_PROFIT")
                out.append(
                    OrderSnapshot(
                        a.client_id,
                        f"algo:{a.algo_id}",
                        a.symbol,
                        Side(a.side),
                        a.qty,
                        ZERO,
                        OrderType.LIMIT if tp else OrderType.STOP,
                        OrderStatus.ACCEPTED,
                        limit_price=a.trigger if tp else None,
                        stop_price=None if tp else a.trigger,
                        reduce_only=True,
                    )
                )
        return out

    async def venue_positions(self) -> list[PositionSnapshot]:
        return [
            PositionSnapshot(s, p.qty, p.entry) for s, p in sorted(self.fake.positions.items()) if p.qty != 0
        ]

    async def set_last_price(self, symbol: str, price: Decimal) -> None:
        self.fake.last_price[symbol] = price
