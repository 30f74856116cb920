"""What a sizer is given and what it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import OrderIntent
from tradebot.domain.signals import Signal


@dataclass(frozen=True, slots=True)
class SizingContext:
    """The state a sizing decision may read. ``position_qty`` is signed (short < 0).

    ``has_leverage``: the venue takes a leverage setting per order/symbol (Binance USD-M); the AI sizer
    only proposes leverage where it is True. ``max_qty`` caps the entry size (e.g. the constitution's
    position limit); None = no cap here (the gates still apply).
    """

    equity: Decimal
    instrument: Instrument
    position_qty: Decimal
    now: datetime
    has_leverage: bool = False
    max_qty: Decimal | None = None


@dataclass(frozen=True, slots=True)
class SizingResult:
    """The intent (or None) and a JSON-able record of what was computed and why."""

    intent: OrderIntent | None
    record: dict[str, Any] = field(default_factory=dict)


class Sizer(Protocol):
    def size(self, signal: Signal, ctx: SizingContext) -> SizingResult: ...


@runtime_checkable
class IdleRecordSizer(Sizer, Protocol):
    """A sizer that can say cheaply that a signal changes nothing.

    ``idle_record(signal, position_qty)`` is the record ``size`` would return with no intent when the
    signal leaves the position as it is (HOLD, or no direction): a new dict equal to ``size(...).record``
    for every context with that position. For any other action it returns None and ``size`` must run.
    """

    def idle_record(self, signal: Signal, position_qty: Decimal) -> dict[str, Any] | None: ...
