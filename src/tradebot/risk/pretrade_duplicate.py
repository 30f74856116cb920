"""Pre-trade control (exits too): never the same order twice. Blocks an intent already sent
(same intent id, hence the same deterministic client order id) or one with the same
(symbol, side, quantity, bar) as an order already sent: DUPLICATE_ORDER_BLOCK."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.verdict import Verdict


def order_key(symbol: str, side: str, quantity: Decimal, bar_ts: datetime) -> tuple[str, str, str, str]:
    """The (symbol, side, qty, bar) duplicate key; quantities compare by value (1 == 1.00)."""
    return (symbol, side, format(quantity.normalize(), "f"), bar_ts.isoformat())


def intent_key(intent: OrderIntent) -> tuple[str, str, str, str]:
    return order_key(intent.symbol, intent.side.value, intent.quantity, intent.bar_ts or intent.ts)


class DuplicateOrderGate:
    name = "duplicate_order"
    applies_to_exits = True

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        if intent.intent_id in ctx.submitted_intent_ids:
            return Verdict.blocked(
                self.name,
                reasons.DUPLICATE_ORDER_BLOCK,
                problem="same_client_order_id",
                intent_id=intent.intent_id,
            )
        key = intent_key(intent)
        if key in ctx.submitted_keys:
            return Verdict.blocked(
                self.name, reasons.DUPLICATE_ORDER_BLOCK, problem="same_symbol_side_qty_bar", key=list(key)
            )
        return Verdict.passed(self.name)
