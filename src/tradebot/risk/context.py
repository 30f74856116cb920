"""The state snapshot a gate sees. Gates read only this, the intent and their own config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from tradebot.domain.instruments import Instrument
from tradebot.domain.state import Mode, TradingState

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class GateContext:
    """Everything a gate may look at, frozen at the moment of the decision.

    ``position_qty`` is the signed position in the intent's instrument; ``pending_qty`` the signed
    quantity of its working (unfilled) entry orders. ``positions`` holds every instrument's signed
    position; ``entering`` the instruments flat but with a working entry (a position being opened, which
    the portfolio total counts). ``now`` is the pipeline clock's time, never the wall clock.
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
    entering: frozenset[str] = frozenset()
    # the signed quantity of each symbol's working entry orders
    working_entries: Mapping[str, Decimal] = field(default_factory=dict)
    # the frozen views of the rules that keep their own state (risk.rule_state), by view type
    views: Mapping[type, object] = field(default_factory=dict)
    dvs: float = 1.0
    eqs: float = 1.0
    # --- state the later gates read (all optional; ``RiskTracker.snapshot`` fills them) ---------
    trading_state_reason: str = ""  # the reason code that set ``trading_state`` (e.g. KILL_SWITCH)
    pending_exit_qty: Decimal = Decimal(0)  # signed qty of the symbol's working reduce-only orders
    mid_price: Decimal | None = None  # quote mid when known; the collar prefers it to ``last_price``
    session_day: date | None = None  # the intent instrument's trading day (exchange calendar)
    pnl_today: Decimal = Decimal(0)  # realized (fees included) + unrealized PnL of the symbol today
    trades_today: int = 0  # entry orders of the symbol sent today (working or filled)
    consecutive_losses: int = 0  # closed round trips of the symbol in a row with PnL < 0, today
    last_entry_at: datetime | None = None  # any symbol's last entry order
    last_entry_at_symbol: datetime | None = None
    entries_in_position: int = 0  # entry orders stacked in the symbol's open position (1 + scale-ins)
    position_confidence: float | None = None  # confidence of the entry that opened/last added to it
    exposure_by_symbol: Mapping[str, Decimal] = field(default_factory=dict)  # notional / leverage
    positions_by_regime: Mapping[str, int] = field(default_factory=dict)  # open symbols per regime
    recent_orders: tuple[datetime, ...] = ()  # submit times, any symbol, newest last
    recent_orders_symbol: tuple[datetime, ...] = ()
    recent_cancels: tuple[datetime, ...] = ()
    cancels_without_fill: int = 0  # the symbol's cancel requests since its last fill
    bars_since_last_cancel: int | None = None  # the symbol's bars since its last cancel request
    submitted_intent_ids: frozenset[str] = frozenset()  # intents already sent (same client order id)
    submitted_client_ids: frozenset[str] = frozenset()
    submitted_keys: frozenset[tuple[str, str, str, str]] = frozenset()  # (symbol, side, qty, bar_ts)

    def view(self, kind: type[V]) -> V:
        """The view of type ``kind`` a rule's state made for this intent. A missing view is an error (the
        chain blocks the intent with GATE_FAILURE): a rule never judges without its state."""
        value = self.views.get(kind)
        if not isinstance(value, kind):
            raise LookupError(f"no {kind.__name__} in the gate context")
        return value

    @property
    def total_exposure(self) -> Decimal:
        return sum(self.exposure_by_symbol.values(), Decimal(0))

    @property
    def open_positions(self) -> int:
        """Instruments holding a position or opening one (a working entry): an entry still at the venue
        fills without asking the gates again, so it counts from the moment it is sent."""
        held = {symbol for symbol, qty in self.positions.items() if qty != 0}
        return len(held | self.entering)
