"""The session package end to end on an injected clock and the real simulated venue and event store:
window → lock → wait for the open → startup leftovers → heartbeats → close sequence → reports.

The trading in the middle is a stand-in for the pipeline (one order on the venue, its events recorded);
the pipeline's own whole-session test drives ``tradebot run --session`` itself.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradebot.brokers.sim import create_broker
from tradebot.domain.bars import Bar
from tradebot.domain.clock import ReplayClock
from tradebot.domain.orders import OrderRequest, OrderType, Side, TimeInForce
from tradebot.session import (
    STARTUP_CLEANUP_KIND,
    AlreadyRunning,
    close_session,
    heartbeat,
    instance_lock,
    session_window,
    startup_cleanup,
    wait_for_open,
    write_window_reports,
)
from tradebot.store import EventWriter, parse_ts

MES = {"venue": "CME", "asset_class": "FUTURE", "tick_size": "0.25", "multiplier": "5", "calendar": "CME"}
INSTRUMENT_BODY = {"symbol": "MES", "venue": "CME", "asset_class": "FUTURE", "currency": "USD",
                   "tick_size": "0.25", "lot_step": "1", "min_qty": "1", "multiplier": "5",
                   "min_notional": "0", "calendar": "CME", "sub_dollar_tick": None, "max_qty": None}


@pytest.mark.timeout(120)
async def test_a_whole_session_of_the_session_package(tmp_path: Path) -> None:
    clock = ReplayClock(parse_ts("2013-10-07T12:40:00Z"))  # 08:40 New York

    async def sleep(seconds: float) -> None:
        clock.advance_to(clock.now() + timedelta(seconds=seconds))

    window = session_window("rth", "CME", clock.now())
    store = tmp_path / "tradebot.db"
    async with instance_lock(tmp_path, "SIM", "f" * 64):
        with pytest.raises(AlreadyRunning):
            instance_lock(tmp_path, "SIM", "f" * 64).acquire()
        waited = await wait_for_open(window, clock, max_wait=timedelta(hours=2), sleep=sleep)
        assert waited.opened_at == window.open and waited.waited_s == 50 * 60

        broker = create_broker({"instruments": {"MES": MES}, "state_path": str(tmp_path / "venue.db")}, clock)
        await broker.connect()
        async with EventWriter.open(store, run_id="t") as writer:
            def record(kind: str, body: Any, **keys: Any) -> None:
                writer.append(kind, body, ts=clock.now(), **keys)

            def record_venue_events() -> None:
                for event in broker.drain_events():
                    if event.kind != "connection":
                        cid = getattr(event, "client_order_id", None)
                        record(event.kind, asdict(event), client_order_id=cid)

            start_body = {"mode": "observe", "instruments": [INSTRUMENT_BODY], "starting_cash": "10000"}
            record("run_start", start_body)
            cleanup = await startup_cleanup(broker, set(), {}, "refuse", now=clock.now())
            record(STARTUP_CLEANUP_KIND, cleanup.as_dict())
            assert cleanup.clean

            # --- the pipeline's part, in miniature: a bar, a DAY limit that rests, a market entry that fills
            price = 1673.0
            first_bar = Bar("MES", window.open - timedelta(minutes=1), price, price, price, price, 10.0)
            await broker.on_bar(first_bar)
            for cid, order_type, limit in (("tb-day", OrderType.LIMIT, Decimal("1600.00")),
                                           ("tb-entry", OrderType.MARKET, None)):
                request = OrderRequest(cid, "i-" + cid, "MES", Side.BUY, Decimal(1), order_type, clock.now(),
                                       limit_price=limit, tif=TimeInForce.DAY)
                record("order_submit", asdict(request), symbol="MES", client_order_id=cid)
                await broker.submit(request)
            count = await heartbeat(lambda kind, body: record(kind, body), clock, every=timedelta(minutes=1),
                                    until=window.open + timedelta(minutes=3), sleep=sleep)
            assert count == 3
            await broker.on_bar(Bar("MES", window.open, price + 0.25, price + 1, price, price + 0.5, 10.0))
            record_venue_events()
            clock.advance_to(window.close)

            async def flatten() -> list[str]:
                request = OrderRequest("tb-flat", "i-flat", "MES", Side.SELL, Decimal(1), OrderType.MARKET,
                                       clock.now(), reduce_only=True)
                record("order_submit", asdict(request), symbol="MES", client_order_id="tb-flat")
                await broker.submit(request)
                await broker.on_bar(Bar("MES", window.close, price, price, price, price, 10.0))
                record_venue_events()
                return ["tb-flat"]

            async def reports() -> dict[str, str]:
                await writer.flush()
                day = window.day.isoformat() if window.day else "unknown"
                # end=None: everything from the open up to now, the close sequence's own events included
                paths = write_window_reports(store, tmp_path, start=window.open, end=None, day=day)
                return paths.as_dict()

            out = await close_session(broker, clock, flatten=flatten, sleep=sleep,
                                      record=lambda kind, body: record(kind, body), write_reports=reports,
                                      expected_positions=lambda: {})
        await broker.close()
        broker.venue.close()

    assert out.ok, out.problems
    assert out.day_orders_canceled == ["tb-day"] and out.positions_after == {}
    summary = json.loads(Path(out.reports["summary_json"]).read_text())
    assert Path(out.reports["summary_json"]).parent == tmp_path / "reports" / "2013-10-07"
    assert (summary["heartbeats"], summary["startup_cleanups"], summary["session_closes"]) == (3, 1, 1)
    assert (summary["orders"], summary["fills"], summary["cancels"]) == (3, 2, 1)
    assert summary["positions"] == {"MES": "0"}
    execution = json.loads(Path(out.reports["execution_json"]).read_text())
    rows = {row["client_order_id"]: row for row in execution["orders"]}
    assert rows["tb-day"]["status"] == "CANCELED"
    assert rows["tb-entry"]["status"] == "FILLED" and rows["tb-flat"]["status"] == "FILLED"
    assert summary["window"] == {"start": window.open.isoformat(), "end": None}
