"""Small exact measures of an intent that several gates share: price, notional, exposure, risk."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from tradebot.domain.instruments import AssetClass, Instrument
from tradebot.domain.orders import OrderIntent, OrderType
from tradebot.risk.constitution import Constitution
from tradebot.risk.rules import InstrumentRules

ZERO = Decimal(0)
ONE = Decimal(1)


def entry_price(intent: OrderIntent) -> Decimal:
    """The price the order is expected to trade at: its limit, its stop trigger, else the reference."""
    if intent.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and intent.limit_price is not None:
        return intent.limit_price
    if intent.order_type is OrderType.STOP and intent.stop_price is not None:
        return intent.stop_price
    return intent.reference_price


def protective_stop(intent: OrderIntent) -> Decimal | None:
    return intent.exit_plan.stop_loss if intent.exit_plan is not None else None


def has_leverage(instrument: Instrument) -> bool:
    """Venues where leverage is an order parameter (perpetual futures)."""
    return instrument.asset_class is AssetClass.PERPETUAL


def leverage_of(intent: OrderIntent, instrument: Instrument) -> Decimal:
    if has_leverage(instrument) and intent.leverage is not None and intent.leverage > ZERO:
        return intent.leverage
    return ONE


def notional(intent: OrderIntent, instrument: Instrument) -> Decimal:
    return instrument.notional(entry_price(intent), intent.quantity)


def exposure(intent: OrderIntent, instrument: Instrument) -> Decimal:
    """Capital at risk of the order: notional / leverage."""
    return notional(intent, instrument) / leverage_of(intent, instrument)


def stop_distance_ticks(intent: OrderIntent, instrument: Instrument) -> Decimal | None:
    stop = protective_stop(intent)
    if stop is None:
        return None
    return abs(entry_price(intent) - stop) / instrument.tick_size


def trade_risk(intent: OrderIntent, instrument: Instrument) -> Decimal | None:
    """Currency lost if the protective stop is hit: |entry - stop| x qty x point value (None: no stop)."""
    stop = protective_stop(intent)
    if stop is None:
        return None
    entry = entry_price(intent)
    return abs(entry - stop) * intent.quantity * instrument.point_value(entry)


def signed_qty(intent: OrderIntent) -> Decimal:
    return intent.quantity * intent.side.sign


def reduces_exposure(intent: OrderIntent, position: Decimal) -> bool:
    """True when the order only shrinks the open position (opposite side, not larger than it)."""
    if position == ZERO:
        return False
    return (signed_qty(intent) > ZERO) != (position > ZERO) and intent.quantity <= abs(position)


def adds_to_position(intent: OrderIntent, position: Decimal) -> bool:
    return position != ZERO and (signed_qty(intent) > ZERO) == (position > ZERO)


def with_quantity(intent: OrderIntent, quantity: Decimal) -> OrderIntent:
    return dataclasses.replace(intent, quantity=quantity)


class RulesGate:
    """Base of gates configured by the constitution: ``rules(symbol)`` is the instrument's rules."""

    def __init__(self, constitution: Constitution) -> None:
        self.constitution = constitution

    def rules(self, symbol: str) -> InstrumentRules:
        return self.constitution.rules_for(symbol)
