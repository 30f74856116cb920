"""Startup leftovers: venue orders and positions this run cannot explain, handled by policy.

Runs after the pipeline's own reconciliation (``pipeline.resume``), which settles every order the
ledger knows. What is left is what the ledger never knew: open orders with client order ids we did not
write (placed by hand, by another tool, or by a run whose store was lost), and venue positions that
differ from the positions our own fills explain. ``policy`` (``session.leftovers``) decides:

- ``cancel``: cancel every unknown open order and confirm each is gone (within ``cancel_timeout``);
  an unexplained position cannot be canceled, so it still refuses the start.
- ``adopt``: keep them; the report lists each order and position for the caller to take into its
  ledger and portfolio (``Ledger.adopt(snapshot)``), so they are managed (and flattened) like ours.
  Only a position where our fills explain nothing is adoptable: one that contradicts ours (we hold 2,
  the venue 1) is a reconciliation mismatch and refuses the start under every policy.
- ``refuse``: any leftover refuses the start.

Refusing raises ``ReconciliationFailed`` (exit RECONCILIATION_FAILED) carrying the report; so does a
broker failure while looking. The result is a ``StartupCleanupReport`` (reason code STARTUP_CLEANUP),
JSON-able through ``as_dict()`` for the event store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import anyio

from tradebot.brokers.protocol import Broker
from tradebot.domain import reasons
from tradebot.domain.errors import BrokerError
from tradebot.domain.events import OrderSnapshot, PositionSnapshot
from tradebot.session.config import LeftoversPolicy
from tradebot.session.errors import ReconciliationFailed

ZERO = Decimal(0)
STARTUP_CLEANUP_KIND = "startup_cleanup"  # the event kind to record ``report.as_dict()`` under
_BRACKET_LEGS = ("sl", "tp")
Sleeper = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PositionGap:
    """A venue position our fills do not explain: ``venue - ours`` is ``unexplained``."""

    symbol: str
    venue: Decimal
    ours: Decimal

    @property
    def unexplained(self) -> Decimal:
        return self.venue - self.ours


@dataclass(slots=True)
class StartupCleanupReport:
    policy: LeftoversPolicy
    at: datetime
    code: str = reasons.STARTUP_CLEANUP
    unknown_orders: list[OrderSnapshot] = field(default_factory=list)
    position_gaps: list[PositionGap] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)
    adopted_orders: list[OrderSnapshot] = field(default_factory=list)
    adopted_positions: list[PositionSnapshot] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # why the start is refused (empty: it may trade)

    @property
    def clean(self) -> bool:
        """Nothing unexpected was found at the venue."""
        return not self.unknown_orders and not self.position_gaps

    @property
    def ok(self) -> bool:
        return not self.refused

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "policy": self.policy,
            "at": self.at.isoformat(),
            "clean": self.clean,
            "ok": self.ok,
            "unknown_orders": [_jsonable(asdict(o)) for o in self.unknown_orders],
            "position_gaps": [
                {"symbol": g.symbol, "venue": str(g.venue), "ours": str(g.ours),
                 "unexplained": str(g.unexplained)} for g in self.position_gaps
            ],
            "canceled": list(self.canceled),
            "adopted_orders": [o.client_order_id for o in self.adopted_orders],
            "adopted_positions": [_jsonable(asdict(p)) for p in self.adopted_positions],
            "refused": list(self.refused),
        }


def is_known(snapshot: OrderSnapshot, known: Collection[str]) -> bool:
    """Ours: its id is in the ledger, or it is a bracket leg (``<parent>-sl|tp``) of an order that is."""
    cid = snapshot.client_order_id
    if cid in known:
        return True
    if snapshot.parent_client_order_id is not None and snapshot.parent_client_order_id in known:
        return True
    parent, _, leg = cid.rpartition("-")
    return leg in _BRACKET_LEGS and parent in known


async def startup_cleanup(
    broker: Broker,
    known_client_order_ids: Collection[str],
    our_positions: Mapping[str, Decimal],
    policy: LeftoversPolicy,
    *,
    now: datetime,
    cancel_timeout: timedelta = timedelta(seconds=30),
    sleep: Sleeper = anyio.sleep,
    poll_s: float = 0.5,
) -> StartupCleanupReport:
    """Find venue leftovers and apply ``policy``; raise ``ReconciliationFailed`` if the run must not trade.

    ``known_client_order_ids``: every client order id in the ledger (after the pipeline's reconciliation).
    ``our_positions``: signed quantity per symbol that our recorded fills explain (zero may be omitted).
    """
    if policy not in ("cancel", "adopt", "refuse"):
        raise ValueError(f"session.leftovers must be cancel, adopt or refuse, not {policy!r}")
    report = StartupCleanupReport(policy=policy, at=now)
    try:
        venue_orders = await broker.open_orders()
        report.unknown_orders = [o for o in venue_orders if not is_known(o, known_client_order_ids)]
        if report.unknown_orders and policy == "cancel":
            await _cancel_all_of(broker, report, cancel_timeout, sleep, poll_s)
        venue_positions = await broker.positions()
    except BrokerError as exc:
        report.refused.append(f"broker failed during startup reconciliation: {exc} ({exc.error_class.code})")
        raise ReconciliationFailed(_message(report), report=report.as_dict()) from exc
    report.position_gaps = _gaps(venue_positions, our_positions)
    # a venue position where our fills explain none can be adopted; one that contradicts ours never can
    adoptable = {g.symbol for g in report.position_gaps if g.ours == ZERO} if policy == "adopt" else set()
    if policy == "adopt":
        report.adopted_orders = list(report.unknown_orders)
        report.adopted_positions = [p for p in venue_positions if p.symbol in adoptable]
    elif policy == "refuse":
        report.refused.extend(
            f"unknown open order {o.client_order_id} ({o.side} {o.quantity} {o.symbol} {o.order_type}, "
            f"{o.status})" for o in report.unknown_orders)
    report.refused.extend(
        f"unexplained position {g.symbol}: venue {g.venue}, our fills {g.ours}"
        for g in report.position_gaps if g.symbol not in adoptable)
    if report.refused:
        raise ReconciliationFailed(_message(report), report=report.as_dict())
    return report


async def _cancel_all_of(
    broker: Broker, report: StartupCleanupReport, timeout: timedelta, sleep: Sleeper, poll_s: float
) -> None:
    for order in report.unknown_orders:
        await broker.cancel(order.client_order_id)
    pending = {o.client_order_id for o in report.unknown_orders}
    waited = 0.0
    while True:
        for cid in sorted(pending):
            snapshot = await broker.order_status(cid)
            if snapshot is None or snapshot.status.is_terminal:
                pending.discard(cid)
                report.canceled.append(cid)
        if not pending or waited >= timeout.total_seconds():
            break
        await sleep(poll_s)
        waited += poll_s
    report.refused.extend(
        f"unknown open order {cid} still open {timeout.total_seconds():g}s after cancel"
        for cid in sorted(pending))


def _gaps(venue: list[PositionSnapshot], ours: Mapping[str, Decimal]) -> list[PositionGap]:
    at_venue = {p.symbol: p.quantity for p in venue}
    gaps = []
    for symbol in sorted(set(at_venue) | set(ours)):
        v, o = at_venue.get(symbol, ZERO), ours.get(symbol, ZERO)
        if v != o:
            gaps.append(PositionGap(symbol, v, o))
    return gaps


def _message(report: StartupCleanupReport) -> str:
    lines = "\n  ".join(report.refused)
    policy = report.policy
    return f"RECONCILIATION_FAILED: startup reconciliation (policy {policy}) refuses to trade:\n  {lines}"


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if v is None or isinstance(v, bool | int | str) else str(v)) for k, v in data.items()}
