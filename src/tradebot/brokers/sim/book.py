"""The venue's records: a working order, a position, and their (de)serialisation for the state file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from tradebot.domain.events import OrderFilled, OrderSnapshot, OrderStatus
from tradebot.domain.orders import OrderType, Side, TimeInForce

ZERO = Decimal(0)
_TERMINAL = frozenset(status for status in OrderStatus if status.is_terminal)  # the domain's own rule


@dataclass(slots=True)
class SimOrder:
    """One order at the venue, keyed by its client order id.

    ``active`` is False for bracket children until their entry fills. ``not_before`` is the end of the
    last bar the venue had seen when the order arrived: only bars starting at or after it can fill it.
    """

    client_order_id: str
    venue_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    created: datetime
    tif: TimeInForce = TimeInForce.GTC
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False
    parent_client_order_id: str | None = None
    oco_group: str | None = None
    status: OrderStatus = OrderStatus.ACCEPTED
    filled_qty: Decimal = ZERO
    active: bool = True
    not_before: datetime | None = None
    bars_waited: int = 0
    triggered: bool = False

    @property
    def leaves(self) -> Decimal:
        return self.quantity - self.filled_qty

    @property
    def is_open(self) -> bool:
        return self.status not in _TERMINAL

    def snapshot(self) -> OrderSnapshot:
        return OrderSnapshot(
            client_order_id=self.client_order_id,
            venue_order_id=self.venue_order_id,
            symbol=self.symbol,
            side=self.side,
            quantity=self.quantity,
            filled_qty=self.filled_qty,
            order_type=self.order_type,
            status=self.status,
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            tif=self.tif,
            reduce_only=self.reduce_only,
            parent_client_order_id=self.parent_client_order_id,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "client_order_id": self.client_order_id,
            "venue_order_id": self.venue_order_id,
            "symbol": self.symbol,
            "side": self.side.value,
            "quantity": str(self.quantity),
            "order_type": self.order_type.value,
            "created": self.created.isoformat(),
            "tif": self.tif.value,
            "limit_price": _opt_str(self.limit_price),
            "stop_price": _opt_str(self.stop_price),
            "reduce_only": self.reduce_only,
            "parent_client_order_id": self.parent_client_order_id,
            "oco_group": self.oco_group,
            "status": self.status.value,
            "filled_qty": str(self.filled_qty),
            "active": self.active,
            "not_before": self.not_before.isoformat() if self.not_before else None,
            "bars_waited": self.bars_waited,
            "triggered": self.triggered,
        }

    def to_json_bytes(self) -> bytes:
        """``orjson.dumps(self.to_json())``, byte for byte, without building the dict: orjson writes the
        fields in declaration order (to_json's order), enums as their values, datetimes as isoformat."""
        try:
            return orjson.dumps(self, default=_decimal_text)
        except orjson.JSONEncodeError:  # a datetime orjson cannot write (an exotic tzinfo): the dict way
            return orjson.dumps(self.to_json())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SimOrder:
        return cls(
            client_order_id=data["client_order_id"],
            venue_order_id=data["venue_order_id"],
            symbol=data["symbol"],
            side=Side(data["side"]),
            quantity=Decimal(data["quantity"]),
            order_type=OrderType(data["order_type"]),
            created=datetime.fromisoformat(data["created"]),
            tif=TimeInForce(data["tif"]),
            limit_price=_opt_dec(data["limit_price"]),
            stop_price=_opt_dec(data["stop_price"]),
            reduce_only=data["reduce_only"],
            parent_client_order_id=data["parent_client_order_id"],
            oco_group=data["oco_group"],
            status=OrderStatus(data["status"]),
            filled_qty=Decimal(data["filled_qty"]),
            active=data["active"],
            not_before=datetime.fromisoformat(data["not_before"]) if data["not_before"] else None,
            bars_waited=data["bars_waited"],
            triggered=data["triggered"],
        )


@dataclass(slots=True)
class SimPosition:
    quantity: Decimal = ZERO  # signed
    avg_price: Decimal = ZERO


def fill_to_json(fill: OrderFilled) -> dict[str, Any]:
    return {
        "client_order_id": fill.client_order_id,
        "venue_order_id": fill.venue_order_id,
        "fill_id": fill.fill_id,
        "symbol": fill.symbol,
        "side": fill.side.value,
        "quantity": str(fill.quantity),
        "price": str(fill.price),
        "fee": str(fill.fee),
        "fee_currency": fill.fee_currency,
        "ts": fill.ts.isoformat(),
        "leaves_qty": str(fill.leaves_qty),
        "simulated": fill.simulated,
    }


def fill_from_json(data: dict[str, Any]) -> OrderFilled:
    return OrderFilled(
        client_order_id=data["client_order_id"],
        venue_order_id=data["venue_order_id"],
        fill_id=data["fill_id"],
        symbol=data["symbol"],
        side=Side(data["side"]),
        quantity=Decimal(data["quantity"]),
        price=Decimal(data["price"]),
        fee=Decimal(data["fee"]),
        fee_currency=data["fee_currency"],
        ts=datetime.fromisoformat(data["ts"]),
        leaves_qty=Decimal(data["leaves_qty"]),
        simulated=data["simulated"],
    )


def _decimal_text(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a venue order record")


def _opt_str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _opt_dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
