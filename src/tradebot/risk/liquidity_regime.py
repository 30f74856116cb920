"""Liquidity regime (entries): THIN, NORMAL or THICK, read from the instrument's recent bars.

Three measures over the last ``lookback_bars`` (60) bars:

- ``rolling_volume``: the bars' volume;
- ``spread_bps``: a spread proxy, the mean of the Corwin–Schultz (2012) high-low estimates of the window's
  consecutive bar pairs (a negative estimate counts 0). No quote reaches the gates from the store, so the
  spread is always this proxy and says so: ``spread_source: "range_proxy"``;
- ``vol``: the Parkinson range volatility per bar, sqrt(mean(ln(H/L)² / 4 ln 2)) — a bar's own range, so a
  weekend or maintenance gap between two bars adds nothing to it.

"Normal" volatility is the same measure over the baseline: the bars before the window, back to
``regime_baseline_bars`` (1,440) bars including the window, and at least ``MIN_BASELINE_WINDOWS`` windows'
worth of them.

- THIN: ``spread_bps > thin_spread_bps`` (25) or ``vol > thin_vol_mult`` (1.8) x ``normal_vol``.
- THICK: none of that, the spread at most ``THICK_SPREAD_SHARE`` of the thin threshold, ``vol`` at most
  ``normal_vol`` and the window's volume at least the baseline's average for as many bars. It changes nothing:
  it is recorded.
- NORMAL: the rest, and also while the history is too short to judge (fewer than ``lookback_bars`` bars: no
  measure at all; a baseline too short: the volatility test is skipped). The verdict says so (``note``).
  That is safe because the regime only ever tightens: NORMAL is the order the rest of the constitution was
  sized for — the participation cap, the pre-trade order size and collar and the governor all still apply —
  and the state is rebuilt from the stored bars on a restart, so a restart never puts a run back to
  "unknown". Blocking entries until the baseline fills would instead stop every fresh run for hours.

In THIN an entry above ``thin_max_order_usd`` ($5,000 notional) is cut to it, lot-rounded
(LIQ_REGIME_THIN_SCALE); if that leaves less than the instrument's minimum it is blocked with the same code
(so one MES contract, ~$25k, could never be entered in THIN at $5,000: the shipped constitution sizes MES's
for one contract). The baseline runs across every hour, so a cash open after a quiet night reads THIN by
volatility. A baseline without any range (normal_vol 0) makes any range THIN. The price collar narrows by
``thin_collar_mult`` (0.8) for THIN entries (``risk.pretrade_price_collar``). The verdict records the
expected cost of the order it let through — half the spread estimate times its notional, times
``thin_cost_mult`` (1.3) in THIN. With ``entry_cost_buffer_bps`` set (null by default: off), it is also the
entry cost gate: an entry whose take-profit lies fewer bps from its price than the round-trip cost estimate
(the spread proxy, times ``thin_cost_mult`` in THIN) plus the buffer is blocked (ENTRY_COST_BLOCK), and so is
an entry with no take-profit. Post-trade learning may raise the buffer per symbol (``tradebot.learning``).
Exits never meet this gate.

Every entry's verdict carries the regime and the numbers behind it (regime, spread_bps, spread_source, vol,
normal_vol, vol_ratio, rolling_volume, bars, baseline_bars, thin_because, note). The state, ``RegimeBars``, is
a reducer over the bars (a ``RuleState`` the risk tracker feeds live and from the store on restart); its
view, ``RecentRanges``, is the per-bar terms the measures are sums of, so the same bars give the same floats.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.domain.orders import OrderIntent
from tradebot.domain.range_spread import corwin_schultz_bps
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import ONE, ZERO, RulesGate, entry_price
from tradebot.risk.rule_state import RuleState
from tradebot.risk.rules import MAX_LOOKBACK_BARS, LiquidityRules
from tradebot.risk.verdict import Verdict

SPREAD_SOURCE = "range_proxy"  # quotes never reach the gates from the store: the spread is the bars' proxy
MIN_BASELINE_WINDOWS = 2  # the baseline must hold this many windows of bars before normal vol is judged
THICK_SPREAD_SHARE = Decimal("0.2")  # THICK: a spread at most this share of the thin threshold (5 bps)
_PARKINSON = 4 * math.log(2)
_BPS = Decimal(10_000)
_COST_QUANTUM = Decimal("0.0001")


class Regime(StrEnum):
    THIN = "THIN"
    NORMAL = "NORMAL"
    THICK = "THICK"


def parkinson_term(high: float, low: float) -> float:
    """One bar's Parkinson variance, ln(H/L)² / 4 ln 2 (0 for a bar without a usable range)."""
    if low <= 0 or high <= low:
        return 0.0
    return math.log(high / low) ** 2 / _PARKINSON


_GRID_BITS = 128  # each per-bar term is kept as an integer number of 2**-128: sums of them are exact


def _on_grid(term: float) -> int:
    """``term`` as an integer number of 2**-128 (exact for any term a real bar gives: its lowest bit is far
    above 2**-128; anything finer is cut, the same way every time)."""
    return int(math.ldexp(term, _GRID_BITS))


@dataclass(frozen=True, slots=True)
class Totals:
    """Running totals of one per-bar term of one instrument, exact (integers on the 2**-128 grid):
    ``at[i + 1] - at[j]`` is the sum of the terms of bars j..i. ``at`` is append-only — the state replaces
    the list when it trims it, never shortens it — so the entries up to ``end`` a view captured never change,
    and a view costs no copy."""

    at: Sequence[int] = (0,)
    end: int = 0  # the index of the newest total: the bars (or pairs) these totals span

    @property
    def count(self) -> int:
        """The terms a rule may read, at most ``MAX_LOOKBACK_BARS``."""
        return min(self.end, MAX_LOOKBACK_BARS)

    def sum(self, last: int, skip: int = 0) -> float:
        """The sum of the ``last`` terms that end ``skip`` terms before the newest, correctly rounded."""
        high = self.end - skip
        return (self.at[high] - self.at[high - last]) / (1 << _GRID_BITS)


class _Series:
    __slots__ = ("totals",)

    def __init__(self) -> None:
        self.totals = [0]

    def add(self, term: float) -> None:
        totals = self.totals
        totals.append(totals[-1] + _on_grid(term))
        if len(totals) > 2 * (
            MAX_LOOKBACK_BARS + 1
        ):  # trim to the newest MAX_LOOKBACK_BARS terms: a new list
            self.totals = totals[-(MAX_LOOKBACK_BARS + 1) :]

    def frozen(self) -> Totals:
        return Totals(self.totals, len(self.totals) - 1)


@dataclass(frozen=True, slots=True)
class RecentRanges:
    """The view for one intent: its instrument's recent bars as running totals of each bar's Parkinson
    variance and volume, and of the Corwin–Schultz spread of each bar with the one before it (one pair
    fewer than bars until the lookback is full)."""

    variances: Totals = Totals()
    volumes: Totals = Totals()
    spreads: Totals = Totals()


class RegimeBars(RuleState):
    """Each instrument's recent bars (at least its last ``MAX_LOOKBACK_BARS``) as the regime's terms."""

    def __init__(self) -> None:
        self._series: dict[str, tuple[_Series, _Series, _Series]] = {}
        self._last: dict[str, tuple[float, float]] = {}  # the previous bar's (high, low)

    def on_bar(self, bar: Bar, day: date, now: datetime) -> None:
        symbol = bar.symbol
        series = self._series.get(symbol)
        if series is None:
            series = self._series[symbol] = (_Series(), _Series(), _Series())
        variances, volumes, spreads = series
        variances.add(parkinson_term(bar.high, bar.low))
        volumes.add(bar.volume)
        previous = self._last.get(symbol)
        if previous is not None:
            spreads.add(corwin_schultz_bps(previous[0], previous[1], bar.high, bar.low))
        self._last[symbol] = (bar.high, bar.low)

    def view(self, intent: OrderIntent, now: datetime) -> RecentRanges:
        series = self._series.get(intent.symbol)
        if series is None:
            return RecentRanges()
        variances, volumes, spreads = series
        return RecentRanges(variances.frozen(), volumes.frozen(), spreads.frozen())


def _exact(value: float) -> Decimal:
    return Decimal(repr(value))


@dataclass(frozen=True, slots=True)
class RegimeReading:
    """The regime of one instrument for one decision, and the numbers that set it."""

    regime: Regime
    rolling_volume: Decimal
    bars: int
    baseline_bars: int = 0
    spread_bps: Decimal | None = None
    vol: Decimal | None = None
    normal_vol: Decimal | None = None
    thin_because: tuple[str, ...] = ()
    note: str | None = None

    @property
    def vol_ratio(self) -> Decimal | None:
        if self.vol is None or not self.normal_vol:
            return None
        return self.vol / self.normal_vol

    def details(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "regime": self.regime.value,
            "spread_bps": None if self.spread_bps is None else str(self.spread_bps),
            "spread_source": SPREAD_SOURCE,
            "vol": None if self.vol is None else str(self.vol),
            "normal_vol": None if self.normal_vol is None else str(self.normal_vol),
            "vol_ratio": None if self.vol_ratio is None else str(self.vol_ratio),
            "rolling_volume": str(self.rolling_volume),
            "bars": self.bars,
            "baseline_bars": self.baseline_bars,
        }
        if self.thin_because:
            out["thin_because"] = list(self.thin_because)
        if self.note is not None:
            out["note"] = self.note
        return out


def read_regime(ranges: RecentRanges, rules: LiquidityRules) -> RegimeReading:
    """The regime ``rules`` give the bars of ``ranges`` (pure: the same bars and rules, the same reading)."""
    window = rules.lookback_bars
    seen = ranges.variances.count
    rolling_volume = _exact(ranges.volumes.sum(min(window, seen)))
    pairs = min(window, ranges.spreads.count)
    if seen < window or not pairs:
        return RegimeReading(Regime.NORMAL, rolling_volume, seen, note=f"warming_up: {seen} of {window} bars")
    spread = _exact(ranges.spreads.sum(pairs) / pairs)
    vol = _exact(math.sqrt(ranges.variances.sum(window) / window))
    baseline = min(rules.regime_baseline_bars, seen) - window  # the bars before the window
    thin: list[str] = []
    if spread > rules.thin_spread_bps:
        thin.append("spread")
    if baseline < MIN_BASELINE_WINDOWS * window:
        note = f"normal_vol unknown: {max(baseline, 0)} baseline bars, {MIN_BASELINE_WINDOWS * window} needed"
        regime = Regime.THIN if thin else Regime.NORMAL
        return RegimeReading(
            regime, rolling_volume, window, max(baseline, 0), spread, vol, None, tuple(thin), note
        )
    normal = _exact(math.sqrt(ranges.variances.sum(baseline, skip=window) / baseline))
    if vol > rules.thin_vol_mult * normal:
        thin.append("vol")
    if thin:
        regime = Regime.THIN
    else:
        usual_volume = _exact(ranges.volumes.sum(baseline, skip=window) / baseline) * window
        thick = (
            spread <= THICK_SPREAD_SHARE * rules.thin_spread_bps
            and vol <= normal
            and rolling_volume > ZERO
            and rolling_volume >= usual_volume
        )
        regime = Regime.THICK if thick else Regime.NORMAL
    return RegimeReading(regime, rolling_volume, window, baseline, spread, vol, normal, tuple(thin))


def expected_cost(notional: Decimal, reading: RegimeReading, rules: LiquidityRules) -> Decimal | None:
    """Half the spread estimate times the notional, widened by ``thin_cost_mult`` in THIN (None: no
    spread estimate yet)."""
    if reading.spread_bps is None:
        return None
    mult = rules.thin_cost_mult if reading.regime is Regime.THIN else ONE
    return (notional * reading.spread_bps / 2 / _BPS * mult).quantize(_COST_QUANTUM)


def entry_cost_check(
    intent: OrderIntent, price: Decimal, reading: RegimeReading, cost_mult: Decimal, buffer_bps: Decimal
) -> dict[str, Any]:
    """The entry cost gate's numbers: ``reward_bps`` (the take-profit's distance from the entry price, bps of
    it), ``cost_bps`` (a round trip pays half the spread twice: the spread proxy x ``cost_mult``; 0 while
    there is no estimate yet, the buffer still applies) and ``required_bps`` = cost + buffer. ``passed`` is
    False when the reward is below the requirement, or when the entry has no take-profit to judge."""
    cost_bps = ZERO if reading.spread_bps is None else reading.spread_bps * cost_mult
    required = (cost_bps + buffer_bps).quantize(_COST_QUANTUM)
    plan = intent.exit_plan
    target = plan.take_profit if plan is not None else None
    out: dict[str, Any] = {
        "buffer_bps": str(buffer_bps),
        "cost_bps": str(cost_bps.quantize(_COST_QUANTUM)),
        "required_bps": str(required),
    }
    if target is None or price <= ZERO:
        return {**out, "passed": False, "reward_bps": None, "problem": "no_take_profit"}
    reward = (abs(target - price) / price * _BPS).quantize(_COST_QUANTUM)
    return {**out, "passed": reward >= required, "reward_bps": str(reward)}


class LiquidityRegimeGate(RulesGate):
    name = "liquidity_regime"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        rules = self.rules(intent.symbol).liquidity
        reading = read_regime(ctx.view(RecentRanges), rules)
        details = reading.details()
        instrument = ctx.instrument
        price = entry_price(intent)
        notional = instrument.notional(price, intent.quantity)
        cost_mult = rules.thin_cost_mult if reading.regime is Regime.THIN else ONE
        if rules.entry_cost_buffer_bps is not None:
            cost_check = entry_cost_check(intent, price, reading, cost_mult, rules.entry_cost_buffer_bps)
            if not cost_check.pop("passed"):
                return Verdict.blocked(self.name, reasons.ENTRY_COST_BLOCK, **details, **cost_check)
            details = {**details, "entry_cost": cost_check}
        if reading.regime is not Regime.THIN or notional <= rules.thin_max_order_usd:
            cost = expected_cost(notional, reading, rules)
            return Verdict.passed(
                self.name,
                **details,
                notional=str(notional),
                cost_mult=str(cost_mult),
                expected_cost=None if cost is None else str(cost),
            )
        unit = instrument.notional(price, ONE)
        scaled = instrument.round_qty(rules.thin_max_order_usd / unit) if unit > ZERO else ZERO
        cut = instrument.notional(price, scaled)
        thin = {
            **details,
            "thin_max_order_usd": str(rules.thin_max_order_usd),
            "notional": {"from": str(notional), "to": str(cut)},
            "quantity": {"from": str(intent.quantity), "to": str(scaled)},
            "cost_mult": str(cost_mult),
        }
        if not instrument.is_valid_qty(scaled) or cut < instrument.min_notional:
            return Verdict.blocked(self.name, reasons.LIQ_REGIME_THIN_SCALE, problem="below_min_qty", **thin)
        cost = expected_cost(cut, reading, rules)
        return Verdict.clamped(
            self.name,
            reasons.LIQ_REGIME_THIN_SCALE,
            dataclasses.replace(intent, quantity=scaled),
            scale=str(scaled / intent.quantity),
            expected_cost=None if cost is None else str(cost),
            **thin,
        )
