"""Pre-trade control: message-rate throttles. Orders sent in the last 60 s, all symbols
and this symbol, stay under ``max_orders_per_min`` / ``max_orders_per_min_symbol``: RATE_THROTTLE_BLOCK.
Exits are not throttled (they are never blocked by entry rules)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.verdict import Verdict

WINDOW = timedelta(seconds=60)


def count_within(times: Iterable[datetime], now: datetime, window: timedelta = WINDOW) -> int:
    """How many of ``times`` fall in (now - window, now]."""
    start = now - window
    return sum(1 for t in times if start < t <= now)


class RateThrottleGate(RulesGate):
    name = "rate_throttle"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        rules = self.rules(intent.symbol).pretrade
        max_total, max_symbol = rules.max_orders_per_min, rules.max_orders_per_min_symbol
        now = ctx.now
        total = count_within(ctx.recent_orders, now)
        if total >= max_total:
            return Verdict.blocked(
                self.name,
                reasons.RATE_THROTTLE_BLOCK,
                scope="global",
                orders_last_min=total,
                max=max_total,
            )
        symbol_orders = count_within(ctx.recent_orders_symbol, now)
        if symbol_orders >= max_symbol:
            return Verdict.blocked(
                self.name,
                reasons.RATE_THROTTLE_BLOCK,
                scope="symbol",
                orders_last_min=symbol_orders,
                max=max_symbol,
            )
        return Verdict.passed(self.name, orders_last_min=total, symbol_orders_last_min=symbol_orders)
