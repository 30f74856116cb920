"""Pre-trade control (seed 002 D): message-rate throttles. Orders sent in the last 60 s, all symbols
and this symbol, stay under ``max_orders_per_min`` / ``max_orders_per_min_symbol``: RATE_THROTTLE_BLOCK.
Exits are not throttled (they are never blocked by entry rules)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime, timedelta

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.verdict import Verdict

WINDOW = timedelta(seconds=60)


class SortedTimes(tuple[datetime, ...]):
    """A tuple of times known to be in ascending order (``RiskTracker`` builds it only when they are), so
    a window is counted by bisection instead of a scan."""

    __slots__ = ()


def count_within(times: Iterable[datetime], now: datetime, window: timedelta = WINDOW) -> int:
    """How many of ``times`` fall in (now - window, now]."""
    start = now - window
    if type(times) is SortedTimes:
        return max(0, bisect_right(times, now) - bisect_right(times, start))
    return sum(1 for t in times if start < t <= now)


class RateThrottleGate(RulesGate):
    name = "rate_throttle"
    applies_to_exits = False

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        rules = self.rules(intent.symbol).pretrade
        total = count_within(ctx.recent_orders, ctx.now)
        if total >= rules.max_orders_per_min:
            return Verdict.blocked(
                self.name,
                reasons.RATE_THROTTLE_BLOCK,
                scope="global",
                orders_last_min=total,
                max=rules.max_orders_per_min,
            )
        symbol = count_within(ctx.recent_orders_symbol, ctx.now)
        if symbol >= rules.max_orders_per_min_symbol:
            return Verdict.blocked(
                self.name,
                reasons.RATE_THROTTLE_BLOCK,
                scope="symbol",
                orders_last_min=symbol,
                max=rules.max_orders_per_min_symbol,
            )
        return Verdict.passed(self.name, orders_last_min=total, symbol_orders_last_min=symbol)
