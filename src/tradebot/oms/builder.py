"""Approved intent → exact OrderRequest: ticks and lots by the instrument, bracket from the exit plan."""

from __future__ import annotations

from tradebot.domain.instruments import Instrument, PriceRounding
from tradebot.domain.orders import Bracket, OrderIntent, OrderRequest, Side


def build_request(intent: OrderIntent, instrument: Instrument, client_order_id: str) -> OrderRequest:
    """Round everything onto the venue's grid. Protective prices round away from the entry (never tighter
    than asked would be wrong too, so the stop rounds outward: a long's stop down, a short's stop up)."""
    quantity = instrument.round_qty(intent.quantity)
    if quantity <= 0:
        raise ValueError(f"intent {intent.intent_id}: quantity {intent.quantity} rounds to {quantity}")
    limit = None
    if intent.limit_price is not None:
        mode = PriceRounding.DOWN if intent.side is Side.BUY else PriceRounding.UP
        limit = instrument.round_price(intent.limit_price, mode)
    stop = instrument.round_price(intent.stop_price) if intent.stop_price is not None else None
    bracket = None
    plan = intent.exit_plan
    if plan is not None and plan.stop_loss is not None and not intent.reduce_only:
        long = intent.side is Side.BUY
        stop_loss = instrument.round_price(plan.stop_loss, PriceRounding.DOWN if long else PriceRounding.UP)
        take_profit = None
        if plan.take_profit is not None:
            take_profit = instrument.round_price(
                plan.take_profit, PriceRounding.UP if long else PriceRounding.DOWN
            )
        bracket = Bracket(stop_loss=stop_loss, take_profit=take_profit)
    return OrderRequest(
        client_order_id=client_order_id,
        intent_id=intent.intent_id,
        symbol=intent.symbol,
        side=intent.side,
        quantity=quantity,
        order_type=intent.order_type,
        ts=intent.ts,
        limit_price=limit,
        stop_price=stop,
        tif=intent.tif,
        reduce_only=intent.reduce_only,
        bracket=bracket,
        leverage=intent.leverage,
    )
