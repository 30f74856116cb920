"""Every message the fake TWS writes decodes in IBKR's own Python client (``ibapi``, PyPI ``ibapi-latest``).

The fake is driven through a full session by the adapter (ib_async); then each payload it wrote is fed
to ``ibapi.decoder.Decoder`` at the negotiated server version with a recording ``EWrapper``. A message
passes when exactly the expected wrapper callback fires once, and (for field-by-field decoders) every
field was consumed: the fake's layouts are IBKR's, not merely what ib_async tolerates.
"""

from __future__ import annotations

import asyncio
import inspect
from decimal import Decimal
from typing import Any

import pytest
from ibapi import comm
from ibapi.decoder import Decoder
from ibapi.wrapper import EWrapper
from ibkr_fake_tws import SERVER_VERSION, FakeTws, FakeTwsController
from ibkr_test_support import fast_config, limit, minute_bar, order_events, take, wait_until
from tradebot_ibkr import CAPABILITIES
from tradebot_ibkr.broker import IbkrBroker

from tradebot.domain.clock import WallClock
from tradebot.domain.errors import BrokerError
from tradebot.domain.orders import Bracket, Side

pytestmark = pytest.mark.timeout(30)

EXPECTED_CALLBACK = {
    3: "orderStatus",
    4: "error",
    5: "openOrder",
    6: "updateAccountValue",
    8: "updateAccountTime",
    9: "nextValidId",
    10: "contractDetails",
    11: "execDetails",
    15: "managedAccounts",
    49: "currentTime",
    50: "realtimeBar",
    52: "contractDetailsEnd",
    53: "openOrderEnd",
    54: "accountDownloadEnd",
    55: "execDetailsEnd",
    59: "commissionAndFeesReport",
    61: "position",
    62: "positionEnd",
    63: "accountSummary",
    64: "accountSummaryEnd",
    73: "accountUpdateMulti",
    74: "accountUpdateMultiEnd",
    101: "completedOrder",
    102: "completedOrdersEnd",
}


def recording_wrapper() -> tuple[EWrapper, list[tuple[str, tuple[Any, ...]]]]:
    calls: list[tuple[str, tuple[Any, ...]]] = []
    namespace: dict[str, Any] = {}
    for name, _ in inspect.getmembers(EWrapper, inspect.isfunction):
        if name.startswith("_"):
            continue

        def record(self: Any, *args: Any, _name: str = name, **kwargs: Any) -> None:
            calls.append((_name, args + tuple(kwargs.values())))

        namespace[name] = record
    recorder = type("RecordingWrapper", (EWrapper,), namespace)()
    return recorder, calls


def decode_all(payloads: list[bytes]) -> list[tuple[int, str, tuple[Any, ...]]]:
    """Decode like ``ibapi.client.EClient.run`` at a text-protocol server version; strict on leftovers."""
    wrapper, calls = recording_wrapper()
    decoder = Decoder(wrapper, SERVER_VERSION)
    out = []
    for payload in payloads:
        msg_id = int(payload[: payload.index(b"\0")])
        fields = comm.read_fields(payload[payload.index(b"\0") + 1 :])
        before = len(calls)
        info = decoder.msgId2handleInfo[msg_id]
        if info.processMeth is not None:
            remaining = iter(fields)
            info.processMeth(decoder, remaining)
            leftover = list(remaining)
            assert leftover == [], f"msg {msg_id}: {len(leftover)} fields not consumed: {leftover}"
        else:
            decoder.interpret(fields, msg_id)
        new = calls[before:]
        assert len(new) == 1, f"msg {msg_id} {payload!r}: callbacks {[n for n, _ in new]}"
        name, args = new[0]
        assert name == EXPECTED_CALLBACK[msg_id], f"msg {msg_id} decoded as {name}"
        out.append((msg_id, name, args))
    return out


async def drive_full_session(broker: IbkrBroker, venue: FakeTwsController, tws: FakeTws) -> None:
    events = broker.events()
    inst = await broker.instrument("MES")
    with pytest.raises(BrokerError):
        await broker.instrument("NOPE")  # error 200
    stream = broker.bars(inst, 60)
    first_bar = asyncio.ensure_future(stream.__anext__())
    await broker.submit(limit("e1", Side.BUY, "5800", bracket=Bracket(Decimal("5790"), Decimal("5810"))))
    await wait_until(lambda: any(s.rt_bars for s in tws.live_sessions()))
    await venue.push_bar(
        minute_bar(30, 5801.0, 5811.0, 5799.75, 5809.0)
    )  # entry, then target; stop cancelled
    await asyncio.wait_for(first_bar, 3)
    await venue.reject_next("Margin")
    await broker.submit(limit("e2", Side.BUY, "5700"))  # error 201
    await broker.submit(limit("e3", Side.BUY, "5701"))
    await take(events, 8, keep=order_events)
    await broker.open_orders()
    await broker.fills_since(minute_bar(0, 1, 1, 1, 1).ts)
    await broker.positions()
    await broker.account()
    broker.ib.client.cancelOrder(4242, "")  # error 10147
    broker.ib.client.reqIds(1)
    await broker.ib.reqCurrentTimeAsync()
    await broker.cancel_all()
    second = IbkrBroker(fast_config(tws.port), WallClock(), CAPABILITIES)
    with pytest.raises(BrokerError):
        await second.connect()  # error 326
    await second.close()
    await wait_until(lambda: tws.order_by_ref("e3").status == "Cancelled")
    other = IbkrBroker(fast_config(tws.port, client_id=8), WallClock(), CAPABILITIES)
    await other.connect()  # its startup reqCompletedOrders gets today's filled and cancelled orders (101)
    await other.close()


async def test_every_fake_message_decodes_in_ibapi(
    broker: IbkrBroker, venue: FakeTwsController, tws: FakeTws
) -> None:
    await drive_full_session(broker, venue, tws)
    decoded = decode_all(tws.sent)
    assert {msg_id for msg_id, _, _ in decoded} == set(
        EXPECTED_CALLBACK
    )  # every type the fake sends, checked

    by_name: dict[str, list[tuple[Any, ...]]] = {}
    for _, name, args in decoded:
        by_name.setdefault(name, []).append(args)
    codes = {args[2] for args in by_name["error"]}
    assert {200, 201, 202, 326, 10147, 2104, 2106, 2158} <= codes
    (details,) = [a[1] for a in by_name["contractDetails"] if a[1].contract.symbol == "MES"][:1]
    assert (details.minTick, details.contract.multiplier, details.contract.exchange) == (0.25, "5", "CME")
    orders = {a[2].orderRef: a[2] for a in by_name["openOrder"]}
    assert orders["e1-sl"].ocaGroup == orders["e1-tp"].ocaGroup == "oca-e1"
    assert orders["e1-sl"].parentId == orders["e1"].orderId and orders["e1-sl"].auxPrice == 5790.0
    executions = [a[2] for a in by_name["execDetails"]]
    assert {e.orderRef for e in executions} >= {"e1", "e1-tp"}
    reports = {a[0].execId: a[0].commissionAndFees for a in by_name["commissionAndFeesReport"]}
    assert set(reports) == {x.exec_id for x in tws.executions} and set(reports.values()) == {0.62}
    bars = [a for a in by_name["realtimeBar"]]
    assert len(bars) == 12 and bars[0][2] == 5801.0  # reqId, time, open
    completed = {a[1].orderRef: a[2].status for a in by_name["completedOrder"]}
    assert (
        completed["e1"] == "Filled" and completed["e1-sl"] == "Cancelled" and completed["e3"] == "Cancelled"
    )
    summary = {a[2]: a[3] for a in by_name["accountSummary"]}
    assert summary["NetLiquidation"] == "100000.00" and summary["BuyingPower"] == "400000.00"
