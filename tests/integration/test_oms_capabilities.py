"""The order manager refuses, before the write-ahead, an order the broker does not declare it can take:
UNSUPPORTED_ORDER_TYPE recorded in the store, nothing in the ledger, nothing at the venue.

The adapters here are the simulated venue's own, declaring fewer capabilities than it has (a test double
of a plugin: a real venue behind a narrower declaration)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tradebot.brokers.sim import SimBroker, SimConfig, SimController, SimVenue
from tradebot.brokers.sim.execution import SIM_CAPABILITIES
from tradebot.domain.clock import ReplayClock
from tradebot.domain.orders import Bracket, OrderRequest, OrderType, Side, TimeInForce
from tradebot.oms.ledger import Ledger
from tradebot.oms.manager import OrderManager, SubmitOutcome
from tradebot.pipeline.store_recorder import StoreRecorder
from tradebot.store import EventWriter, StoreReader

pytestmark = pytest.mark.timeout(30)
T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
CONFIG = {
    "instruments": {"MES": {"venue": "CME", "asset_class": "FUTURE", "tick_size": "0.25", "multiplier": "5"}}
}


class NoBrackets(SimBroker):
    name = "nobrackets"
    capabilities = replace(SIM_CAPABILITIES, brackets=False)


class MarketAndLimitOnly(SimBroker):
    name = "marketlimit"
    capabilities = replace(
        SIM_CAPABILITIES,
        order_types=frozenset({OrderType.MARKET, OrderType.LIMIT}),
        time_in_force=frozenset({TimeInForce.DAY}),
    )


def _request(cid: str, **changes: object) -> OrderRequest:
    base = OrderRequest(
        cid, cid, "MES", Side.BUY, Decimal(1), OrderType.LIMIT, T0, limit_price=Decimal("5000")
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def _submit(
    tmp_path: Path, cls: type[SimBroker], request: OrderRequest
) -> tuple[SubmitOutcome, list[tuple[str, dict[str, object]]], Ledger, list[str]]:
    clock = ReplayClock(T0)
    broker = cls(SimVenue(SimConfig.from_mapping(CONFIG), clock), clock)
    await broker.connect()
    store = tmp_path / f"{cls.__name__}-{request.client_order_id}.db"
    ledger = Ledger()
    async with EventWriter.open(store) as writer:
        outcome = await OrderManager(broker, ledger, StoreRecorder(writer), clock).submit(request)
    with StoreReader(store) as reader:
        events = [(e.kind, e.body) for e in reader.iter_events()]
    venue = [o.client_order_id for o in await SimController(broker.venue).venue_open_orders()]
    return outcome, events, ledger, venue


@pytest.mark.parametrize(
    ("cls", "changes", "missing"),
    [
        (
            NoBrackets,
            {"bracket": Bracket(Decimal("4990"), Decimal("5020"))},
            ["brackets (an entry with stop-loss/take-profit legs)"],
        ),
        (
            MarketAndLimitOnly,
            {"order_type": OrderType.STOP_LIMIT, "stop_price": Decimal("5001")},
            ["order type STOP_LIMIT"],
        ),
        (MarketAndLimitOnly, {"tif": TimeInForce.IOC}, ["time in force IOC"]),
        (
            MarketAndLimitOnly,
            {"order_type": OrderType.MARKET, "limit_price": None, "bracket": Bracket(Decimal("4990"))},
            ["order type STOP"],  # the stop-loss leg is a STOP order
        ),
    ],
)
async def test_an_order_the_broker_does_not_declare_is_refused_before_the_write_ahead(
    tmp_path: Path, cls: type[SimBroker], changes: dict[str, object], missing: list[str]
) -> None:
    outcome, events, ledger, venue = await _submit(tmp_path, cls, _request("tb-MES-x", **changes))
    assert outcome is SubmitOutcome.REFUSED
    assert [kind for kind, _ in events] == ["order_refused"]  # no order_submit: nothing written ahead
    body = events[0][1]
    assert body["code"] == "UNSUPPORTED_ORDER_TYPE" and body["broker"] == cls.name
    assert body["unsupported"] == missing and body["client_order_id"] == "tb-MES-x"
    assert "tb-MES-x" not in ledger and venue == []


async def test_an_order_within_the_declared_capabilities_is_sent(tmp_path: Path) -> None:
    outcome, events, ledger, venue = await _submit(tmp_path, MarketAndLimitOnly, _request("tb-MES-ok"))
    assert outcome is SubmitOutcome.SENT
    assert [kind for kind, _ in events] == ["order_submit"]
    assert "tb-MES-ok" in ledger and venue == ["tb-MES-ok"]
