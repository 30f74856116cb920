"""Attribution while the run goes: the moment a fill closes a trade, its attribution (A0–A9) is decided by
the same rules and evidence code ``tradebot report`` uses, from the events the run has stored, and written as
a ``trade_attribution`` event in the same commit unit as that fill (``pipeline.tca_recorder``).

The watch reads the TCA watch's bounded store view (the recent orders and decisions), follows each symbol's
round trip fill by fill (``trades.apply_fill``, as the report's trade list does) and keeps, per open trade,
only what happened while it was open: the orders of the symbol sent, the data problems, the halts. A restart
feeds it the stored events again (``resume.load_resume_state``) and discards what it says: each stored
closing fill already has its attribution beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tradebot.analytics.attribution import Attribution, AttributionRules, attribute
from tradebot.analytics.attribution_evidence import WhileOpen, halt_text, issue_text, trade_evidence
from tradebot.analytics.store_view import DataIssue, StateMove, StoreView
from tradebot.analytics.tca import role_of
from tradebot.analytics.trades import OpenTrade, Trade, apply_fill, finish_trade

KIND = "trade_attribution"
# a stale-feed alert is not evidence: when it fires depends on the wall clock and on restarts; a refused bar
# (stored once, with its line) and the DVS an entry was decided on (missing and refused bars) are
DATA_ISSUE_KINDS = frozenset({"bar_refused"})


@dataclass(slots=True)
class _Journal:
    """One symbol's open trade: the client order ids sent and what went wrong while it was open."""

    orders: list[str] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)
    halts: list[str] = field(default_factory=list)


class AttributionWatch:
    def __init__(self, rules: AttributionRules) -> None:
        self.rules = rules
        self.open: dict[str, OpenTrade] = {}
        self.journals: dict[str, _Journal] = {}

    def on_event(
        self,
        view: StoreView,
        kind: str,
        ts: datetime,
        symbol: str | None,
        cid: str | None,
        body: Mapping[str, Any],
        seq: int,
    ) -> list[tuple[Trade, Attribution]]:
        """Read one event that ``view`` has already applied; the trades it closed, attributed."""
        if kind == "order_filled":
            return self._fill(view, cid or str(body.get("client_order_id")), seq)
        if kind == "order_submit":
            journal = self.journals.get(str(body.get("symbol")))
            if journal is not None:
                journal.orders.append(str(body["client_order_id"]))
        elif kind in DATA_ISSUE_KINDS:
            name = str(symbol or body.get("symbol") or "")
            journal = self.journals.get(name)
            if journal is not None:
                journal.issues.append(issue_text(DataIssue(ts, name, str(body.get("code", kind)))))
        elif kind == "trading_state" and body.get("to") not in (None, "ACTIVE"):
            move = StateMove(ts, str(body["to"]), str(body.get("code", "")), {})
            for journal in self.journals.values():
                journal.halts.append(halt_text(move))
        return []

    def _fill(self, view: StoreView, cid: str, seq: int) -> list[tuple[Trade, Attribution]]:
        order = view.orders.get(cid)
        if order is None or not order.fills or order.fills[-1].seq != seq:
            return []  # not applied (the same execution told twice)
        fill = order.fills[-1]
        closed = apply_fill(self.open, fill, role_of(view, order))
        if closed is None:
            self.journals.setdefault(fill.symbol, _Journal())
            return []
        journal = self.journals.pop(fill.symbol, _Journal())
        if fill.symbol in self.open:  # reversed: the rest opened the next trade
            self.journals[fill.symbol] = _Journal()
        trade = finish_trade(view, fill.symbol, closed)
        ids = dict.fromkeys((trade.entry_order, f"{trade.entry_order}-sl", f"{trade.entry_order}-tp"))
        ids.update(dict.fromkeys(journal.orders))
        ids[trade.exit_order] = None
        orders = [view.orders[i] for i in ids if i in view.orders]
        during = WhileOpen(orders, journal.issues, journal.halts)
        return [(trade, attribute(trade_evidence(view, trade, during, self.rules.late_fill_ms), self.rules))]
