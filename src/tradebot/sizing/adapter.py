"""Plugging a Sizer into the pipeline's decision engine.

The engine calls ``sizer(inp)`` with an object carrying ``signal, instrument, position_qty, equity, now``
and wants ``(intents, record)`` back. ``EngineSizer`` does that translation, adding what the engine does
not know per call (whether the venue has leverage, the position cap).

Fast path: most bars bring a signal that leaves the position as it is (HOLD). When the sizer offers
``idle_record`` (``IdleRecordSizer``: the fixed-fraction and AI sizers do), that record is returned with no
intents before any context is built; it is the record ``size`` would have produced.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import OrderIntent
from tradebot.domain.signals import Signal
from tradebot.sizing.context import IdleRecordSizer, Sizer, SizingContext


class SizingRequest(Protocol):
    @property
    def signal(self) -> Signal: ...
    @property
    def instrument(self) -> Instrument: ...
    @property
    def position_qty(self) -> Decimal: ...
    @property
    def equity(self) -> Decimal: ...
    @property
    def now(self) -> datetime: ...


class EngineSizer:
    def __init__(self, sizer: Sizer, *, has_leverage: bool = False, max_qty: Decimal | None = None) -> None:
        self.sizer = sizer
        self.has_leverage = has_leverage
        self.max_qty = max_qty

    @property
    def sizer(self) -> Sizer:
        return self._sizer

    @sizer.setter
    def sizer(self, sizer: Sizer) -> None:
        self._sizer = sizer
        self._idle_record = sizer.idle_record if isinstance(sizer, IdleRecordSizer) else None

    def __call__(self, inp: SizingRequest) -> tuple[list[OrderIntent], Mapping[str, Any]]:
        idle_record = self._idle_record
        if idle_record is not None:
            record = idle_record(inp.signal, inp.position_qty)
            if record is not None:
                return [], record
        ctx = SizingContext(
            equity=inp.equity,
            instrument=inp.instrument,
            position_qty=inp.position_qty,
            now=inp.now,
            has_leverage=self.has_leverage,
            max_qty=self.max_qty,
        )
        result = self._sizer.size(inp.signal, ctx)
        return ([result.intent] if result.intent is not None else []), result.record
