"""Order intents (before the gates) and order requests (after them, ready for a broker)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"
    STOP_LIMIT = "STOP_LIMIT"
    TRAILING_STOP = "TRAILING_STOP"


class TimeInForce(StrEnum):
    DAY = "DAY"
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class IntentSource(StrEnum):
    STRATEGY = "strategy"  # the signal ensemble and sizer
    EXTERNAL = "external"  # an external intent source (JSON lines)
    FLATTEN = "flatten"  # the session's flatten deadline or a halt
    OPERATOR = "operator"  # a human through the control socket
    TIME_STOP = "time_stop"  # the entry's exit plan: its time stop passed (risk/time_stop.py)


class HarvestPolicy(StrEnum):
    SCALPER = "SCALPER"
    SWING = "SWING"
    TREND_RUNNER = "TREND_RUNNER"


@dataclass(frozen=True, slots=True)
class ExitPlan:
    """Where a position opened by an intent is closed: absolute prices, and an optional time stop."""

    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    time_stop_s: int | None = None
    policy: HarvestPolicy | None = None


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """A wish to trade, before any gate has looked at it.

    ``intent_id`` is deterministic (instrument, decision time and a per-bar sequence), so replaying the
    same bars gives the same ids and the same client order ids. ``reduce_only`` intents may only shrink
    an existing position; they pass sanity checks but never entry rules.
    """

    intent_id: str
    symbol: str
    side: Side
    quantity: Decimal
    ts: datetime
    reference_price: Decimal
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    tif: TimeInForce = TimeInForce.DAY
    reduce_only: bool = False
    confidence: float = 0.0
    regime: str = "unknown"
    source: IntentSource = IntentSource.STRATEGY
    exit_plan: ExitPlan | None = None
    leverage: Decimal | None = None
    schema_version: str = "1.1"
    ai_size_usd: Decimal | None = None
    ai_leverage: Decimal | None = None
    ai_harvest_policy: HarvestPolicy | None = None
    risk_budget_usd: Decimal | None = None
    bar_ts: datetime | None = None
    sleeve: str = ""  # the strategy sleeve it is attributed to ("": the single [strategy])
    sleeve_targets: tuple[tuple[str, Decimal], ...] = ()  # each sleeve's target it was netted from


@dataclass(frozen=True, slots=True)
class Bracket:
    """Children of an entry order: a protective stop and a profit target that cancel each other (OCO)."""

    stop_loss: Decimal
    take_profit: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An approved order, exact and rounded, ready for a broker.

    ``client_order_id`` is deterministic and is carried to the venue and back. Bracket children use
    ``child_order_id(client_order_id, "sl")`` and ``child_order_id(client_order_id, "tp")``.
    """

    client_order_id: str
    intent_id: str
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    ts: datetime
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None
    tif: TimeInForce = TimeInForce.DAY
    reduce_only: bool = False
    bracket: Bracket | None = None
    leverage: Decimal | None = None
    parent_client_order_id: str | None = None


def child_order_id(parent: str, leg: str) -> str:
    """The client order id of a bracket leg ("sl" or "tp") of ``parent``."""
    return f"{parent}-{leg}"
