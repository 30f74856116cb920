"""The fake drops the socket mid-session; the adapter reconnects, reconciles, and loses or doubles nothing."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from ibkr_fake_tws import FakeTws, FakeTwsController
from ibkr_test_support import fast_config, limit, minute_bar, order_events, quiet, take, wait_until
from tradebot_ibkr import CAPABILITIES
from tradebot_ibkr import errors as E
from tradebot_ibkr.broker import IbkrBroker
from tradebot_ibkr.connection import ConnState

from tradebot.domain.clock import WallClock
from tradebot.domain.events import BrokerEvent, ConnectionEvent, OrderCanceled, OrderFilled
from tradebot.domain.orders import Bracket, Side

pytestmark = pytest.mark.timeout(30)


def terminal_counts(events: list[BrokerEvent]) -> Counter[str]:
    out: Counter[str] = Counter()
    for e in events:
        if isinstance(e, OrderCanceled) or (isinstance(e, OrderFilled) and e.leaves_qty == 0):
            out[e.client_order_id] += 1
    return out


async def test_drop_mid_session_reconciles_without_loss_or_duplicates(
    broker: IbkrBroker, venue: FakeTwsController, tws: FakeTws
) -> None:
    events = broker.events()
    seen: list[BrokerEvent] = await take(events, 3)  # CONNECTING, CONNECTED, READY
    inst = await broker.instrument("MES")
    stream = broker.bars(inst, 60)
    first_bar = asyncio.ensure_future(stream.__anext__())
    await wait_until(lambda: any(s.rt_bars for s in tws.live_sessions()))

    bracket = Bracket(stop_loss=Decimal("5790"), take_profit=Decimal("5812"))
    await broker.submit(limit("b1", Side.BUY, "5800", bracket=bracket))
    await broker.submit(limit("w1", Side.SELL, "5830"))
    await broker.submit(limit("w2", Side.BUY, "5700"))
    seen += await take(events, 5, keep=order_events)
    await venue.fill("w1")  # a fill before the drop
    seen += await take(events, 1, keep=order_events)

    # --- the socket drops; while we are away the venue fills the bracket entry, fills nothing else twice,
    # and cancels w2 on its own
    await venue.drop_connection()
    await wait_until(lambda: broker.connection.state is not ConnState.READY)
    entry = tws.order_by_ref("b1")
    await tws.execute(entry, 5800.0, entry.remaining)
    await tws._cancel(tws.order_by_ref("w2"), "venue housekeeping")

    await wait_until(lambda: broker.connection.state is ConnState.READY, timeout=5)
    seen += await quiet(events, settle=0.5)
    states = [(e.state, e.reason) for e in seen if isinstance(e, ConnectionEvent)]
    assert ("DISCONNECTED", E.IB_SOCKET_DROPPED) in states and states[-1] == ("READY", E.IB_READY)

    # the bracket keeps working after the reconnect: the target fills, the stop is cancelled by OCA
    await venue.push_bar(minute_bar(45, 5805.0, 5813.0, 5804.0, 5811.0))
    assert (await asyncio.wait_for(first_bar, 3)).ts == datetime(2026, 11, 20, 14, 45, tzinfo=UTC)
    seen += await take(events, 2, keep=order_events)
    seen += await quiet(events)

    # --- a second drop: nothing is replayed twice
    await venue.drop_connection()
    await wait_until(lambda: broker.connection.reconnects == 2, timeout=5)
    seen += await quiet(events, settle=0.5)

    fills = [e for e in seen if isinstance(e, OrderFilled)]
    assert sorted(f.fill_id for f in fills) == sorted(x.exec_id for x in tws.executions)  # none lost
    assert len({f.fill_id for f in fills}) == len(fills)  # none doubled
    assert terminal_counts(seen) == {"w1": 1, "b1": 1, "b1-tp": 1, "b1-sl": 1, "w2": 1}
    canceled = {e.client_order_id: e.reason for e in seen if isinstance(e, OrderCanceled)}
    assert canceled["w2"] == E.IB_RECONCILED_NOT_OPEN
    accepted = Counter(e.client_order_id for e in seen if e.kind == "order_accepted")
    assert set(accepted.values()) == {1} and set(accepted) == {"b1", "b1-tp", "b1-sl", "w1", "w2"}
    assert await broker.positions() == await venue.venue_positions()
    assert [(p.symbol, p.quantity) for p in await broker.positions()] == [("MES", -1)]  # w1's short
    assert await broker.open_orders() == await venue.venue_open_orders() == []
    assert broker.connection.reconnects == 2


async def test_nightly_restart_window_names_the_reason_and_retries_until_back(tws: FakeTws) -> None:
    now = datetime.now(UTC)
    config = fast_config(
        tws.port, nightly_restart_utc=now.strftime("%H:%M"), nightly_restart_window_min=5, connect_timeout=0.5
    )
    adapter = IbkrBroker(config, WallClock(), CAPABILITIES)
    await adapter.connect()
    tws.refuse_connections = True  # the gateway is restarting: connections are dropped at once
    await tws.drop_all()
    await wait_until(lambda: adapter.connection.state is not ConnState.READY)
    await asyncio.sleep(0.5)  # several backoff rounds fail
    assert adapter.connection.state is not ConnState.READY
    tws.refuse_connections = False
    await wait_until(lambda: adapter.connection.state is ConnState.READY, timeout=5)
    reasons = [reason for state, reason in adapter.connection.transitions if state is ConnState.DISCONNECTED]
    assert reasons[0] == E.IB_NIGHTLY_RESTART
    assert E.IB_CONNECT_FAILED in reasons[1:]
    await adapter.close()
    assert adapter.connection.transitions[-1] == (ConnState.DISCONNECTED, E.IB_CLOSED)


async def test_restart_adopts_working_orders_and_treats_old_fills_as_history(
    broker: IbkrBroker, venue: FakeTwsController, tws: FakeTws
) -> None:
    await broker.submit(limit("rs1", Side.BUY, "5700", qty="3"))
    await venue.fill("rs1", qty=Decimal(1))
    await wait_until(lambda: len(tws.executions) == 1)
    await broker.close()  # the process dies

    restarted = IbkrBroker(fast_config(tws.port), WallClock(), CAPABILITIES)
    await restarted.connect()
    events = restarted.events()
    seen = await quiet(events)
    orders = [(e.kind, e.client_order_id) for e in seen if not isinstance(e, ConnectionEvent)]  # type: ignore[union-attr]
    # adopted, no event: its acceptance and old fill were reported by the process that placed it
    assert orders == []
    (old,) = await restarted.fills_since(datetime(2020, 1, 1, tzinfo=UTC))
    assert (old.client_order_id, old.quantity, old.leaves_qty) == ("rs1", 1, 2)
    snapshot = await restarted.order_status("rs1")
    assert snapshot is not None and (snapshot.quantity, snapshot.filled_qty) == (3, 1)
    await venue.fill("rs1")
    (fill,) = await take(events, 1, keep=order_events)
    assert isinstance(fill, OrderFilled) and (fill.quantity, fill.leaves_qty) == (2, 0)
    assert fill.fill_id == tws.executions[-1].exec_id
    await restarted.close()
