"""Volatility targeting: new exposure is scaled so the portfolio's volatility nears
``portfolio.target_annual_vol`` (18 % a year).

The portfolio's volatility is estimated ex ante, from what it would hold with the order: each instrument's
signed notional over equity (``w``; positions and working entries), each one's realized volatility over
the last ``vol_lookback_days`` (20) days and each pair's realized correlation over the same days
(``risk.portfolio_returns``): ``σ = sqrt(Σ wᵢ wⱼ σᵢ σⱼ ρᵢⱼ)``. A pair without a known correlation counts
as moving together in the direction that adds risk (``|wᵢ wⱼ| σᵢ σⱼ``).

    scale = clamp(target / σ, vol_min_scale 0.25, vol_max_scale 1.25)

A scale under 1 cuts the entry to ``quantity × scale`` (rounded down to the lot; VOL_TARGET_SCALE, CLAMP),
or blocks it when that is under the instrument's minimum. A scale above 1 is recorded and the entry passes
unchanged: a gate never enlarges an order (sizing is the sizer's). An entry that lowers the portfolio's
volatility (a hedge) passes. Each instrument's volatility comes from its 15-minute returns, or until
there are enough of them from every bar's (``vol_sources``; biased high, so the early estimate errs safe).
An instrument in the portfolio with fewer than 30 bars makes the estimate unknown, and unknown is treated
as the worst allowed case: the minimum scale. Every verdict records the estimate, the weights and the
scale. Exits pass.
"""

from __future__ import annotations

import math
from decimal import Decimal

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import ZERO, RulesGate, entry_price, signed_qty, with_quantity
from tradebot.risk.portfolio_returns import ReturnSums
from tradebot.risk.verdict import Verdict


def portfolio_vol(
    weights: dict[str, float], vols: dict[str, float], returns: ReturnSums, lookback_days: int
) -> float:
    variance = 0.0
    for a, wa in weights.items():
        for b, wb in weights.items():
            corr = returns.corr(a, b, lookback_days)
            term = wa * wb * vols[a] * vols[b]
            variance += abs(term) if corr is None else term * corr
    return math.sqrt(max(variance, 0.0))


class VolTargetGate(RulesGate):
    name = "vol_target"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        rules = self.rules(intent.symbol).portfolio
        if rules.target_annual_vol is None:
            return Verdict.passed(self.name, target="none")
        if ctx.equity <= ZERO:
            return Verdict.blocked(self.name, reasons.VOL_TARGET_SCALE, problem="no_equity")
        returns = ctx.view(ReturnSums)
        held = dict(ctx.positions)
        for symbol, qty in ctx.working_entries.items():
            held[symbol] = held.get(symbol, ZERO) + qty
        after = dict(held)
        after[intent.symbol] = after.get(intent.symbol, ZERO) + signed_qty(intent)
        unit = dict(returns.unit_notional)
        unit.setdefault(intent.symbol, ctx.instrument.notional(entry_price(intent), Decimal(1)))
        details: dict[str, object] = {
            "target": str(rules.target_annual_vol),
            "lookback_days": rules.vol_lookback_days,
        }
        weights_after = _weights(after, unit, ctx.equity)
        vols: dict[str, float] = {}
        sources: dict[str, str] = {}
        unknown: list[str] = []
        for symbol in sorted(s for s, q in after.items() if q != ZERO):
            estimate = returns.vol_estimate(symbol, rules.vol_lookback_days)
            if estimate is None or symbol not in unit:
                unknown.append(symbol)
            else:
                vols[symbol], sources[symbol] = estimate
        details["weights"] = {s: f"{w:.4f}" for s, w in sorted(weights_after.items())}
        if unknown:
            scale = rules.vol_min_scale
            details.update(estimate="unknown", unknown=unknown)
        else:
            vol_after = portfolio_vol(weights_after, vols, returns, rules.vol_lookback_days)
            vol_before = portfolio_vol(
                _weights(held, unit, ctx.equity), vols, returns, rules.vol_lookback_days
            )
            details.update(
                vol_after=f"{vol_after:.4f}",
                vol_before=f"{vol_before:.4f}",
                vols={s: f"{v:.4f}" for s, v in sorted(vols.items())},
                vol_sources=sources,
            )
            if vol_after <= vol_before:
                return Verdict.passed(self.name, lowers_volatility=True, **details)
            raw = (
                rules.vol_max_scale
                if vol_after == 0.0
                else Decimal(repr(float(rules.target_annual_vol) / vol_after))
            )
            scale = min(max(raw, rules.vol_min_scale), rules.vol_max_scale)
        details["scale"] = str(scale)
        if scale >= 1:
            return Verdict.passed(self.name, **details)
        instrument = ctx.instrument
        quantity = instrument.round_qty(intent.quantity * scale)
        if quantity <= ZERO or not instrument.is_valid_qty(quantity):
            return Verdict.blocked(
                self.name, reasons.VOL_TARGET_SCALE, quantity=str(intent.quantity), **details
            )
        return Verdict.clamped(
            self.name,
            reasons.VOL_TARGET_SCALE,
            with_quantity(intent, quantity),
            quantity={"from": str(intent.quantity), "to": str(quantity)},
            **details,
        )


def _weights(quantities: dict[str, Decimal], unit: dict[str, Decimal], equity: Decimal) -> dict[str, float]:
    """Signed notional over equity of every instrument held (one without a price yet weighs nothing)."""
    return {
        symbol: float(qty * unit[symbol] / equity)
        for symbol, qty in quantities.items()
        if qty != ZERO and symbol in unit
    }
