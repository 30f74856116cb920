"""The numbered broker conformance cases. A plugin's test module runs them all with

    from tradebot.testing.conformance import *  # noqa: F403

and fixtures ``broker``, ``venue``, ``conformance_symbol`` and ``broker_factory`` (see
``tradebot.testing.pytest_plugin``). A case its broker's capabilities exclude is skipped with the reason;
none passes without checking. Every case also checks the per-order event rules of
``tradebot.testing.events`` over everything the broker emitted while it ran.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tradebot.brokers.protocol import Broker
from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.domain.errors import BrokerError, ErrorAction, ErrorCategory
from tradebot.domain.events import (
    AccountSnapshot,
    OrderCanceled,
    OrderRejected,
    OrderSnapshot,
    OrderStatus,
)
from tradebot.domain.instruments import PriceRounding
from tradebot.domain.orders import Bracket, OrderRequest, OrderType, Side, child_order_id
from tradebot.testing.controller import FaultKind, VenueController
from tradebot.testing.kit import Kit, KitSettings

ZERO = Decimal(0)
OPEN_STATUSES = (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.SUBMITTED)
BrokerFactory = Callable[[], Awaitable[Broker]]

CASES: dict[str, str] = {
    "C01": "connect and close are idempotent",
    "C02": "instrument spec is sane and its rounding is what the venue accepts",
    "C03": "bars arrive in order, without duplicates",
    "C04": "market order: accepted, then filled, carrying the client order id",
    "C05": "limit order rests, then cancel",
    "C06": "a venue rejection arrives as OrderRejected with the venue's reason",
    "C07": "cancel-all cancels every open order",
    "C08": "bracket children are one-cancels-other",
    "C09": "reduce-only never opens, increases or flips a position",
    "C10": "a reused client order id is refused or de-duplicated, never a second order",
    "C11": "partial fill, then the rest: leaves quantity and status follow",
    "C12": "order status by client order id (unknown id: None)",
    "C13": "reconciliation reports after a restart match the venue",
    "C14": "after a dropped connection no event is lost or doubled",
    "C15": "an auth failure classifies as AUTH / HALT_TRADING (AUTH_HALT)",
    "C16": "a rate limit classifies as RATE_LIMIT / RETRY (RATE_LIMIT_RETRY)",
    "C17": "a network failure classifies as TRANSIENT_NETWORK / RETRY (NET_RETRY)",
    "C18": "after a restart with working bracket legs, a leg's fill arrives at once, accepted only once",
    "C19": "after a restart, a reused client order id of a filled order never reaches the venue again",
}
FAULT_CASES = ("C15", "C16", "C17")  # each ends by checking the failed order left no trace


def _require(broker: Broker, order_type: OrderType) -> None:
    if order_type not in broker.capabilities.order_types:
        pytest.skip(f"capabilities: {order_type} orders are not supported")


def _kit(broker: Broker, venue: VenueController, settings: KitSettings, case: str) -> Kit:
    return Kit(broker, venue, settings, case)


async def _venue_legs(kit: Kit, entry: str, stop: Decimal, target: Decimal) -> dict[str, OrderSnapshot]:
    """The entry's bracket legs as the VENUE holds them ("sl", "tp"), told apart by price.

    A venue may name legs itself (ids it assigns): a leg is the entry's when the venue says so
    (``parent_client_order_id``) or when it carries our leg id. Act on it at the venue by the venue's id.
    """
    ours = {child_order_id(entry, "sl"), child_order_id(entry, "tp")}
    legs: dict[str, OrderSnapshot] = {}
    for order in await kit.venue.venue_open_orders():
        if order.parent_client_order_id != entry and order.client_order_id not in ours:
            continue
        prices = {order.limit_price, order.stop_price}
        if target in prices:
            legs["tp"] = order
        elif stop in prices:
            legs["sl"] = order
    return legs


def _fail_without_factory(broker_factory: BrokerFactory | None, case: str) -> BrokerFactory:
    if broker_factory is None:
        pytest.fail(f"{case} needs a `broker_factory` fixture: an async callable returning a new connected "
                    "broker on the same venue, as after a restart")
    return broker_factory


# --- C01 ---------------------------------------------------------------------------------------------
@pytest.mark.conformance("C01")
@pytest.mark.asyncio
async def test_C01_connect_close_idempotent(
    broker: Broker, venue: VenueController, conformance_settings: KitSettings
) -> None:
    await broker.connect()  # already connected: nothing happens
    await broker.connect()
    account = await broker.account()
    assert isinstance(account, AccountSnapshot)
    assert account.currency, "account() must name its currency"
    await broker.close()
    await broker.close()  # closing twice is harmless


# --- C02 ---------------------------------------------------------------------------------------------
@pytest.mark.conformance("C02")
@pytest.mark.asyncio
async def test_C02_instrument_spec_and_rounding(
    broker: Broker, venue: VenueController, conformance_settings: KitSettings
) -> None:
    _require(broker, OrderType.LIMIT)
    async with _kit(broker, venue, conformance_settings, "C02") as kit:
        inst = kit.instrument
        assert inst.symbol == conformance_settings.symbol
        assert inst.tick_size > 0 and inst.lot_step > 0 and inst.multiplier > 0
        assert inst.min_qty >= 0 and inst.min_notional >= 0
        assert inst.currency, "instrument currency is empty"
        assert inst.is_valid_qty(kit.qty), f"the kit's quantity {kit.qty} is not valid for {inst}"
        off_grid = kit.price + inst.tick_size / 3
        assert inst.is_valid_price(inst.round_price(off_grid)), "round_price does not land on the tick grid"
        # what the instrument rounds to is what the venue takes, unchanged
        price = inst.round_price(kit.price * Decimal("0.97") + inst.tick_size / 3, PriceRounding.DOWN)
        request = await kit.place(kit.order(Side.BUY, limit=price))
        snapshot = await broker.order_status(request.client_order_id)
        assert snapshot is not None, "order_status does not know an accepted order"
        assert snapshot.limit_price == price, f"venue holds limit {snapshot.limit_price}, we sent {price}"
        assert snapshot.quantity == kit.qty
        assert isinstance(await kit.cancel(request.client_order_id), OrderCanceled)


# --- C03 ---------------------------------------------------------------------------------------------
@pytest.mark.conformance("C03")
@pytest.mark.asyncio
async def test_C03_bars_in_order_without_duplicates(
    broker: Broker, venue: VenueController, conformance_settings: KitSettings
) -> None:
    async with _kit(broker, venue, conformance_settings, "C03") as kit:
        received: list[Bar] = []
        arrived = asyncio.Event()

        async def consume() -> None:
            async for bar in broker.bars(kit.instrument, conformance_settings.bar_size_s):
                received.append(bar)
                arrived.set()

        task = asyncio.create_task(consume())
        try:
            pushed: list[Bar] = []
            loop = asyncio.get_running_loop()
            deadline = loop.time() + conformance_settings.timeout
            # the subscription may take a moment: push until the first bar comes through (bounded)
            while not received:
                assert loop.time() < deadline, f"no bar arrived within {conformance_settings.timeout}s"
                assert not task.done() or task.exception() is None, f"bars() failed: {task.exception()!r}"
                pushed.append(await kit.push_bar())
                arrived.clear()
                try:
                    await asyncio.wait_for(arrived.wait(), 0.2)
                except TimeoutError:
                    continue
            first = len(received)
            more = [await kit.push_bar(close=kit.price + kit.instrument.tick_size * i) for i in (1, 2, 3)]
            while len(received) < first + 3:
                assert loop.time() < deadline + conformance_settings.timeout, (
                    f"only {len(received) - first} of 3 bars arrived: {[b.ts for b in received]}")
                assert not task.done() or task.exception() is None, f"bars() failed: {task.exception()!r}"
                arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), 0.2)
            assert received[0].ts in {b.ts for b in pushed}, "a bar arrived that was never published"
            times = [b.ts for b in received]
            assert times == sorted(times), f"bars out of order: {times}"
            assert len(set(times)) == len(times), f"bars doubled: {times}"
            assert [b.ts for b in received[first:first + 3]] == [b.ts for b in more]
            assert all(b.symbol == conformance_settings.symbol for b in received)
            assert [b.close for b in received[first:first + 3]] == pytest.approx([b.close for b in more])
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


# --- C04 ---------------------------------------------------------------------------------------------
@pytest.mark.conformance("C04")
@pytest.mark.asyncio
async def test_C04_market_order_accepted_then_filled(
    broker: Broker, venue: VenueController, conformance_settings: KitSettings
) -> None:
    _require(broker, OrderType.MARKET)
    async with _kit(broker, venue, conformance_settings, "C04") as kit:
        fills = await kit.open_position(Side.BUY)
        cid = fills[0].client_order_id
        events = kit.tap.for_order(cid)
        assert events[0].kind == "order_accepted", f"first event is {events[0].kind}"
        assert sum((f.quantity for f in fills), ZERO) == kit.qty
        assert fills[-1].leaves_qty == 0
        for fill in fills:
            assert fill.symbol == conformance_settings.symbol and fill.side is Side.BUY
            assert fill.fill_id and fill.venue_order_id, "fills must carry fill and venue order ids"
        assert await kit.venue_position() == kit.start_position + kit.qty
        assert await kit.broker_position() == kit.start_position + kit.qty


# --- C05 ---------------------------------------------------------------------------------------------
@pytest.mark.conformance("C05")
@pytest.mark.asyncio
async def test_C05_limit_order_rests_then_cancel(
    broker: Broker, venue: VenueController, conformance_settings: KitSettings
) -> None:
    _require(broker, OrderType.LIMIT)
    async with _kit(broker, venue, conformance_settings, "C05") as kit:
        request = await kit.place(kit.order(Side.BUY))
        cid = request.client_order_id
        await kit.push_bar()  # a bar that does not reach the limit
        mine = [o for o in await broker.open_orders() if o.client_order_id == cid]
        assert len(mine) == 1, f"open_orders() shows {len(mine)} orders with {cid}"
        assert mine[0].status in OPEN_STATUSES and mine[0].limit_price == request.limit_price
        assert mine[0].side is Side.BUY and mine[0].quantity == request.quantity
        assert cid in {o.client_order_id for o in await venue.venue_open_orders()}
        assert isinstance(await kit.cancel(cid), OrderCanceled)
        assert cid not in {o.client_order_id for o in await broker.open_orders()}
        assert cid not in {o.client_order_id for o in await venue.venue_open_orders()}
        assert not kit.tap.fills(cid)


# --- C06 ---------------------------------------------------------------------------------------------
@pytest.mark.conformance("C06")
@pytest.mark.asyncio
async def test_C06_reject_carries_venue_reason(
    broker: Broker, venue: VenueController, conformance_settings: KitSettings
) -> None:
    _require(broker, OrderType.LIMIT)
    async with _kit(broker, venue, conformance_settings, "C06") as kit:
        reason = "KIT insufficient margin"
        await venue.reject_next(reason)
        request = await kit.submit(kit.order(Side.BUY))
        outcome = await kit.tap.expect_outcome(request.client_order_id)
        assert isinstance(outcome, OrderRejected), f"expected OrderRejected, got {outcome.kind}"
        said = f"{outcome.reason} {outcome.venue_code or ''}".lower()
        assert reason.lower() in said, f"rejection reason {outcome.reason!r} lost the venue's {reason!r}"
        assert request.client_order_id not in {o.client_order_id for o in await venue.venue_open_orders()}
        snapshot = await broker.order_status(request.client_order_id)
        assert snapshot is None or snapshot.status is OrderStatus.REJECTED


# --- C07 ---------------------------------------------------------------------------------------------
@pytest.mark.conformance("C07")
@pytest.mark.asyncio
async def test_C07_cancel_all(
    broker: Broker, venue: VenueController, conformance_settings: KitSettings
) -> None:
    _require(broker, OrderType.LIMIT)
    async with _kit(broker, venue, conformance_settings, "C07") as kit:
        first = await kit.place(kit.order(Side.BUY))
        lower = kit.instrument.round_price(kit.away(Side.BUY) * Decimal("0.99"), PriceRounding.DOWN)
        second = await kit.place(kit.order(Side.BUY, limit=lower))
        await broker.cancel_all()
        for request in (first, second):
            final = await kit.tap.expect_terminal(request.client_order_id)
            assert isinstance(final, OrderCanceled), f"{request.client_order_id} ended as {final.kind}"
        left = [o for o in await venue.venue_open_orders() if o.symbol == conformance_settings.symbol]
        assert not left, f"orders still open at the venue after cancel_all: {left}"
        assert not [o for o in await broker.open_orders() if o.symbol == conformance_settings.symbol]


# --- C08 ---------------------------------------------------------------------------------------------
async def _filled_bracket(kit: Kit) -> tuple[Decimal, Decimal, OrderRequest, str, str]:
    """A MARKET BUY with a stop/target bracket away from the market, filled, both legs accepted and
    working: (stop, target, the entry, the stop leg's id, the target leg's id)."""
    stop, target = kit.away(Side.BUY), kit.away(Side.SELL)
    entry = await kit.place(kit.order(Side.BUY, OrderType.MARKET, bracket=Bracket(stop, target)))
    cid = entry.client_order_id
    sl, tp = child_order_id(cid, "sl"), child_order_id(cid, "tp")
    if not kit.tap.fills(cid):
        await kit.push_bar()
    await kit.tap.expect_filled(cid, entry.quantity)
    for leg in (sl, tp):
        await kit.tap.expect("order_accepted", leg)
    kit.quantities[sl] = kit.quantities[tp] = entry.quantity
    return stop, target, entry, sl, tp


@pytest.mark.conformance("C08")
@pytest.mark.asyncio
async def test_C08_bracket_children_one_cancels_other(
    broker: Broker, venue: VenueController, conformance_settings: KitSettings
) -> None:
    if not broker.capabilities.brackets:
        pytest.skip("capabilities: brackets not supported")
    _require(broker, OrderType.MARKET)
    async with _kit(broker, venue, conformance_settings, "C08") as kit:
        stop, target, entry, sl, tp = await _filled_bracket(kit)
        cid = entry.client_order_id
        working = await _venue_legs(kit, cid, stop, target)
        assert set(working) == {"sl", "tp"}, f"bracket legs not working at the venue: {working}"
        assert working["sl"].side is Side.SELL and working["tp"].side is Side.SELL
        await venue.fill(working["tp"].client_order_id)
        await kit.tap.expect_filled(tp, entry.quantity)
        final = await kit.tap.expect_terminal(sl)
        assert isinstance(final, OrderCanceled), f"stop leg ended as {final.kind}, not canceled by the target"
        assert not await _venue_legs(kit, cid, stop, target), "a bracket leg is still working at the venue"
        assert await kit.venue_position() == kit.start_position


# --- C09 ---------------------------------------------------------------------------------------------
@pytest.mark.conformance("C09")
@pytest.mark.asyncio
async def test_C09_reduce_only_never_increases_position(
    broker: Broker, venue: VenueController, conformance_settings: KitSettings
) -> None:
    if not broker.capabilities.reduce_only:
        pytest.skip("capabilities: reduce-only not supported")
    _require(broker, OrderType.MARKET)
    async with _kit(broker, venue, conformance_settings, "C09") as kit:
        await kit.open_position(Side.BUY)
        long = kit.start_position + kit.qty
        # a reduce-only order on the side of the position must not add to it
        same_side = await kit.submit(kit.order(Side.BUY, OrderType.MARKET, reduce_only=True))
        outcome = await kit.tap.expect_outcome(same_side.client_order_id)
        await kit.push_bar()
        if not isinstance(outcome, OrderRejected):  # accepted: it may rest, but never fill
            with contextlib.suppress(BrokerError):  # it may already be final
                await broker.cancel(same_side.client_order_id)
            await kit.tap.expect_terminal(same_side.client_order_id)
        assert not kit.tap.fills(same_side.client_order_id), "a reduce-only BUY added to a long position"
        assert await kit.venue_position() == long
        # a reduce-only order larger than the position must not flip it
        bigger = await kit.submit(kit.order(Side.SELL, OrderType.MARKET, qty=kit.qty * 2, reduce_only=True))
        outcome = await kit.tap.expect_outcome(bigger.client_order_id)
        if not isinstance(outcome, OrderRejected):
            if not kit.tap.fills(bigger.client_order_id):
                await kit.push_bar()
            await kit.tap.expect_terminal(bigger.client_order_id)
        await kit.settle()
        position = await kit.venue_position()
        assert (position - kit.start_position) * (long - kit.start_position) >= 0 and abs(
            position - kit.start_position) <= abs(long - kit.start_position), (
            f"reduce-only SELL {bigger.quantity} against a long {long} left the venue at {position}")
        assert await kit.broker_position() == position


# --- C10 ---------------------------------------------------------------------------------------------
async def _resubmit(kit: Kit, request: Any) -> None:
    kit.tap.tolerate_duplicate_reject(request.client_order_id)
    try:
        await kit.broker.submit(request)
    except BrokerError as exc:  # refusing it outright is fine
        assert exc.error_class.category is not ErrorCategory.TRANSIENT_NETWORK, (
            "a reused id must be refused as such, not reported as a network failure")


@pytest.mark.conformance("C10")
@pytest.mark.asyncio
async def test_C10_duplicate_client_order_id_never_second_order(
    broker: Broker, venue: VenueController, conformance_settings: KitSettings
) -> None:
    _require(broker, OrderType.LIMIT)
    _require(broker, OrderType.MARKET)
    async with _kit(broker, venue, conformance_settings, "C10") as kit:
        # while the first is working
        resting = await kit.place(kit.order(Side.BUY))
        cid = resting.client_order_id
        assert resting.limit_price is not None
        other_price = kit.instrument.round_price(resting.limit_price * Decimal("0.99"), PriceRounding.DOWN)
        await _resubmit(kit, kit.order(Side.BUY, qty=kit.qty * 2, limit=other_price, cid=cid))
        await kit.settle()
        mine = [o for o in await venue.venue_open_orders() if o.client_order_id == cid]
        assert len(mine) == 1, f"the venue holds {len(mine)} orders with client order id {cid}"
        assert mine[0].quantity == resting.quantity and mine[0].limit_price == resting.limit_price, (
            "the reused id changed the original order")
        assert isinstance(await kit.cancel(cid), OrderCanceled)
        # after the first has filled
        fills = await kit.open_position(Side.BUY)
        filled_cid = fills[0].client_order_id
        await _resubmit(kit, kit.order(Side.BUY, OrderType.MARKET, cid=filled_cid))
        await kit.push_bar()
        await kit.settle()
        assert sum((f.quantity for f in kit.tap.fills(filled_cid)), ZERO) == kit.qty
        assert await kit.venue_position() == kit.start_position + kit.qty, "a reused id traded again"


# --- C11 ---------------------------------------------------------------------------------------------
@pytest.mark.conformance("C11")
@pytest.mark.asyncio
async def test_C11_partial_fill_then_fill(
    broker: Broker, venue: VenueController, conformance_settings: KitSettings
) -> None:
    _require(broker, OrderType.LIMIT)
    async with _kit(broker, venue, conformance_settings, "C11") as kit:
        request = await kit.place(kit.order(Side.BUY, qty=kit.qty * 2))
        cid = request.client_order_id
        await venue.fill(cid, qty=kit.qty)
        first = await kit.tap.expect_filled(cid, kit.qty)
        assert first[0].quantity == kit.qty and first[0].leaves_qty == kit.qty
        snapshot = await broker.order_status(cid)
        assert snapshot is not None and snapshot.status is OrderStatus.PARTIALLY_FILLED
        assert snapshot.filled_qty == kit.qty
        await venue.fill(cid)
        fills = await kit.tap.expect_filled(cid, request.quantity)
        assert fills[-1].leaves_qty == 0 and sum((f.quantity for f in fills), ZERO) == request.quantity
        snapshot = await broker.order_status(cid)
        assert snapshot is not None and snapshot.status is OrderStatus.FILLED
        assert await kit.venue_position() == kit.start_position + request.quantity


# --- C12 ---------------------------------------------------------------------------------------------
@pytest.mark.conformance("C12")
@pytest.mark.asyncio
async def test_C12_order_status_by_client_order_id(
    broker: Broker, venue: VenueController, conformance_settings: KitSettings
) -> None:
    _require(broker, OrderType.LIMIT)
    async with _kit(broker, venue, conformance_settings, "C12") as kit:
        assert await broker.order_status(kit.cid()) is None, "an id the venue never saw must give None"
        request = await kit.place(kit.order(Side.BUY))
        cid = request.client_order_id
        snapshot = await broker.order_status(cid)
        assert snapshot is not None and snapshot.client_order_id == cid
        assert snapshot.status in OPEN_STATUSES
        r = request
        seen = (snapshot.symbol, snapshot.side, snapshot.quantity, snapshot.order_type, snapshot.limit_price)
        assert seen == (r.symbol, r.side, r.quantity, r.order_type, r.limit_price)
        await kit.cancel(cid)
        snapshot = await broker.order_status(cid)
        assert snapshot is not None, "order_status forgot a canceled order (a restart would resend it)"
        assert snapshot.status is OrderStatus.CANCELED


# --- C13 ---------------------------------------------------------------------------------------------
@pytest.mark.conformance("C13")
@pytest.mark.asyncio
async def test_C13_reconciliation_reports_after_restart(
    broker: Broker, venue: VenueController, conformance_settings: KitSettings,
    broker_factory: BrokerFactory | None,
) -> None:
    broker_factory = _fail_without_factory(broker_factory, "C13")
    _require(broker, OrderType.LIMIT)
    _require(broker, OrderType.MARKET)
    async with _kit(broker, venue, conformance_settings, "C13") as kit:
        since = kit.started - timedelta(seconds=conformance_settings.bar_size_s)
        fills = await kit.open_position(Side.BUY)
        filled_cid = fills[0].client_order_id
        resting = await kit.place(kit.order(Side.BUY))
        await broker.close()
        restarted = await broker_factory()
        await kit.switch_broker(restarted)
        # report 1: open orders, by client order id, as the venue has them
        theirs = {o.client_order_id: o for o in await venue.venue_open_orders()}
        ours = {o.client_order_id: o for o in await restarted.open_orders()}
        assert set(ours) == set(theirs), f"open_orders() {sorted(ours)} != venue {sorted(theirs)}"
        got = ours[resting.client_order_id]
        assert (got.side, got.quantity, got.limit_price, got.symbol) == (
            resting.side, resting.quantity, resting.limit_price, resting.symbol)
        # report 2: fills since T, each once, carrying the client order id
        reported = await restarted.fills_since(since)
        ids = [f.fill_id for f in reported]
        assert len(ids) == len(set(ids)), f"fills_since repeats fills: {ids}"
        mine = [f for f in reported if f.client_order_id == filled_cid]
        assert sum((f.quantity for f in mine), ZERO) == kit.qty, f"fills_since lost the fill of {filled_cid}"
        assert {f.fill_id for f in fills} == {f.fill_id for f in mine}, "fill ids differ after the restart"
        # report 3: positions
        theirs_pos = {p.symbol: p.quantity for p in await venue.venue_positions() if p.quantity != 0}
        ours_pos = {p.symbol: p.quantity for p in await restarted.positions() if p.quantity != 0}
        assert ours_pos == theirs_pos, f"positions() {ours_pos} != venue {theirs_pos}"
        status = await restarted.order_status(filled_cid)
        assert status is not None and status.status is OrderStatus.FILLED
        await kit.cancel(resting.client_order_id)


# --- C14 ---------------------------------------------------------------------------------------------
@pytest.mark.conformance("C14")
@pytest.mark.asyncio
async def test_C14_reconnect_no_event_lost_or_doubled(
    broker: Broker, venue: VenueController, conformance_settings: KitSettings
) -> None:
    _require(broker, OrderType.LIMIT)
    async with _kit(broker, venue, conformance_settings, "C14") as kit:
        request = await kit.place(kit.order(Side.BUY))
        cid = request.client_order_id
        await venue.drop_connection()
        await venue.fill(cid)  # executed at the venue while the adapter is cut off
        fills = await kit.tap.expect_filled(cid, request.quantity)
        after = await kit.place(kit.order(Side.BUY))  # the adapter trades again after reconnecting
        await kit.cancel(after.client_order_id)
        await kit.settle()
        fills = kit.tap.fills(cid)
        assert sum((f.quantity for f in fills), ZERO) == request.quantity, (
            f"fills of {cid} after the reconnect: {kit.tap.describe(cid)}")
        assert await kit.venue_position() == kit.start_position + request.quantity
        assert await kit.broker_position() == kit.start_position + request.quantity


# --- C15-C17 -----------------------------------------------------------------------------------------
async def _fault_case(
    broker: Broker, venue: VenueController, settings: KitSettings, case: str, kind: FaultKind,
    category: ErrorCategory, action: ErrorAction, code: str,
) -> None:
    _require(broker, OrderType.LIMIT)
    async with _kit(broker, venue, settings, case) as kit:
        request = kit.order(Side.BUY)
        await venue.fail_next(kind)
        with pytest.raises(BrokerError) as raised:
            await kit.submit(request)
        error = raised.value.error_class
        assert (error.category, error.action, error.code) == (category, action, code), (
            f"{kind} failure classified as {error.category}/{error.action}/{error.code}")
        if kind == "rate_limit":
            assert error.retry_after_s is None or error.retry_after_s >= 0
        cause = raised.value.__cause__
        if cause is not None:
            again = broker.classify_error(cause)
            assert again is None or again.category is category, "classify_error disagrees with the raise"
        # the fault was one request: the adapter works again, and nothing was sent twice
        await broker.open_orders()
        cid = request.client_order_id
        mine = [o for o in await venue.venue_open_orders() if o.client_order_id == cid]
        assert len(mine) <= 1
        if mine:
            await kit.cancel(cid)
        else:
            await _no_trace(kit, cid)
        kit.quantities.pop(cid, None)


async def _no_trace(kit: Kit, cid: str) -> None:
    """An order that never reached the venue: cancel-all, open orders and events show nothing of it."""
    broker = kit.broker
    await broker.cancel_all()
    assert cid not in {o.client_order_id for o in await broker.open_orders()}, (
        f"open_orders() reports {cid}, which never reached the venue")
    snapshot = await broker.order_status(cid)
    assert snapshot is None or snapshot.status is OrderStatus.REJECTED, (
        f"order_status() reports {cid} as {snapshot.status}, but it never reached the venue")
    await kit.settle()  # events the adapter sent before this barrier have arrived
    assert not kit.tap.for_order(cid), (
        f"events for {cid}, which never reached the venue: {kit.tap.describe(cid)}")


@pytest.mark.conformance("C15")
@pytest.mark.asyncio
async def test_C15_auth_error_classified(
    broker: Broker, venue: VenueController, conformance_settings: KitSettings
) -> None:
    await _fault_case(broker, venue, conformance_settings, "C15", "auth",
                      ErrorCategory.AUTH, ErrorAction.HALT_TRADING, reasons.AUTH_HALT)


@pytest.mark.conformance("C16")
@pytest.mark.asyncio
async def test_C16_rate_limit_error_classified(
    broker: Broker, venue: VenueController, conformance_settings: KitSettings
) -> None:
    await _fault_case(broker, venue, conformance_settings, "C16", "rate_limit",
                      ErrorCategory.RATE_LIMIT, ErrorAction.RETRY, reasons.RATE_LIMIT_RETRY)


@pytest.mark.conformance("C17")
@pytest.mark.asyncio
async def test_C17_network_error_classified(
    broker: Broker, venue: VenueController, conformance_settings: KitSettings
) -> None:
    await _fault_case(broker, venue, conformance_settings, "C17", "network",
                      ErrorCategory.TRANSIENT_NETWORK, ErrorAction.RETRY, reasons.NET_RETRY)


# --- C18 ---------------------------------------------------------------------------------------------
@pytest.mark.conformance("C18")
@pytest.mark.parametrize("report", ["open_orders", "order_status"])
@pytest.mark.asyncio
async def test_C18_restart_with_working_legs_leg_fill_arrives(
    broker: Broker, venue: VenueController, conformance_settings: KitSettings,
    broker_factory: BrokerFactory | None, report: str,
) -> None:
    """A new adapter instance reconciles (by the open-orders report, or by looking each leg up as the
    daemon's startup does); a leg that fills at the venue afterwards is reported without any further call,
    its sibling ends, and no leg is accepted a second time."""
    factory = _fail_without_factory(broker_factory, "C18")
    if not broker.capabilities.brackets:
        pytest.skip("capabilities: brackets not supported")
    _require(broker, OrderType.MARKET)
    async with _kit(broker, venue, conformance_settings, "C18") as kit:
        stop, target, entry, sl, tp = await _filled_bracket(kit)
        cid = entry.client_order_id
        await broker.close()
        restarted = await factory()
        await kit.switch_broker(restarted)
        if report == "open_orders":
            found = {o.client_order_id for o in await restarted.open_orders()}
            assert {sl, tp} <= found, f"open_orders() after the restart lacks the legs: {sorted(found)}"
        else:
            for leg in (sl, tp):
                snapshot = await restarted.order_status(leg)
                assert snapshot is not None and snapshot.status in OPEN_STATUSES, (
                    f"order_status({leg}) after the restart: {snapshot}")
        legs = await _venue_legs(kit, cid, stop, target)
        assert set(legs) == {"sl", "tp"}, f"bracket legs not working at the venue: {legs}"
        await venue.fill(legs["tp"].client_order_id)
        fills = await kit.tap.expect_filled(tp, entry.quantity)  # no other call: the update itself arrives
        assert fills[-1].leaves_qty == 0
        final = await kit.tap.expect_terminal(sl)
        assert isinstance(final, OrderCanceled), f"stop leg ended as {final.kind}, not canceled by the target"
        assert not await _venue_legs(kit, cid, stop, target), "a bracket leg is still working at the venue"
        assert await kit.venue_position() == kit.start_position
        assert await kit.broker_position() == kit.start_position


# --- C19 ---------------------------------------------------------------------------------------------
@pytest.mark.conformance("C19")
@pytest.mark.asyncio
async def test_C19_restart_reused_id_of_filled_order_never_sent(
    broker: Broker, venue: VenueController, conformance_settings: KitSettings,
    broker_factory: BrokerFactory | None,
) -> None:
    """Some venues refuse a reused client order id only while the first order is open: the adapter (which
    after a restart has no memory of the id) must look it up and never send a second order."""
    factory = _fail_without_factory(broker_factory, "C19")
    _require(broker, OrderType.LIMIT)
    _require(broker, OrderType.MARKET)
    async with _kit(broker, venue, conformance_settings, "C19") as kit:
        fills = await kit.open_position(Side.BUY)
        filled_cid = fills[0].client_order_id
        await broker.close()
        restarted = await factory()
        await kit.switch_broker(restarted)
        position = await kit.venue_position()
        # a resting limit: had the venue taken it, it would be working there now
        await _resubmit(kit, kit.order(Side.BUY, cid=filled_cid))
        await kit.settle()
        assert filled_cid not in {o.client_order_id for o in await venue.venue_open_orders()}, (
            f"the venue got a second order with client order id {filled_cid}")
        await _resubmit(kit, kit.order(Side.BUY, OrderType.MARKET, cid=filled_cid))
        await kit.push_bar()
        await kit.settle()
        assert await kit.venue_position() == position, "a reused id traded again after the restart"
        assert not kit.tap.fills(filled_cid), f"fills for the reused id: {kit.tap.describe(filled_cid)}"
        status = await restarted.order_status(filled_cid)
        assert status is not None and status.status is OrderStatus.FILLED


__all__ = [name for name in list(globals()) if name.startswith("test_C")]
