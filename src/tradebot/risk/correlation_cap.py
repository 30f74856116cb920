"""Correlation cap: instruments whose realized correlation with the entry's exceeds
``portfolio.corr_threshold`` (0.80) over the last ``corr_lookback_days`` (30) days form a group with it, and
after the entry the group holds at most ``portfolio.corr_group_gross_cap`` (35 %) of the portfolio's gross
exposure (a share of the gross after the order, never of less than equity: ``risk.portfolio_weights``).

Correlation comes from the synchronized bar returns of the two instruments (``risk.portfolio_returns``). A
pair with too few common returns has no known correlation and is not grouped; the verdict lists it as
unknown; a symbol with nothing correlated held is no group. ES and SPY over the same week correlate at
about 0.9: holding one, the other's entry is cut to what the group's cap leaves. Above the cap: CLAMP,
or BLOCK when what fits is under the instrument's minimum, both CORR_CLUSTER_CAP with the group, each
member's correlation and the exposures. Exits pass.
"""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.portfolio_returns import ReturnSums
from tradebot.risk.portfolio_weights import capped
from tradebot.risk.verdict import Verdict


class CorrelationCapGate(RulesGate):
    name = "correlation_cap"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        rules = self.rules(intent.symbol).portfolio
        if rules.corr_group_gross_cap is None:
            return Verdict.passed(self.name, cap="none")
        returns = ctx.view(ReturnSums)
        threshold = float(rules.corr_threshold)
        correlations: dict[str, str] = {}
        group = {intent.symbol}
        for symbol in sorted(ctx.exposure_by_symbol):
            if symbol == intent.symbol:
                continue
            corr = returns.corr(intent.symbol, symbol, rules.corr_lookback_days)
            correlations[symbol] = "unknown" if corr is None else f"{corr:.4f}"
            if corr is not None and corr > threshold:
                group.add(symbol)
        if len(group) == 1:  # nothing held moves with it: no group to cap (its own weight has its cap)
            return Verdict.passed(self.name, group="none", correlations=correlations)
        return capped(
            self.name,
            reasons.CORR_CLUSTER_CAP,
            intent,
            ctx,
            cap=rules.corr_group_gross_cap,
            members=frozenset(group),
            correlations=correlations,
            threshold=str(rules.corr_threshold),
            lookback_days=rules.corr_lookback_days,
        )
