"""Pre-trade control: message-rate throttles. Orders sent in the last 60 s, all symbols
and this symbol, stay under ``max_orders_per_min`` / ``max_orders_per_min_symbol``: RATE_THROTTLE_BLOCK.
Exits are not throttled (they are never blocked by entry rules)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime, timedelta

from tradebot.domain import reasons
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.shared_verdicts import SharedPasses
from tradebot.risk.verdict import Verdict

WINDOW = timedelta(seconds=60)


class SortedTimes(tuple[datetime, ...]):
    """A tuple of times known to be in ascending order, so a window is counted by bisection instead of a
    scan. (``sorted_times`` marks a plain tuple the same way: bisection on a plain tuple is several times
    faster than on a tuple subclass, whose items C code fetches through ``__getitem__``.)"""

    __slots__ = ()


# Plain tuples marked as sorted, by id. Each is held here, so its id cannot be reused while it is listed;
# the oldest marks are dropped past _KEEP (an unlisted tuple is counted by a scan: the same count).
_SORTED: dict[int, tuple[datetime, ...]] = {}
_KEEP = 256


def sorted_times(items: Iterable[datetime]) -> tuple[datetime, ...]:
    """A plain tuple of ``items``, which the caller knows to be in ascending order, marked as sorted."""
    times = tuple(items)
    marked = _SORTED
    marked[id(times)] = times
    if len(marked) > _KEEP:
        del marked[next(iter(marked))]
    return times


def count_within(times: Iterable[datetime], now: datetime, window: timedelta = WINDOW) -> int:
    """How many of ``times`` fall in (now - window, now]."""
    start = now - window
    if _SORTED.get(id(times)) is times or type(times) is SortedTimes:
        assert isinstance(times, tuple)
        if not times:
            return 0
        # every time is <= now in the usual case: the count up to now is the length, without a search
        end = len(times) if times[-1] <= now else bisect_right(times, now)
        return max(0, end - bisect_right(times, start))
    return sum(1 for t in times if start < t <= now)


class RateThrottleGate(RulesGate):
    name = "rate_throttle"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)
        self._limits = self.per_symbol(  # (max_orders_per_min, max_orders_per_min_symbol)
            lambda rules: (rules.pretrade.max_orders_per_min, rules.pretrade.max_orders_per_min_symbol)
        )
        self._passes = SharedPasses(self.name)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        max_total, max_symbol = self._limits(intent.symbol)
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
        key = (total, symbol_orders)  # the counts fix the details: one shared verdict per pair
        return self._passes.passed(key, orders_last_min=total, symbol_orders_last_min=symbol_orders)
