"""The process score: the share of decisions and closed trades that followed the process, per session day
and over the whole store, with its components.

A decision followed the process when every gate of the chain gave its verdict up to the one that ended it
(all of them for an approved intent), it was not an operator's, and its data were valid (the data validity
score, where the dvs gate scored it, was 1). A closed trade followed the process when its exit was a planned
one (target, stop, time stop or deadline, signal), not the operator's, and its loss is explained (its
attribution is not A9). ``score = followed / (decisions + trades)``; each component is the share of the
items it applies to that pass it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tradebot.analytics.attribution import Attribution
from tradebot.analytics.store_view import DecisionRow, StoreView
from tradebot.analytics.trades import Trade
from tradebot.domain.calendars import CalendarError, shared_calendars

PLANNED_EXITS = frozenset(("target", "stop", "flatten", "time_stop", "signal", "reversal"))
COMPONENTS = (
    "data_valid",
    "gates_evaluated",
    "no_operator_override",
    "exits_per_plan",
    "no_unexplained_loss",
)


@dataclass(slots=True)
class _Tally:
    decisions: int = 0
    trades: int = 0
    followed: int = 0
    passed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COMPONENTS, 0))
    applies: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COMPONENTS, 0))

    def check(self, component: str, ok: bool) -> bool:
        self.applies[component] += 1
        self.passed[component] += int(ok)
        return ok

    def as_dict(self) -> dict[str, Any]:
        items = self.decisions + self.trades
        return {
            "score": round(self.followed / items, 6) if items else None,
            "decisions": self.decisions,
            "trades": self.trades,
            "followed": self.followed,
            "components": {
                name: {
                    "share": round(self.passed[name] / self.applies[name], 6) if self.applies[name] else None,
                    "passed": self.passed[name],
                    "of": self.applies[name],
                }
                for name in COMPONENTS
            },
        }


def decision_followed(tally: _Tally, decision: DecisionRow, chain: Sequence[str]) -> bool:
    gates = decision.gates
    complete = (
        bool(gates)
        and tuple(chain[: len(gates)]) == gates
        and (decision.outcome == "BLOCKED" or len(gates) == len(chain))
        if chain
        else bool(gates)
    )
    checks = (
        tally.check("data_valid", decision.dvs is None or decision.dvs >= 1),
        tally.check("gates_evaluated", complete),
        tally.check("no_operator_override", decision.source != "operator"),
    )
    return all(checks)


def trade_followed(tally: _Tally, trade: Trade, attribution: Attribution) -> bool:
    checks = (
        tally.check("exits_per_plan", trade.exit_reason in PLANNED_EXITS),
        tally.check("no_operator_override", trade.exit_reason != "operator"),
        tally.check("no_unexplained_loss", attribution.code != "A9"),
    )
    return all(checks)


def session_day(view: StoreView, symbol: str, ts: datetime) -> date:
    """The instrument's exchange session day of ``ts`` (its UTC date without a known calendar)."""
    instrument = view.instruments.get(symbol)
    if instrument is not None:
        try:
            return shared_calendars().session_day(instrument.calendar, ts)
        except CalendarError:  # a calendar without that date: the UTC date
            pass
    return ts.date()


def process_score(
    view: StoreView, trades: Sequence[Trade], attributions: Sequence[Attribution]
) -> dict[str, Any]:
    """``{"run": {...}, "days": {"YYYY-MM-DD": {...}}}`` over the window's decisions and trades."""
    run = _Tally()
    days: dict[date, _Tally] = defaultdict(_Tally)
    for decision in view.decisions:
        day = days[session_day(view, decision.symbol, decision.ts)]
        for tally in (run, day):
            tally.decisions += 1
            tally.followed += int(decision_followed(tally, decision, view.chain))
    for trade, attribution in zip(trades, attributions, strict=True):
        day = days[session_day(view, trade.symbol, trade.exit_time)]
        for tally in (run, day):
            tally.trades += 1
            tally.followed += int(trade_followed(tally, trade, attribution))
    return {"run": run.as_dict(), "days": {d.isoformat(): days[d].as_dict() for d in sorted(days)}}
