"""Flattening: when positions must go (the session's flatten deadline), and the reduce-only intents that
take them out. The pipeline calls a ``SessionFlattener`` each bar (before the signal); its intents go
through the gate chain like any other (as exits: sanity checks only)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from tradebot.domain.calendars import Calendars, shared_calendars
from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import IntentSource, OrderIntent, OrderType, Side
from tradebot.risk.constitution import Constitution
from tradebot.risk.rules import SessionRules
from tradebot.risk.session_times import flatten_due as _flatten_due
from tradebot.risk.tracker import RiskTracker

ZERO = Decimal(0)


def flatten_due(
    now: datetime, instrument: Instrument, session_cfg: SessionRules, calendars: Calendars | None = None
) -> bool:
    """True when the instrument's open position must be flattened now (see ``session_times``)."""
    return _flatten_due(now, instrument, session_cfg, calendars)


def flatten_intents(
    now: datetime,
    instrument: Instrument,
    position_qty: Decimal,
    last_price: Decimal,
    *,
    pending_exit_qty: Decimal = ZERO,
    tag: str = "flatten",
    source: IntentSource = IntentSource.FLATTEN,
    regime: str = "flatten",
) -> list[OrderIntent]:
    """A reduce-only market intent (source FLATTEN) for what working exits do not already cover.

    The intent id is deterministic: ``<symbol>-<tag>-<now as %Y%m%dT%H%M%S>``.
    """
    remaining = abs(position_qty) - abs(pending_exit_qty)
    if position_qty == ZERO or remaining <= ZERO:
        return []
    side = Side.SELL if position_qty > ZERO else Side.BUY
    return [
        OrderIntent(
            intent_id=f"{instrument.symbol}-{tag}-{now.strftime('%Y%m%dT%H%M%S')}",
            symbol=instrument.symbol,
            side=side,
            quantity=remaining,
            ts=now,
            reference_price=last_price,
            order_type=OrderType.MARKET,
            reduce_only=True,
            confidence=1.0,
            regime=regime,
            source=source,
            bar_ts=now,
        )
    ]


class SessionFlattener:
    """``(now, instrument, position_qty, last_price) -> intents``: the pipeline's Flattener."""

    def __init__(
        self,
        constitution: Constitution,
        calendars: Calendars | None = None,
        tracker: RiskTracker | None = None,
    ) -> None:
        self.constitution = constitution
        self.calendars = calendars or shared_calendars()
        self.tracker = tracker

    def __call__(
        self, now: datetime, instrument: Instrument, position_qty: Decimal, last_price: Decimal
    ) -> Sequence[OrderIntent]:
        if position_qty == ZERO:
            return []
        session = self.constitution.rules_for(instrument.symbol).session
        if not flatten_due(now, instrument, session, self.calendars):
            return []
        pending = self.tracker.working_exit_qty(instrument.symbol) if self.tracker else ZERO
        return flatten_intents(now, instrument, position_qty, last_price, pending_exit_qty=pending)
