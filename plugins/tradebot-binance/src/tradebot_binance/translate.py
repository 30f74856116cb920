"""Our order model → Binance parameters, and Binance order JSON → our snapshots.

Mapping (one-way mode): MARKET → MARKET, LIMIT → LIMIT (DAY becomes GTC: a 24/7 venue has no trading
day), STOP → algo STOP_MARKET, STOP_LIMIT → algo STOP; bracket take-profit → algo TAKE_PROFIT_MARKET,
reported back as a LIMIT at its trigger price (the exit price it stands for). Hedge mode sends
``positionSide`` (BUY opens LONG, SELL opens SHORT; reduce-only orders close the opposite side) instead
of ``reduceOnly``, which Binance refuses in hedge mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tradebot.domain.events import OrderSnapshot, OrderStatus
from tradebot.domain.orders import OrderRequest, OrderType, Side, TimeInForce
from tradebot_binance.instruments import format_decimal

ALGO_TYPES = frozenset({"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"})
_TIF = {TimeInForce.DAY: "GTC", TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}
_STATUS = {
    "NEW": OrderStatus.ACCEPTED,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
    "REJECTED": OrderStatus.REJECTED,
}
_ALGO_STATUS = {
    "NEW": OrderStatus.ACCEPTED,
    "TRIGGERING": OrderStatus.ACCEPTED,
    "TRIGGERED": OrderStatus.ACCEPTED,
    "FINISHED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "EXPIRED": OrderStatus.EXPIRED,
    "REJECTED": OrderStatus.REJECTED,
}


def position_side(side: Side, reduce_only: bool, hedge: bool) -> str | None:
    if not hedge:
        return None
    opens_long = side is Side.BUY
    if reduce_only:
        opens_long = not opens_long
    return "LONG" if opens_long else "SHORT"


def _common(symbol: str, side: Side, qty: Decimal, reduce_only: bool, hedge: bool) -> dict[str, Any]:
    params: dict[str, Any] = {"symbol": symbol, "side": side.value, "quantity": format_decimal(qty)}
    ps = position_side(side, reduce_only, hedge)
    if ps is not None:
        params["positionSide"] = ps
    elif reduce_only:
        params["reduceOnly"] = "true"
    return params


def order_params(request: OrderRequest, hedge: bool) -> dict[str, Any]:
    """``futures_create_order`` parameters for an entry/standalone order (no bracket legs)."""
    params = _common(request.symbol, request.side, request.quantity, request.reduce_only, hedge)
    kind = request.order_type
    if kind is OrderType.MARKET:
        params.update(type="MARKET", newClientOrderId=request.client_order_id)
    elif kind is OrderType.LIMIT:
        if request.limit_price is None:
            raise ValueError(f"{request.client_order_id}: LIMIT order without limit_price")
        params.update(
            type="LIMIT",
            price=format_decimal(request.limit_price),
            timeInForce=_TIF[request.tif],
            newClientOrderId=request.client_order_id,
        )
    elif kind is OrderType.STOP:
        if request.stop_price is None:
            raise ValueError(f"{request.client_order_id}: STOP order without stop_price")
        params.update(
            type="STOP_MARKET",
            stopPrice=format_decimal(request.stop_price),
            clientAlgoId=request.client_order_id,
        )
    elif kind is OrderType.STOP_LIMIT:
        if request.stop_price is None or request.limit_price is None:
            raise ValueError(f"{request.client_order_id}: STOP_LIMIT order needs stop_price and limit_price")
        params.update(
            type="STOP",
            stopPrice=format_decimal(request.stop_price),
            price=format_decimal(request.limit_price),
            timeInForce=_TIF[request.tif],
            clientAlgoId=request.client_order_id,
        )
    else:
        raise ValueError(f"{request.client_order_id}: order type {kind} is not supported by binance plugin")
    return params


def leg_params(
    client_order_id: str,
    symbol: str,
    entry_side: Side,
    qty: Decimal,
    trigger: Decimal,
    take_profit: bool,
    hedge: bool,
) -> dict[str, Any]:
    """A bracket leg: reduce-only conditional market order on the exit side."""
    params = _common(symbol, entry_side.opposite, qty, True, hedge)
    params.update(
        type="TAKE_PROFIT_MARKET" if take_profit else "STOP_MARKET",
        stopPrice=format_decimal(trigger),
        workingType="CONTRACT_PRICE",
        clientAlgoId=client_order_id,
    )
    return params


def is_algo(params: Mapping[str, Any]) -> bool:
    return str(params.get("type", "")).upper() in ALGO_TYPES


def _dec_or_none(value: Any) -> Decimal | None:
    if value in (None, "", "0", "0.0", 0):
        return None
    dec = Decimal(str(value))
    return dec if dec != 0 else None


def _our_type(venue_type: str) -> OrderType:
    return {
        "MARKET": OrderType.MARKET,
        "LIMIT": OrderType.LIMIT,
        "STOP_MARKET": OrderType.STOP,
        "STOP": OrderType.STOP_LIMIT,
        "TAKE_PROFIT_MARKET": OrderType.LIMIT,
        "TAKE_PROFIT": OrderType.LIMIT,
        "TRAILING_STOP_MARKET": OrderType.TRAILING_STOP,
    }.get(venue_type, OrderType.MARKET)


def _tif(value: Any) -> TimeInForce:
    try:
        return TimeInForce(str(value))
    except ValueError:
        return TimeInForce.GTC


def _parent(cid: str) -> str | None:
    base, _, leg = cid.rpartition("-")
    return base if leg in ("sl", "tp") and base else None


def order_snapshot(raw: Mapping[str, Any]) -> OrderSnapshot:
    """A regular order (/fapi/v1/order, /openOrders) → OrderSnapshot."""
    venue_type = str(raw.get("origType") or raw.get("type", ""))
    cid = str(raw.get("clientOrderId", ""))
    return OrderSnapshot(
        client_order_id=cid,
        venue_order_id=str(raw.get("orderId", "")),
        symbol=str(raw["symbol"]),
        side=Side(str(raw["side"])),
        quantity=Decimal(str(raw.get("origQty", "0"))),
        filled_qty=Decimal(str(raw.get("executedQty", "0"))),
        order_type=_our_type(venue_type),
        status=_STATUS.get(str(raw.get("status", "")), OrderStatus.ACCEPTED),
        limit_price=_dec_or_none(raw.get("price")),
        stop_price=_dec_or_none(raw.get("stopPrice")),
        tif=_tif(raw.get("timeInForce")),
        reduce_only=bool(raw.get("reduceOnly", False)),
        parent_client_order_id=_parent(cid),
    )


def algo_snapshot(raw: Mapping[str, Any]) -> OrderSnapshot:
    """An algo (conditional) order (/fapi/v1/algoOrder, /openAlgoOrders) → OrderSnapshot."""
    venue_type = str(raw.get("orderType", ""))
    cid = str(raw.get("clientAlgoId", ""))
    trigger = _dec_or_none(raw.get("triggerPrice"))
    is_tp = venue_type.startswith("TAKE_PROFIT")
    qty = Decimal(str(raw.get("quantity") or "0"))
    executed = Decimal(str(raw.get("executedQty") or "0"))
    status = _ALGO_STATUS.get(str(raw.get("algoStatus", "")), OrderStatus.ACCEPTED)
    if status is OrderStatus.FILLED and executed < qty:
        status = OrderStatus.CANCELED if executed == 0 else OrderStatus.PARTIALLY_FILLED
    return OrderSnapshot(
        client_order_id=cid,
        venue_order_id=f"algo:{raw.get('algoId', '')}",
        symbol=str(raw["symbol"]),
        side=Side(str(raw["side"])),
        quantity=qty,
        filled_qty=executed,
        order_type=_our_type(venue_type),
        status=status,
        limit_price=trigger if is_tp else _dec_or_none(raw.get("price")),
        stop_price=None if is_tp else trigger,
        tif=_tif(raw.get("timeInForce")),
        reduce_only=bool(raw.get("reduceOnly", False)) or bool(raw.get("closePosition", False)),
        parent_client_order_id=_parent(cid),
    )
