"""Quarantine (entries): an instrument, or a sleeve, that misbehaves is taken out of new entries for a while
and let back in automatically (SYMBOL_QUARANTINED, SLEEVE_QUARANTINED).

Triggers, each over the instrument's (or the sleeve's) own recent events, with the instrument's
``quarantine`` rules of the constitution:

- reject rate: of its last ``rate_window`` (20) orders the venue answered, the share rejected is above
  ``reject_rate_trigger`` (15 %), once at least ``rate_min_events`` (5) were answered;
- cost-block rate: of its last ``rate_window`` entries that got as far as the execution-cost controls
  (approved, clamped, or blocked by one of ``cost_block_codes``: the participation cap, the THIN liquidity
  cap, the execution quality floor), the share those blocked is above ``cost_block_rate_trigger`` (60 %);
- expectancy: the mean post-cost return of its last ``expectancy_window_trades`` (20) round trips is below
  ``expectancy_floor_pct`` (−0.15 %), once at least ``min_trades`` (12) closed.

A quarantine starts at the event that set it off and lasts ``duration_bars`` (6) bars of that instrument, or,
when ``duration_days`` is set, the rest of that instrument's session day and that many session days after it
(its calendar's days, counted on its bars: a weekend is not a day); it is released at the first bar past its
end. Its evidence is spent: the
key's windows start empty again, so the same old events cannot set it off again the moment it ends. A
sleeve's trades and orders are those attributed to it (the entry that opened a round trip; the lead sleeve of
a netted order); the single [strategy] (sleeve "") has no sleeve quarantine: its instrument's is the same
thing. ``applies_to`` chooses symbol, sleeve or both.

State: ``Quarantine``, a rule state fed the orders sent, the venue's answers, the decision records and the
round trips (live, and from the store on a restart). Every start and release is a change the engine stores as
a ``quarantine`` event (its trigger, the metrics that set it off, its start and end); a restart rebuilds the
same state from the stored events and stores only a change the stopped run had not stored yet.
The gate blocks an entry whose symbol or sleeve is quarantined now; exits are never held back.

Not a trigger here: dependency breakers. They are per dependency (the broker's submit, the data feed), not per
instrument or sleeve, and their openings are not stored events, so a restart could not count them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.domain.events import BrokerEvent, OrderAccepted, OrderFilled, OrderRejected
from tradebot.domain.orders import OrderIntent, OrderRequest
from tradebot.risk.constitution import Constitution
from tradebot.risk.context import GateContext
from tradebot.risk.measures import RulesGate
from tradebot.risk.rule_state import RoundTrip, RuleState
from tradebot.risk.rules import QuarantineRules
from tradebot.risk.verdict import Verdict

Key = tuple[str, str]  # ("symbol", "MES") or ("sleeve", "fast")
KIND = "quarantine"  # the stored event of a start or a release


@dataclass(frozen=True, slots=True)
class Quarantined:
    """One quarantine: what set it off, with the numbers, from when, and until when."""

    scope: str  # "symbol" | "sleeve"
    name: str
    trigger: str  # "reject_rate" | "cost_block_rate" | "expectancy"
    metrics: Mapping[str, str]
    since: datetime
    since_day: date | None  # the instrument's session day when it started (None: no bar of it yet)
    symbol: str  # the instrument whose bars count its duration
    until_bar: int | None  # that instrument's bar count it holds through (duration in bars)
    until_day: int | None  # ... or its session-day count it holds through (duration in days)

    def body(self, event: str, at: datetime) -> dict[str, Any]:
        """The stored ``quarantine`` event: ``event`` is "start" or "release"."""
        return {
            "event": event,
            "code": reasons.SYMBOL_QUARANTINED if self.scope == "symbol" else reasons.SLEEVE_QUARANTINED,
            "scope": self.scope,
            "name": self.name,
            "trigger": self.trigger,
            "metrics": dict(self.metrics),
            "since": self.since.isoformat(),
            "since_day": self.since_day.isoformat() if self.since_day is not None else None,
            "until_bar": self.until_bar,
            "until_day": self.until_day,
            "symbol": self.symbol,
            "at": at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class QuarantineView:
    """For one intent: its symbol's and its sleeve's quarantine, if any."""

    symbol: Quarantined | None = None
    sleeve: Quarantined | None = None


@dataclass(slots=True)
class _Evidence:
    answers: deque[int] = field(default_factory=deque)  # 1 rejected, 0 accepted
    judged: deque[int] = field(default_factory=deque)  # 1 blocked as too costly, 0 let through
    returns: deque[Decimal] = field(default_factory=deque)


class Quarantine(RuleState):
    def __init__(self, constitution: Constitution | None) -> None:
        self.constitution = constitution
        self._orders: dict[str, tuple[str, str]] = {}  # client order id -> (symbol, sleeve), until answered
        self._evidence: dict[Key, _Evidence] = {}
        self._active: dict[Key, Quarantined] = {}
        self._bars: dict[str, int] = {}  # symbol -> its bars seen
        self._days: dict[str, tuple[date, int]] = {}  # symbol -> (its last session day, session days seen)
        self.changes: list[dict[str, Any]] = []  # starts and releases not stored yet (the engine stores them)

    # --- the rules -----------------------------------------------------------------------------------
    def _rules(self, symbol: str) -> QuarantineRules | None:
        if self.constitution is None:
            return None
        try:
            rules = self.constitution.rules_for(symbol).quarantine
        except KeyError:
            return None
        return rules if rules.enabled else None

    def _keys(self, symbol: str, sleeve: str, rules: QuarantineRules) -> list[Key]:
        keys: list[Key] = []
        if rules.applies_to in ("symbol", "both"):
            keys.append(("symbol", symbol))
        if sleeve and rules.applies_to in ("sleeve", "both"):
            keys.append(("sleeve", sleeve))
        return keys

    def _evidence_of(self, key: Key) -> _Evidence:
        evidence = self._evidence.get(key)
        if evidence is None:
            evidence = self._evidence[key] = _Evidence()
        return evidence

    # --- events ----------------------------------------------------------------------------------------
    def on_bar(self, bar: Bar, day: date, now: datetime) -> None:
        count = self._bars[bar.symbol] = self._bars.get(bar.symbol, 0) + 1
        last = self._days.get(bar.symbol)
        days = 1 if last is None else last[1] + (day != last[0])
        self._days[bar.symbol] = (day, days)
        for key, held in list(self._active.items()):
            if held.symbol != bar.symbol:
                continue
            if (held.until_bar is not None and count > held.until_bar) or (
                held.until_day is not None and days > held.until_day
            ):
                del self._active[key]
                self.changes.append(held.body("release", now))

    def on_order_submitted(self, request: OrderRequest, intent: OrderIntent | None, now: datetime) -> None:
        if not request.reduce_only:
            self._orders[request.client_order_id] = (request.symbol, intent.sleeve if intent else "")

    def on_order_event(self, event: BrokerEvent, now: datetime) -> None:
        if not isinstance(event, OrderAccepted | OrderFilled | OrderRejected):
            return
        order = self._orders.pop(event.client_order_id, None)
        if order is None:
            return  # an exit, or an order already answered
        symbol, sleeve = order
        rules = self._rules(symbol)
        if rules is None or rules.reject_rate_trigger is None:
            return
        for key in self._keys(symbol, sleeve, rules):
            answers = self._evidence_of(key).answers
            answers.append(1 if isinstance(event, OrderRejected) else 0)
            while len(answers) > rules.rate_window:
                answers.popleft()
            if len(answers) >= rules.rate_min_events:
                rate = Decimal(sum(answers)) / len(answers)
                if rate > rules.reject_rate_trigger:
                    metrics = {"reject_rate": str(rate), "orders": str(len(answers))}
                    self._start(key, "reject_rate", metrics, symbol, rules, now)

    def on_decision(self, record: Mapping[str, Any], now: datetime) -> None:
        intent = record.get("intent") or {}
        if intent.get("reduce_only"):
            return
        code = record.get("code")
        blocked = record.get("outcome") == "BLOCKED"
        symbol, sleeve = str(intent.get("symbol", "")), str(intent.get("sleeve") or "")
        rules = self._rules(symbol)
        if rules is None or rules.cost_block_rate_trigger is None:
            return
        if blocked and code not in rules.cost_block_codes:
            return  # stopped before the cost controls, or for another reason: not evidence of cost
        for key in self._keys(symbol, sleeve, rules):
            judged = self._evidence_of(key).judged
            judged.append(1 if blocked else 0)
            while len(judged) > rules.rate_window:
                judged.popleft()
            if len(judged) >= rules.rate_min_events:
                rate = Decimal(sum(judged)) / len(judged)
                if rate > rules.cost_block_rate_trigger:
                    metrics = {"cost_block_rate": str(rate), "entries": str(len(judged))}
                    self._start(key, "cost_block_rate", metrics, symbol, rules, now)

    def on_round_trip(self, trip: RoundTrip) -> None:
        rules = self._rules(trip.symbol)
        if rules is None or rules.expectancy_floor_pct is None:
            return
        for key in self._keys(trip.symbol, trip.sleeve, rules):
            returns = self._evidence_of(key).returns
            returns.append(trip.return_pct)
            while len(returns) > rules.expectancy_window_trades:
                returns.popleft()
            if len(returns) >= rules.min_trades:
                expectancy = sum(returns, Decimal(0)) / len(returns)
                if expectancy < rules.expectancy_floor_pct:
                    metrics = {"expectancy_pct": str(expectancy), "trades": str(len(returns))}
                    self._start(key, "expectancy", metrics, trip.symbol, rules, trip.closed_at)

    def _start(
        self,
        key: Key,
        trigger: str,
        metrics: dict[str, str],
        symbol: str,
        rules: QuarantineRules,
        now: datetime,
    ) -> None:
        self._evidence[key] = _Evidence()  # its evidence is spent
        if key in self._active:
            return
        duration_days = rules.duration_days
        since_day, days = self._days.get(symbol, (None, 0))
        held = Quarantined(
            scope=key[0],
            name=key[1],
            trigger=trigger,
            metrics=metrics,
            since=now,
            since_day=since_day,
            symbol=symbol,
            until_bar=None if duration_days is not None else self._bars.get(symbol, 0) + rules.duration_bars,
            until_day=days + duration_days if duration_days is not None else None,
        )
        self._active[key] = held
        self.changes.append(held.body("start", now))

    # --- the stored changes --------------------------------------------------------------------------
    def on_stored_change(self, body: Mapping[str, Any]) -> None:
        """A ``quarantine`` event read back from the store: that change needs no storing again."""
        for n, change in enumerate(self.changes):
            if all(change[k] == body.get(k) for k in ("event", "scope", "name", "at")):
                del self.changes[n]
                return

    def take_changes(self) -> list[dict[str, Any]]:
        changes, self.changes = self.changes, []
        return changes

    def view(self, intent: OrderIntent, now: datetime) -> QuarantineView:
        return QuarantineView(
            self._active.get(("symbol", intent.symbol)),
            self._active.get(("sleeve", intent.sleeve)) if intent.sleeve else None,
        )


class QuarantineGate(RulesGate):
    name = "quarantine"
    applies_to_exits = False

    def __init__(self, constitution: Constitution) -> None:
        super().__init__(constitution)

    def check(self, intent: OrderIntent, ctx: GateContext) -> Verdict:
        view = ctx.view(QuarantineView)
        for held, code in (
            (view.symbol, reasons.SYMBOL_QUARANTINED),
            (view.sleeve, reasons.SLEEVE_QUARANTINED),
        ):
            if held is not None:
                return Verdict.blocked(
                    self.name,
                    code,
                    name=held.name,
                    trigger=held.trigger,
                    metrics=dict(held.metrics),
                    since=held.since.isoformat(),
                    until_bar=held.until_bar,
                    until_day=held.until_day,
                )
        return Verdict.passed(self.name)
