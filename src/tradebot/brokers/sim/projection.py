"""The simulated venue rebuilt from what was sent to it: its state as a projection of recorded inputs.

In a run (replay, observe) the simulated venue keeps no state of its own: everything it did follows from the
calls it received — the bars it saw, the orders submitted, the cancels — because it is deterministic. A
restart therefore rebuilds it by feeding a fresh venue those same calls, in the same order, from the run's
event store. The venue can then never know more than the store: no fill, order or bar the store did not
commit, whatever the moment the previous process was killed.

The calls are given as ``VenueInput`` values (the pipeline reads them from the store). Each is applied
exactly as the venue applied it the first time, at the time it was recorded, so counters (venue order ids,
fill ids), prices, fees and timestamps come out identical.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from tradebot.brokers.sim.venue import SimVenue
from tradebot.domain.bars import Bar
from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import OrderRequest


@dataclass(frozen=True, slots=True)
class BarSeen:
    """The venue saw ``bar`` (and matched its resting orders against it)."""

    bar: Bar


@dataclass(frozen=True, slots=True)
class OrderSent:
    """``request`` reached the venue at ``ts``; ``venue_reject``: the venue refused it for that reason
    although the order itself was valid (an injected reject, which nothing else would reproduce)."""

    request: OrderRequest
    ts: datetime
    venue_reject: str | None = None


@dataclass(frozen=True, slots=True)
class CancelSent:
    """A client asked the venue at ``ts`` to cancel ``client_order_id`` (a no-op if it is not working)."""

    client_order_id: str
    ts: datetime


@dataclass(frozen=True, slots=True)
class Listed:
    """From here on the venue trades ``instrument`` with exactly this spec (a run's configured one)."""

    instrument: Instrument


VenueInput = BarSeen | OrderSent | CancelSent | Listed


class _RecordedTime:
    """The clock of a rebuild: the time each input was recorded at."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = now


def rebuild(venue: SimVenue, inputs: Iterable[VenueInput]) -> int:
    """Apply ``inputs`` in order to ``venue`` (fresh, without a state file); returns how many were applied.

    Nothing is published: the events the calls produce are dropped, as a venue's events from before a
    session connected are not replayed to it (a client asks for orders, fills and positions instead).
    """
    if venue.has_state_file:
        raise ValueError("a venue with its own state file is restored from that file, not rebuilt")
    clock = venue.clock
    replay_clock = _RecordedTime(clock.now())
    venue.clock = replay_clock
    applied = 0
    try:
        for item in inputs:
            applied += 1
            if isinstance(item, BarSeen):
                venue.on_bar(item.bar)
                continue
            if isinstance(item, Listed):
                venue.catalog.register(item.instrument)
                continue
            replay_clock.set(item.ts)
            if isinstance(item, OrderSent):
                if item.venue_reject is not None:
                    venue.reject_next(item.venue_reject)
                venue.submit(item.request)
            else:
                venue.cancel(item.client_order_id)
    finally:
        venue.clock = clock
        venue.forget_journal()
    return applied
