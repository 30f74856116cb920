"""Entry policy: the capital allocation formula, applied as a clamp (never enlarges an order).

    available  = max(equity - total exposure, 0)
    risk_score = constitution risk_score x sleeve score (current weight / base weight, at most 1)
    allocation = available x base_fraction (0.20) x (conf_base 0.70 + confidence x conf_slope 0.30)
                 x risk_score
    allocation = max(allocation, min_allocation_usd ($10))
    allocation = min(allocation, symbol cap - symbol exposure, total cap - total exposure)   # hard caps
    max qty    = allocation x leverage / one unit's notional (price x multiplier), rounded down to the lot
                 step

The sleeve score comes from the sleeve allocation's state (``SleeveWeights``, risk/sleeve_allocation.py): a
sleeve whose weight fell below its base sizes its entries down in proportion; one above its base gets no
more than the constitution's ``risk_score`` (the cap); the single [strategy] and an external intent score 1.
The $10 minimum is applied before the hard caps, so it never lifts an allocation above a cap. With
``allocation_enabled`` off only the hard caps apply. No room left, or room for less than the instrument's
minimum quantity, blocks with BLOCK_MAX_EXPOSURE."""

from __future__ import annotations

from decimal import Decimal

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import ZERO, RulesGate, entry_price, leverage_of, with_quantity
from tradebot.risk.sleeve_allocation import SleeveWeights
from tradebot.risk.verdict import Verdict


class EntryAllocationGate(RulesGate):
    name = "entry_allocation"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        policy = self.rules(intent.symbol).entry_policy
        instrument = ctx.instrument
        total = ctx.total_exposure
        symbol_exposure = ctx.exposure_by_symbol.get(intent.symbol, ZERO)
        room = min(
            policy.max_exposure_per_symbol_usd - symbol_exposure, policy.max_exposure_total_usd - total
        )
        details: dict[str, str] = {"room_usd": str(room)}
        allocation = room
        if policy.allocation_enabled:
            available = max(ctx.equity - total, ZERO)
            conf_mult = (
                policy.allocation_conf_base + Decimal(repr(intent.confidence)) * policy.allocation_conf_slope
            )
            sleeve_score = ctx.view(SleeveWeights).score
            risk_score = policy.risk_score * sleeve_score
            formula = available * policy.allocation_base_fraction * conf_mult * risk_score
            formula = max(formula, policy.min_allocation_usd)
            allocation = min(formula, room)
            details["formula_usd"] = str(formula)
            details["risk_score"] = str(risk_score)
            details["sleeve_score"] = str(sleeve_score)
        if allocation <= ZERO:
            return Verdict.blocked(self.name, reasons.BLOCK_MAX_EXPOSURE, problem="no_room", **details)
        price = entry_price(intent)
        if price <= ZERO:
            return Verdict.blocked(self.name, reasons.INTENT_INVALID, problem="non_positive_price")
        unit = instrument.notional(price, Decimal(1))
        max_qty = instrument.round_qty(allocation * leverage_of(intent, instrument) / unit)
        details["allocation_usd"] = str(allocation)
        details["max_qty"] = str(max_qty)
        if intent.quantity <= max_qty:
            return Verdict.passed(self.name, **details)
        if max_qty <= ZERO or max_qty < instrument.min_qty:
            return Verdict.blocked(
                self.name, reasons.BLOCK_MAX_EXPOSURE, problem="allocation_under_min_qty", **details
            )
        return Verdict.clamped(
            self.name,
            reasons.ENTRY_ALLOCATION_CLAMP,
            with_quantity(intent, max_qty),
            from_qty=str(intent.quantity),
            **details,
        )
