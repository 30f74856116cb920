"""Sleeves on one instrument: each sleeve's target, netted into at most one order per instrument per bar.

A sleeve is a strategy (profile, sizer settings) over some instruments with a capital weight. On a bar each
sleeve trading the instrument proposes, from its own signal, the entry it would make from flat with its share
of equity (``equity × weight``, its current weight: risk/sleeve_allocation.py moves it at session closes):
its **target** is that signed quantity (BUY +q, SELL −q), or 0 when its signal has no direction or its sizer
refused (too small for the lot step). The **net target** is the sum of
the targets; the sleeves' **net view** is the sum of ``weight × sign(direction)`` over the sleeves with a
direction. The instrument's position then moves by the rule one strategy follows
(``intent_builder.decide_action``), applied to the netted sleeves:

    flat, net target ≠ 0                 -> ENTRY of |net target| in its direction, with the exit plan
                                            (bracket) of the sleeve contributing most (ties: the first
                                            sleeve configured)
    flat, targets that cancel            -> nothing ("netted to none")
    held, net view against the position  -> EXIT: reduce-only, the whole position
    held, views that cancel exactly while one is against the position -> EXIT (the net target is flat)
    held, otherwise                      -> HOLD (no scaling in or out, as with one strategy)
    no sleeve has a direction            -> nothing

The order carries the sleeve it is attributed to (the largest contributor) and every sleeve's target
(``OrderIntent.sleeve_targets``), so its decision record names them; the ``sizing`` record of the bar holds
each sleeve's proposal and the netting. One sleeve with weight 1 is exactly the single-strategy path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from tradebot.domain.instruments import ZERO, Instrument
from tradebot.domain.orders import OrderIntent, Side
from tradebot.domain.signals import Signal, SleeveSignals
from tradebot.sizing.intent_builder import Action, exit_intent

SizeFn = Callable[[Any], tuple[list[OrderIntent], Mapping[str, Any]]]  # EngineSizer.__call__


@dataclass(frozen=True, slots=True)
class _Request:
    """What a sizer reads (``adapter.SizingRequest``): the sleeve's signal from flat with its equity share."""

    signal: Signal
    instrument: Instrument
    position_qty: Decimal
    equity: Decimal
    now: datetime


@dataclass(frozen=True, slots=True)
class Proposal:
    sleeve: str
    weight: Decimal
    signal: Signal | None
    intent: OrderIntent | None  # the entry the sleeve would make from flat
    record: Mapping[str, Any]

    @property
    def target(self) -> Decimal:
        if self.intent is None:
            return ZERO
        return self.intent.quantity if self.intent.side is Side.BUY else -self.intent.quantity

    @property
    def view(self) -> int:
        """The sign of the sleeve's signal (0: no signal, or no direction)."""
        direction = self.signal.direction if self.signal is not None else 0.0
        return 1 if direction > 0.0 else -1 if direction < 0.0 else 0


class Netting:
    """Sizes each sleeve's signal with the sleeve's sizer and weight, and nets the targets. The weights are
    the configured ones unless the caller gives the current ones (the engine: the sleeve allocation's,
    risk/sleeve_allocation.py)."""

    def __init__(self, sizers: Mapping[tuple[str, str], SizeFn], weights: Mapping[str, Decimal]) -> None:
        self.sizers = sizers  # by (sleeve, symbol)
        self.weights = weights  # the configured (base) weights

    def propose(
        self,
        signals: SleeveSignals,
        instrument: Instrument,
        equity: Decimal,
        now: datetime,
        weights: Mapping[str, Decimal] | None = None,
    ) -> list[Proposal]:
        weights = self.weights if weights is None else weights
        proposals: list[Proposal] = []
        for each in signals.signals:
            weight = weights[each.sleeve]
            if each.signal is None:
                record = {"sleeve": each.sleeve, "action": "none"}
                proposals.append(Proposal(each.sleeve, weight, None, None, record))
                continue
            size = self.sizers[(each.sleeve, signals.symbol)]
            intents, sized = size(_Request(each.signal, instrument, ZERO, equity * weight, now))
            entry = next((i for i in intents if not i.reduce_only), None)
            record = {**sized, "sleeve": each.sleeve}
            proposals.append(Proposal(each.sleeve, weight, each.signal, entry, record))
        return proposals

    def __call__(
        self,
        signals: SleeveSignals,
        instrument: Instrument,
        position: Decimal,
        equity: Decimal,
        now: datetime,
        weights: Mapping[str, Decimal] | None = None,
    ) -> tuple[list[OrderIntent], dict[str, Any]]:
        return net(self.propose(signals, instrument, equity, now, weights), instrument, position)


def net(
    proposals: Sequence[Proposal], instrument: Instrument, position: Decimal
) -> tuple[list[OrderIntent], dict[str, Any]]:
    """The one order (or none) the sleeves' targets net to, and the record of how."""
    targets = {p.sleeve: p.target for p in proposals}
    pairs = tuple(targets.items())
    total = sum(targets.values(), ZERO)
    view = sum((p.weight * p.view for p in proposals), ZERO)
    if position == ZERO:
        action = Action.ENTRY if total != ZERO else Action.NONE
    elif view * position < ZERO or (view == ZERO and any(p.view * position < ZERO for p in proposals)):
        action = Action.EXIT
    else:
        action = Action.HOLD if any(p.view for p in proposals) else Action.NONE
    record: dict[str, Any] = {
        "netting": "sum of sleeve targets",
        "weights": {p.sleeve: str(p.weight) for p in proposals},  # each sleeve's share of equity, as used
        "targets": {sleeve: str(q) for sleeve, q in targets.items()},
        "net_target": str(total),
        "net_view": str(view),
        "position": str(position),
        "action": action.value,
        "proposals": [dict(p.record) for p in proposals],
    }
    if action is Action.ENTRY:
        lead = _largest(proposals, total)
        assert lead.intent is not None
        intent = replace(lead.intent, quantity=abs(total), sleeve=lead.sleeve, sleeve_targets=pairs)
        record.update(sleeve=lead.sleeve, intent_id=intent.intent_id, quantity=str(intent.quantity))
        return [intent], record
    if action is Action.EXIT:
        against = -position
        toward = _largest(proposals, against, by_view=True)
        assert toward.signal is not None
        intent = exit_intent(toward.signal, instrument, position)
        intent = replace(intent, sleeve=toward.sleeve, sleeve_targets=pairs)
        record.update(sleeve=intent.sleeve, intent_id=intent.intent_id, quantity=str(intent.quantity))
        return [intent], record
    if action is Action.NONE and any(targets.values()):
        record["action"] = "netted to none"
    return [], record


def _largest(proposals: Sequence[Proposal], toward: Decimal, *, by_view: bool = False) -> Proposal:
    """The sleeve adding most in the direction of ``toward``: by target, or (``by_view``) by weight among the
    sleeves whose signal points that way; the first configured on a tie."""
    if by_view:
        same = [p for p in proposals if p.view * toward > ZERO]
        return max(same, key=lambda p: p.weight)
    same = [p for p in proposals if p.target * toward > ZERO]
    return max(same, key=lambda p: abs(p.target))
