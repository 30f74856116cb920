"""Config, error mapping, instruments, order building and market-hours rules of the Alpaca plugin."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading import enums as ae
from alpaca.trading.models import Asset
from alpaca_fake_server import FakeAlpaca
from tradebot_alpaca.config import load_config
from tradebot_alpaca.errors import classify_error, is_duplicate_client_order_id
from tradebot_alpaca.execution import build_order_request, order_class_for
from tradebot_alpaca.instruments import instrument_from_asset
from tradebot_alpaca.market_hours import MarketHours, VenueClock

from tradebot.domain.clock import ReplayClock
from tradebot.domain.errors import BrokerError, ErrorAction, ErrorCategory
from tradebot.domain.orders import Bracket, OrderRequest, OrderType, Side, TimeInForce

ENV = {"APCA_API_KEY_ID": "AKID123", "APCA_API_SECRET_KEY": "S3CR3T"}


def test_config_defaults_and_secrets_from_env() -> None:
    cfg, creds = load_config({"env": "live", "symbols": ["spy"]}, ENV)
    assert cfg.trading_base == "https://api.alpaca.markets"
    assert cfg.data_stream == "wss://stream.data.alpaca.markets/v2/iex"
    assert cfg.symbols == ("SPY",)
    assert creds.key_id.get_secret_value() == "AKID123" and "S3CR3T" not in repr(creds)


def test_config_unknown_key_and_bad_values_are_named() -> None:
    with pytest.raises(ValueError, match=r"broker\.alpaca\.api_secret: Extra inputs") as raised:
        load_config({"api_secret": "x", "data_feed": "opra"}, ENV)
    assert "broker.alpaca.data_feed" in str(raised.value)
    with pytest.raises(ValueError, match="MY_KEY"):
        load_config({"key_id_env": "MY_KEY"}, ENV)


def _api_error(status: int, body: dict[str, object]) -> APIError:
    response = requests.Response()
    response.status_code = status
    return APIError(json.dumps(body), requests.HTTPError(response=response))


@pytest.mark.parametrize(("status", "code", "category", "action"), [
    (401, 40110000, ErrorCategory.AUTH, ErrorAction.HALT_TRADING),
    (403, 40310100, ErrorCategory.AUTH, ErrorAction.HALT_TRADING),
    (403, 40310000, ErrorCategory.ORDER_REJECTED, ErrorAction.SKIP_SYMBOL),  # insufficient buying power
    (422, 40010001, ErrorCategory.ORDER_REJECTED, ErrorAction.SKIP_SYMBOL),
    (429, 42910000, ErrorCategory.RATE_LIMIT, ErrorAction.RETRY),
    (503, 50010000, ErrorCategory.TRANSIENT_NETWORK, ErrorAction.RETRY),
])
def test_api_errors_map_onto_the_taxonomy(
    status: int, code: int, category: ErrorCategory, action: ErrorAction
) -> None:
    error = classify_error(_api_error(status, {"code": code, "message": "x"}))
    assert error is not None and (error.category, error.action) == (category, action)


def test_connection_errors_are_transient_and_foreign_errors_are_not_ours() -> None:
    error = classify_error(requests.ConnectionError("reset"))
    assert error is not None and error.code == "NET_RETRY"
    assert classify_error(KeyError("x")) is None
    assert is_duplicate_client_order_id(_api_error(422, {"code": 40010001, "message": "must be unique"}))
    assert not is_duplicate_client_order_id(_api_error(422, {"code": 40010000, "message": "qty"}))


def _asset(**kw: object) -> Asset:
    fake = FakeAlpaca()
    fake.add_asset("X", **kw)  # type: ignore[arg-type]
    return Asset(**fake.assets["X"])


def test_instrument_whole_and_fractional_shares() -> None:
    whole = instrument_from_asset(_asset(fractionable=False))
    assert (whole.lot_step, whole.min_qty, whole.calendar) == (Decimal(1), Decimal(1), "XNYS")
    assert whole.round_price(Decimal("12.345")) == Decimal("12.34")
    assert whole.round_price(Decimal("0.123456")) == Decimal("0.1235")  # sub-dollar tick 0.0001
    frac = instrument_from_asset(_asset(fractionable=True))
    assert frac.is_valid_qty(Decimal("0.5")) and frac.min_notional == Decimal(1)
    with pytest.raises(BrokerError, match="not tradable"):
        instrument_from_asset(_asset(tradable=False))


def _request(order_type: OrderType, **kw: object) -> OrderRequest:
    base: dict[str, object] = {"client_order_id": "c", "intent_id": "i", "symbol": "SPY", "side": Side.BUY,
                               "quantity": Decimal(2), "order_type": order_type, "ts": datetime.now(UTC)}
    base.update(kw)
    return OrderRequest(**base)  # type: ignore[arg-type]


def test_order_classes_and_types_map_to_alpaca_requests() -> None:
    bracket = build_order_request(_request(OrderType.LIMIT, limit_price=Decimal("100.01"),
                                           bracket=Bracket(Decimal("98"), Decimal("103"))))
    fields = bracket.to_request_fields()
    assert fields["order_class"] == "bracket" and fields["limit_price"] == 100.01
    assert fields["take_profit"] == {"limit_price": 103.0} and fields["stop_loss"] == {"stop_price": 98.0}
    oto = _request(OrderType.MARKET, bracket=Bracket(Decimal("98")))
    assert order_class_for(oto) is ae.OrderClass.OTO
    oco = _request(OrderType.LIMIT, side=Side.SELL, limit_price=Decimal("103"), reduce_only=True,
                   bracket=Bracket(Decimal("98")))
    oco_fields = build_order_request(oco).to_request_fields()
    assert oco_fields["order_class"] == "oco" and oco_fields["take_profit"] == {"limit_price": 103.0}
    trail = build_order_request(_request(OrderType.TRAILING_STOP, side=Side.SELL, trail_amount=Decimal("1.5"),
                                         tif=TimeInForce.GTC)).to_request_fields()
    assert (trail["type"], trail["trail_price"], trail["time_in_force"]) == ("trailing_stop", 1.5, "gtc")
    stop_limit = build_order_request(_request(OrderType.STOP_LIMIT, stop_price=Decimal("101"),
                                              limit_price=Decimal("101.5"))).to_request_fields()
    assert (stop_limit["type"], stop_limit["stop_price"]) == ("stop_limit", 101)
    with pytest.raises(ValueError, match="trail_amount"):
        build_order_request(_request(OrderType.TRAILING_STOP))


def _hours(venue: VenueClock, *, extended: bool = False) -> MarketHours:
    async def fetch() -> VenueClock:
        return venue

    fetcher: Callable[[], Awaitable[VenueClock]] = fetch
    return MarketHours(fetcher, ReplayClock(venue.timestamp), cache_s=30, calendar_check=True,
                       extended_hours=extended)


def _venue(ts: datetime, is_open: bool) -> VenueClock:
    return VenueClock(ts, is_open, ts + timedelta(hours=20), ts + timedelta(hours=5))


async def test_market_hours_regular_session_open() -> None:
    monday = _venue(datetime(2013, 10, 7, 15, 0, tzinfo=UTC), True)
    check = await _hours(monday).check(_request(OrderType.MARKET))
    assert check.allowed and not check.extended_hours


async def test_market_hours_closed_unless_extended_limit_orders_configured() -> None:
    premarket = _venue(datetime(2013, 10, 7, 12, 0, tzinfo=UTC), False)  # 08:00 New York
    limit = _request(OrderType.LIMIT, limit_price=Decimal(100))
    refused = await _hours(premarket).check(limit)
    assert not refused.allowed and refused.reason == "MARKET_CLOSED_BLOCK"
    allowed = await _hours(premarket, extended=True).check(limit)
    assert allowed.allowed and allowed.extended_hours
    market = await _hours(premarket, extended=True).check(_request(OrderType.MARKET))
    assert not market.allowed  # extended hours take DAY limit orders only


async def test_market_hours_venue_and_calendar_disagree_fails_closed() -> None:
    saturday = _venue(datetime(2013, 10, 5, 15, 0, tzinfo=UTC), True)  # venue says open on a Saturday
    check = await _hours(saturday).check(_request(OrderType.MARKET))
    assert not check.allowed and check.details["calendar_open"] is False
