"""The session-close sequence on the real simulated venue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tradebot.brokers.sim import create_broker
from tradebot.brokers.sim.execution import SimBroker
from tradebot.domain.bars import Bar
from tradebot.domain.clock import ReplayClock
from tradebot.domain.orders import Bracket, OrderRequest, OrderType, Side, TimeInForce
from tradebot.session import close_session

T0 = datetime(2013, 10, 7, 19, 50, tzinfo=UTC)
MES = {"venue": "CME", "asset_class": "FUTURE", "tick_size": "0.25", "multiplier": "5", "calendar": "CME"}


def bar(minute: int, price: float) -> Bar:
    return Bar("MES", T0 + timedelta(minutes=minute), price, price + 0.5, price - 0.5, price, 100.0)


def request(cid: str, side: Side, order_type: OrderType, *, limit: str | None = None,
            tif: TimeInForce = TimeInForce.DAY, reduce_only: bool = False,
            bracket: Bracket | None = None) -> OrderRequest:
    return OrderRequest(cid, "i-" + cid, "MES", side, Decimal(1), order_type, T0,
                        limit_price=Decimal(limit) if limit else None, tif=tif, reduce_only=reduce_only,
                        bracket=bracket)


@pytest.fixture
async def broker() -> SimBroker:
    clock = ReplayClock(T0)
    sim = create_broker({"instruments": {"MES": MES}}, clock)
    await sim.connect()
    await sim.on_bar(bar(0, 1670.0))
    # a long position with a GTC protective bracket, a DAY limit entry and a GTC limit
    await sim.submit(request("entry", Side.BUY, OrderType.MARKET,
                             bracket=Bracket(Decimal("1650.00"), Decimal("1700.00"))))
    await sim.on_bar(bar(1, 1670.0))
    await sim.submit(request("day-1", Side.BUY, OrderType.LIMIT, limit="1600.00"))
    await sim.submit(request("gtc-1", Side.BUY, OrderType.LIMIT, limit="1601.00", tif=TimeInForce.GTC))
    sim.drain_events()
    return sim


def flattener(sim: SimBroker, clock: ReplayClock) -> Any:
    """Stands in for the pipeline's flatten: a reduce-only market order per position, filled on a bar."""

    async def flatten() -> list[str]:
        sent = []
        for position in await sim.positions():
            side = Side.SELL if position.quantity > 0 else Side.BUY
            cid = f"flat-{position.symbol}"
            await sim.submit(request(cid, side, OrderType.MARKET, reduce_only=True))
            sent.append(cid)
        clock.advance_to(T0 + timedelta(minutes=3))
        await sim.on_bar(bar(2, 1671.0))
        return sent

    return flatten


async def test_close_cancels_day_orders_flattens_records_then_reports(broker: SimBroker) -> None:
    clock = broker.clock
    assert isinstance(clock, ReplayClock)
    calls: list[str] = []
    recorded: list[tuple[str, dict[str, Any]]] = []

    def record(kind: str, body: dict[str, Any]) -> None:
        calls.append("record")
        recorded.append((kind, body))

    async def reports() -> dict[str, str]:
        calls.append("reports")
        return {"summary_json": "/runs/reports/2013-10-07/summary.json"}

    out = await close_session(broker, clock, flatten=flattener(broker, clock), record=record,
                              write_reports=reports, expected_positions=lambda: {"MES": Decimal(0)})
    assert out.ok, out.problems
    assert out.day_orders_canceled == ["day-1"]
    assert out.flattened and out.flatten_result == ["flat-MES"]
    assert out.positions_after == {}
    assert "gtc-1" in out.open_orders_after and "day-1" not in out.open_orders_after
    assert calls == ["record", "reports"]
    kind, body = recorded[0]
    assert kind == "session_close"
    assert body["code"] == "SESSION_CLOSE_CLEANUP" and body["ok"] is True
    assert body["day_orders_canceled"] == ["day-1"]
    assert out.reports == {"summary_json": "/runs/reports/2013-10-07/summary.json"}
    assert out.as_dict()["reports"] == out.reports


async def test_without_flatten_the_position_is_reported_not_closed(broker: SimBroker) -> None:
    out = await close_session(broker, broker.clock, flatten=None,
                              expected_positions=lambda: {"MES": Decimal(1)})
    assert out.ok
    assert not out.flattened
    assert out.positions_after == {"MES": "1"}


async def test_a_flatten_that_leaves_a_position_is_a_problem(broker: SimBroker) -> None:
    async def flatten_that_does_not_fill() -> None:
        return None

    out = await close_session(broker, broker.clock, flatten=flatten_that_does_not_fill)
    assert not out.ok
    assert out.problems[0]["step"] == "flatten"
    assert "position MES 1 still open after flattening" in out.problems[0]["message"]


async def test_a_broker_failure_is_classified_and_the_rest_still_runs(broker: SimBroker) -> None:
    broker.venue.fail_next("network")
    recorded: list[str] = []
    out = await close_session(broker, broker.clock, flatten=flattener(broker, broker.clock),
                              record=lambda kind, body: recorded.append(kind))
    assert [p["step"] for p in out.problems] == ["cancel_day_orders"]
    assert out.problems[0]["code"] == "NET_RETRY"
    assert out.flattened and out.positions_after == {}
    assert recorded == ["session_close"]


async def test_reconcile_mismatches_are_problems(broker: SimBroker) -> None:
    async def reconcile() -> dict[str, Any]:
        return {"mismatches": [{"symbol": "MES", "venue": "1", "ours": "0"}]}

    out = await close_session(broker, broker.clock, reconcile=reconcile)
    assert [p["code"] for p in out.problems] == ["RECONCILIATION_MISMATCH"]
    assert out.reconciliation["mismatches"][0]["symbol"] == "MES"


async def test_expected_positions_that_disagree_are_problems(broker: SimBroker) -> None:
    out = await close_session(broker, broker.clock, expected_positions=lambda: {"MES": Decimal(2)})
    assert [p["code"] for p in out.problems] == ["RECONCILIATION_MISMATCH"]
    assert out.reconciliation == {"mismatches": [{"symbol": "MES", "venue": "1", "ours": "2"}]}


async def test_a_failing_report_writer_is_a_problem_not_a_crash(broker: SimBroker) -> None:
    async def broken() -> dict[str, str]:
        raise OSError("disk full")

    out = await close_session(broker, broker.clock, cancel_day_orders=False, write_reports=broken)
    assert [(p["step"], p["message"]) for p in out.problems] == [("write_reports", "OSError: disk full")]
    assert "day-1" in out.open_orders_after


async def test_a_cancel_step_redone_after_a_restart_reports_what_the_stopped_run_canceled(
    broker: SimBroker,
) -> None:
    """The stopped run canceled day-1, then died before storing the step; the venue no longer lists it as
    open. Given the DAY orders stored with the close's start, the redone step reports day-1 as the
    uninterrupted run did, and cancels nothing twice."""
    clock = broker.clock
    assert isinstance(clock, ReplayClock)
    await broker.cancel("day-1")
    broker.drain_events()
    assert not [o for o in await broker.open_orders() if o.tif is TimeInForce.DAY]
    redone = await close_session(broker, clock, day_orders_at_start=("day-1",))
    assert redone.day_orders_canceled == ["day-1"] and redone.day_orders_still_open == []
    assert not [e for e in broker.drain_events() if getattr(e, "client_order_id", None) == "day-1"]
    forgetful = await close_session(broker, clock)  # without them: the record would differ
    assert forgetful.day_orders_canceled == []
