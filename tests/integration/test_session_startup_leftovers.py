"""Startup leftovers against the real simulated venue, whose durable state a previous process left behind.

The previous process (a real subprocess) connects to the venue with a ``state_path``, leaves a working
order we know (``tb-known``, with its bracket legs), a working order we do not know (``manual-1``) and,
in some scenarios, a filled order we do not know (a position nobody in our ledger explains), then exits.
Each test reconnects a fresh venue to a copy of that state, as a restarted run does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tradebot.brokers.sim import create_broker
from tradebot.brokers.sim.execution import SimBroker
from tradebot.domain.clock import ReplayClock
from tradebot.domain.events import OrderStatus
from tradebot.exit_codes import ExitCode
from tradebot.session import ReconciliationFailed, startup_cleanup
from tradebot.store import parse_ts

T1 = parse_ts("2013-10-08T13:00:00Z")
MES = {"venue": "CME", "asset_class": "FUTURE", "tick_size": "0.25", "multiplier": "5", "calendar": "CME"}

PREVIOUS_RUN = """
import asyncio, sys
from datetime import datetime, timedelta, UTC
from decimal import Decimal
from tradebot.brokers.sim import create_broker
from tradebot.domain.bars import Bar
from tradebot.domain.clock import ReplayClock
from tradebot.domain.orders import Bracket, OrderRequest, OrderType, Side, TimeInForce

T0 = datetime(2013, 10, 7, 14, 0, tzinfo=UTC)
MES = {"venue": "CME", "asset_class": "FUTURE", "tick_size": "0.25", "multiplier": "5", "calendar": "CME"}

async def main(state_path, with_position):
    broker = create_broker({"state_path": state_path, "instruments": {"MES": MES}}, ReplayClock(T0))
    await broker.connect()
    await broker.on_bar(Bar("MES", T0, 1670.0, 1671.0, 1669.0, 1670.5, 100.0))
    def req(cid, side, order_type, limit=None, bracket=None, tif=TimeInForce.DAY):
        return OrderRequest(cid, "i-" + cid, "MES", side, Decimal(1), order_type, T0, limit_price=limit,
                            bracket=bracket, tif=tif)
    await broker.submit(req("tb-known", Side.BUY, OrderType.LIMIT, Decimal("1600.00"),
                            Bracket(Decimal("1590.00"), Decimal("1620.00"))))
    await broker.submit(req("manual-1", Side.SELL, OrderType.LIMIT, Decimal("1750.00"), tif=TimeInForce.GTC))
    if with_position:
        await broker.submit(req("manual-2", Side.BUY, OrderType.MARKET))
        await broker.on_bar(Bar("MES", T0 + timedelta(minutes=1), 1670.5, 1671.0, 1670.0, 1670.75, 100.0))
    await broker.close()
    broker.venue.close()
    print("LEFT", flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2] == "1"))
"""


def _previous_run(state: Path, with_position: bool) -> None:
    done = subprocess.run([sys.executable, "-c", PREVIOUS_RUN, str(state), "1" if with_position else "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "LEFT"


@pytest.fixture(scope="module")
def left_states(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    root = tmp_path_factory.mktemp("venue_states")
    states = {}
    for with_position in (False, True):
        state = root / f"venue_{int(with_position)}.db"
        _previous_run(state, with_position)
        states[with_position] = state
    return states


def _copy(state: Path, into: Path) -> Path:
    for file in state.parent.glob(state.name + "*"):
        shutil.copy(file, into / file.name)
    return into / state.name


async def _restart(state: Path) -> SimBroker:
    broker = create_broker({"state_path": str(state), "instruments": {"MES": MES}}, ReplayClock(T1))
    await broker.connect()
    return broker


async def _open_ids(state: Path) -> list[str]:
    broker = await _restart(state)
    try:
        return sorted(o.client_order_id for o in await broker.open_orders())
    finally:
        await broker.close()
        broker.venue.close()


@pytest.mark.timeout(120)
async def test_refuse_lists_every_leftover_and_touches_nothing(
    left_states: dict[bool, Path], tmp_path: Path
) -> None:
    state = _copy(left_states[True], tmp_path)
    broker = await _restart(state)
    with pytest.raises(ReconciliationFailed) as info:
        await startup_cleanup(broker, {"tb-known"}, {}, "refuse", now=T1)
    await broker.close()
    broker.venue.close()
    assert info.value.exit_code is ExitCode.RECONCILIATION_FAILED
    message = str(info.value)
    assert "unknown open order manual-1" in message
    assert "unexplained position MES: venue 1, our fills 0" in message
    assert "tb-known" not in message
    report = info.value.details["report"]
    assert report["code"] == "STARTUP_CLEANUP" and report["ok"] is False
    assert [o["client_order_id"] for o in report["unknown_orders"]] == ["manual-1"]
    assert await _open_ids(state) == ["manual-1", "tb-known", "tb-known-sl", "tb-known-tp"]


@pytest.mark.timeout(120)
async def test_cancel_cancels_unknown_orders_only(left_states: dict[bool, Path], tmp_path: Path) -> None:
    state = _copy(left_states[False], tmp_path)
    broker = await _restart(state)
    report = await startup_cleanup(broker, {"tb-known"}, {}, "cancel", now=T1)
    status = await broker.order_status("manual-1")
    await broker.close()
    broker.venue.close()
    assert report.ok and not report.clean
    assert report.canceled == ["manual-1"]
    assert status is not None and status.status is OrderStatus.CANCELED
    assert await _open_ids(state) == ["tb-known", "tb-known-sl", "tb-known-tp"]
    body = report.as_dict()
    assert body["code"] == "STARTUP_CLEANUP" and body["canceled"] == ["manual-1"]


@pytest.mark.timeout(120)
async def test_cancel_still_refuses_a_position_it_cannot_explain(
    left_states: dict[bool, Path], tmp_path: Path
) -> None:
    state = _copy(left_states[True], tmp_path)
    broker = await _restart(state)
    with pytest.raises(ReconciliationFailed, match="unexplained position MES"):
        await startup_cleanup(broker, {"tb-known"}, {}, "cancel", now=T1)
    await broker.close()
    broker.venue.close()
    assert await _open_ids(state) == ["tb-known", "tb-known-sl", "tb-known-tp"]  # the cancel still happened


@pytest.mark.timeout(120)
async def test_adopt_hands_back_orders_and_positions(left_states: dict[bool, Path], tmp_path: Path) -> None:
    state = _copy(left_states[True], tmp_path)
    broker = await _restart(state)
    report = await startup_cleanup(broker, {"tb-known"}, {}, "adopt", now=T1)
    await broker.close()
    broker.venue.close()
    assert report.ok
    assert [o.client_order_id for o in report.adopted_orders] == ["manual-1"]
    assert [(p.symbol, p.quantity) for p in report.adopted_positions] == [("MES", Decimal(1))]
    assert await _open_ids(state) == ["manual-1", "tb-known", "tb-known-sl", "tb-known-tp"]
    assert report.as_dict()["adopted_positions"][0]["quantity"] == "1"


@pytest.mark.timeout(120)
async def test_positions_our_fills_explain_are_not_leftovers(
    left_states: dict[bool, Path], tmp_path: Path
) -> None:
    state = _copy(left_states[True], tmp_path)
    broker = await _restart(state)
    known = {"tb-known", "manual-1", "manual-2"}
    report = await startup_cleanup(broker, known, {"MES": Decimal(1)}, "refuse", now=T1)
    await broker.close()
    broker.venue.close()
    assert report.clean and report.ok
    assert report.as_dict()["unknown_orders"] == []


@pytest.mark.timeout(120)
async def test_a_position_we_expect_but_the_venue_lacks_is_refused(
    left_states: dict[bool, Path], tmp_path: Path
) -> None:
    state = _copy(left_states[False], tmp_path)
    broker = await _restart(state)
    with pytest.raises(ReconciliationFailed, match="venue 0, our fills -2"):
        await startup_cleanup(broker, {"tb-known", "manual-1"}, {"MES": Decimal(-2)}, "adopt", now=T1)
    await broker.close()
    broker.venue.close()


@pytest.mark.timeout(120)
async def test_broker_failure_refuses_to_trade(left_states: dict[bool, Path], tmp_path: Path) -> None:
    state = _copy(left_states[False], tmp_path)
    broker = await _restart(state)
    broker.venue.fail_next("network")
    with pytest.raises(ReconciliationFailed, match="broker failed during startup reconciliation") as info:
        await startup_cleanup(broker, {"tb-known"}, {}, "cancel", now=T1)
    await broker.close()
    broker.venue.close()
    assert info.value.exit_code is ExitCode.RECONCILIATION_FAILED


async def test_unknown_policy_is_refused() -> None:
    broker = create_broker({}, ReplayClock(T1))
    with pytest.raises(ValueError, match=r"session\.leftovers"):
        await startup_cleanup(broker, set(), {}, "ignore", now=T1)  # type: ignore[arg-type]
