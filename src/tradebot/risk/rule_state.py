"""A rule's own state, kept beside its check: a small reducer over the events the rule needs.

The risk tracker holds one of each (``risk.rule_states.rule_states``) and hands every event on to them: the
bars, the orders sent, the venue's answers (fills, rejects, cancels) and the decisions recorded, live and in
the same order when a restart reads the store back. So a rule's state is always derived from stored events,
and a restarted run sees what an uninterrupted one saw.

For one intent the tracker asks each state for its ``view``: a frozen value that goes into
``GateContext.views``; the rule's pure ``check(intent, ctx)`` reads it with ``ctx.view(TheViewType)``.
The hooks do nothing unless a state overrides them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from tradebot.domain.bars import Bar
from tradebot.domain.events import BrokerEvent
from tradebot.domain.orders import OrderIntent, OrderRequest


class RuleState:
    def on_bar(self, bar: Bar, day: date, now: datetime) -> None:
        """A bar of ``bar.symbol``; ``day`` is its session day on the instrument's exchange calendar."""

    def on_order_submitted(self, request: OrderRequest, intent: OrderIntent | None, now: datetime) -> None:
        """An order was sent (its write-ahead stored and its submit returned sent or unknown)."""

    def on_order_event(self, event: BrokerEvent, now: datetime) -> None:
        """A venue event that changed the order ledger: accepted, filled, rejected, canceled, expired."""

    def on_decision(self, record: Mapping[str, Any], now: datetime) -> None:
        """A decision record, as stored (``risk.decision_record``)."""

    def view(self, intent: OrderIntent, now: datetime) -> object | None:
        """The frozen value the rule's check reads for ``intent`` (None: this state has nothing to add)."""
        return None
