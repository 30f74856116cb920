"""The simulated venue rebuilt from the calls it received is the venue that received them.

``rebuild`` replays recorded calls into a fresh venue; ``restore_venue`` reads those calls from a real
event store written by the real OMS (write-ahead, retries, failures) and refuses a store whose fills the
rebuilt venue does not reproduce.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from tradebot.brokers.sim import SimBroker, SimConfig, SimVenue, create_broker
from tradebot.brokers.sim.projection import BarSeen, CancelSent, OrderSent, VenueInput, rebuild
from tradebot.domain.bars import Bar
from tradebot.domain.clock import ReplayClock
from tradebot.domain.orders import Bracket, OrderRequest, OrderType, Side, TimeInForce
from tradebot.oms.ledger import Ledger
from tradebot.oms.manager import OrderManager, SubmitOutcome
from tradebot.pipeline.store_recorder import StoreRecorder
from tradebot.pipeline.venue_projection import VenueProjectionError, restore_venue, venue_from_store
from tradebot.store import EventWriter, StoreReader

T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
MES = {"venue": "CME", "asset_class": "FUTURE", "tick_size": "0.25", "multiplier": "5"}
TABLE: dict[str, Any] = {"instruments": {"MES": MES}, "fee_bps": 0.5, "slippage_bps": 1.0, "latency_bars": 1}
D = Decimal


def bar(i: int, o: float, h: float, lo: float, c: float) -> Bar:
    return Bar("MES", T0 + timedelta(minutes=i), o, h, lo, c, 100.0)


def order(cid: str, side: Side = Side.BUY, kind: OrderType = OrderType.MARKET, qty: str = "1",
          **kw: Any) -> OrderRequest:
    return OrderRequest(cid, cid, "MES", side, D(qty), kind, T0, **kw)


class Driven:
    """A venue driven call by call, keeping the calls as a rebuild takes them."""

    def __init__(self, table: dict[str, Any]) -> None:
        self.clock = ReplayClock(T0)
        self.venue = SimVenue(SimConfig.from_mapping(table), self.clock)
        self.inputs: list[VenueInput] = []

    def bar(self, b: Bar) -> None:
        self.clock.advance_to(b.end)
        self.venue.on_bar(b)
        self.inputs.append(BarSeen(b))

    def submit(self, request: OrderRequest, venue_reject: str | None = None) -> None:
        if venue_reject is not None:
            self.venue.reject_next(venue_reject)
        self.venue.submit(request)
        self.inputs.append(OrderSent(request, self.clock.now(), venue_reject))

    def cancel(self, cid: str) -> None:
        self.venue.cancel(cid)
        self.inputs.append(CancelSent(cid, self.clock.now()))


def state(venue: SimVenue) -> dict[str, Any]:
    """Everything the venue holds, internal matching state included (each order's full record)."""
    return {
        "orders": {cid: orjson.loads(o.to_json_bytes()) for cid, o in venue._orders.items()},
        "open": [o.client_order_id for o in venue.snapshot_open_orders()],
        "fills": [asdict(f) for f in venue.all_fills()],
        "positions": venue.snapshot_positions(),
        "account": venue.account(),
    }


def test_a_rebuilt_venue_is_the_venue_in_every_record_and_goes_on_identically() -> None:
    driven = Driven(TABLE)
    driven.bar(bar(0, 4500, 4501, 4499, 4500))
    driven.submit(order("entry", bracket=Bracket(D("4490.00"), D("4510.00"))))
    driven.submit(order("rest", kind=OrderType.LIMIT, limit_price=D("4400.00"), tif=TimeInForce.GTC))
    driven.submit(order("stoplim", Side.SELL, OrderType.STOP_LIMIT, stop_price=D("4495.00"),
                        limit_price=D("4520.00")))
    driven.submit(order("refused", qty="2"), venue_reject="venue is busy")
    driven.submit(order("entry"))  # a reused id: refused as a duplicate, the first order stands
    driven.bar(bar(1, 4500, 4502, 4498, 4501))  # latency: every order waits one bar
    driven.bar(bar(2, 4501, 4503, 4494, 4496))  # entry fills; stop-limit triggers, rests above its limit
    driven.submit(order("ioc", Side.SELL, OrderType.LIMIT, limit_price=D("4600.00"), tif=TimeInForce.IOC))
    driven.cancel("rest")
    driven.bar(bar(3, 4496, 4512, 4495, 4511))  # the target leg fills, the stop leg is canceled (OCO)
    driven.submit(order("parent", kind=OrderType.LIMIT, limit_price=D("4300.00"),
                        bracket=Bracket(D("4290.00"))))
    driven.cancel("parent")  # an unfilled entry's cancel takes its legs with it
    driven.submit(order("late", kind=OrderType.LIMIT, limit_price=D("4480.00"), tif=TimeInForce.GTC))
    driven.bar(bar(4, 4511, 4513, 4509, 4510))  # the IOC expires
    statuses = {cid: o.status.value for cid, o in driven.venue._orders.items()}
    assert statuses == {"entry": "FILLED", "entry-sl": "CANCELED", "entry-tp": "FILLED", "rest": "CANCELED",
                        "stoplim": "ACCEPTED", "refused": "REJECTED", "ioc": "EXPIRED", "parent": "CANCELED",
                        "parent-sl": "CANCELED", "late": "ACCEPTED"}
    assert driven.venue._orders["stoplim"].triggered  # triggered, resting above the market

    rebuilt = SimVenue(SimConfig.from_mapping(TABLE), ReplayClock(driven.clock.now()))  # a restart's clock
    assert rebuild(rebuilt, driven.inputs) == len(driven.inputs)
    assert state(rebuilt) == state(driven.venue)
    assert rebuilt.journal_after(0)[0] == []  # the rebuild publishes nothing to later sessions

    nxt = bar(5, 4510, 4511, 4470, 4475)  # "late" fills
    sessions = [venue.open_session(lambda: None, lambda reason: None) for venue in (driven.venue, rebuilt)]
    driven.venue.on_bar(nxt)
    rebuilt.on_bar(nxt)
    assert sessions[0].pull() == sessions[1].pull() != []
    assert state(rebuilt) == state(driven.venue)


def test_a_venue_with_its_own_state_file_is_not_rebuilt(tmp_path: Path) -> None:
    venue = SimVenue(SimConfig.from_mapping({"state_path": str(tmp_path / "v.db")}), ReplayClock(T0))
    with pytest.raises(ValueError, match="state file"):
        rebuild(venue, [])
    venue.close()


async def _record_venue_events(broker: SimBroker, recorder: StoreRecorder, clock: ReplayClock) -> None:
    """What the decision stage does with the venue's events: each is recorded with its order id."""
    for event in broker.drain_events():
        cid = getattr(event, "client_order_id", None)
        recorder.record(event.kind, event, ts=clock.now(), symbol="MES" if cid else None, client_order_id=cid)


async def _a_run(store: Path, table: dict[str, Any]) -> SimBroker:
    """A run in miniature on a real store: bars, and orders through the real OMS with injected faults.

    ``lost`` is written ahead and taken by the venue, but its answer never reaches the store (the store's
    tail lost at a kill), like the cancel of ``resting-2``; ``given-up`` never reaches the venue (the OMS
    gives up after two failures); ``retried`` reaches it on the second attempt; ``resting`` and the stop
    leg of ``first`` are canceled by a cancel-all, which only the venue's answers record.
    """
    clock = ReplayClock(T0)
    broker = create_broker(table, clock)
    await broker.connect()
    async with EventWriter.open(store, run_id="t", durable_sync="normal") as writer:
        recorder = StoreRecorder(writer)
        oms = OrderManager(broker, Ledger(), recorder, clock)

        async def on_bar(b: Bar) -> None:
            clock.advance_to(b.end)
            await broker.on_bar(b)
            await _record_venue_events(broker, recorder, clock)
            recorder.record("bar", b, ts=clock.now(), symbol="MES")

        async def submit(request: OrderRequest) -> SubmitOutcome:
            outcome = await oms.submit(request)
            await _record_venue_events(broker, recorder, clock)
            return outcome

        await on_bar(bar(0, 4500, 4501, 4499, 4500))
        assert await submit(order("first", bracket=Bracket(D("4490.00"), D("4510.00")))) is SubmitOutcome.SENT
        broker.venue.fail_next("network")
        broker.venue.fail_next("network")
        assert await submit(order("given-up")) is SubmitOutcome.UNKNOWN
        broker.venue.fail_next("network")
        assert await submit(order("retried", Side.SELL)) is SubmitOutcome.SENT
        await on_bar(bar(1, 4500, 4502, 4498, 4501))
        await on_bar(bar(2, 4501, 4503, 4497, 4502))
        recorder.record("order_cancel_request", {"client_order_id": "first-tp"}, ts=clock.now(),
                        symbol="MES", client_order_id="first-tp")
        await broker.cancel("first-tp")
        await _record_venue_events(broker, recorder, clock)
        await on_bar(bar(3, 4502, 4504, 4500, 4503))
        await submit(order("resting", kind=OrderType.LIMIT, limit_price=D("4300.00"), tif=TimeInForce.GTC))
        await broker.cancel_all()  # an operator's cancel-all: only the venue's answers are recorded
        await _record_venue_events(broker, recorder, clock)
        await submit(order("resting-2", kind=OrderType.LIMIT, limit_price=D("4300.00"), tif=TimeInForce.GTC))
        await oms.submit(order("lost", kind=OrderType.LIMIT, limit_price=D("4400.00")))
        recorder.record("order_cancel_request", {"client_order_id": "resting-2"}, ts=clock.now(),
                        symbol="MES", client_order_id="resting-2")
        await broker.cancel("resting-2")
        broker.drain_events()  # killed before these were recorded
    await broker.close()
    return broker


async def test_a_store_restores_the_venue_that_wrote_it(tmp_path: Path) -> None:
    store = tmp_path / "run.db"
    original = (await _a_run(store, TABLE)).venue
    with StoreReader(store) as reader:
        kinds = [e.kind for e in reader.iter_events()]
    assert "order_submit_failed" in kinds and "order_resubmit" in kinds and "order_filled" in kinds

    restored = SimVenue(SimConfig.from_mapping(TABLE), ReplayClock(datetime(1970, 1, 1, tzinfo=UTC)))
    restore_venue(restored, store)
    assert state(restored) == state(original)
    assert restored.order("given-up") is None  # the venue never had it
    lost = restored.order("lost")
    assert lost is not None and lost.status.value == "ACCEPTED"  # found by its id at restart, not abandoned
    for cid in ("first-tp", "first-sl", "resting", "resting-2"):
        canceled = restored.order(cid)
        assert canceled is not None and canceled.status.value == "CANCELED", cid


async def test_a_store_the_venue_does_not_reproduce_is_refused(tmp_path: Path) -> None:
    store = tmp_path / "run.db"
    await _a_run(store, TABLE)
    other = SimVenue(SimConfig.from_mapping({**TABLE, "fee_bps": 2.0}), ReplayClock(T0))
    with pytest.raises(VenueProjectionError, match=r"fill SIMF-1 recorded as first BUY 1 @ .* fee .*rebuilt"):
        restore_venue(other, store)


def test_an_empty_or_missing_store_restores_an_empty_venue(tmp_path: Path) -> None:
    venue = SimVenue(SimConfig.from_mapping(TABLE), ReplayClock(T0))
    restore_venue(venue, tmp_path / "none.db")
    assert venue.snapshot_open_orders() == [] and venue.all_fills() == []


async def test_venue_from_store_uses_the_config_the_run_recorded(tmp_path: Path) -> None:
    store = tmp_path / "run.db"
    original = (await _a_run(store, TABLE)).venue
    async with EventWriter.open(store, run_id="t2") as writer:  # the manifest a run records
        writer.append("run_manifest", {"config": {"broker": {"name": "sim", "sim": TABLE}}}, ts=T0)
    venue = venue_from_store(store)
    assert state(venue) == state(original)
    venue.close()
