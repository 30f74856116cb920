"""Pre-trade control (exits too): the order's price (limit, else the reference it was sized
at) is within ``collar_pct`` of the quote mid, or of the last price when no quote is known.
Otherwise PRICE_COLLAR_BLOCK. Stop triggers are not collared (a protective stop is away from the market
by design)."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import ZERO, RulesGate
from tradebot.risk.verdict import Verdict


class PriceCollarGate(RulesGate):
    name = "price_collar"
    applies_to_exits = True

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        collar = self.rules(intent.symbol).pretrade.collar_pct
        basis, label = (ctx.mid_price, "mid") if ctx.mid_price is not None else (ctx.last_price, "last")
        if not basis > ZERO:
            return Verdict.blocked(
                self.name, reasons.PRICE_COLLAR_BLOCK, problem="no_reference_price", basis=label
            )
        price = intent.limit_price if intent.limit_price is not None else intent.reference_price
        deviation = abs(price / basis - 1)
        if deviation > collar:
            return Verdict.blocked(
                self.name,
                reasons.PRICE_COLLAR_BLOCK,
                price=str(price),
                basis=label,
                basis_price=str(basis),
                deviation=str(deviation),
                collar_pct=str(collar),
            )
        return Verdict.passed(self.name, deviation=str(deviation), basis=label)
