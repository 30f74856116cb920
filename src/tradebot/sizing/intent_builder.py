"""From a signal and the current position to what should happen: enter, exit, or nothing.

    flat                       -> ENTRY in the signal's direction (the sizer chooses the quantity)
    position against signal    -> EXIT: reduce-only, closes the whole position (no reversal in one step)
    position with signal       -> HOLD (no scale-in here; the entry policy owns scale-in rules)

Intent ids are deterministic: ``f"{symbol}-{bar_ts:%Y%m%dT%H%M%S}-{n}"`` with the bar's OPEN time (the
signal's decision time when the signal carries no bar time) and ``n`` the intent's index within that bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from tradebot.domain.instruments import ZERO, Instrument
from tradebot.domain.orders import ExitPlan, IntentSource, OrderIntent, Side
from tradebot.domain.signals import Signal
from tradebot.sizing.iso_time import CompactFormatter, UtcIsoFormatter


class Action(StrEnum):
    ENTRY = "entry"
    EXIT = "exit"
    HOLD = "hold"
    NONE = "none"  # a signal with no direction


_ACTION_TEXT: dict[Action, str] = {action: action.value for action in Action}
# bar times come in order: both keep the day's text from the previous call
_iso = UtcIsoFormatter()
_compact = CompactFormatter()


def decide_action(direction: float, position_qty: Decimal) -> Action:
    if direction == 0.0:
        return Action.NONE
    if position_qty == ZERO:
        return Action.ENTRY
    if (position_qty > ZERO) == (direction > 0.0):
        return Action.HOLD
    return Action.EXIT


def signal_bar_ts(signal: Signal) -> datetime:
    return signal.bar_ts if signal.bar_ts is not None else signal.ts


def intent_id(symbol: str, bar_ts: datetime, n: int = 0) -> str:
    return f"{symbol}-{_compact(bar_ts)}-{n}"  # f"{symbol}-{bar_ts:%Y%m%dT%H%M%S}-{n}"


def price_of(value: float) -> Decimal:
    return Decimal(repr(value))


@dataclass(frozen=True, slots=True)
class EntryTerms:
    quantity: Decimal
    exit_plan: ExitPlan | None = None
    leverage: Decimal | None = None
    ai_size_usd: Decimal | None = None
    ai_leverage: Decimal | None = None
    risk_budget_usd: Decimal | None = None


def entry_intent(
    signal: Signal,
    instrument: Instrument,
    terms: EntryTerms,
    n: int = 0,
    *,
    reference_price: Decimal | None = None,
) -> OrderIntent:
    """``reference_price``: ``instrument.round_price(price_of(signal.reference_price))`` when the caller has
    it already (the same value this computes without it)."""
    bar_ts = signal_bar_ts(signal)
    if reference_price is None:
        reference_price = instrument.round_price(signal.reference_price)
    return OrderIntent(
        intent_id=intent_id(signal.symbol, bar_ts, n),
        symbol=signal.symbol,
        side=Side.BUY if signal.direction > 0 else Side.SELL,
        quantity=terms.quantity,
        ts=signal.ts,
        reference_price=reference_price,
        confidence=signal.confidence,
        regime=signal.regime,
        source=IntentSource.STRATEGY,
        exit_plan=terms.exit_plan,
        leverage=terms.leverage,
        ai_size_usd=terms.ai_size_usd,
        ai_leverage=terms.ai_leverage,
        ai_harvest_policy=terms.exit_plan.policy if terms.exit_plan is not None else None,
        risk_budget_usd=terms.risk_budget_usd,
        bar_ts=bar_ts,
    )


def exit_intent(signal: Signal, instrument: Instrument, position_qty: Decimal, n: int = 0) -> OrderIntent:
    """Reduce-only, the whole position, on the opposite side of it."""
    bar_ts = signal_bar_ts(signal)
    return OrderIntent(
        intent_id=intent_id(signal.symbol, bar_ts, n),
        symbol=signal.symbol,
        side=Side.SELL if position_qty > ZERO else Side.BUY,
        quantity=abs(position_qty),
        ts=signal.ts,
        reference_price=instrument.round_price(signal.reference_price),
        reduce_only=True,
        confidence=signal.confidence,
        regime=signal.regime,
        source=IntentSource.STRATEGY,
        bar_ts=bar_ts,
    )


def entry_quantity(
    raw: Decimal, instrument: Instrument, max_qty: Decimal | None
) -> tuple[Decimal, str | None]:
    """Round ``raw`` onto the lot grid (down), cap it; the quantity, or zero and why it is not tradable."""
    capped = min(raw, max_qty) if max_qty is not None else raw
    if instrument.max_qty is not None:
        capped = min(capped, instrument.max_qty)
    qty = instrument.round_qty(capped)
    if qty <= ZERO:
        return ZERO, f"quantity {raw} rounds to zero on lot step {instrument.lot_step}"
    if qty < instrument.min_qty:
        return ZERO, f"quantity {qty} is under the minimum {instrument.min_qty}"
    return qty, None


def signal_record(signal: Signal, position_qty: Decimal, action: Action) -> dict[str, Any]:
    return {
        "symbol": signal.symbol,
        "signal_ts": _iso(signal.ts),
        "direction": signal.direction,
        "confidence": signal.confidence,
        "regime": signal.regime,
        "position_qty": str(position_qty),
        "action": _ACTION_TEXT[action],
    }
