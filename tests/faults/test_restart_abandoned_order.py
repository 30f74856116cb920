"""An order killed between its write-ahead and the venue call is abandoned at restart and released.

The real daemon is SIGKILLed right after its first order's write-ahead is durable, before the venue is
called. The restart is the real resume path (``load_resume_state`` then ``reconcile_after_restart``)
against a venue that never received the order — what a broker holds after such a kill. Reconciliation
abandons it (ORDER_NOT_SENT_AFTER_RESTART); it must then hold nothing, like a rejected order: no working
quantity, no exposure, no trade of the day, no place in the position — in the restarted run, and in every
later restart, whose rebuild reads the stored abandonment.
"""

from __future__ import annotations

import os
import subprocess
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from kill_harness import ES_WEEK, fault_command

from bench.config import write_busy_config
from tradebot.brokers.sim import create_broker
from tradebot.domain import reasons
from tradebot.domain.calendars import shared_calendars
from tradebot.domain.clock import ReplayClock
from tradebot.domain.orders import ExitPlan, OrderIntent, Side
from tradebot.domain.state import Mode
from tradebot.pipeline.engine import DecisionEngine
from tradebot.pipeline.resume import ResumeState, load_resume_state, reconcile_after_restart
from tradebot.pipeline.stats import RunStats
from tradebot.pipeline.store_recorder import StoreRecorder
from tradebot.risk.build import DEFAULT_CHAIN, build_chain
from tradebot.risk.constitution import load_constitution
from tradebot.settings import load_settings
from tradebot.store import EventWriter, StoreReader

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(300)
HOLDING = (reasons.POSITION_LIMIT_BLOCK, "BLOCK_MAX_EXPOSURE", "BLOCK_MAX_POSITIONS")


@pytest.fixture
def killed_after_write_ahead(tmp_path: Path) -> tuple[Path, Path, str]:
    """(config, store, client order id): a run SIGKILLed right after its first order's write-ahead."""
    config = write_busy_config(tmp_path / "busy", profile="aggressive")
    store = tmp_path / "killed.db"
    args = ["run", "--mode", "observe", "--config", str(config), "--data", str(ES_WEEK)]
    args += ["--store", str(store)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEBOT_")}
    done = subprocess.run(
        fault_command("write_ahead", 1, "KILL", [*args, "-q"]), cwd=REPO, env=env, capture_output=True,
        text=True, timeout=240,
    )
    assert done.returncode == -9, done.stderr[-2000:]
    with StoreReader(store) as reader:
        submits = list(reader.iter_events(kinds=("order_submit",)))
        last = reader.last_event("order_submit")
    assert len(submits) == 1 and last is not None and not last.body["reduce_only"]
    assert last.client_order_id is not None
    return config, store, last.client_order_id


def _probe(state: ResumeState, now: datetime) -> OrderIntent:
    """A new entry, as the strategy would send it after the restart."""
    assert state.portfolio is not None
    price = state.portfolio.last_prices["BENCH"]
    return OrderIntent(
        intent_id="BENCH-after-restart",
        symbol="BENCH",
        side=Side.BUY,
        quantity=Decimal(1),
        ts=now,
        reference_price=price,
        confidence=0.9,
        regime="normal_vol",
        exit_plan=ExitPlan(stop_loss=price - Decimal(2), take_profit=price + Decimal(4)),
        bar_ts=now,
    )


def _engine(config: Path, state: ResumeState, broker: Any, recorder: StoreRecorder) -> DecisionEngine:
    settings = load_settings(config)
    instruments = {"BENCH": settings.instrument("BENCH")}
    constitution = load_constitution(settings.gates.constitution)
    assert state.clock_start is not None and state.portfolio is not None
    return DecisionEngine(
        mode=Mode.OBSERVE,
        clock=broker.clock,
        instruments=instruments,
        broker=broker,
        portfolio=state.portfolio,
        chain=build_chain(list(DEFAULT_CHAIN), constitution, calendars=shared_calendars()),
        sizer=lambda _: ([], {}),
        recorder=recorder,
        stats=RunStats(),
        limits=lambda s: constitution.rules_for(s).limits,
        ledger=state.ledger,
        tracker=state.tracker,
        machine=state.machine,
    )


def _assert_released(engine_or_state: Any, cid: str, probe: OrderIntent, chain: Any, now: datetime) -> None:
    tracker = engine_or_state.tracker
    assert tracker.working_entry_qty("BENCH") == 0
    assert tracker.exposure_by_symbol() == {}  # flat, and nothing working
    entry = engine_or_state.ledger.get(cid)
    assert entry is not None and not entry.is_open
    assert entry.reject_reason == reasons.ORDER_NOT_SENT_AFTER_RESTART
    assert tracker.daily_status("BENCH", now).trades_today == 0  # it never traded


async def test_an_order_abandoned_at_restart_holds_no_exposure_now_nor_after_later_restarts(
    killed_after_write_ahead: tuple[Path, Path, str],
) -> None:
    config, store, cid = killed_after_write_ahead
    settings = load_settings(config)
    instruments = {"BENCH": settings.instrument("BENCH")}
    state = load_resume_state(store, instruments, shared_calendars())
    assert state.tracker is not None and state.clock_start is not None
    assert state.tracker.working_entry_qty("BENCH") != 0  # written ahead: working until reconciled
    now = state.clock_start
    broker = create_broker({"fee_bps": 0.5}, ReplayClock(now))  # a venue that never received it
    broker.register_instrument(instruments["BENCH"])
    await broker.connect()
    async with EventWriter.open(store, durable_sync="normal") as writer:
        engine = _engine(config, state, broker, StoreRecorder(writer))
        report = await reconcile_after_restart(engine, broker, state)
        assert report["abandoned"] == [cid] and not report["mismatches"]
        probe = _probe(state, now)
        _assert_released(engine, cid, probe, engine.chain, now)
        decision = engine.chain.evaluate(probe, engine.context(probe))
        blocked = decision.blocked_by
        assert blocked is None or blocked.code not in HOLDING, blocked
        assert engine.context(probe).pending_qty == 0
    await broker.close()

    # a later restart rebuilds the tracker from the store: the stored abandonment releases it again
    again = load_resume_state(store, instruments, shared_calendars())
    assert again.tracker is not None
    _assert_released(again, cid, probe, engine.chain, now)
    assert again.tracker.snapshot(
        probe, now, Decimal(100000), probe.reference_price, Mode.OBSERVE, again.machine.state, 1.0, 1.0
    ).pending_qty == 0
