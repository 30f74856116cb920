"""Concentration caps: after an entry, no symbol holds more than ``portfolio.max_symbol_weight``
(12 %) of the portfolio's gross exposure, and no cluster more than ``portfolio.max_cluster_weight`` (25 %).

A cluster is a name the constitution gives instruments (``portfolio.cluster``, e.g. "us_equity_index");
an instrument without one is in no cluster. Weights are shares of the gross exposure after the order, never
of less than equity (``risk.portfolio_weights``). An entry above a cap is cut to fit (CLAMP), or blocked when
what fits is under the instrument's minimum; both say RISK_CAP_PORTFOLIO with the scope (symbol or
cluster), the cap, the exposures and the weight the order would have made. Exits are never held back.
"""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.portfolio_weights import capped
from tradebot.risk.verdict import Outcome, Verdict


class PortfolioConcentrationGate(RulesGate):
    name = "portfolio_concentration"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        rules = self.rules(intent.symbol).portfolio
        verdicts: list[Verdict] = []
        current = intent
        if rules.max_symbol_weight is not None:
            verdict = capped(
                self.name,
                reasons.RISK_CAP_PORTFOLIO,
                current,
                ctx,
                cap=rules.max_symbol_weight,
                members=frozenset({intent.symbol}),
                scope="symbol",
            )
            if verdict.outcome is Outcome.BLOCK:
                return verdict
            verdicts.append(verdict)
            current = verdict.intent or current
        if rules.cluster is not None and rules.max_cluster_weight is not None:
            members = frozenset(
                symbol
                for symbol in {*ctx.exposure_by_symbol, intent.symbol}
                if symbol == intent.symbol or self._cluster(symbol) == rules.cluster
            )
            verdict = capped(
                self.name,
                reasons.RISK_CAP_PORTFOLIO,
                current,
                ctx,
                cap=rules.max_cluster_weight,
                members=members,
                scope="cluster",
                cluster=rules.cluster,
            )
            if verdict.outcome is Outcome.BLOCK:
                return verdict
            verdicts.append(verdict)
            current = verdict.intent or current
        if not verdicts:
            return Verdict.passed(self.name, cap="none")
        details = {str(v.details.get("scope")): dict(v.details) for v in verdicts}
        if current is intent:
            return Verdict.passed(self.name, **details)
        return Verdict.clamped(self.name, reasons.RISK_CAP_PORTFOLIO, current, **details)

    def _cluster(self, symbol: str) -> str | None:
        try:
            return self.rules(symbol).portfolio.cluster
        except KeyError:  # a symbol the constitution has no rules for cannot be placed in a cluster
            return None
