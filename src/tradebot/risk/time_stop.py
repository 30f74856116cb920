"""Time stops: a position opened by an entry whose exit plan carries ``time_stop_s`` (the AI sizer's harvest
policy: 15 min SCALPER, 60 min SWING, 4 h TREND_RUNNER by default) is closed at market once the clock
passes its first fill's time + ``time_stop_s``.

The deadline is derived from what the store holds: an entry's exit plan is in its decision record, its
write-ahead names its client order id, and its first fill that opened the position carries the fill time.
So a restart, fed the stored events in order (pipeline/resume.py), has the same deadlines, and a time-stop
exit written ahead before a kill is in the rebuilt ledger: it is not sent twice.

At each bar the pipeline asks ``due`` (after the session's flatten, before the signal). A due position gets
a reduce-only MARKET intent of source TIME_STOP (role ``time_stop`` in reports) whose decision record
carries ``extra.code = TIME_STOP`` with the deadline, unless an exit of its own (not a bracket leg) is
already working for the symbol. Exits are never blocked by entry rules; the trading-state gate lets a time
stop through even while halted. A time stop refused or rejected is tried again at the next bar.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tradebot.domain import reasons
from tradebot.domain.events import OrderFilled
from tradebot.domain.instruments import ZERO, Instrument
from tradebot.domain.orders import IntentSource, OrderIntent, OrderRequest
from tradebot.domain.recent import RETAINED
from tradebot.oms.ledger import LedgerEntry
from tradebot.risk.flatten import flatten_intents

TAG = "time-stop"  # intent ids: <symbol>-time-stop-<bar time>


@dataclass(frozen=True, slots=True)
class TimeStop:
    """The time stop of an open position: opened by ``entry_client_order_id``'s fill at ``opened_at``."""

    symbol: str
    entry_client_order_id: str
    opened_at: datetime
    time_stop_s: int

    @property
    def deadline(self) -> datetime:
        return self.opened_at + timedelta(seconds=self.time_stop_s)

    def reason(self, now: datetime) -> dict[str, Any]:
        """What the exit's decision record carries (``extra``)."""
        return {
            "code": reasons.TIME_STOP,
            "entry_client_order_id": self.entry_client_order_id,
            "entry_fill_ts": self.opened_at.isoformat(),
            "time_stop_s": self.time_stop_s,
            "deadline": self.deadline.isoformat(),
            "at": now.isoformat(),
        }


class TimeStops:
    """Per symbol, the time stop of the open position (if its opening entry had one)."""

    def __init__(self) -> None:
        self._armed: dict[str, int] = {}  # entry client order id -> time_stop_s, until it opens a position
        self._open: dict[str, TimeStop] = {}

    def on_submit(self, request: OrderRequest, intent: OrderIntent | None) -> None:
        """An order written ahead, with the intent it came from: an entry with a time stop is armed."""
        plan = intent.exit_plan if intent is not None else None
        if request.reduce_only or plan is None or plan.time_stop_s is None:
            return
        self._armed[request.client_order_id] = plan.time_stop_s
        while len(self._armed) > RETAINED:  # entries that never filled: the oldest go
            del self._armed[next(iter(self._armed))]

    def on_fill(self, fill: OrderFilled, before: Decimal, after: Decimal) -> None:
        """A fill moved the symbol's position from ``before`` to ``after`` (signed)."""
        symbol = fill.symbol
        if after == ZERO:
            self._open.pop(symbol, None)
        elif before == ZERO or (before > ZERO) != (after > ZERO):  # this fill opened the position
            time_stop_s = self._armed.pop(fill.client_order_id, None)
            if time_stop_s is None:
                self._open.pop(symbol, None)
            else:
                self._open[symbol] = TimeStop(symbol, fill.client_order_id, fill.ts, time_stop_s)

    def of(self, symbol: str) -> TimeStop | None:
        return self._open.get(symbol)

    def due(
        self,
        now: datetime,
        instrument: Instrument,
        position_qty: Decimal,
        last_price: Decimal,
        open_orders: Iterable[LedgerEntry],
    ) -> tuple[TimeStop, OrderIntent] | None:
        """The time stop whose deadline ``now`` has reached, and the exit closing the position; None when
        none is due or an exit of the position's own is already working (``open_orders``: the ledger's
        open orders in the symbol)."""
        stop = self._open.get(instrument.symbol)
        if stop is None or position_qty == ZERO or now < stop.deadline:
            return None
        if any(_own_exit(entry) for entry in open_orders):
            return None
        intents = flatten_intents(
            now,
            instrument,
            position_qty,
            last_price,
            tag=TAG,
            source=IntentSource.TIME_STOP,
            regime="time_stop",
        )
        return (stop, intents[0]) if intents else None


def _own_exit(entry: LedgerEntry) -> bool:
    """A working reduce-only order that is not a bracket leg (a signal exit, a flatten, a time stop)."""
    if not entry.reduce_only or entry.status.is_terminal:
        return False
    parent = entry.request.parent_client_order_id if entry.request is not None else None
    return parent is None and not entry.client_order_id.endswith(("-sl", "-tp"))
