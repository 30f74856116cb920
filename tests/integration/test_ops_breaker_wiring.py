"""Dependency breakers fed by the real call paths: broker reads (through the guarded broker the pipeline
uses), the bar feed, the calendar; an open one blocks entries with CIRCUIT_OPEN_<DEP> in the engine's
decision while exits pass; a restart whose positions disagree with the venue's raises
ALERT_RECONCILIATION_MISMATCH, and so does a session start that finds a venue position our fills do not
explain. Faults are injected at the simulated venue."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tradebot.brokers.sim import SimBroker, SimConfig, SimController, SimVenue
from tradebot.domain.bars import Bar
from tradebot.domain.clock import ReplayClock
from tradebot.domain.errors import BrokerError
from tradebot.domain.events import OrderFilled
from tradebot.domain.instruments import AssetClass, Instrument
from tradebot.domain.orders import IntentSource, OrderIntent, OrderRequest, OrderType, Side
from tradebot.domain.state import Mode, TradingState
from tradebot.oms.ledger import Ledger
from tradebot.oms.manager import OrderManager, SubmitOutcome
from tradebot.ops.alerts import Alert, AlertDispatcher, store_sink
from tradebot.ops.retry import CircuitOpenError, RetryPolicy
from tradebot.pipeline.engine import DecisionEngine, SizingInput
from tradebot.pipeline.guarded_broker import guard
from tradebot.pipeline.ops_hooks import OpsHooks
from tradebot.pipeline.portfolio import Portfolio
from tradebot.pipeline.resume import ResumeState, reconcile_after_restart
from tradebot.pipeline.session import _startup_cleanup
from tradebot.pipeline.stats import RunStats
from tradebot.pipeline.store_recorder import StoreRecorder
from tradebot.risk.chain import GateChain
from tradebot.risk.rules import LimitsRules
from tradebot.session import ReconciliationFailed
from tradebot.session.config import SessionConfig
from tradebot.store import EventWriter, StoreReader

pytestmark = pytest.mark.timeout(60)
T0 = datetime(2024, 3, 5, 14, 30, tzinfo=UTC)  # a Tuesday: CME open
CONFIG = {
    "instruments": {"MES": {"venue": "CME", "asset_class": "FUTURE", "tick_size": "0.25", "multiplier": "5"}}
}
MES = Instrument(
    "MES",
    "CME",
    AssetClass.FUTURE,
    "USD",
    Decimal("0.25"),
    Decimal(1),
    Decimal(1),
    Decimal(5),
    calendar="CME",
)
FAST = RetryPolicy(max_attempts=3, base_delay_s=0.0, jitter_s=0.0)


class CountingReads(SimBroker):
    """The simulated venue's adapter, counting the position reads that reach it."""

    reads = 0

    async def positions(self):  # type: ignore[no-untyped-def]
        self.reads += 1
        return await super().positions()


async def _sim(clock: ReplayClock) -> CountingReads:
    broker = CountingReads(SimVenue(SimConfig.from_mapping(CONFIG), clock), clock)
    await broker.connect()
    return broker


def _ops(alerts: list[Alert]) -> OpsHooks:
    return OpsHooks(dispatcher=AlertDispatcher([alerts.append]), retry=FAST)


async def test_failing_position_reads_open_their_breaker_which_then_spares_the_venue() -> None:
    clock = ReplayClock(T0)
    alerts: list[Alert] = []
    ops = _ops(alerts)
    sim = await _sim(clock)
    broker = guard(sim, ops, clock)
    controller = SimController(sim.venue)
    for _ in range(3):
        await controller.fail_next("network")
    with pytest.raises(BrokerError):
        await broker.positions()  # three attempts, three resets: the third opens the breaker
    assert sim.reads == 3
    assert [(a.code, a.details["dependency"]) for a in alerts] == [("ALERT_BREAKER_OPEN", "broker_positions")]
    with pytest.raises(CircuitOpenError) as refused:
        await broker.positions()
    assert refused.value.error_class.code == "CIRCUIT_OPEN_BROKER_POSITIONS"
    assert sim.reads == 3  # refused without a call to the venue
    entry = ops.allow_order(clock.now(), reduce_only=False)
    assert not entry.allowed and entry.code == "CIRCUIT_OPEN_BROKER_POSITIONS"
    assert ops.allow_order(clock.now(), reduce_only=True).allowed  # exits are not blocked by a read breaker
    clock.advance_to(T0 + timedelta(seconds=61))  # after the open period one probe closes it again
    assert await broker.positions() == []
    assert ops.allow_order(clock.now(), reduce_only=False).allowed


async def test_the_order_managers_lookup_is_a_retried_read(tmp_path: Path) -> None:
    """A submit lost to a reset, then a lookup lost to a reset: the lookup is retried (a read), finds the
    venue does not have the order, and the order is sent once more - one order at the venue."""
    clock = ReplayClock(T0)
    sim = await _sim(clock)
    broker = guard(sim, _ops([]), clock)
    controller = SimController(sim.venue)
    await controller.fail_next("network")  # the submit
    await controller.fail_next("network")  # the first lookup
    request = OrderRequest(
        "tb-1", "tb-1", "MES", Side.BUY, Decimal(1), OrderType.LIMIT, T0, limit_price=Decimal(5000)
    )
    async with EventWriter.open(tmp_path / "oms.db") as writer:
        oms = OrderManager(broker, Ledger(), StoreRecorder(writer), clock)
        assert await oms.submit(request) is SubmitOutcome.SENT
    assert [o.client_order_id for o in await controller.venue_open_orders()] == ["tb-1"]


async def test_feed_errors_open_the_data_breaker_and_block_entries() -> None:
    clock = ReplayClock(T0)
    alerts: list[Alert] = []
    ops = _ops(alerts)
    sim = await _sim(clock)

    class Dropping:
        """A bar source that gives one bar, then its connection dies."""

        def __aiter__(self) -> AsyncIterator[Bar]:
            return self.gen()

        async def gen(self) -> AsyncIterator[Bar]:
            yield Bar("MES", T0, 5000.0, 5001.0, 4999.0, 5000.5, 10.0, 60)
            raise ConnectionResetError("feed connection reset")

    sim.attach_bar_source(Dropping())
    broker = guard(sim, ops, clock)
    for _ in range(3):
        got = []
        with pytest.raises(ConnectionResetError):
            async for bar in broker.bars(MES, 60):
                got.append(bar)
        assert len(got) == 1
    assert [a.details["dependency"] for a in alerts] == ["data_primary"]
    decision = ops.allow_order(clock.now(), reduce_only=False)
    assert not decision.allowed and decision.code == "CIRCUIT_OPEN_DATA_PRIMARY"


async def test_calendar_lookups_that_fail_open_the_calendar_breaker() -> None:
    alerts: list[Alert] = []
    ops = _ops(alerts)
    outside = datetime(1985, 1, 2, 15, 0, tzinfo=UTC)  # before the calendar's known range
    for k in range(3):
        assert ops.market_open("CME", outside + timedelta(seconds=k)) is True  # unknown counts as open
    assert [a.details["dependency"] for a in alerts] == ["calendar"]
    decision = ops.allow_order(outside + timedelta(seconds=5), reduce_only=False)
    assert not decision.allowed and decision.code == "CIRCUIT_OPEN_CALENDAR"
    assert (
        ops.market_open("CME", T0) is True
        and ops.market_open("CME", datetime(2024, 3, 9, tzinfo=UTC)) is False
    )


def no_orders(inp: SizingInput) -> tuple[Sequence[OrderIntent], Mapping[str, Any]]:
    return [], {}


def _engine(clock: ReplayClock, broker: Any, recorder: StoreRecorder, ops: OpsHooks) -> DecisionEngine:
    return DecisionEngine(
        mode=Mode.OBSERVE,
        clock=clock,
        instruments={"MES": MES},
        broker=broker,
        portfolio=Portfolio(Decimal(10000), {"MES": MES}),
        chain=GateChain([], "no-gates"),
        sizer=no_orders,
        recorder=recorder,
        stats=RunStats(),
        limits=lambda s: LimitsRules(),
        ops=ops,
    )


def _intent(n: int, reduce_only: bool) -> OrderIntent:
    return OrderIntent(
        intent_id=f"MES-test-{n}",
        symbol="MES",
        side=Side.SELL if reduce_only else Side.BUY,
        quantity=Decimal(1),
        ts=T0,
        reference_price=Decimal(5000),
        reduce_only=reduce_only,
        source=IntentSource.FLATTEN if reduce_only else IntentSource.STRATEGY,
        bar_ts=T0,
    )


async def test_an_open_read_breaker_blocks_an_entry_in_the_engines_decision_and_lets_an_exit_pass(
    tmp_path: Path,
) -> None:
    clock = ReplayClock(T0)
    ops = _ops([])
    sim = await _sim(clock)
    broker = guard(sim, ops, clock)
    for _ in range(3):
        await SimController(sim.venue).fail_next("network")
    with pytest.raises(BrokerError):
        await broker.open_orders()
    store = tmp_path / "decide.db"
    async with EventWriter.open(store, durable_sync="normal") as writer:
        engine = _engine(clock, broker, StoreRecorder(writer), ops)
        await engine.decide(_intent(1, reduce_only=False))
        await engine.decide(_intent(2, reduce_only=True))
    with StoreReader(store) as reader:
        decisions = [e.body for e in reader.iter_events() if e.kind == "decision"]
    assert (decisions[0]["outcome"], decisions[0].get("code")) == (
        "BLOCKED",
        "CIRCUIT_OPEN_BROKER_OPEN_ORDERS",
    )
    assert decisions[1]["outcome"] != "BLOCKED"


async def test_a_restart_whose_positions_disagree_with_the_venue_raises_the_mismatch_alert(
    tmp_path: Path,
) -> None:
    clock = ReplayClock(T0)
    sim = await _sim(clock)  # the venue holds nothing
    store = tmp_path / "restart.db"
    async with EventWriter.open(store, durable_sync="normal") as writer:
        recorder = StoreRecorder(writer)
        sink = store_sink(lambda code, body: recorder.record(code, dict(body), ts=clock.now()))
        ops = OpsHooks(dispatcher=AlertDispatcher([sink]), retry=FAST)
        broker = guard(sim, ops, clock)
        engine = _engine(clock, broker, recorder, ops)
        # the store's record says we bought one MES (a fill the venue no longer knows)
        engine.portfolio.apply_fill(
            OrderFilled("tb-x", "v-1", "f-1", "MES", Side.BUY, Decimal(1), Decimal(5000), Decimal(0), "USD",
                        T0 - timedelta(minutes=5), Decimal(0))
        )  # fmt: skip
        report = await reconcile_after_restart(
            engine, broker, ResumeState(last_fill_ts=T0 - timedelta(minutes=5))
        )
    assert report["mismatches"] == [{"symbol": "MES", "venue": "0", "ours": "1"}]
    assert engine.trading_state is TradingState.HALTED
    with StoreReader(store) as reader:
        alerts = [e.body for e in reader.iter_events() if e.kind == "ALERT_RECONCILIATION_MISMATCH"]
    assert len(alerts) == 1 and alerts[0]["severity"] == "CRITICAL"
    assert alerts[0]["details"] == {
        "when": "restart",
        "mismatches": [{"symbol": "MES", "venue": "0", "ours": "1"}],
    }


@pytest.mark.parametrize("policy", ["adopt", "refuse"])
async def test_a_session_start_finding_a_venue_position_we_do_not_hold_raises_the_mismatch_alert(
    tmp_path: Path, policy: str
) -> None:
    clock = ReplayClock(T0)
    sim = await _sim(clock)
    # someone else's order filled at the venue: it holds one MES our store knows nothing of
    await sim.submit(OrderRequest("manual-1", "manual-1", "MES", Side.BUY, Decimal(1), OrderType.MARKET, T0))
    await sim.on_bar(Bar("MES", T0 + timedelta(minutes=1), 5000.0, 5001.0, 4999.0, 5000.5, 10.0, 60))
    store = tmp_path / f"start-{policy}.db"
    settings = SimpleNamespace(session=SessionConfig(leftovers=policy))
    async with EventWriter.open(store, durable_sync="normal") as writer:
        recorder = StoreRecorder(writer)
        sink = store_sink(lambda code, body: recorder.record(code, dict(body), ts=clock.now()))
        ops = OpsHooks(dispatcher=AlertDispatcher([sink]), retry=FAST)
        broker = guard(sim, ops, clock)
        engine = _engine(clock, broker, recorder, ops)
        if policy == "refuse":
            with pytest.raises(ReconciliationFailed):
                await _startup_cleanup(settings, engine, broker, recorder, clock)
        else:
            await _startup_cleanup(settings, engine, broker, recorder, clock)
    with StoreReader(store) as reader:
        alerts = [e.body for e in reader.iter_events() if e.kind == "ALERT_RECONCILIATION_MISMATCH"]
    assert len(alerts) == 1 and alerts[0]["details"]["when"] == "startup"
    (gap,) = alerts[0]["details"]["mismatches"]
    assert (gap["symbol"], gap["venue"], gap["ours"]) == ("MES", "1", "0")
