"""The kit's per-order event rules and bounded waits, on a scripted event stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tradebot.domain.events import BrokerEvent, OrderAccepted, OrderCanceled, OrderFilled, OrderRejected
from tradebot.domain.orders import Side
from tradebot.testing.events import EventTap, expect_event

T = datetime(2024, 1, 1, tzinfo=UTC)


def fill(fid: str, qty: str, leaves: str, cid: str = "a") -> OrderFilled:
    return OrderFilled(cid, "V1", fid, "X", Side.BUY, Decimal(qty), Decimal(10), Decimal(0), "USD", T,
                       Decimal(leaves))


class Scripted:
    name = "scripted"

    def __init__(self, events: list[BrokerEvent]) -> None:
        self._events = events

    async def events(self) -> AsyncIterator[BrokerEvent]:
        for event in self._events:
            yield event


async def problems_of(events: list[BrokerEvent], qty: str = "2", tolerate: bool = False) -> list[str]:
    tap = EventTap(Scripted(events), timeout=0.5)  # type: ignore[arg-type]
    async with tap:
        if tolerate:
            tap.tolerate_duplicate_reject("a")
        await tap.wait_for(lambda seen: True if len(seen) == len(events) else None, "all events")
    return tap.problems({"a": Decimal(qty)})


async def test_a_clean_order_has_no_problems() -> None:
    assert await problems_of([OrderAccepted("a", "V1", T), fill("f1", "1", "1"), fill("f2", "1", "0")]) == []


@pytest.mark.parametrize(("events", "needle"), [
    ([OrderAccepted("a", "V1", T), fill("f1", "1", "1"), fill("f1", "1", "1")], "fill f1 emitted twice"),
    ([OrderAccepted("a", "V1", T), fill("f1", "1", "0")], "says leaves 0, expected 1"),
    ([OrderAccepted("a", "V1", T), fill("f1", "2", "0"), fill("f2", "1", "0")], "after final"),
    ([fill("f1", "2", "0")], "first event is order_filled"),
    ([OrderAccepted("a", "V1", T), OrderAccepted("a", "V1", T)], "order_accepted emitted 2 times"),
    ([OrderAccepted("a", "V1", T), OrderCanceled("a", T), OrderRejected("a", "dup", T)], "after final"),
])
async def test_each_rule_catches_its_breach(events: list[BrokerEvent], needle: str) -> None:
    assert any(needle in p for p in await problems_of(events)), await problems_of(events)


async def test_a_provoked_duplicate_rejection_is_tolerated() -> None:
    events: list[BrokerEvent] = [
        OrderAccepted("a", "V1", T), OrderRejected("a", "dup", T), OrderCanceled("a", T)
    ]
    assert await problems_of(events, tolerate=True) == []


async def test_waits_are_bounded_and_say_what_was_seen() -> None:
    broker = Scripted([OrderAccepted("a", "V1", T)])
    async with EventTap(broker, timeout=0.2):  # type: ignore[arg-type]
        assert (await expect_event(broker, "order_accepted", "a", 0.2)).kind == "order_accepted"  # type: ignore[arg-type]
        with pytest.raises(AssertionError, match=r"order_filled for a.*order_accepted"):
            await expect_event(broker, "order_filled", "a", 0.2)  # type: ignore[arg-type]
