"""Risk governor: clamp in preference to reject, and fail closed.

In order: confidence floor (block: GOVERNOR_CONFIDENCE_FLOOR); leverage clamped to [min, max] where the
venue has leverage, and removed where it has none (GOVERNOR_CLAMP_LEVERAGE); quantity cut so that
size = notional / leverage <= max_position_usd (GOVERNOR_CLAMP_SIZE), notional <= max_notional_usd
(GOVERNOR_CLAMP_NOTIONAL) and, when the intent carries ``risk_budget_usd``, the loss at its stop <= budget
(GOVERNOR_RISK_BUDGET). A cut below the instrument's minimum quantity blocks with the binding code. A size
under min_order_usd is blocked (GOVERNOR_MIN_ORDER): the governor never enlarges an order. Any exception
inside blocks with GOVERNOR_FAILURE.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import ZERO, RulesGate, entry_price, has_leverage, leverage_of, protective_stop
from tradebot.risk.verdict import Verdict


class GovernorGate(RulesGate):
    name = "governor"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        try:
            return self._evaluate(intent, ctx)
        except Exception as exc:  # noqa: BLE001 - fail closed: a broken governor rejects the order
            return Verdict.blocked(self.name, reasons.GOVERNOR_FAILURE, error=f"{type(exc).__name__}: {exc}")

    def _evaluate(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        rules = self.rules(intent.symbol).governor
        instrument = ctx.instrument
        if rules.min_confidence > 0 and not intent.confidence >= rules.min_confidence:
            return Verdict.blocked(
                self.name,
                reasons.GOVERNOR_CONFIDENCE_FLOOR,
                confidence=intent.confidence,
                min=rules.min_confidence,
            )
        current = intent
        codes: list[str] = []
        details: dict[str, Any] = {}
        if has_leverage(instrument):
            if intent.leverage is not None:
                clamped = min(max(intent.leverage, rules.min_leverage), rules.max_leverage)
                if clamped != intent.leverage:
                    current = dataclasses.replace(current, leverage=clamped)
                    codes.append(reasons.GOVERNOR_CLAMP_LEVERAGE)
                    details["leverage"] = {"from": str(intent.leverage), "to": str(clamped)}
        elif intent.leverage is not None:
            current = dataclasses.replace(current, leverage=None)
            codes.append(reasons.GOVERNOR_CLAMP_LEVERAGE)
            details["leverage"] = {"from": str(intent.leverage), "to": None, "why": "venue_has_no_leverage"}

        price = entry_price(current)
        if price <= ZERO:
            raise ValueError(f"non-positive price {price} for {intent.symbol}")
        unit_notional = instrument.notional(price, Decimal(1))
        leverage = leverage_of(current, instrument)
        size_qty = rules.max_position_usd * leverage / unit_notional
        notional_qty = rules.max_notional_usd / unit_notional
        budget_qty: Decimal | None = None
        if rules.enforce_risk_budget and current.risk_budget_usd is not None:
            stop = protective_stop(current)
            if stop is None:
                return Verdict.blocked(self.name, reasons.GOVERNOR_RISK_BUDGET, problem="budget_without_stop")
            per_unit = abs(price - stop) * instrument.point_value(price)
            if per_unit > ZERO:
                budget_qty = current.risk_budget_usd / per_unit
        # the smallest limit binds; on a tie the first (size, notional, budget): what ``min`` picks
        max_qty, binding = size_qty, reasons.GOVERNOR_CLAMP_SIZE
        if notional_qty < max_qty:
            max_qty, binding = notional_qty, reasons.GOVERNOR_CLAMP_NOTIONAL
        if budget_qty is not None and budget_qty < max_qty:
            max_qty, binding = budget_qty, reasons.GOVERNOR_RISK_BUDGET
        max_qty = instrument.round_qty(max_qty)
        if current.quantity > max_qty:
            if max_qty <= ZERO or max_qty < instrument.min_qty:
                return Verdict.blocked(
                    self.name, binding, max_qty=str(max_qty), requested=str(current.quantity)
                )
            details["quantity"] = {"from": str(current.quantity), "to": str(max_qty)}
            current = dataclasses.replace(current, quantity=max_qty)
            codes.append(binding)
        size_usd = instrument.notional(price, current.quantity) / leverage
        size_text = details["size_usd"] = str(size_usd)
        if size_usd < rules.min_order_usd:
            return Verdict.blocked(
                self.name,
                reasons.GOVERNOR_MIN_ORDER,
                size_usd=size_text,
                min_order_usd=str(rules.min_order_usd),
            )
        if codes:
            return Verdict.clamped(self.name, codes[0], current, codes=codes, **details)
        return Verdict.passed(self.name, size_usd=size_text)
