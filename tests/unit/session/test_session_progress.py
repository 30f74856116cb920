"""The stored session window and the close sequence's progress: what a restart on the same store does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tradebot.brokers.sim import create_broker
from tradebot.domain.bars import Bar
from tradebot.domain.clock import ReplayClock
from tradebot.domain.orders import OrderRequest, OrderType, Side, TimeInForce
from tradebot.session import (
    CloseJournal,
    MarketClosed,
    SessionWindow,
    close_session,
    load_session_progress,
    plan_window,
    session_window,
    window_from_dict,
)
from tradebot.store import EventWriter

OPEN = datetime(2013, 10, 6, 22, 0, tzinfo=UTC)
STORED = SessionWindow(OPEN, OPEN + timedelta(hours=24), "24h", "CME", "24h", OPEN.date())
MES = {"venue": "CME", "asset_class": "FUTURE", "tick_size": "0.25", "multiplier": "5", "calendar": "CME"}


def _store(path: Path, *events: tuple[str, dict[str, Any]]) -> Path:
    async def write() -> None:
        async with EventWriter.open(path, run_id="t") as writer:
            for kind, body in events:
                writer.append(kind, body, ts=OPEN)

    import anyio

    anyio.run(write)
    return path


def _fresh(now: datetime) -> Any:
    return lambda: session_window("24h", "CME", now)


def test_the_window_round_trips_through_its_stored_form() -> None:
    assert window_from_dict(STORED.as_dict()) == STORED


def test_a_restart_inside_the_stored_window_keeps_it(tmp_path: Path) -> None:
    # the case: a 24h session from Sunday 22:00, restarted at Monday 13:50
    store = _store(tmp_path / "s.db", ("session_window", STORED.as_dict()))
    now = datetime(2013, 10, 7, 13, 50, tzinfo=UTC)
    plan = plan_window(load_session_progress(store), "24h", now, _fresh(now))
    assert plan.kind == "kept" and plan.window == STORED
    assert plan.window.close == datetime(2013, 10, 7, 22, 0, tzinfo=UTC)


def test_a_store_without_a_window_gets_a_new_one(tmp_path: Path) -> None:
    now = datetime(2013, 10, 7, 13, 50, tzinfo=UTC)
    plan = plan_window(load_session_progress(tmp_path / "none.db"), "24h", now, _fresh(now))
    assert plan.kind == "new" and plan.window.open == now
    assert not (tmp_path / "none.db").exists()  # reading the progress creates nothing


def test_a_window_over_and_never_closed_only_closes(tmp_path: Path) -> None:
    store = _store(tmp_path / "s.db", ("session_window", STORED.as_dict()))
    later = datetime(2013, 10, 8, 13, 50, tzinfo=UTC)

    def no_new_window() -> SessionWindow:
        raise AssertionError("a restart after the stored window must not open a new one")

    plan = plan_window(load_session_progress(store), "24h", later, no_new_window)
    assert plan.kind == "close_only" and plan.window == STORED and not plan.resumes_close


def test_a_close_under_way_is_resumed_with_its_done_steps(tmp_path: Path) -> None:
    store = _store(
        tmp_path / "s.db",
        ("session_window", STORED.as_dict()),
        ("session_close_started", {"reason": "session_end", "window": STORED.as_dict()}),
        ("session_close_step", {"step": "cancel_day_orders", "day_orders_canceled": ["a"], "problems": []}),
    )
    progress = load_session_progress(store)
    assert progress.close_pending and set(progress.steps) == {"cancel_day_orders"}
    plan = plan_window(progress, "24h", OPEN + timedelta(hours=1), _fresh(OPEN))
    assert plan.kind == "close_only" and plan.resumes_close and progress.close_reason == "session_end"


def test_after_a_completed_close_the_next_start_opens_a_new_window(tmp_path: Path) -> None:
    store = _store(
        tmp_path / "s.db",
        ("session_window", STORED.as_dict()),
        ("session_close_started", {"reason": "session_end", "window": STORED.as_dict()}),
        ("session_close", {"ok": True}),
        ("session_close_done", {"ok": True, "reports": {}}),
    )
    next_day = datetime(2013, 10, 8, 22, 0, tzinfo=UTC)
    plan = plan_window(load_session_progress(store), "24h", next_day, _fresh(next_day))
    assert plan.kind == "new" and plan.window.open == next_day


def test_a_completed_close_without_markers_counts_as_complete(tmp_path: Path) -> None:
    store = _store(tmp_path / "s.db", ("session_window", STORED.as_dict()), ("session_close", {"ok": True}))
    next_day = datetime(2013, 10, 8, 22, 0, tzinfo=UTC)
    assert plan_window(load_session_progress(store), "24h", next_day, _fresh(next_day)).kind == "new"


def test_another_spec_inside_the_stored_window_is_a_new_window(tmp_path: Path) -> None:
    store = _store(tmp_path / "s.db", ("session_window", STORED.as_dict()))
    now = datetime(2013, 10, 7, 14, 0, tzinfo=UTC)
    with pytest.raises(MarketClosed):  # rth at 10:00 New York on Monday: the session in progress
        plan_window(load_session_progress(store), "eth", now, lambda: _raise_closed())


def _raise_closed() -> SessionWindow:
    raise MarketClosed("MARKET_CLOSED: test")


async def test_close_session_skips_recorded_steps_and_sends_nothing_twice(tmp_path: Path) -> None:
    clock = ReplayClock(datetime(2013, 10, 7, 19, 58, tzinfo=UTC))
    sim = create_broker({"instruments": {"MES": MES}}, clock)
    await sim.connect()
    await sim.on_bar(Bar("MES", clock.now(), 1670.0, 1670.5, 1669.5, 1670.0, 100.0))
    await sim.submit(OrderRequest("day-1", "i-day-1", "MES", Side.BUY, Decimal(1), OrderType.LIMIT,
                                  clock.now(), limit_price=Decimal("1600.00"), tif=TimeInForce.DAY))
    sim.drain_events()
    markers: list[tuple[str, dict[str, Any]]] = []

    async def write(kind: str, body: dict[str, Any]) -> None:
        markers.append((kind, body))

    journal = CloseJournal(write, STORED)
    calls: list[str] = []

    async def flatten() -> list[str]:
        calls.append("flatten")
        return []

    first = await close_session(sim, clock, flatten=flatten, on_step=journal.step_done)
    assert first.day_orders_canceled == ["day-1"] and calls == ["flatten"]
    done = {body["step"]: body for kind, body in markers}
    assert set(done) == {"cancel_day_orders", "flatten", "venue_snapshot"}
    # a restart: every step stored is taken from its record; nothing is canceled or flattened again
    canceled_before = len([e for e in sim.drain_events() if e.kind == "order_canceled"])
    again = await close_session(sim, clock, flatten=flatten, done=done)
    assert calls == ["flatten"] and again.day_orders_canceled == ["day-1"] and again.flattened
    assert canceled_before <= 1 and not sim.drain_events()
    assert again.ok


async def test_a_step_stored_with_a_problem_is_tried_again() -> None:
    clock = ReplayClock(datetime(2013, 10, 7, 19, 58, tzinfo=UTC))
    sim = create_broker({"instruments": {"MES": MES}}, clock)
    await sim.connect()
    calls: list[str] = []

    async def flatten() -> list[str]:
        calls.append("flatten")
        return []

    failed = {"step": "flatten", "flattened": False, "problems": [{"step": "flatten", "code": "X"}]}
    out = await close_session(sim, clock, flatten=flatten, done={"flatten": failed})
    assert calls == ["flatten"] and out.flattened and out.ok


async def test_a_recorded_session_close_is_not_recorded_again_and_the_reports_are_written() -> None:
    clock = ReplayClock(datetime(2013, 10, 7, 19, 58, tzinfo=UTC))
    sim = create_broker({"instruments": {"MES": MES}}, clock)
    await sim.connect()
    recorded: list[str] = []
    written: list[str] = []

    async def reports() -> dict[str, str]:
        written.append("reports")
        return {"summary_json": "s.json"}

    done = {"record": {"ok": True}, "cancel_day_orders": {"day_orders_canceled": [], "problems": []}}
    out = await close_session(sim, clock, record=lambda kind, body: recorded.append(kind),
                              write_reports=reports, done=done)
    assert recorded == [] and written == ["reports"] and out.reports == {"summary_json": "s.json"}
