"""The skeleton sizer: a fixed fraction of equity, with a fixed-tick stop and target.

basis "risk" (default): the fraction of equity is what the stop may lose,
    qty = equity * fraction / (stop_ticks * tick_value)
basis "notional": the fraction of equity is the position's notional,
    qty = equity * fraction / (price * multiplier)
For MES (tick value $1.25) with equity $10,000, fraction 0.001 and an 8-tick stop: $10 / $10 = 1 contract.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tradebot.domain import reasons
from tradebot.domain.instruments import ZERO
from tradebot.domain.orders import ExitPlan, Side
from tradebot.domain.signals import Signal
from tradebot.sizing.context import SizingContext, SizingResult
from tradebot.sizing.intent_builder import (
    Action,
    EntryTerms,
    decide_action,
    entry_intent,
    entry_quantity,
    exit_intent,
    price_of,
    signal_record,
)


class FixedFractionParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fraction: Decimal = Field(Decimal("0.001"), gt=0, le=1)
    basis: Literal["risk", "notional"] = "risk"
    stop_ticks: int = Field(8, gt=0)
    target_ticks: int = Field(16, gt=0)
    max_qty: Decimal | None = Field(None, gt=0)


class FixedFractionSizer:
    name = "fixed_fraction"

    def __init__(self, params: FixedFractionParams | None = None) -> None:
        self.params = params or FixedFractionParams()

    def idle_record(self, signal: Signal, position_qty: Decimal) -> dict[str, Any] | None:
        """The record of a signal that leaves the position as it is (HOLD, or no direction), else None."""
        action = decide_action(signal.direction, position_qty)
        if action is Action.ENTRY or action is Action.EXIT:
            return None
        record = signal_record(signal, position_qty, action)
        record["sizer"] = self.name
        return record

    def size(self, signal: Signal, ctx: SizingContext) -> SizingResult:
        action = decide_action(signal.direction, ctx.position_qty)
        record = signal_record(signal, ctx.position_qty, action)
        record["sizer"] = self.name
        if action is Action.EXIT:
            intent = exit_intent(signal, ctx.instrument, ctx.position_qty)
            record["quantity"] = str(intent.quantity)
            record["intent_id"] = intent.intent_id
            return SizingResult(intent, record)
        if action is not Action.ENTRY:
            return SizingResult(None, record)
        return self._entry(signal, ctx, record)

    def raw_quantity(self, price: Decimal, ctx: SizingContext) -> Decimal:
        p = self.params
        budget = ctx.equity * p.fraction
        if p.basis == "risk":
            return budget / (p.stop_ticks * ctx.instrument.tick_size * ctx.instrument.point_value(price))
        return budget / ctx.instrument.notional(price, Decimal(1))

    def _entry(self, signal: Signal, ctx: SizingContext, record: dict[str, object]) -> SizingResult:
        inst = ctx.instrument
        p = self.params
        price = inst.round_price(price_of(signal.reference_price))
        raw = self.raw_quantity(price, ctx)
        caps = [c for c in (p.max_qty, ctx.max_qty) if c is not None]
        qty, why = entry_quantity(raw, inst, min(caps) if caps else None)
        record.update({"basis": p.basis, "fraction": str(p.fraction), "equity": str(ctx.equity),
                       "raw_quantity": str(raw), "quantity": str(qty)})
        if why is not None:
            record["code"] = reasons.INSTRUMENT_INCREMENT_BLOCK
            record["why"] = why
            return SizingResult(None, record)
        if inst.min_notional > ZERO and inst.notional(price, qty) < inst.min_notional:
            record["code"] = reasons.INSTRUMENT_INCREMENT_BLOCK
            record["why"] = f"notional {inst.notional(price, qty)} under the minimum {inst.min_notional}"
            return SizingResult(None, record)
        side = Side.BUY if signal.direction > 0 else Side.SELL
        tick = inst.tick_for(price)
        sign = side.sign
        plan = ExitPlan(
            stop_loss=inst.round_price(price - sign * p.stop_ticks * tick),
            take_profit=inst.round_price(price + sign * p.target_ticks * tick),
        )
        intent = entry_intent(signal, inst, EntryTerms(quantity=qty, exit_plan=plan), reference_price=price)
        record["intent_id"] = intent.intent_id
        record["stop_loss"] = str(plan.stop_loss)
        record["take_profit"] = str(plan.take_profit)
        return SizingResult(intent, record)
