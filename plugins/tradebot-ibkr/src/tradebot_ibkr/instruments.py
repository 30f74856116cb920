"""Futures contract selection (front month with a roll rule) and contract details → ``Instrument``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tradebot.domain.instruments import AssetClass, Instrument

VENUE = "ibkr"


@dataclass(frozen=True, slots=True)
class FutureSpec:
    """What we keep from one IB ``ContractDetails`` of a future."""

    con_id: int
    symbol: str
    local_symbol: str
    expiry: date
    exchange: str
    currency: str
    min_tick: Decimal
    multiplier: Decimal
    min_size: Decimal = Decimal(1)
    size_increment: Decimal = Decimal(1)


def parse_expiry(text: str) -> date:
    """IB's ``lastTradeDateOrContractMonth`` (``YYYYMMDD``, optionally followed by a time)."""
    digits = text.strip().split(" ")[0].split("-")[0]
    if len(digits) != 8 or not digits.isdigit():
        raise ValueError(f"lastTradeDateOrContractMonth {text!r} is not YYYYMMDD")
    return datetime.strptime(digits, "%Y%m%d").date()


def _decimal(value: Any, name: str, default: Decimal | None = None) -> Decimal:
    if value in (None, "", 0, 0.0) or (isinstance(value, float) and value > 1e300):
        if default is None:
            raise ValueError(f"contract details: {name} is missing")
        return default
    result = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    if result == result.to_integral_value():
        result = result.quantize(Decimal(1))
    if result <= 0:
        if default is None:
            raise ValueError(f"contract details: {name} must be positive, got {value!r}")
        return default
    return result


def spec_from_details(details: Any) -> FutureSpec:
    """An ib_async ``ContractDetails`` (duck-typed) → FutureSpec; a missing tick or multiplier is an error."""
    c = details.contract
    return FutureSpec(
        con_id=int(c.conId),
        symbol=str(c.symbol),
        local_symbol=str(c.localSymbol),
        expiry=parse_expiry(str(c.lastTradeDateOrContractMonth)),
        exchange=str(c.exchange),
        currency=str(c.currency),
        min_tick=_decimal(details.minTick, "minTick"),
        multiplier=_decimal(c.multiplier, "multiplier"),
        min_size=_decimal(getattr(details, "minSize", None), "minSize", Decimal(1)),
        size_increment=_decimal(getattr(details, "sizeIncrement", None), "sizeIncrement", Decimal(1)),
    )


def choose_front_month(specs: Sequence[FutureSpec], today: date, roll_days: int) -> FutureSpec:
    """The nearest expiry that is still more than ``roll_days`` calendar days away.

    ``roll_days=8`` rolls MES on the Thursday a week before expiry week's Friday (CME volume moves to the
    next quarter around then). Raises ``ValueError`` when no listed contract qualifies.
    """
    candidates = sorted((s for s in specs if (s.expiry - today).days > roll_days), key=lambda s: s.expiry)
    if not candidates:
        listed = ", ".join(f"{s.local_symbol}@{s.expiry.isoformat()}" for s in specs) or "none"
        raise ValueError(
            f"no contract expires more than {roll_days} days after {today.isoformat()} ({listed})"
        )
    return candidates[0]


def to_instrument(symbol: str, spec: FutureSpec, calendar: str = "CME") -> Instrument:
    """The pipeline's Instrument for ``symbol`` (the root, e.g. ``MES``), from the chosen contract."""
    return Instrument(
        symbol=symbol,
        venue=VENUE,
        asset_class=AssetClass.FUTURE,
        currency=spec.currency,
        tick_size=spec.min_tick,
        lot_step=spec.size_increment,
        min_qty=spec.min_size,
        multiplier=spec.multiplier,
        calendar=calendar,
    )
