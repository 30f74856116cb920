"""BinanceBroker: the tradebot Broker protocol over python-binance, for USD-M perpetual futures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from binance.ws.streams import BinanceSocketManager
from loguru import logger

from tradebot.brokers.capabilities import Capabilities, PositionMode
from tradebot.brokers.order_tracking import TrackedOrder
from tradebot.domain.bars import Bar
from tradebot.domain.clock import Clock
from tradebot.domain.errors import ErrorClass, ErrorScope
from tradebot.domain.events import AccountSnapshot, BrokerEvent, OrderFilled, OrderSnapshot, PositionSnapshot
from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import OrderRequest, OrderType, TimeInForce
from tradebot.domain.quotes import Quote
from tradebot_binance.account import AccountSetup, parse_account, parse_balances, parse_positions
from tradebot_binance.config import BinanceConfig
from tradebot_binance.data import KlineFeed
from tradebot_binance.errors import SYMBOL_NOT_TRADING, classify_error, state_error
from tradebot_binance.execution import Execution, side_of, trade_fill
from tradebot_binance.instruments import SymbolInfo, parse_exchange_info
from tradebot_binance.orders import EventSink
from tradebot_binance.quotes import BookTickerFeed
from tradebot_binance.rest import BinanceRest
from tradebot_binance.user_stream import UserStream

CAPABILITIES = Capabilities(
    order_types=frozenset({OrderType.MARKET, OrderType.LIMIT, OrderType.STOP, OrderType.STOP_LIMIT}),
    time_in_force=frozenset({TimeInForce.DAY, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK}),
    brackets=True,  # entry + reduce-only SL/TP algo orders, OCO emulated by the adapter
    oco=False,
    oto=False,
    reduce_only=True,
    native_cancel_all=True,
    position_modes=frozenset({PositionMode.ONE_WAY, PositionMode.HEDGE}),
    fractional_qty=True,
    leverage=True,
    streaming_bars=True,
)


def _ms(ts: datetime) -> int:
    return int(ts.timestamp() * 1000)


class BinanceBroker:
    name = "binance"
    capabilities = CAPABILITIES

    def __init__(self, config: BinanceConfig, clock: Clock) -> None:
        self.config = config
        self._clock = clock
        self.rest = BinanceRest(config)
        self.account_setup = AccountSetup(self.rest, config)
        self._sink = EventSink()
        self._symbols: dict[str, SymbolInfo] = {}
        self.execution = Execution(
            self.rest,
            self.account_setup,
            self._sink,
            clock,
            self._symbols.get,
            hedge=config.position_mode == "HEDGE",
            known_symbols=self._known_symbols,
        )
        self.user_stream = UserStream(
            self._socket_manager,
            config,
            clock,
            self._sink,
            self.execution.on_user_message,
            self.execution.recover,
        )
        self._connected = False
        self._order_cache: dict[tuple[str, str], Mapping[str, Any]] = {}

    # ------------------------------------------------------------------ lifecycle
    def _socket_manager(self) -> BinanceSocketManager:
        bsm = BinanceSocketManager(self.rest.client, user_timeout=int(self.config.listen_key_keepalive_s))
        bsm.FSTREAM_URL = self.config.resolved_stream_url
        return bsm

    def _known_symbols(self) -> set[str]:
        return set(self.config.symbols) | set(self._symbols) | self.execution.tracking.symbols()

    async def connect(self) -> None:
        if self._connected:
            return
        await self.rest.open()
        try:
            await self.rest.resync_time()
            await self._load_exchange_info()
            await self.account_setup.ensure_position_mode()
            for symbol in self.config.symbols:
                info = self._require(symbol)
                if not info.tradable:
                    raise state_error(SYMBOL_NOT_TRADING, f"binance {symbol} is {info.status}, not TRADING")
                await self.account_setup.ensure_margin_type(symbol)
                await self.account_setup.set_leverage(symbol, self.config.leverage)
            await self.user_stream.start()
        except BaseException:
            await self.user_stream.stop()
            await self.rest.close()
            raise
        self._connected = True
        logger.info(
            "binance connected ({}, {})", self.config.environment.value, self.config.resolved_futures_url
        )

    async def close(self) -> None:
        if self.rest._client is None:
            return
        await self.execution.stop()
        await self.user_stream.stop()
        await self.rest.close()
        await self._sink.close()
        self._connected = False

    async def _load_exchange_info(self) -> None:
        client = self.rest.client
        info = await self.rest.read("exchange info", lambda: client.futures_exchange_info())
        self.rest.weights.update_limits(info.get("rateLimits", []))
        self._symbols.update(parse_exchange_info(info))

    def _require(self, symbol: str) -> SymbolInfo:
        info = self._symbols.get(symbol)
        if info is None:
            raise state_error(SYMBOL_NOT_TRADING, f"binance has no USD-M symbol {symbol}")
        return info

    # ------------------------------------------------------------------ instruments and data
    async def instrument(self, symbol: str) -> Instrument:
        symbol = symbol.upper()
        if symbol not in self._symbols:
            await self._load_exchange_info()
        info = self._require(symbol)
        if not info.tradable:
            raise state_error(SYMBOL_NOT_TRADING, f"binance {symbol} is {info.status}, not TRADING")
        return info.instrument

    def symbol_info(self, symbol: str) -> SymbolInfo:
        return self._require(symbol.upper())

    def bars(self, instrument: Instrument, bar_size_s: int) -> AsyncIterator[Bar]:
        feed = KlineFeed(
            self.rest, self._socket_manager, self.config, self._clock, instrument.symbol, bar_size_s
        )
        return feed.stream()

    def quotes(self, instrument: Instrument) -> AsyncIterator[Quote]:
        """Best bid/ask updates (``<symbol>@bookTicker``): the TCA's quotes on a live run (QuoteStream)."""
        return BookTickerFeed(self._socket_manager, self.config, instrument.symbol).stream()

    # ------------------------------------------------------------------ orders
    async def set_leverage(self, symbol: str, leverage: int) -> int:
        return await self.account_setup.set_leverage(symbol.upper(), leverage)

    async def submit(self, request: OrderRequest) -> None:
        await self.execution.submit(request)

    async def cancel(self, client_order_id: str) -> None:
        await self.execution.cancel(client_order_id)

    async def cancel_all(self, symbol: str | None = None) -> None:
        await self.execution.cancel_all(symbol.upper() if symbol else None)

    async def order_status(self, client_order_id: str) -> OrderSnapshot | None:
        return await self.execution.order_status(client_order_id)

    # ------------------------------------------------------------------ reconciliation reports
    async def open_orders(self) -> list[OrderSnapshot]:
        return await self.execution.open_orders()

    async def positions(self) -> list[PositionSnapshot]:
        client = self.rest.client
        rows = await self.rest.read("position risk", lambda: client.futures_position_information())
        return parse_positions(rows)

    async def account(self) -> AccountSnapshot:
        client = self.rest.client
        raw = await self.rest.read("account", lambda: client.futures_account())
        return parse_account(raw, self.config.quote_asset)

    async def balances(self) -> dict[str, Decimal]:
        client = self.rest.client
        rows = await self.rest.read("balances", lambda: client.futures_account_balance())
        return parse_balances(rows)

    async def _order_of(self, symbol: str, order_id: str) -> Mapping[str, Any]:
        key = (symbol, order_id)
        if key not in self._order_cache:
            client = self.rest.client
            self._order_cache[key] = await self.rest.read(
                f"order {order_id}", lambda: client.futures_get_order(symbol=symbol, orderId=int(order_id))
            )
        return self._order_cache[key]

    async def fills_since(self, since: datetime) -> list[OrderFilled]:
        """Every execution at or after ``since`` (userTrades per symbol), with our client order ids."""
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        client = self.rest.client
        out: list[OrderFilled] = []
        for symbol in sorted(self._known_symbols()):
            trades = await self.rest.read(
                f"trades {symbol}",
                partial(client.futures_account_trades, symbol=symbol, startTime=_ms(since), limit=1000),
            )
            by_order: dict[str, list[Mapping[str, Any]]] = {}
            for trade in trades:
                by_order.setdefault(str(trade["orderId"]), []).append(trade)
            for order_id in by_order:
                tracked = self.execution.tracking.find(venue_order_id=order_id)
                if tracked is not None:
                    cid, quantity = tracked.client_order_id, tracked.quantity
                else:
                    raw = await self._order_of(symbol, order_id)
                    cid, quantity = str(raw.get("clientOrderId", "")), Decimal(str(raw.get("origQty", "0")))
                everything = await self.rest.read(
                    f"trades of order {order_id}",
                    partial(client.futures_account_trades, symbol=symbol, orderId=int(order_id)),
                )
                done = Decimal(0)
                for trade in sorted(everything, key=lambda t: int(t["id"])):
                    fill = trade_fill(trade)
                    done += fill.quantity
                    if fill.ts < since:
                        continue
                    out.append(
                        OrderFilled(
                            client_order_id=cid,
                            venue_order_id=order_id,
                            fill_id=fill.fill_id,
                            symbol=symbol,
                            side=side_of(trade),
                            quantity=fill.quantity,
                            price=fill.price,
                            fee=fill.fee,
                            fee_currency=fill.fee_currency,
                            ts=fill.ts,
                            leaves_qty=max(Decimal(0), quantity - done),
                        )
                    )
        out.sort(key=lambda f: (f.ts, f.fill_id))
        return out

    # ------------------------------------------------------------------ events and errors
    async def _events(self) -> AsyncIterator[BrokerEvent]:
        while True:
            event = await self._sink.queue.get()
            if event is None:
                return
            yield event

    def events(self) -> AsyncIterator[BrokerEvent]:
        return self._events()

    def classify_error(self, exc: BaseException) -> ErrorClass | None:
        return classify_error(exc)

    def tracked(self, client_order_id: str) -> TrackedOrder | None:
        return self.execution.tracking.get(client_order_id)


def error_scope_is_global(error: ErrorClass) -> bool:
    return error.scope is ErrorScope.GLOBAL
