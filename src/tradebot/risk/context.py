"""The state snapshot a gate sees. Gates read only this, the intent and their own config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from tradebot.domain.instruments import Instrument
from tradebot.domain.state import Mode, TradingState


@dataclass(frozen=True, slots=True)
class GateContext:
    """Everything a gate may look at, frozen at the moment of the decision.

    ``position_qty`` is the signed position in the intent's instrument; ``pending_qty`` the signed
    quantity of its working (unfilled) entry orders. ``positions`` holds every instrument's signed
    position. ``now`` is the pipeline clock's time, never the wall clock.
    """

    now: datetime
    mode: Mode
    trading_state: TradingState
    instrument: Instrument
    last_price: Decimal
    equity: Decimal
    position_qty: Decimal = Decimal(0)
    pending_qty: Decimal = Decimal(0)
    positions: Mapping[str, Decimal] = field(default_factory=dict)
    dvs: float = 1.0
    eqs: float = 1.0
