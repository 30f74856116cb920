"""TCA while the run goes: each order's record written to the store when it fills, when it ends, and once
as *pending* when it has not filled ``pending_after`` after its submit.

The watch reads the same events the store receives, through the same reader code ``tradebot report`` uses
(``store_view``), and computes each record with the same function (``tca.order_record``), so a record written
during the run equals the one the report recomputes from the store with the same quotes and settings.

When a record is due (``order_tca`` events, keyed by client order id; the latest one of an order is its
record):

- after every fill of the order (a partial fill gives a ``PARTIALLY_FILLED`` record, updated by the next);
- when it ends without a fill (rejected, canceled, expired, abandoned at a restart): the counts of the daily
  report come from these;
- at the first bar at or after ``submitted_at + pending_after`` while it is still unfilled and working: the
  record has ``pending`` true, no fill figures, and the quote at arrival when one is known; the fill's record
  replaces it.

Memory is bounded: the last ``KEPT_BARS`` bars per symbol (the proxy spread reads two; the arrival fallback
the last close), and of the finished orders and decisions only the ``RETAINED`` most recent (a bracket leg
needs its parent's levels until it ends).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from tradebot.analytics.store_view import KINDS, StoreView, apply_event
from tradebot.analytics.tca import OrderTca, TcaConfig, order_record, order_status
from tradebot.domain.instruments import Instrument
from tradebot.domain.recent import RETAINED

KEPT_BARS = 4
TCA_KIND = "order_tca"
# what a record reads (not the data problems and attributions the trade list reads)
_WATCHED = frozenset(KINDS) - {"bar_refused", "trade_attribution"}
_ORDER_KINDS = _WATCHED - {"run_start", "run_manifest", "bar", "decision", "trading_state", TCA_KIND}
FINAL = frozenset({"FILLED", "REJECTED", "CANCELED", "PARTIALLY_FILLED_CANCELED", "EXPIRED", "ABANDONED"})


class TcaWatch:
    def __init__(
        self,
        config: TcaConfig,
        instruments: Mapping[str, Instrument],
        *,
        pending_after: timedelta,
        profile: str = "",
    ) -> None:
        self.config = config
        self.pending_after = pending_after
        self.view = StoreView(None, None, instruments=dict(instruments), profile=profile)
        self._written: dict[str, tuple[int, str]] = {}  # cid -> (fills, status) of its latest record
        self._finished: dict[str, None] = {}  # finished orders, oldest first
        self._unfilled: dict[str, None] = {}  # working orders with no fill and no record yet

    def on_event(
        self,
        kind: str,
        ts: datetime,
        symbol: str | None,
        cid: str | None,
        body: Mapping[str, Any],
        seq: int = 0,
    ) -> list[OrderTca]:
        """Apply one stored (or about to be stored) event; the records it makes due."""
        if kind == TCA_KIND:
            self._written[str(body["client_order_id"])] = (int(body["fills"]), str(body["status"]))
            return []
        if kind not in _WATCHED:
            return []
        view = self.view
        apply_event(view, seq, kind, ts, symbol, cid, body)
        view.decisions.clear()  # the watch keeps decisions by intent only
        view.fills.clear()
        view.state_moves.clear()
        if kind == "bar":
            bars = view.bars[symbol or str(body.get("symbol", ""))]
            if len(bars) > 2 * KEPT_BARS:
                del bars[:-KEPT_BARS]
            return self._pending(ts)
        if kind == "decision":
            if len(view.decisions_by_intent) > 2 * RETAINED:
                del view.decisions_by_intent[next(iter(view.decisions_by_intent))]
            return []
        if kind not in _ORDER_KINDS:
            return []
        cid = cid or body.get("client_order_id")
        order = view.orders.get(cid) if cid else None
        if order is None:
            return []
        if kind == "order_submit":
            self._unfilled[order.client_order_id] = None
            return []
        cid, fills, status = order.client_order_id, len(order.fills), order_status(order)
        if fills:
            self._unfilled.pop(cid, None)
        if self._written.get(cid) == (fills, status) or (not fills and status not in FINAL):
            record = None  # told already; or accepted, a cancel request: nothing to tell yet
        else:
            self._written[cid] = (fills, status)
            record = self._record(cid)
        if status in FINAL:
            self._finish(cid)
        return [] if record is None else [record]

    def _record(self, cid: str) -> OrderTca:
        view = self.view
        order = view.orders[cid]
        bars = view.bars.get(order.symbol, [])
        return order_record(view, self.config, order, bars, [b.close_ts for b in bars])

    def _pending(self, now: datetime) -> list[OrderTca]:
        due: list[OrderTca] = []
        for cid in list(self._unfilled):
            order = self.view.orders.get(cid)
            if order is None or order.submitted_at is None:
                self._unfilled.pop(cid, None)
                continue
            if now - order.submitted_at < self.pending_after:
                continue
            self._unfilled.pop(cid)
            if cid in self._written:
                continue
            record = replace(self._record(cid), pending=True)
            self._written[cid] = (record.fills, record.status)
            due.append(record)
        return due

    def _finish(self, cid: str) -> None:
        self._unfilled.pop(cid, None)
        finished = self._finished
        finished[cid] = None
        if len(finished) <= RETAINED:
            return
        old = next(iter(finished))
        del finished[old]
        self.view.orders.pop(old, None)
        self.view.brackets.pop(old, None)
        self._written.pop(old, None)
