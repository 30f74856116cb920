"""What a broker declares it can take, checked before an order is written ahead or sent.

``order_needs(request)``: the order types, time in force and bracket support one order needs (a bracket
also needs its legs' types: STOP for the stop-loss, LIMIT for the take-profit). ``strategy_needs()``: the
same for everything the built-in strategy sends (MARKET entries with a stop-loss/take-profit bracket, MARKET
exits and flattens, all DAY). ``unsupported(needs, capabilities)`` names what the broker does not declare
(empty: it may be sent).

Reduce-only is not required of the venue: the gates cut every reduce-only order to the open position minus
the working exits before it is sent, so a venue without a reduce-only flag (IBKR futures) takes it as a
plain order.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradebot.brokers.capabilities import Capabilities
from tradebot.domain.orders import OrderRequest, OrderType, TimeInForce

BRACKETS = "brackets (an entry with stop-loss/take-profit legs)"


@dataclass(frozen=True, slots=True)
class OrderNeeds:
    order_types: frozenset[OrderType]
    time_in_force: frozenset[TimeInForce]
    brackets: bool = False


def order_needs(request: OrderRequest) -> OrderNeeds:
    types = {request.order_type}
    if request.bracket is not None:
        types.add(OrderType.STOP)
        if request.bracket.take_profit is not None:
            types.add(OrderType.LIMIT)
    return OrderNeeds(frozenset(types), frozenset({request.tif}), request.bracket is not None)


def strategy_needs() -> OrderNeeds:
    """What the built-in strategy sends: MARKET DAY entries with a bracket (the sizers always set a
    stop-loss and a take-profit), MARKET DAY exits and flattens."""
    return OrderNeeds(
        frozenset({OrderType.MARKET, OrderType.STOP, OrderType.LIMIT}),
        frozenset({TimeInForce.DAY}),
        brackets=True,
    )


def unsupported(needs: OrderNeeds, capabilities: Capabilities) -> list[str]:
    """What of ``needs`` the broker does not declare, one phrase each (empty: all of it is declared)."""
    missing = [f"order type {t.value}" for t in sorted(needs.order_types - capabilities.order_types)]
    missing += [f"time in force {t.value}" for t in sorted(needs.time_in_force - capabilities.time_in_force)]
    if needs.brackets and not capabilities.brackets:
        missing.append(BRACKETS)
    return missing
