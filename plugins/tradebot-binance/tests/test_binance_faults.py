"""Fault handling against the fake venue: 429 + Retry-After, -1021, dropped user stream, listen-key expiry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from binance_fake_server import FakeBinance, FakeVenueController
from tradebot_binance import BinanceBroker

from tradebot.domain.errors import BrokerError, ErrorCategory
from tradebot.domain.events import BrokerEvent, OrderFilled
from tradebot.domain.orders import OrderRequest, OrderType, Side

pytestmark = pytest.mark.timeout(30)


def _limit(cid: str, price: str = "58000", qty: str = "0.002") -> OrderRequest:
    return OrderRequest(
        cid,
        cid,
        "BTCUSDT",
        Side.BUY,
        Decimal(qty),
        OrderType.LIMIT,
        datetime.now(UTC),
        limit_price=Decimal(price),
    )


async def _collect(broker: BinanceBroker, sink: list[BrokerEvent]) -> None:
    async for event in broker.events():
        sink.append(event)


async def _until(cond, what: str, timeout: float = 8.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_rate_limit_429_waits_retry_after_then_reads(
    broker: BinanceBroker, venue: FakeVenueController, fake: FakeBinance
) -> None:
    await venue.fail_next_raw(429, -1003, "Too many requests", retry_after=1)
    loop = asyncio.get_running_loop()
    before = loop.time()
    positions = await broker.positions()  # a read: backs off per Retry-After, then succeeds
    assert positions == []
    assert loop.time() - before >= 0.9, "the read did not wait for Retry-After"
    assert [p for _, p in fake.requests[-2:]] == ["/fapi/v3/positionRisk", "/fapi/v3/positionRisk"]
    assert broker.rest.weights.used_weight > 0 and broker.rest.weights.weight_limit == 2400


async def test_rate_limit_on_submit_raises_with_retry_after(
    broker: BinanceBroker, venue: FakeVenueController
) -> None:
    await venue.fail_next_raw(429, -1003, "Too many requests", retry_after=1, orders_only=True)
    with pytest.raises(BrokerError) as raised:
        await broker.submit(_limit("rl-1"))
    assert raised.value.error_class.category is ErrorCategory.RATE_LIMIT
    assert raised.value.error_class.retry_after_s == 1.0
    assert await venue.venue_open_orders() == []  # never sent twice, never half-sent


async def test_ip_ban_418_disables_provider(broker: BinanceBroker, venue: FakeVenueController) -> None:
    await venue.fail_next_raw(418, -1003, "Way too many requests; IP banned until ...", retry_after=0,
                              orders_only=True)
    with pytest.raises(BrokerError) as raised:
        await broker.submit(_limit("ban-1"))
    assert raised.value.error_class.code == "BINANCE_IP_BANNED"


async def test_timestamp_1021_resyncs_clock_and_retries_read(
    broker: BinanceBroker, venue: FakeVenueController
) -> None:
    venue.shift_clock(30_000)  # the venue's clock jumps 30 s ahead: our timestamps fall outside recvWindow
    resyncs = broker.rest.resyncs
    account = await broker.account()
    assert account.equity == Decimal(10000)
    assert broker.rest.resyncs == resyncs + 1
    assert abs(broker.rest.client.timestamp_offset - 30_000) < 2_000


async def test_timestamp_1021_on_submit_is_transient_and_not_sent(
    broker: BinanceBroker, venue: FakeVenueController
) -> None:
    # the venue answers the order with -1021 (the lookup before it passed): it was not placed
    await venue.fail_next_raw(400, -1021, "Timestamp for this request is outside of the recvWindow.",
                              orders_only=True)
    with pytest.raises(BrokerError) as raised:
        await broker.submit(_limit("ts-1"))
    assert raised.value.error_class.code == "BINANCE_TIMESTAMP_RESYNC"
    assert raised.value.error_class.category is ErrorCategory.TRANSIENT_NETWORK  # OMS looks up, then resends
    assert await broker.order_status("ts-1") is None
    await broker.submit(_limit("ts-1"))  # the resend goes through
    assert [o.client_order_id for o in await venue.venue_open_orders()] == ["ts-1"]


async def test_signature_error_is_auth_halt(make_broker, fake: FakeBinance) -> None:  # type: ignore[no-untyped-def]
    fake.api_secret = "rotated-secret"  # our secret no longer matches: every signed call gets -1022
    with pytest.raises(BrokerError) as raised:
        await make_broker()
    assert raised.value.error_class.category is ErrorCategory.AUTH
    assert raised.value.error_class.code == "AUTH_HALT"


async def test_dropped_user_stream_fills_recovered_once(
    broker: BinanceBroker, venue: FakeVenueController, fake: FakeBinance
) -> None:
    events: list[BrokerEvent] = []
    tap = asyncio.create_task(_collect(broker, events))
    try:
        await venue.set_last_price("BTCUSDT", Decimal(60000))
        await broker.submit(_limit("drop-1", qty="0.004"))
        await venue.drop_user_stream()
        await venue.fill("drop-1", qty=Decimal("0.002"))  # while the stream is down: these events are lost
        await venue.fill("drop-1")
        await _until(
            lambda: sum(e.quantity for e in events if isinstance(e, OrderFilled)) == Decimal("0.004"),
            "fills recovered after the reconnect",
        )
        fills = [e for e in events if isinstance(e, OrderFilled)]
        assert [f.fill_id for f in fills] == [str(t["id"]) for t in fake.trades]
        assert [f.leaves_qty for f in fills] == [Decimal("0.002"), Decimal(0)]
        assert broker.user_stream.interruptions >= 1
        await asyncio.sleep(0.3)  # nothing is reported twice afterwards
        assert len([e for e in events if isinstance(e, OrderFilled)]) == 2
    finally:
        tap.cancel()


async def test_listen_key_expiry_renews_key_and_keeps_reporting(
    broker: BinanceBroker, venue: FakeVenueController, fake: FakeBinance
) -> None:
    events: list[BrokerEvent] = []
    tap = asyncio.create_task(_collect(broker, events))
    try:
        first_key = fake.listen_key
        await broker.submit(_limit("lk-1"))
        await venue.expire_listen_key()
        await _until(lambda: fake.listen_key is not None and fake.user_subscribers() == 1, "a new listen key")
        assert fake.listen_key != first_key
        assert len(fake.listen_keys_issued) == 2
        await venue.fill("lk-1")  # reported on the renewed stream
        await _until(lambda: any(isinstance(e, OrderFilled) for e in events), "the fill on the new key")
        assert [e.client_order_id for e in events if isinstance(e, OrderFilled)] == ["lk-1"]
    finally:
        tap.cancel()


@pytest.mark.parametrize("fault", ["timestamp", "rate_limit", "network"])
async def test_submit_that_did_not_reach_the_venue_leaves_no_phantom(
    broker: BinanceBroker, venue: FakeVenueController, fault: str
) -> None:
    """After -1021, 429 or a lost connection on submit, cancel_all reports nothing for that order."""
    events: list[BrokerEvent] = []
    tap = asyncio.create_task(_collect(broker, events))
    try:
        if fault == "timestamp":
            await venue.fail_next_raw(400, -1021, "Timestamp for this request is outside of the recvWindow.",
                                      orders_only=True)
        elif fault == "rate_limit":
            await venue.fail_next_raw(429, -1003, "Too many requests", retry_after=0, orders_only=True)
        else:
            await venue.fail_next_network()
        with pytest.raises(BrokerError):
            await broker.submit(_limit("ph-1"))
        await broker.cancel_all()
        assert "ph-1" not in {o.client_order_id for o in await broker.open_orders()}
        assert await broker.order_status("ph-1") is None
        await broker.submit(_limit("ph-2"))  # a barrier: events sent before it have arrived
        await _until(lambda: any(e.kind == "order_accepted" for e in events), "ph-2 accepted")
        assert [e for e in events if getattr(e, "client_order_id", None) == "ph-1"] == []
        assert broker.tracked("ph-1") is None
    finally:
        tap.cancel()
