"""Watching a broker's ``events()`` stream in a test: bounded waits and the event-order rules.

``EventTap`` reads ``broker.events()`` in a background task and keeps every event. Tests wait for what
they expect with a timeout (``expect``/``wait_for``): never sleep-and-hope. ``problems()`` checks the
per-order rules every adapter must keep:
- the first event of an order is OrderAccepted or OrderRejected, and OrderAccepted comes at most once —
  across a restart too: an order accepted before it (adopted by the new adapter) is not accepted again;
- every fill id is seen once (a fill emitted twice is a bug, even with the same body);
- nothing follows a terminal event (final fill, canceled, rejected, expired), except the rejection of a
  reused client order id the test itself provoked (``tolerate_duplicate_reject``);
- fills never add up to more than the order's quantity, and ``leaves_qty`` = quantity - filled so far.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from tradebot.brokers.protocol import Broker
from tradebot.domain.events import (
    BrokerEvent,
    ConnectionEvent,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
)

T = TypeVar("T")
_TAPS: dict[int, EventTap] = {}


class EventTap:
    def __init__(self, broker: Broker, timeout: float = 5.0, carried: frozenset[str] = frozenset(),
                 accepted_before: frozenset[str] = frozenset()) -> None:
        """``carried``: ids of orders whose earlier events went to another tap (before a restart);
        ``accepted_before``: those of them already accepted there (never to be accepted again)."""
        self.broker = broker
        self.carried = carried | accepted_before
        self.accepted_before = accepted_before
        self.timeout = timeout
        self.events: list[BrokerEvent] = []
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._tolerated: dict[str, int] = {}

    async def start(self) -> EventTap:
        self._task = asyncio.create_task(self._pump(), name=f"event-tap-{self.broker.name}")
        _TAPS[id(self.broker)] = self
        return self

    async def stop(self) -> None:
        if _TAPS.get(id(self.broker)) is self:
            del _TAPS[id(self.broker)]
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def __aenter__(self) -> EventTap:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _pump(self) -> None:
        try:
            async for event in self.broker.events():
                self.events.append(event)
                self._changed.set()
        finally:
            self._changed.set()

    # --- waiting ------------------------------------------------------------------------------------
    async def wait_for(self, found: Callable[[list[BrokerEvent]], T | None], what: str,
                       timeout: float | None = None) -> T:
        """Wait until ``found(events)`` returns something other than None; fail after ``timeout`` s."""
        loop = asyncio.get_running_loop()
        limit = self.timeout if timeout is None else timeout
        deadline = loop.time() + limit
        while True:
            result = found(self.events)
            if result is not None:
                return result
            if self._task is not None and self._task.done():
                error = None if self._task.cancelled() else self._task.exception()
                raise AssertionError(f"events() ended while waiting for {what} (error: {error!r}); "
                                     f"events: {self.describe()}")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {limit:g}s waiting for {what}; events: {self.describe()}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def expect(self, kind: str, client_order_id: str, timeout: float | None = None) -> BrokerEvent:
        """The first event of ``kind`` (e.g. "order_filled") for ``client_order_id``."""
        def found(events: list[BrokerEvent]) -> BrokerEvent | None:
            return next((e for e in events if e.kind == kind and _cid(e) == client_order_id), None)
        return await self.wait_for(found, f"{kind} for {client_order_id}", timeout)

    async def expect_outcome(self, client_order_id: str, timeout: float | None = None) -> BrokerEvent:
        """The venue's first answer to an order: OrderAccepted or OrderRejected."""
        def found(events: list[BrokerEvent]) -> BrokerEvent | None:
            return next((e for e in events if isinstance(e, OrderAccepted | OrderRejected)
                         and e.client_order_id == client_order_id), None)
        return await self.wait_for(found, f"accepted or rejected for {client_order_id}", timeout)

    async def expect_filled(self, client_order_id: str, quantity: Decimal,
                            timeout: float | None = None) -> list[OrderFilled]:
        """Wait until fills of ``client_order_id`` add up to ``quantity`` (or the last one leaves 0)."""
        def found(events: list[BrokerEvent]) -> list[OrderFilled] | None:
            fills = self.fills(client_order_id)
            done = fills and (sum((f.quantity for f in fills), Decimal(0)) >= quantity
                              or fills[-1].leaves_qty == 0)
            return fills if done else None
        return await self.wait_for(found, f"fills of {quantity} for {client_order_id}", timeout)

    async def expect_terminal(self, client_order_id: str, timeout: float | None = None) -> BrokerEvent:
        def found(events: list[BrokerEvent]) -> BrokerEvent | None:
            mine = self.for_order(client_order_id)
            tolerated = client_order_id in self._tolerated
            return next((e for i, e in enumerate(mine) if _is_terminal(e)
                         and not (tolerated and i > 0 and isinstance(e, OrderRejected))), None)
        return await self.wait_for(found, f"a final event for {client_order_id}", timeout)

    # --- reading ------------------------------------------------------------------------------------
    def for_order(self, client_order_id: str) -> list[BrokerEvent]:
        return [e for e in self.events if _cid(e) == client_order_id]

    def fills(self, client_order_id: str) -> list[OrderFilled]:
        return [e for e in self.events if isinstance(e, OrderFilled) and e.client_order_id == client_order_id]

    def tolerate_duplicate_reject(self, client_order_id: str) -> None:
        """The test reused this id on purpose: one OrderRejected per reuse may follow the final event."""
        self._tolerated[client_order_id] = self._tolerated.get(client_order_id, 0) + 1

    def describe(self, client_order_id: str | None = None) -> str:
        events = self.events if client_order_id is None else self.for_order(client_order_id)
        return "[" + ", ".join(_short(e) for e in events[-40:]) + "]"

    def problems(self, quantities: dict[str, Decimal] | None = None) -> list[str]:
        """Every breach of the per-order event rules (see the module doc)."""
        quantities = quantities or {}
        found: list[str] = []
        by_order: dict[str, list[BrokerEvent]] = {}
        for event in self.events:
            cid = _cid(event)
            if cid is not None:
                by_order.setdefault(cid, []).append(event)
        for cid, events in by_order.items():
            carried = cid in self.carried
            quantity = None if carried else quantities.get(cid)
            found.extend(_order_problems(cid, events, quantity, self._tolerated.get(cid, 0), carried))
            if cid in self.accepted_before and any(isinstance(e, OrderAccepted) for e in events):
                found.append(f"{cid}: order_accepted emitted again after the restart (accepted before it)")
        return found

    def accepted_ids(self) -> frozenset[str]:
        """Orders this tap (or the one before a restart) saw accepted."""
        return self.accepted_before | {e.client_order_id for e in self.events if isinstance(e, OrderAccepted)}


def _order_problems(
    cid: str, events: list[BrokerEvent], quantity: Decimal | None, tolerated: int, carried: bool = False
) -> list[str]:
    problems: list[str] = []
    if not carried and not isinstance(events[0], OrderAccepted | OrderRejected):
        problems.append(f"{cid}: first event is {events[0].kind}, not order_accepted/order_rejected")
    accepted = sum(isinstance(e, OrderAccepted) for e in events)
    if accepted > 1:
        problems.append(f"{cid}: order_accepted emitted {accepted} times")
    seen_fills: set[str] = set()
    filled = Decimal(0)
    terminal: BrokerEvent | None = None
    for index, event in enumerate(events):
        if index > 0 and isinstance(event, OrderRejected) and tolerated > 0:
            tolerated -= 1  # the refusal of a reused id the test provoked: not the original's outcome
            continue
        if terminal is not None:
            problems.append(f"{cid}: {_short(event)} after final {_short(terminal)}")
            continue
        if isinstance(event, OrderFilled):
            if event.fill_id in seen_fills:
                problems.append(f"{cid}: fill {event.fill_id} emitted twice")
                continue
            seen_fills.add(event.fill_id)
            filled += event.quantity
            if event.quantity <= 0 or event.price <= 0:
                problems.append(f"{cid}: fill {event.fill_id} has qty {event.quantity} price {event.price}")
            if quantity is not None:
                if filled > quantity:
                    problems.append(f"{cid}: fills add up to {filled}, more than the order's {quantity}")
                elif event.leaves_qty != quantity - filled:
                    problems.append(f"{cid}: fill {event.fill_id} says leaves {event.leaves_qty}, "
                                    f"expected {quantity - filled}")
        if _is_terminal(event):
            terminal = event
    return problems


def _is_terminal(event: BrokerEvent) -> bool:
    if isinstance(event, OrderFilled):
        return event.leaves_qty == 0
    return isinstance(event, OrderRejected | OrderCanceled | OrderExpired)


def _cid(event: BrokerEvent) -> str | None:
    if isinstance(event, ConnectionEvent):
        return None
    return event.client_order_id


def _short(event: BrokerEvent) -> str:
    fields: dict[str, Any] = {"cid": _cid(event)}
    if isinstance(event, OrderFilled):
        fields.update(
            id=event.fill_id, qty=str(event.quantity), px=str(event.price), leaves=str(event.leaves_qty)
        )
    elif isinstance(event, OrderRejected):
        fields.update(reason=event.reason, code=event.venue_code)
    elif isinstance(event, ConnectionEvent):
        fields = {"state": event.state, "reason": event.reason}
    return f"{event.kind}({', '.join(f'{k}={v}' for k, v in fields.items())})"


def tap_for(broker: Broker) -> EventTap:
    tap = _TAPS.get(id(broker))
    if tap is None:
        raise RuntimeError("no EventTap is running for this broker: use `async with EventTap(broker):`")
    return tap


async def expect_event(broker: Broker, kind: str, client_order_id: str, timeout: float = 5.0) -> BrokerEvent:
    """Wait (at most ``timeout`` s) for an event of ``kind`` for ``client_order_id`` from ``broker``.

    Needs an ``EventTap`` running on ``broker`` (every conformance case opens one).
    """
    return await tap_for(broker).expect(kind, client_order_id, timeout)
