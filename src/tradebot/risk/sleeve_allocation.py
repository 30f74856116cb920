"""Sleeve capital allocation: each sleeve's capital weight moves with its post-cost performance, once a
session day, inside bounds.

Each sleeve starts at its configured weight (its **base**, ``[sleeves.NAME] weight``). The state keeps, per
sleeve, its last ``window`` (60) closed round trips (``RoundTrip``: the sleeve of the entry that opened it,
its PnL after every fee):

- **expectancy**: the mean post-cost return (``RoundTrip.return_pct``: PnL / the notional that opened it)
  of the window's trades;
- **drawdown**: how far the window's cumulative post-cost PnL stands below its running peak (the peak
  starts at 0), as a fraction of the sleeve's capital share (starting cash x base weight);
- **stability**: the share of the window's trades that won (post-cost PnL > 0), recorded as an input;
- **trades**: every round trip the sleeve closed since the run (its store) began.

The **close** of a session day is seen at the first bar of a later session day (the latest session day of
any instrument's bars, on its exchange calendar): a reducer over stored events, so a restart that reads
the store back moves the weights on the same bars as the uninterrupted run. At each close, with two or
more sleeves and ``[allocation] enabled``, in order:

1. a sleeve with fewer than ``min_trades`` (15) trades keeps its weight;
2. one whose expectancy is below ``expectancy_floor`` (-0.10 %) or whose drawdown is above
   ``drawdown_trigger`` (6 %) falls by ``max_delta`` (0.05), to no less than ``min_weight`` (0.10);
3. one with a positive expectancy (and neither breach) rises by at most ``max_delta``, to no more than
   ``max_weight`` (0.60), and only into capital the bases leave free: the weights never add up to more than
   the bases do (at most 1, the whole equity). Rises go to the highest expectancy first (ties: the sleeve
   configured first);
4. any other sleeve keeps its weight.

So capital a falling sleeve gives up is held as cash until a sleeve earning its costs takes it, at most
``max_delta`` a day: the allocation never forces money into a sleeve. One sleeve (or the single
``[strategy]``, sleeve "") never moves. Each move is a ``WeightChange`` with its inputs, which the engine
records (``sleeve_weight``, SLEEVE_WEIGHT_CHANGED); the netting sizes each sleeve with its current weight,
and the entry allocation's ``risk_score`` is scaled by ``SleeveWeights.score`` (current / base, at most 1).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.domain.orders import OrderIntent
from tradebot.risk.rule_state import RoundTrip, RuleState, state_of

ZERO = Decimal(0)
ONE = Decimal(1)

# why a weight moved (the ``rule`` of a WeightChange)
EXPECTANCY_FLOOR = "expectancy_floor"
DRAWDOWN = "drawdown"
POSITIVE_EXPECTANCY = "positive_expectancy"


@dataclass(frozen=True, slots=True)
class AllocationRules:
    """The sleeves' base weights (in config order) and the rules that move them (``[allocation]``)."""

    bases: tuple[tuple[str, Decimal], ...]
    capital: Decimal  # the run's starting cash: a sleeve's capital share is capital x base weight
    enabled: bool = True
    min_weight: Decimal = Decimal("0.10")
    max_weight: Decimal = Decimal("0.60")
    max_delta: Decimal = Decimal("0.05")
    window: int = 60
    min_trades: int = 15
    drawdown_trigger: Decimal = Decimal("0.06")
    expectancy_floor: Decimal = Decimal("-0.0010")

    @property
    def moves(self) -> bool:
        """Weights move only between two sleeves or more, and only when enabled."""
        return self.enabled and len(self.bases) > 1


SINGLE_STRATEGY = AllocationRules(bases=(("", ONE),), capital=ONE, enabled=False)


@dataclass(frozen=True, slots=True)
class SleevePerformance:
    trades: int  # every round trip the sleeve closed
    window_trades: int  # those in the window (the last ``window``)
    expectancy: Decimal  # mean post-cost return of the window's trades (0 without any)
    drawdown: Decimal  # the window's cumulative PnL below its peak, over the sleeve's capital share
    stability: Decimal  # share of the window's trades that won (0 without any)


@dataclass(frozen=True, slots=True)
class WeightChange:
    """One sleeve's weight moved at a close: what moved it, and its inputs."""

    sleeve: str
    closed_day: date  # the session day whose close moved it
    rule: str  # EXPECTANCY_FLOOR | DRAWDOWN | POSITIVE_EXPECTANCY
    old_weight: Decimal
    new_weight: Decimal
    base_weight: Decimal
    performance: SleevePerformance
    weights: tuple[tuple[str, Decimal], ...]  # every sleeve's weight after the close

    def body(self) -> dict[str, Any]:
        """The stored ``sleeve_weight`` event."""
        p = self.performance
        return {
            "code": reasons.SLEEVE_WEIGHT_CHANGED,
            "sleeve": self.sleeve,
            "closed_day": self.closed_day.isoformat(),
            "rule": self.rule,
            "old_weight": str(self.old_weight),
            "new_weight": str(self.new_weight),
            "base_weight": str(self.base_weight),
            "expectancy": str(p.expectancy),
            "drawdown": str(p.drawdown),
            "stability": str(p.stability),
            "trades": p.trades,
            "window_trades": p.window_trades,
            "weights": {name: str(weight) for name, weight in self.weights},
        }


@dataclass(frozen=True, slots=True)
class SleeveWeights:
    """The view for one intent: its sleeve, and every sleeve's current and base weight."""

    sleeve: str
    weights: tuple[tuple[str, Decimal], ...]
    bases: tuple[tuple[str, Decimal], ...]

    @property
    def score(self) -> Decimal:
        """The intent sleeve's risk score: current weight / base weight, never above 1 (the constitution's
        ``risk_score`` stays the cap); 1 for an intent of no allocated sleeve (the single [strategy], an
        external intent)."""
        weight, base = dict(self.weights).get(self.sleeve), dict(self.bases).get(self.sleeve)
        if weight is None or not base:
            return ONE
        return min(weight / base, ONE)


class _Sleeve:
    __slots__ = ("pnls", "returns", "trades", "weight")

    def __init__(self, window: int, weight: Decimal) -> None:
        self.returns: deque[Decimal] = deque(maxlen=window)
        self.pnls: deque[Decimal] = deque(maxlen=window)
        self.trades = 0
        self.weight = weight


class SleeveAllocation(RuleState):
    """Each sleeve's performance and current weight, moved at each session close (module docstring)."""

    def __init__(self, rules: AllocationRules = SINGLE_STRATEGY) -> None:
        self.rules = rules
        self._bases = dict(rules.bases)
        self._sleeves = {name: _Sleeve(rules.window, base) for name, base in rules.bases}
        self._day: date | None = None
        self.changes: tuple[WeightChange, ...] = ()  # the moves the last bar made (the engine records them)

    # --- reads --------------------------------------------------------------------------------------
    @property
    def has_sleeves(self) -> bool:
        """The run trades ``[sleeves]`` (not the single [strategy])."""
        return self.rules is not SINGLE_STRATEGY

    def weights(self) -> dict[str, Decimal]:
        return {name: sleeve.weight for name, sleeve in self._sleeves.items()}

    def performance(self, name: str) -> SleevePerformance:
        sleeve = self._sleeves[name]
        n = len(sleeve.returns)
        if n == 0:
            return SleevePerformance(sleeve.trades, 0, ZERO, ZERO, ZERO)
        cumulative = peak = ZERO
        for pnl in sleeve.pnls:
            cumulative += pnl
            peak = max(peak, cumulative)
        share = self.rules.capital * self._bases[name]
        return SleevePerformance(
            trades=sleeve.trades,
            window_trades=n,
            expectancy=sum(sleeve.returns, ZERO) / n,
            drawdown=(peak - cumulative) / share if share > ZERO else ZERO,
            stability=Decimal(sum(1 for p in sleeve.pnls if p > ZERO)) / n,
        )

    def view(self, intent: OrderIntent, now: datetime) -> SleeveWeights:
        return SleeveWeights(intent.sleeve, tuple(self.weights().items()), self.rules.bases)

    # --- events -------------------------------------------------------------------------------------
    def on_round_trip(self, trip: RoundTrip) -> None:
        sleeve = self._sleeves.get(trip.sleeve)
        if sleeve is None:
            return  # an intent of no sleeve (external): no sleeve's performance
        sleeve.returns.append(trip.return_pct)
        sleeve.pnls.append(trip.pnl)
        sleeve.trades += 1

    def on_bar(self, bar: Bar, day: date, now: datetime) -> None:
        self.changes = ()
        if self._day is None:
            self._day = day
        elif day > self._day:
            closed, self._day = self._day, day
            if self.rules.moves:
                self.changes = self._close(closed)

    def _close(self, closed: date) -> tuple[WeightChange, ...]:
        rules = self.rules
        old = self.weights()
        new = dict(old)
        performance = {name: self.performance(name) for name in old}
        moved: dict[str, str] = {}
        rising: list[str] = []
        for name, p in performance.items():
            if p.trades < rules.min_trades:
                continue
            if p.expectancy < rules.expectancy_floor or p.drawdown > rules.drawdown_trigger:
                rule = EXPECTANCY_FLOOR if p.expectancy < rules.expectancy_floor else DRAWDOWN
                new[name] = max(old[name] - rules.max_delta, rules.min_weight)
                moved[name] = rule
            elif p.expectancy > ZERO:
                rising.append(name)
        order = list(old)
        rising.sort(key=lambda name: (-performance[name].expectancy, order.index(name)))
        room = sum(self._bases.values(), ZERO) - sum(new.values(), ZERO)
        for name in rising:
            step = min(rules.max_delta, rules.max_weight - new[name], room)
            if step > ZERO:
                new[name] += step
                room -= step
                moved[name] = POSITIVE_EXPECTANCY
        after = tuple(new.items())
        changes = []
        for name, rule in moved.items():
            if new[name] == old[name]:
                continue  # already at its bound
            self._sleeves[name].weight = new[name]
            changes.append(
                WeightChange(
                    name, closed, rule, old[name], new[name], self._bases[name], performance[name], after
                )
            )
        return tuple(sorted(changes, key=lambda c: order.index(c.sleeve)))


def allocation_state(states: Iterable[RuleState]) -> SleeveAllocation:
    """The tracker's allocation state (every tracker has one: ``rule_states``)."""
    return state_of(states, SleeveAllocation)


def weights_record(weights: Mapping[str, Decimal]) -> dict[str, str]:
    return {name: str(weight) for name, weight in weights.items()}
