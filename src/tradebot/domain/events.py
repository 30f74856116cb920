"""Order and fill events that brokers emit, and the reconciliation reports they return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from tradebot.domain.orders import OrderType, Side, TimeInForce


class OrderStatus(StrEnum):
    PENDING_SUBMIT = "PENDING_SUBMIT"  # written to the ledger, broker not yet called
    SUBMITTED = "SUBMITTED"  # broker called, no answer yet
    ACCEPTED = "ACCEPTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_terminal(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED)


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    client_order_id: str
    venue_order_id: str
    ts: datetime
    kind: str = "order_accepted"


@dataclass(frozen=True, slots=True)
class OrderRejected:
    client_order_id: str
    reason: str
    ts: datetime
    venue_code: str | None = None
    kind: str = "order_rejected"


@dataclass(frozen=True, slots=True)
class OrderFilled:
    """One execution. ``fill_id`` is unique per venue execution: a fill seen twice is the same fill."""

    client_order_id: str
    venue_order_id: str
    fill_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str
    ts: datetime
    leaves_qty: Decimal
    simulated: bool = False
    kind: str = "order_filled"


@dataclass(frozen=True, slots=True)
class OrderCanceled:
    client_order_id: str
    ts: datetime
    reason: str = ""
    kind: str = "order_canceled"


@dataclass(frozen=True, slots=True)
class OrderExpired:
    client_order_id: str
    ts: datetime
    kind: str = "order_expired"


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """The venue connection changed state (``state`` e.g. CONNECTED, DISCONNECTED, READY)."""

    state: str
    ts: datetime
    reason: str = ""
    kind: str = "connection"


BrokerEvent = OrderAccepted | OrderRejected | OrderFilled | OrderCanceled | OrderExpired | ConnectionEvent


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """An order as the venue reports it now (reconciliation report 1: open orders)."""

    client_order_id: str
    venue_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    filled_qty: Decimal
    order_type: OrderType
    status: OrderStatus
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    tif: TimeInForce = TimeInForce.DAY
    reduce_only: bool = False
    parent_client_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """A position as the venue reports it (reconciliation report 3). ``quantity`` is signed."""

    symbol: str
    quantity: Decimal
    avg_price: Decimal


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    currency: str
    equity: Decimal
    buying_power: Decimal
    account_id: str = ""
    pattern_day_trader: bool = False
    day_trade_count: int = 0
