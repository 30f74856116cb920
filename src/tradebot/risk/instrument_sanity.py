"""Sanity gate (exits too): the order fits the instrument.

Quantity rounded down to the lot step and prices onto the tick grid by the Instrument (buy limits down,
sell limits up, protective stops toward the entry); under the minimum quantity or notional, or over the
venue's maximum, blocks with INSTRUMENT_INCREMENT_BLOCK. A reduce-only order is cut to what is left of
the open position after working exits (REDUCE_ONLY_CLAMP), and blocked with NO_POSITION_TO_REDUCE when
nothing is left or it would add to the position.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from tradebot.domain import reasons
from tradebot.domain.instruments import Instrument, PriceRounding
from tradebot.domain.orders import ExitPlan, OrderIntent, OrderType, Side
from tradebot.risk.context import GateContext
from tradebot.risk.measures import ZERO, signed_qty
from tradebot.risk.verdict import Verdict


def _rounded_exit_prices(
    plan: ExitPlan, side: Side, instrument: Instrument
) -> tuple[Decimal | None, Decimal | None]:
    stop = plan.stop_loss
    if stop is not None:
        # toward the entry: a long's stop (below) rounds up, a short's (above) rounds down
        stop = instrument.round_price(stop, PriceRounding.UP if side is Side.BUY else PriceRounding.DOWN)
    target = plan.take_profit
    if target is not None:
        target = instrument.round_price(target)
    return stop, target


class InstrumentSanityGate:
    name = "instrument_sanity"
    applies_to_exits = True

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        instrument = ctx.instrument
        if intent.symbol != instrument.symbol:
            return Verdict.blocked(
                self.name,
                reasons.INTENT_INVALID,
                problem="symbol_mismatch",
                intent_symbol=intent.symbol,
                instrument=instrument.symbol,
            )
        # in this order: reference, limit, stop price
        given: Decimal | None = intent.reference_price
        if given is not None and not given > ZERO:
            return Verdict.blocked(self.name, reasons.INTENT_INVALID, problem="non_positive_reference_price")
        given = intent.limit_price
        if given is not None and not given > ZERO:
            return Verdict.blocked(self.name, reasons.INTENT_INVALID, problem="non_positive_limit_price")
        given = intent.stop_price
        if given is not None and not given > ZERO:
            return Verdict.blocked(self.name, reasons.INTENT_INVALID, problem="non_positive_stop_price")
        if not intent.quantity > ZERO:
            return Verdict.blocked(
                self.name,
                reasons.INSTRUMENT_INCREMENT_BLOCK,
                problem="non_positive_qty",
                quantity=str(intent.quantity),
            )
        codes: list[str] = []
        details: dict[str, Any] = {}
        quantity = intent.quantity
        if intent.reduce_only:
            position = ctx.position_qty
            if position == ZERO or (signed_qty(intent) > ZERO) == (position > ZERO):
                return Verdict.blocked(self.name, reasons.NO_POSITION_TO_REDUCE, position=str(position))
            room = abs(position) - abs(ctx.pending_exit_qty)
            if room <= ZERO:
                return Verdict.blocked(
                    self.name,
                    reasons.NO_POSITION_TO_REDUCE,
                    position=str(position),
                    working_exits=str(ctx.pending_exit_qty),
                )
            if quantity > room:
                details["reduce_only"] = {"from": str(quantity), "to": str(room)}
                quantity = room
                codes.append(reasons.REDUCE_ONLY_CLAMP)
        rounded = instrument.round_qty(quantity)
        if rounded != quantity:
            details["quantity"] = {"from": str(quantity), "to": str(rounded)}
            codes.append(reasons.INSTRUMENT_ROUNDED)
        if rounded <= ZERO or rounded < instrument.min_qty:
            return Verdict.blocked(
                self.name,
                reasons.INSTRUMENT_INCREMENT_BLOCK,
                problem="under_min_qty",
                quantity=str(rounded),
                min_qty=str(instrument.min_qty),
            )
        if instrument.max_qty is not None and rounded > instrument.max_qty:
            return Verdict.blocked(
                self.name,
                reasons.INSTRUMENT_INCREMENT_BLOCK,
                problem="over_max_qty",
                quantity=str(rounded),
                max_qty=str(instrument.max_qty),
            )
        limit = intent.limit_price
        if limit is not None:
            limit = instrument.round_price(
                limit, PriceRounding.DOWN if intent.side is Side.BUY else PriceRounding.UP
            )
        stop = intent.stop_price
        if stop is not None:
            stop = instrument.round_price(stop)
        plan = intent.exit_plan
        plan_stop, plan_target = _rounded_exit_prices(plan, intent.side, instrument) if plan else (None, None)
        plan_changed = plan is not None and (plan_stop, plan_target) != (plan.stop_loss, plan.take_profit)
        if (limit, stop) != (intent.limit_price, intent.stop_price) or plan_changed:
            details["prices"] = {"limit": str(limit), "stop": str(stop)}
            if reasons.INSTRUMENT_ROUNDED not in codes:
                codes.append(reasons.INSTRUMENT_ROUNDED)
        # the order's price as rounded (what ``entry_price`` of the rounded intent gives)
        price = intent.reference_price
        if intent.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and limit is not None:
            price = limit
        elif intent.order_type is OrderType.STOP and stop is not None:
            price = stop
        order_notional = instrument.notional(price, rounded)
        if order_notional < instrument.min_notional:
            return Verdict.blocked(
                self.name,
                reasons.INSTRUMENT_INCREMENT_BLOCK,
                problem="under_min_notional",
                notional=str(order_notional),
                min_notional=str(instrument.min_notional),
            )
        if codes:
            if plan is not None:
                plan = dataclasses.replace(plan, stop_loss=plan_stop, take_profit=plan_target)
            result = dataclasses.replace(
                intent, quantity=rounded, limit_price=limit, stop_price=stop, exit_plan=plan
            )
            return Verdict.clamped(self.name, codes[0], result, codes=codes, **details)
        return Verdict.passed(self.name, notional=str(order_notional))
