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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from tradebot.domain.bars import Bar
from tradebot.domain.events import BrokerEvent
from tradebot.domain.orders import OrderIntent, OrderRequest


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """A position closed (to flat, or through it): the tracker's count of it, handed to the rules' states.

    ``pnl`` is the realized PnL of its closing fills minus every fee paid since it opened (post-cost);
    ``notional`` the notional of the fills that opened it; ``sleeve`` the sleeve of the entry order that
    opened it ("": the single [strategy])."""

    symbol: str
    sleeve: str
    pnl: Decimal
    notional: Decimal
    closed_at: datetime

    @property
    def return_pct(self) -> Decimal:
        """Post-cost PnL as a fraction of the notional it put at risk (0 for a zero notional)."""
        return self.pnl / self.notional if self.notional else Decimal(0)


class RuleState:
    def on_bar(self, bar: Bar, day: date, now: datetime) -> None:
        """A bar of ``bar.symbol``; ``day`` is its session day on the instrument's exchange calendar."""

    def on_order_submitted(self, request: OrderRequest, intent: OrderIntent | None, now: datetime) -> None:
        """An order was sent (its write-ahead stored and its submit returned sent or unknown)."""

    def on_order_event(self, event: BrokerEvent, now: datetime) -> None:
        """A venue event that changed the order ledger: accepted, filled, rejected, canceled, expired."""

    def on_round_trip(self, trip: RoundTrip) -> None:
        """A round trip closed (derived by the tracker from the fills, after the fill's own hook)."""

    def on_decision(self, record: Mapping[str, Any], now: datetime) -> None:
        """A decision record, as stored (``risk.decision_record``)."""

    def view(self, intent: OrderIntent, now: datetime) -> object | None:
        """The frozen value the rule's check reads for ``intent`` (None: this state has nothing to add)."""
        return None


S = TypeVar("S", bound=RuleState)


def state_of(states: Iterable[RuleState], kind: type[S]) -> S:
    """The one state of type ``kind`` among a tracker's (every tracker has one of each: ``rule_states``)."""
    for state in states:
        if isinstance(state, kind):
            return state
    raise LookupError(f"no {kind.__name__} among the rules' states")
