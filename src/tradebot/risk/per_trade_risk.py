"""Constitution gate: the loss at the protective stop, |entry - stop| x qty x multiplier, stays within the
per-trade cap (MES: $15 = 12 ticks x $1.25); the stop is at most ``max_stop_ticks`` away and on the
losing side of the entry. An entry without a stop is blocked while ``require_stop`` is on."""

from __future__ import annotations

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent, Side
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate, entry_price, protective_stop
from tradebot.risk.verdict import Verdict


class PerTradeRiskGate(RulesGate):
    name = "per_trade_risk"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        limits = self.rules(intent.symbol).limits
        stop = protective_stop(intent)
        if stop is None:
            if (
                limits.require_stop
                or limits.per_trade_risk_usd is not None
                or limits.max_stop_ticks is not None
            ):
                return Verdict.blocked(self.name, reasons.PER_TRADE_RISK_BLOCK, problem="no_stop")
            return Verdict.passed(self.name, stop=None)
        entry = entry_price(intent)
        wrong_side = stop >= entry if intent.side is Side.BUY else stop <= entry
        if wrong_side:
            return Verdict.blocked(
                self.name,
                reasons.PER_TRADE_RISK_BLOCK,
                problem="stop_wrong_side",
                entry=str(entry),
                stop=str(stop),
            )
        # what ``stop_distance_ticks`` and ``trade_risk`` give, from one |entry - stop|
        instrument = ctx.instrument
        distance = abs(entry - stop)
        ticks = distance / instrument.tick_size
        risk = distance * intent.quantity * instrument.point_value(entry)
        if limits.max_stop_ticks is not None and ticks > limits.max_stop_ticks:
            return Verdict.blocked(
                self.name,
                reasons.PER_TRADE_RISK_BLOCK,
                problem="stop_too_far",
                stop_ticks=str(ticks),
                max_stop_ticks=limits.max_stop_ticks,
            )
        if limits.per_trade_risk_usd is not None and risk > limits.per_trade_risk_usd:
            return Verdict.blocked(
                self.name,
                reasons.PER_TRADE_RISK_BLOCK,
                problem="risk_over_cap",
                risk_usd=str(risk),
                cap_usd=str(limits.per_trade_risk_usd),
            )
        return Verdict.passed(self.name, risk_usd=str(risk), stop_ticks=str(ticks))
