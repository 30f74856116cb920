"""The one resubmit rule, in the order manager, driven against the simulated venue with injected faults.

A submit that failed with a timeout or a network error is looked up at the venue by client order id: the
venue has it -> adopted, never sent again; the venue does not have it -> sent once more at once with the
same client order id; the lookup fails, or the second send's fate is unknown too -> left unacknowledged
(UNKNOWN) and nothing more is sent. Any other error is never looked up nor resent. Never two orders.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import anyio
import pytest

from tradebot.brokers.sim import SimBroker, SimConfig, SimController, SimVenue
from tradebot.domain.clock import ReplayClock
from tradebot.domain.events import OrderStatus
from tradebot.domain.orders import OrderRequest, OrderType, Side
from tradebot.oms.ledger import Ledger
from tradebot.oms.manager import OrderManager, SubmitOutcome
from tradebot.pipeline.store_recorder import StoreRecorder
from tradebot.store import EventWriter, StoreReader

pytestmark = pytest.mark.timeout(30)
T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
CONFIG = {
    "instruments": {"MES": {"venue": "CME", "asset_class": "FUTURE", "tick_size": "0.25", "multiplier": "5"}}
}
TIMEOUT_S = 0.2


class Counting(SimBroker):
    """The simulated venue's adapter, counting submits."""

    calls = 0

    async def submit(self, request: OrderRequest) -> None:
        self.calls += 1
        await super().submit(request)


class AnswerLost(Counting):
    """A plugin whose first ``lost`` submits reach the venue but whose answers never come back."""

    lost = 1

    async def submit(self, request: OrderRequest) -> None:
        await super().submit(request)
        if self.calls <= self.lost:
            await anyio.sleep_forever()


class NeverArrives(Counting):
    """A plugin whose first submit hangs before the venue sees it (a request stuck in a dead socket)."""

    async def submit(self, request: OrderRequest) -> None:
        if self.calls == 0:
            self.calls += 1
            await anyio.sleep_forever()
        await super().submit(request)


class NetworkDown(Counting):
    """A plugin whose every submit dies with a connection reset before the venue acts (reads work)."""

    async def submit(self, request: OrderRequest) -> None:
        self.venue.fail_next("network")
        await super().submit(request)


def _request(cid: str = "tb-MES-1") -> OrderRequest:
    return OrderRequest(
        cid, cid, "MES", Side.BUY, Decimal(1), OrderType.LIMIT, T0, limit_price=Decimal("5000")
    )


class Rig:
    def __init__(self, broker: Counting, store: Path, writer: EventWriter) -> None:
        self.broker = broker
        self.controller = SimController(broker.venue)
        self.store = store
        self.writer = writer
        self.ledger = Ledger()
        self.oms = OrderManager(broker, self.ledger, StoreRecorder(writer), broker.clock, TIMEOUT_S)

    async def events(self) -> list[tuple[str, dict[str, object]]]:
        await self.writer.flush()
        with StoreReader(self.store) as reader:
            return [(e.kind, e.body) for e in reader.iter_events()]

    async def kinds(self) -> list[str]:
        return [kind for kind, _ in await self.events()]

    async def venue_orders(self) -> list[str]:
        return [o.client_order_id for o in await self.controller.venue_open_orders()]


RigFactory = Callable[[type[Counting]], Awaitable[Rig]]


@pytest.fixture
async def rig_of(tmp_path: Path) -> AsyncIterator[RigFactory]:
    async with contextlib.AsyncExitStack() as stack:

        async def build(cls: type[Counting]) -> Rig:
            clock = ReplayClock(T0)
            broker = cls(SimVenue(SimConfig.from_mapping(CONFIG), clock), clock)
            await broker.connect()
            store = tmp_path / f"{cls.__name__}.db"
            writer = await stack.enter_async_context(EventWriter.open(store))
            return Rig(broker, store, writer)

        yield build


async def test_a_network_error_on_submit_is_looked_up_and_resent_once_with_the_same_id(
    rig_of: RigFactory,
) -> None:
    rig = await rig_of(Counting)
    await rig.controller.fail_next("network")  # the request fails before the venue acts
    assert await rig.oms.submit(_request()) is SubmitOutcome.SENT
    assert rig.broker.calls == 2
    assert await rig.venue_orders() == ["tb-MES-1"]
    events = await rig.events()
    assert [k for k, _ in events] == ["order_submit", "order_resubmit"]
    assert events[1][1]["cause"] == "NET_RETRY" and events[1][1]["client_order_id"] == "tb-MES-1"


async def test_a_timeout_after_the_venue_took_the_order_is_adopted_and_never_resent(
    rig_of: RigFactory,
) -> None:
    rig = await rig_of(AnswerLost)
    assert await rig.oms.submit(_request()) is SubmitOutcome.SENT
    assert rig.broker.calls == 1  # found by client order id: not sent again
    assert await rig.venue_orders() == ["tb-MES-1"]
    assert await rig.kinds() == ["order_submit", "order_adopted"]
    entry = rig.ledger.get("tb-MES-1")
    assert entry is not None and entry.status is OrderStatus.ACCEPTED and entry.venue_order_id


async def test_a_timeout_before_the_venue_saw_the_order_is_resent_once(rig_of: RigFactory) -> None:
    rig = await rig_of(NeverArrives)
    assert await rig.oms.submit(_request()) is SubmitOutcome.SENT
    assert rig.broker.calls == 2
    assert await rig.venue_orders() == ["tb-MES-1"]
    events = await rig.events()
    assert [k for k, _ in events] == ["order_submit", "order_resubmit"]
    assert events[1][1]["cause"] == "SUBMIT_TIMEOUT"


async def test_a_failed_lookup_sends_nothing_more_and_reports_unknown(rig_of: RigFactory) -> None:
    rig = await rig_of(Counting)
    await rig.controller.fail_next("network")  # the submit
    await rig.controller.fail_next("network")  # and the lookup
    assert await rig.oms.submit(_request()) is SubmitOutcome.UNKNOWN
    assert rig.broker.calls == 1
    assert await rig.venue_orders() == []
    events = await rig.events()
    assert [k for k, _ in events] == ["order_submit", "order_submit_failed"]
    assert events[1][1]["code"] == "ORDER_STATUS_UNKNOWN"
    entry = rig.ledger.get("tb-MES-1")
    assert entry is not None and entry.status is OrderStatus.PENDING_SUBMIT  # for reconciliation


async def test_a_second_unknown_send_is_not_followed_by_a_third(rig_of: RigFactory) -> None:
    rig = await rig_of(NetworkDown)
    assert await rig.oms.submit(_request()) is SubmitOutcome.UNKNOWN
    assert rig.broker.calls == 2  # the first send and one more after the lookup; never a third
    assert await rig.venue_orders() == []
    assert await rig.kinds() == ["order_submit", "order_resubmit", "order_submit_failed"]


async def test_an_auth_error_is_neither_looked_up_nor_resent(rig_of: RigFactory) -> None:
    rig = await rig_of(Counting)
    await rig.controller.fail_next("auth")
    assert await rig.oms.submit(_request()) is SubmitOutcome.FAILED
    assert rig.oms.last_error is not None and rig.oms.last_error.code == "AUTH_HALT"
    assert rig.broker.calls == 1
    assert await rig.venue_orders() == []
    events = await rig.events()
    assert [k for k, _ in events] == ["order_submit", "order_submit_failed"]
    assert events[1][1]["code"] == "AUTH_HALT"


async def test_the_same_client_order_id_is_never_sent_twice(rig_of: RigFactory) -> None:
    rig = await rig_of(Counting)
    assert await rig.oms.submit(_request()) is SubmitOutcome.SENT
    assert await rig.oms.submit(_request()) is SubmitOutcome.DUPLICATE
    assert rig.broker.calls == 1
    assert await rig.venue_orders() == ["tb-MES-1"]
