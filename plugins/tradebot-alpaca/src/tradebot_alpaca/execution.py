"""Our orders → alpaca-py order requests, and Alpaca orders → our order snapshots.

Order classes: a request with a ``bracket`` that has a take-profit becomes a BRACKET (entry + TP limit +
SL stop, the two exits one-cancels-other); a bracket with only a stop becomes an OTO; a reduce-only LIMIT
request with a bracket becomes an OCO exit pair for an existing position (the limit leg is the take-profit,
``bracket.take_profit`` if given, else ``limit_price``; ``bracket.stop_loss`` is the stop leg). Alpaca names
the legs itself, so leg ids are mapped to ours: ``child_order_id(parent, "tp"|"sl")``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from alpaca.trading import enums as ae
from alpaca.trading import requests as ar
from alpaca.trading.models import Order

from tradebot.domain.events import OrderSnapshot, OrderStatus
from tradebot.domain.orders import OrderRequest, OrderType, Side, TimeInForce, child_order_id
from tradebot_alpaca.account import to_decimal

_TIF = {
    TimeInForce.DAY: ae.TimeInForce.DAY,
    TimeInForce.GTC: ae.TimeInForce.GTC,
    TimeInForce.IOC: ae.TimeInForce.IOC,
    TimeInForce.FOK: ae.TimeInForce.FOK,
}
_TIF_BACK = {v.value: k for k, v in _TIF.items()}
_TYPE_BACK = {
    "market": OrderType.MARKET,
    "limit": OrderType.LIMIT,
    "stop": OrderType.STOP,
    "stop_limit": OrderType.STOP_LIMIT,
    "trailing_stop": OrderType.TRAILING_STOP,
}
_STATUS = {
    "new": OrderStatus.ACCEPTED,
    "accepted": OrderStatus.ACCEPTED,
    "pending_new": OrderStatus.SUBMITTED,
    "accepted_for_bidding": OrderStatus.ACCEPTED,
    "held": OrderStatus.ACCEPTED,  # bracket legs waiting for the entry to fill
    "calculated": OrderStatus.ACCEPTED,
    "stopped": OrderStatus.ACCEPTED,
    "suspended": OrderStatus.ACCEPTED,
    "pending_review": OrderStatus.ACCEPTED,
    "pending_cancel": OrderStatus.ACCEPTED,
    "pending_replace": OrderStatus.ACCEPTED,
    "done_for_day": OrderStatus.ACCEPTED,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
    "replaced": OrderStatus.CANCELED,
}
OPEN_STATUSES = frozenset(k for k, v in _STATUS.items() if not v.is_terminal)


def _f(value: Decimal) -> float:
    """alpaca-py request models take floats; repr of a float from a short Decimal round-trips exactly."""
    return float(value)


def _side(side: Side) -> ae.OrderSide:
    return ae.OrderSide.BUY if side is Side.BUY else ae.OrderSide.SELL


def order_class_for(request: OrderRequest) -> ae.OrderClass:
    if request.bracket is None:
        return ae.OrderClass.SIMPLE
    if request.reduce_only and request.order_type is OrderType.LIMIT:
        return ae.OrderClass.OCO
    if request.bracket.take_profit is not None:
        return ae.OrderClass.BRACKET
    return ae.OrderClass.OTO


def build_order_request(request: OrderRequest, *, extended_hours: bool = False) -> ar.OrderRequest:
    """The alpaca-py request for ``request``; a malformed one raises ValueError naming the field."""
    common: dict[str, Any] = {
        "symbol": request.symbol,
        "qty": _f(request.quantity),
        "side": _side(request.side),
        "time_in_force": _TIF[request.tif],
        "client_order_id": request.client_order_id,
    }
    if extended_hours:
        common["extended_hours"] = True
    order_class = order_class_for(request)
    bracket = request.bracket
    if bracket is not None:
        common["order_class"] = order_class
        if order_class is ae.OrderClass.OCO:
            tp = bracket.take_profit if bracket.take_profit is not None else request.limit_price
            if tp is None:
                raise ValueError("OCO exit needs bracket.take_profit or limit_price")
            common["take_profit"] = ar.TakeProfitRequest(limit_price=_f(tp))
            common["stop_loss"] = ar.StopLossRequest(stop_price=_f(bracket.stop_loss))
            return ar.LimitOrderRequest(**common)
        common["stop_loss"] = ar.StopLossRequest(stop_price=_f(bracket.stop_loss))
        if bracket.take_profit is not None:
            common["take_profit"] = ar.TakeProfitRequest(limit_price=_f(bracket.take_profit))
    kind = request.order_type
    if kind is OrderType.MARKET:
        return ar.MarketOrderRequest(**common)
    if kind is OrderType.LIMIT:
        if request.limit_price is None:
            raise ValueError("limit_price is required for a LIMIT order")
        return ar.LimitOrderRequest(limit_price=_f(request.limit_price), **common)
    if kind is OrderType.STOP:
        if request.stop_price is None:
            raise ValueError("stop_price is required for a STOP order")
        return ar.StopOrderRequest(stop_price=_f(request.stop_price), **common)
    if kind is OrderType.STOP_LIMIT:
        if request.stop_price is None or request.limit_price is None:
            raise ValueError("stop_price and limit_price are required for a STOP_LIMIT order")
        return ar.StopLimitOrderRequest(
            stop_price=_f(request.stop_price), limit_price=_f(request.limit_price), **common
        )
    if request.trail_amount is None:
        raise ValueError("trail_amount is required for a TRAILING_STOP order")
    return ar.TrailingStopOrderRequest(trail_price=_f(request.trail_amount), **common)


def _value(enum_or_str: Any) -> str:
    return str(getattr(enum_or_str, "value", enum_or_str))


def leg_role(leg: Order) -> str:
    """'tp' for the limit leg, 'sl' for the stop / stop-limit leg of a bracket, OTO or OCO."""
    return "tp" if _value(leg.type or leg.order_type) == "limit" else "sl"


def leg_client_ids(parent_client_id: str, order: Order) -> dict[str, str]:
    """Venue leg id → our child client order id."""
    return {str(leg.id): child_order_id(parent_client_id, leg_role(leg)) for leg in (order.legs or [])}


def order_status(order: Order) -> OrderStatus:
    status = _STATUS.get(_value(order.status), OrderStatus.ACCEPTED)
    filled = to_decimal(order.filled_qty or "0", "order.filled_qty")
    if status is OrderStatus.ACCEPTED and filled > 0:
        return OrderStatus.PARTIALLY_FILLED
    return status


def order_snapshot(order: Order, client_order_id: str, parent: str | None = None) -> OrderSnapshot:
    def opt(value: Any, what: str) -> Decimal | None:
        return to_decimal(value, what) if value not in (None, "") else None

    stop = opt(order.stop_price, "order.stop_price")
    return OrderSnapshot(
        client_order_id=client_order_id,
        venue_order_id=str(order.id),
        symbol=str(order.symbol),
        side=Side.BUY if _value(order.side) == "buy" else Side.SELL,
        quantity=to_decimal(order.qty or "0", "order.qty"),
        filled_qty=to_decimal(order.filled_qty or "0", "order.filled_qty"),
        order_type=_TYPE_BACK.get(_value(order.type or order.order_type), OrderType.MARKET),
        status=order_status(order),
        limit_price=opt(order.limit_price, "order.limit_price"),
        stop_price=stop,
        tif=_TIF_BACK.get(_value(order.time_in_force), TimeInForce.DAY),
        parent_client_order_id=parent,
    )


def flatten(orders: list[Order]) -> list[tuple[Order, Order | None]]:
    """Nested orders → (order, its parent or None), parents first."""
    out: list[tuple[Order, Order | None]] = []
    for order in orders:
        out.append((order, None))
        out.extend((leg, order) for leg in order.legs or [])
    return out
