"""Account, positions and FILL activities → reconciliation reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from alpaca.trading.models import Position, TradeAccount

from tradebot.domain.events import AccountSnapshot, PositionSnapshot
from tradebot.domain.orders import Side
from tradebot_alpaca.errors import schema_error


def to_decimal(value: Any, what: str) -> Decimal:
    """Venue numbers arrive as strings (sometimes floats); floats go through repr to stay exact."""
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise schema_error(what, f"not a number: {value!r}") from exc


def parse_time(value: Any, what: str) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).astimezone(UTC)
        except ValueError as exc:
            raise schema_error(what, f"bad timestamp {value!r}") from exc
    raise schema_error(what, f"bad timestamp {value!r}")


def account_snapshot(account: TradeAccount) -> AccountSnapshot:
    """Equity, buying power and the PDT flag/day-trade count the gates look at.

    Alpaca announced the removal of ``pattern_day_trader`` and ``daytrade_count`` (2026-07-06, FINRA
    intraday-margin migration); when absent they read as False / 0.
    """
    if account.equity is None or account.buying_power is None:
        raise schema_error("account", "equity or buying_power missing")
    return AccountSnapshot(
        currency=account.currency or "USD",
        equity=to_decimal(account.equity, "account.equity"),
        buying_power=to_decimal(account.buying_power, "account.buying_power"),
        account_id=str(account.account_number),
        pattern_day_trader=bool(account.pattern_day_trader),
        day_trade_count=int(account.daytrade_count or 0),
    )


def position_snapshot(position: Position) -> PositionSnapshot:
    qty = to_decimal(position.qty, "position.qty")
    side = getattr(position.side, "value", position.side)
    if side == "short" and qty > 0:
        qty = -qty
    avg = to_decimal(position.avg_entry_price, "position.avg_price")
    return PositionSnapshot(symbol=position.symbol, quantity=qty, avg_price=avg)


@dataclass(frozen=True, slots=True)
class FillActivity:
    """One FILL account activity (an execution)."""

    activity_id: str
    execution_id: str
    venue_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    cum_qty: Decimal | None
    leaves_qty: Decimal | None
    ts: datetime


def fill_activity(raw: Mapping[str, Any]) -> FillActivity:
    """Parse ``{"id": "<time>::<execution id>", "order_id", "qty", "price", "cum_qty", ...}``."""
    try:
        activity_id = str(raw["id"])
        side_raw = str(raw["side"]).lower()
        side = Side.BUY if side_raw == "buy" else Side.SELL if side_raw in ("sell", "sell_short") else None
        if side is None:
            raise schema_error("activity", f"unknown side {side_raw!r}")
        cum = raw.get("cum_qty")
        leaves = raw.get("leaves_qty")
        return FillActivity(
            activity_id=activity_id,
            execution_id=activity_id.split("::", 1)[1] if "::" in activity_id else activity_id,
            venue_order_id=str(raw["order_id"]),
            symbol=str(raw["symbol"]),
            side=side,
            quantity=to_decimal(raw["qty"], "activity.qty"),
            price=to_decimal(raw["price"], "activity.price"),
            cum_qty=to_decimal(cum, "activity.cum_qty") if cum is not None else None,
            leaves_qty=to_decimal(leaves, "activity.leaves_qty") if leaves is not None else None,
            ts=parse_time(raw["transaction_time"], "activity.transaction_time"),
        )
    except KeyError as exc:
        raise schema_error("activity", f"missing field {exc}") from exc
