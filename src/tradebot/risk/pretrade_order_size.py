"""Pre-trade control (exits too): one order's notional and quantity stay under
MAX_ORDER_DOLLARS and MAX_ORDER_SHARES; otherwise ORDER_SIZE_BLOCK."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate, notional
from tradebot.risk.verdict import Verdict


class OrderSizeGate(RulesGate):
    name = "order_size"
    applies_to_exits = True

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        rules = self.rules(intent.symbol).pretrade
        value = notional(intent, ctx.instrument)
        if rules.max_order_usd is not None and value > rules.max_order_usd:
            return Verdict.blocked(
                self.name,
                reasons.ORDER_SIZE_BLOCK,
                problem="dollars",
                notional=str(value),
                max_order_usd=str(rules.max_order_usd),
            )
        if rules.max_order_qty is not None and intent.quantity > rules.max_order_qty:
            return Verdict.blocked(
                self.name,
                reasons.ORDER_SIZE_BLOCK,
                problem="quantity",
                quantity=str(intent.quantity),
                max_order_qty=str(rules.max_order_qty),
            )
        return Verdict.passed(self.name, notional=str(value))
