"""A typed face over alpaca-py's synchronous REST clients (call these in a worker thread).

alpaca-py returns ``Model | dict`` unions (the dict only with ``raw_data=True``, which we never set); each
method here narrows to the model or raises a PROVIDER_SCHEMA BrokerError.
"""

from __future__ import annotations

from typing import Any, TypeVar

from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.models import BarSet
from alpaca.data.requests import StockBarsRequest
from alpaca.trading.client import TradingClient
from alpaca.trading.models import Asset, Clock, Order, Position, TradeAccount
from alpaca.trading.requests import CancelOrderResponse, GetOrderByIdRequest, GetOrdersRequest
from alpaca.trading.requests import OrderRequest as AlpacaOrderRequest

from tradebot_alpaca.config import AlpacaConfig, Credentials
from tradebot_alpaca.errors import schema_error

M = TypeVar("M")


def _as(value: object, cls: type[M], what: str) -> M:
    if isinstance(value, cls):
        return value
    raise schema_error(what, f"expected {cls.__name__}, got {type(value).__name__}")


def _list_of(value: object, cls: type[M], what: str) -> list[M]:
    if not isinstance(value, list):
        raise schema_error(what, f"expected a list, got {type(value).__name__}")
    return [_as(item, cls, what) for item in value]


class TradingRest:
    def __init__(self, config: AlpacaConfig, credentials: Credentials) -> None:
        self._client = TradingClient(
            credentials.key_id.get_secret_value(),
            credentials.secret_key.get_secret_value(),
            paper=config.env == "paper",
            url_override=config.trading_base,
        )
        _set_retry(self._client, config)

    def account(self) -> TradeAccount:
        return _as(self._client.get_account(), TradeAccount, "account")

    def asset(self, symbol: str) -> Asset:
        return _as(self._client.get_asset(symbol), Asset, "asset")

    def clock(self) -> Clock:
        return _as(self._client.get_clock(), Clock, "clock")

    def submit(self, request: AlpacaOrderRequest) -> Order:
        return _as(self._client.submit_order(request), Order, "submit")

    def order(self, venue_order_id: str, nested: bool = True) -> Order:
        found = self._client.get_order_by_id(venue_order_id, GetOrderByIdRequest(nested=nested))
        return _as(found, Order, "order")

    def order_by_client_id(self, client_order_id: str) -> Order:
        return _as(self._client.get_order_by_client_id(client_order_id), Order, "order")

    def orders(self, request: GetOrdersRequest) -> list[Order]:
        return _list_of(self._client.get_orders(request), Order, "orders")

    def cancel(self, venue_order_id: str) -> None:
        self._client.cancel_order_by_id(venue_order_id)

    def cancel_all(self) -> list[CancelOrderResponse]:
        return _list_of(self._client.cancel_orders(), CancelOrderResponse, "cancel all")

    def positions(self) -> list[Position]:
        return _list_of(self._client.get_all_positions(), Position, "positions")

    def activities(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """GET /v2/account/activities (TradingClient has no method for it; its generic ``get`` does)."""
        page = self._client.get("/account/activities", params)
        items = _list_of(page, dict, "account activities")
        return [dict(item) for item in items]

    def close(self) -> None:
        self._client._session.close()


class DataRest:
    def __init__(self, config: AlpacaConfig, credentials: Credentials) -> None:
        self._client = StockHistoricalDataClient(
            credentials.key_id.get_secret_value(),
            credentials.secret_key.get_secret_value(),
            url_override=config.data_base,
        )
        _set_retry(self._client, config)

    def bars(self, request: StockBarsRequest) -> BarSet:
        return _as(self._client.get_stock_bars(request), BarSet, "bars")

    def close(self) -> None:
        self._client._session.close()


def _set_retry(client: TradingClient | StockHistoricalDataClient, config: AlpacaConfig) -> None:
    """alpaca-py retries 429/504 itself (sleeping in the worker thread); tune it from config."""
    client._retry = config.rest_retry_attempts
    client._retry_wait = config.rest_retry_wait_s  # type: ignore[assignment]  # a float sleeps fine
