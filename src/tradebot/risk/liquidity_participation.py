"""Liquidity control (entries): an order takes at most ``max_participation_pct`` (1.5 %) of the volume the
market traded over the instrument's last ``lookback_bars`` (60) bars. Above it the entry is blocked
(LIQ_PARTICIPATION_BLOCK) or, with ``participation_mode = "scale"``, cut down to the cap
(LIQ_PARTICIPATION_SCALE) unless that leaves less than ``participation_scale_min`` (25 %) of it or less
than the instrument's minimum, which blocks. Exits are never held back by it.

The rule keeps its own state: ``BarVolumes``, each instrument's recent bar volumes, a reducer over the bars
(a ``RuleState`` the risk tracker feeds every bar, live and when a store is read back on restart). The check
reads its frozen view, ``RecentVolumes``, from the gate context. A window whose bars carry no volume at all
(a source that has none) cannot measure participation: the entry passes, and its verdict says
``volume: unknown``.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.domain.orders import OrderIntent
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.rule_state import RuleState
from tradebot.risk.rules import MAX_LOOKBACK_BARS
from tradebot.risk.verdict import Verdict


@dataclass(frozen=True, slots=True)
class RecentVolumes:
    """The intent instrument's last bars' volumes, oldest first (at most ``MAX_LOOKBACK_BARS``)."""

    volumes: tuple[float, ...] = ()


class BarVolumes(RuleState):
    """Each instrument's last ``MAX_LOOKBACK_BARS`` bar volumes, oldest first."""

    def __init__(self) -> None:
        self._volumes: dict[str, deque[float]] = {}

    def on_bar(self, bar: Bar, day: date, now: datetime) -> None:
        window = self._volumes.get(bar.symbol)
        if window is None:
            window = self._volumes[bar.symbol] = deque(maxlen=MAX_LOOKBACK_BARS)
        window.append(bar.volume)

    def recent(self, symbol: str, bars: int) -> tuple[float, ...]:
        """The volumes of ``symbol``'s last ``bars`` bars (fewer before it has traded that long)."""
        window = self._volumes.get(symbol)
        if not window:
            return ()
        return tuple(window)[-bars:]

    def view(self, intent: OrderIntent, now: datetime) -> RecentVolumes:
        return RecentVolumes(self.recent(intent.symbol, MAX_LOOKBACK_BARS))


class LiquidityParticipationGate(RulesGate):
    name = "liquidity_participation"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        rules = self.rules(intent.symbol).liquidity
        if rules.max_participation_pct is None:
            return Verdict.passed(self.name, cap="none")
        window = ctx.view(RecentVolumes).volumes[-rules.lookback_bars :]
        volume = Decimal(repr(sum(window)))
        if volume <= 0:
            return Verdict.passed(self.name, volume="unknown", bars=len(window))
        allowed = volume * rules.max_participation_pct
        details = {
            "rolling_volume": str(volume),
            "bars": len(window),
            "max_participation_pct": str(rules.max_participation_pct),
            "max_qty": str(allowed),
        }
        if intent.quantity <= allowed:
            return Verdict.passed(self.name, participation=str(intent.quantity / volume), **details)
        if rules.participation_mode == "scale":
            scaled = ctx.instrument.round_qty(allowed)
            scale = scaled / intent.quantity
            if scale >= rules.participation_scale_min and ctx.instrument.is_valid_qty(scaled):
                return Verdict.clamped(
                    self.name,
                    reasons.LIQ_PARTICIPATION_SCALE,
                    dataclasses.replace(intent, quantity=scaled),
                    quantity={"from": str(intent.quantity), "to": str(scaled)},
                    scale=str(scale),
                    **details,
                )
        return Verdict.blocked(
            self.name, reasons.LIQ_PARTICIPATION_BLOCK, quantity=str(intent.quantity), **details
        )
