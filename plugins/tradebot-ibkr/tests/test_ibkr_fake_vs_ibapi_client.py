"""IBKR's own client (``ibapi`` EClient, offering v100..226) against the fake TWS over a real socket.

The other fidelity test decodes what the fake WRITES with ibapi; this one checks that the fake READS what
IBKR's client writes (its own encoding of contract details, real-time bars, placeOrder, cancelOrder,
positions and account summary requests) and that IBKR's client gets the answers it waits for.
"""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal
from typing import Any

import pytest
from ibapi.client import EClient
from ibapi.contract import Contract
from ibapi.order import Order
from ibapi.order_cancel import OrderCancel
from ibapi.wrapper import EWrapper
from ibkr_fake_tws import FakeTws, FakeTwsController
from ibkr_test_support import minute_bar, wait_until

pytestmark = pytest.mark.timeout(30)


class RecordingApp(EWrapper, EClient):  # type: ignore[misc]
    def __init__(self) -> None:
        EWrapper.__init__(self)
        EClient.__init__(self, self)
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.lock = threading.Lock()

    def _record(self, name: str, *args: Any) -> None:
        with self.lock:
            self.calls.append((name, args))

    def named(self, name: str) -> list[tuple[Any, ...]]:
        with self.lock:
            return [args for n, args in self.calls if n == name]

    def nextValidId(self, orderId: int) -> None:
        self._record("nextValidId", orderId)

    def error(
        self, reqId: int, errorTime: int, errorCode: int, errorString: str, advancedOrderRejectJson: str = ""
    ) -> None:
        self._record("error", reqId, errorCode, errorString)

    def contractDetails(self, reqId: int, contractDetails: Any) -> None:
        self._record("contractDetails", reqId, contractDetails)

    def contractDetailsEnd(self, reqId: int) -> None:
        self._record("contractDetailsEnd", reqId)

    def realtimeBar(
        self,
        reqId: int,
        time: int,
        open_: float,
        high: float,
        low: float,
        close: float,
        volume: Decimal,
        wap: Decimal,
        count: int,
    ) -> None:
        self._record("realtimeBar", reqId, time, open_, high, low, close, volume)

    def openOrder(self, orderId: int, contract: Any, order: Any, orderState: Any) -> None:
        self._record("openOrder", orderId, contract, order, orderState)

    def orderStatus(self, orderId: int, status: str, filled: Decimal, remaining: Decimal, *rest: Any) -> None:
        self._record("orderStatus", orderId, status, filled, remaining)

    def execDetails(self, reqId: int, contract: Any, execution: Any) -> None:
        self._record("execDetails", reqId, contract, execution)

    def commissionAndFeesReport(self, commissionAndFeesReport: Any) -> None:
        self._record("commissionAndFeesReport", commissionAndFeesReport)

    def position(self, account: str, contract: Any, position: Decimal, avgCost: float) -> None:
        self._record("position", account, contract, position, avgCost)

    def positionEnd(self) -> None:
        self._record("positionEnd")

    def accountSummary(self, reqId: int, account: str, tag: str, value: str, currency: str) -> None:
        self._record("accountSummary", reqId, account, tag, value, currency)

    def accountSummaryEnd(self, reqId: int) -> None:
        self._record("accountSummaryEnd", reqId)


async def test_ibapi_eclient_trades_against_the_fake(tws: FakeTws, venue: FakeTwsController) -> None:
    app = RecordingApp()
    await asyncio.to_thread(app.connect, "127.0.0.1", tws.port, 31)
    reader = threading.Thread(target=app.run, daemon=True)
    reader.start()
    try:
        await wait_until(lambda: bool(app.named("nextValidId")))
        assert app.serverVersion() == 176
        next_id = app.named("nextValidId")[0][0]

        query = Contract()
        query.symbol, query.secType, query.exchange, query.currency = "MES", "FUT", "CME", "USD"
        app.reqContractDetails(1, query)
        await wait_until(lambda: bool(app.named("contractDetailsEnd")))
        details = [a[1] for a in app.named("contractDetails")]
        assert len(details) == 5 and {d.minTick for d in details} == {0.25}
        front = min(details, key=lambda d: d.contract.lastTradeDateOrContractMonth).contract

        app.reqRealTimeBars(2, front, 5, "TRADES", False, [])
        await wait_until(lambda: any(s.rt_bars for s in tws.live_sessions()))
        await venue.push_bar(minute_bar(30, 5800.0, 5801.0, 5799.5, 5800.75, 24))
        await wait_until(lambda: len(app.named("realtimeBar")) == 12)
        bars = app.named("realtimeBar")
        assert bars[0][2] == 5800.0 and bars[-1][5] == 5800.75 and sum(b[6] for b in bars) == 24

        order = Order()
        order.action, order.orderType, order.totalQuantity = "BUY", "LMT", Decimal(1)
        order.lmtPrice, order.tif, order.orderRef = 5799.75, "GTC", "ibapi-1"
        app.placeOrder(next_id, front, order)
        await wait_until(lambda: any(a[1] == "Submitted" for a in app.named("orderStatus")))
        placed = tws.order_by_ref("ibapi-1")  # the fake parsed IBKR's own placeOrder encoding
        assert (placed.action, placed.quantity, placed.order_type, placed.lmt_price, placed.tif) == (
            "BUY",
            1,
            "LMT",
            5799.75,
            "GTC",
        )
        assert placed.contract.con_id == front.conId and placed.order_id == next_id
        assert app.named("openOrder")[0][2].orderRef == "ibapi-1"

        await venue.fill("ibapi-1")
        await wait_until(lambda: bool(app.named("commissionAndFeesReport")))
        (execution,) = [a[2] for a in app.named("execDetails")]
        assert (execution.orderRef, execution.shares, execution.price) == ("ibapi-1", Decimal(1), 5799.75)
        assert app.named("commissionAndFeesReport")[0][0].execId == execution.execId

        app.reqPositions()
        await wait_until(lambda: bool(app.named("positionEnd")))
        assert [(a[1].symbol, a[2]) for a in app.named("position")][-1] == ("MES", Decimal(1))
        app.reqAccountSummary(3, "All", "NetLiquidation,BuyingPower")
        await wait_until(lambda: bool(app.named("accountSummaryEnd")))
        assert {a[2]: a[3] for a in app.named("accountSummary")} == {
            "NetLiquidation": "100000.00",
            "BuyingPower": "400000.00",
        }

        second = Order()
        second.action, second.orderType, second.totalQuantity = "SELL", "LMT", Decimal(1)
        second.lmtPrice, second.orderRef = 5850.0, "ibapi-2"
        app.placeOrder(next_id + 1, front, second)
        await wait_until(lambda: any(o.order_ref == "ibapi-2" and o.is_working for o in tws.orders.values()))
        app.cancelOrder(next_id + 1, OrderCancel())
        await wait_until(lambda: any(a[1] == 202 for a in app.named("error")))
        assert tws.order_by_ref("ibapi-2").status == "Cancelled"
        unexpected = [a for a in app.named("error") if a[1] not in (2104, 2106, 2158, 202)]
        assert unexpected == []
    finally:
        app.disconnect()
        await asyncio.to_thread(reader.join, 5)
