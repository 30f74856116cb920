"""Pre-trade control (exits too): the order's price (limit, else the reference it was sized
at) is within ``collar_pct`` of the quote mid, or of the last price when no quote is known.
Otherwise PRICE_COLLAR_BLOCK. Stop triggers are not collared (a protective stop is away from the market
by design).

In a THIN liquidity regime (``risk.liquidity_regime``) an entry's collar narrows to ``collar_pct`` x
``liquidity.thin_collar_mult`` (0.8). An exit's never does: the collar is a sanity check exits must pass,
but a narrower one would block, in the very moments the market is thin, an exit the plain collar lets
through — the regime itself would then hold a position open. So a reduce-only intent is judged against the
plain collar and its check does not even read the regime (a missing regime view cannot fail it); an entry
without the regime's view fails closed (GATE_FAILURE), like any rule without its state."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.liquidity_regime import RecentRanges, Regime, read_regime
from tradebot.risk.measures import ZERO, RulesGate
from tradebot.risk.verdict import Verdict


class PriceCollarGate(RulesGate):
    name = "price_collar"
    applies_to_exits = True

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)

    def _collar(self, intent: OrderIntent, ctx: GateContext) -> tuple[Decimal, dict[str, Any]]:
        """The collar for ``intent``: narrowed for an entry in a THIN regime, never for an exit."""
        rules = self.rules(intent.symbol)
        collar = rules.pretrade.collar_pct
        if intent.reduce_only:
            return collar, {}
        regime = read_regime(ctx.view(RecentRanges), rules.liquidity).regime
        if regime is not Regime.THIN:
            return collar, {"regime": regime.value}
        mult = rules.liquidity.thin_collar_mult
        return collar * mult, {"regime": regime.value, "collar_mult": str(mult)}

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        collar, regime = self._collar(intent, ctx)
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
                **regime,
            )
        return Verdict.passed(self.name, deviation=str(deviation), basis=label, **regime)
