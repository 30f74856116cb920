"""A run killed at any moment restarts from facts that agree with one another.

The store's writer commits in batches, off the event loop; a SIGKILL keeps exactly what was committed. A
bar's venue matching records its fills before the bar itself; if a batch ended between them, a restart found
the fills (its portfolio held the position) but not the bar (the simulated venue, rebuilt from the recorded
bars, had not made them): reconciliation saw ours=1 vs venue=0 and halted a run the uninterrupted twin
traded on. A bar's fills and the bar are one commit unit now.

The kill is reproduced exactly: an alert sink called in the middle of the bar (a gap in the feed raises
ALERT_STALE_DATA there) copies the store's committed state — what a SIGKILL at that instant leaves — after
giving the writer thread every chance to commit what it may.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from kill_harness import ES_WEEK, Outcome, TrialResult, Workload, busy_workload, run_trial, run_twin, slice_of
from store_outcome import outcome

from tradebot.brokers.sim import create_broker
from tradebot.domain.bars import Bar
from tradebot.domain.calendars import shared_calendars
from tradebot.domain.clock import ReplayClock
from tradebot.domain.events import OrderSnapshot, OrderStatus
from tradebot.domain.orders import Bracket, OrderIntent, OrderRequest, OrderType, Side
from tradebot.domain.signals import Signal
from tradebot.domain.state import Mode
from tradebot.oms.ledger import Ledger
from tradebot.ops.alerts import Alert, AlertDispatcher, AlertRules, AlertThresholds
from tradebot.pipeline.app import instrument_body
from tradebot.pipeline.engine import DecisionEngine, SizingInput
from tradebot.pipeline.ops_hooks import OpsHooks
from tradebot.pipeline.portfolio import Portfolio
from tradebot.pipeline.resume import load_resume_state
from tradebot.pipeline.stats import RunStats
from tradebot.pipeline.store_recorder import StoreRecorder
from tradebot.pipeline.venue_projection import venue_from_store
from tradebot.risk.build import DEFAULT_CHAIN, build_chain
from tradebot.risk.constitution import load_constitution
from tradebot.settings import load_settings
from tradebot.store import EventWriter, StoreReader

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(600)
WRITER_CHANCE_S = 1.5  # how long the writer thread is given to commit on its own (it lingers 2 ms)
T0 = datetime(2013, 10, 8, 14, 0, tzinfo=UTC)


def _bar(minute: int, price: float) -> Bar:
    return Bar("MES", T0 + timedelta(minutes=minute), price, price + 0.5, price - 0.5, price, 100.0, 60)


def _wait_for_commit(writer: EventWriter, seq: int) -> None:
    deadline = time.monotonic() + WRITER_CHANCE_S
    while writer.committed_seq < seq and time.monotonic() < deadline:
        time.sleep(0.01)


def _committed_copy(source: Path, target: Path) -> None:
    """The store as a SIGKILL now would leave it: what another connection sees committed."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


async def test_a_kill_in_the_middle_of_a_bar_leaves_its_fills_and_the_bar_together(tmp_path: Path) -> None:
    settings = load_settings(REPO / "config" / "tradebot.toml")
    instrument = settings.instrument("MES")
    constitution = load_constitution(REPO / "config" / "constitution.yaml")
    store, killed = tmp_path / "run.db", tmp_path / "killed.db"
    clock = ReplayClock(T0)
    broker = create_broker({}, clock)
    broker.register_instrument(instrument)
    await broker.connect()
    copies: list[int] = []

    async with EventWriter.open(store, durable_sync="normal") as writer:
        recorder = StoreRecorder(writer)

        def kill_now(alert: Alert) -> None:  # called inside the bar, after its fills were recorded
            _wait_for_commit(writer, writer.last_seq)
            copies.append(writer.committed_seq)
            _committed_copy(store, killed)

        ops = OpsHooks(
            rules=AlertRules(AlertThresholds(stale_after_s=180.0)), dispatcher=AlertDispatcher([kill_now])
        )
        engine = DecisionEngine(
            mode=Mode.OBSERVE, clock=clock, instruments={"MES": instrument}, broker=broker,
            portfolio=Portfolio(Decimal(10000), {"MES": instrument}),
            chain=build_chain(list(DEFAULT_CHAIN), constitution, calendars=shared_calendars()),
            sizer=lambda _: ([], {}), recorder=recorder, stats=RunStats(),
            limits=lambda s: constitution.rules_for(s).limits, ops=ops,
        )
        recorder.record("run_start", {"instruments": [instrument_body(instrument)], "starting_cash": "10000"},
                        ts=T0)
        for minute in range(3):
            await engine.on_bar(_bar(minute, 1670.0 + minute), None)
        await engine.oms.submit(OrderRequest(
            "tb-MES-killed-mid-bar", "MES-probe", "MES", Side.BUY, Decimal(1), OrderType.MARKET, clock.now()
        ))
        await recorder.flush()
        # the next bar comes after a gap: the venue fills the order on it, then the stale-data alert fires
        await engine.on_bar(_bar(8, 1671.0), None)
    await broker.close()
    assert len(copies) == 1, "the gap must raise exactly one ALERT_STALE_DATA, inside the bar"

    with StoreReader(killed) as reader:
        kinds = [e.kind for e in reader.iter_events()]
    fills, bars = kinds.count("order_filled"), kinds.count("bar")
    assert (fills, bars) in ((0, 3), (1, 4)), f"fills {fills} with bars {bars}: the fill without its bar"

    # the restart's two views of the same committed facts: the rebuilt portfolio and the rebuilt venue
    state = load_resume_state(killed, {"MES": instrument}, shared_calendars())
    assert state.portfolio is not None
    ours = {s: p.quantity for s, p in state.portfolio.positions.items() if p.quantity != 0}
    venue = venue_from_store(killed)
    try:
        theirs = {p.symbol: p.quantity for p in venue.positions() if p.quantity != 0}
    finally:
        venue.close()
    assert ours == theirs


async def test_a_unit_is_never_cut_by_the_batch_size(tmp_path: Path) -> None:
    store = tmp_path / "units.db"
    async with EventWriter.open(store, durable_sync="normal", max_batch=2, linger_s=0.0) as writer:
        with writer.unit():
            first = writer.append("order_filled", {"n": 1}, ts=T0)
            writer.append("trade_closed", {"n": 2}, ts=T0)
            time.sleep(0.2)  # the thread may not take any of it now
            last = writer.append("bar", {"n": 3}, ts=T0)
        await writer.flush()
    with sqlite3.connect(store) as conn:
        batches = conn.execute("SELECT first_seq, last_seq FROM write_batches").fetchall()
    conn.close()
    assert any(a <= first and last <= b for a, b in batches), batches


# --- an order whose answers were lost with the kill, found at the venue by the restart -------------------
# A kill right after the venue took a bracket entry (or right after its write-ahead: the venue rebuilt from
# the store has it too) loses the venue's answers: the entry's acknowledgement and its two legs'. The
# restart adopts the entry. It must also adopt its legs — before, they stayed unknown: the next exit did
# not cancel them and a leg later filled against the flat position (other orders, other fills, other PnL).
# And it must not charge the entry an acknowledgement latency nobody measured — before, its first fill a
# bar later counted as its acknowledgement, the execution quality score fell (0.975 for 1.0) and every
# later decision recorded a different score.


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("divergences")


@pytest.fixture(scope="module")
def workload(directory: Path) -> Workload:
    return busy_workload(directory, "es", slice_of(ES_WEEK, directory / "es.csv", 0, 1500))


@pytest.fixture(scope="module")
def twin(workload: Workload, directory: Path) -> Outcome:
    return run_twin(workload, directory)


def _bracket_entry_whose_legs_an_exit_cancels(twin: Outcome) -> int:
    """The 1-based index among the twin's orders of the first bracket entry whose legs a later exit cancels
    (EXIT_REPLACES_LEGS)."""
    with StoreReader(twin.store) as reader:
        canceled = {e.body["client_order_id"] for e in reader.iter_events(kinds=("order_cancel_request",))
                    if e.body.get("code") == "EXIT_REPLACES_LEGS"}
        submits = list(reader.iter_events(kinds=("order_submit",)))
    for n, submit in enumerate(submits, start=1):
        if submit.body.get("bracket") and f"{submit.client_order_id}-sl" in canceled:
            return n
    raise AssertionError("the workload has no bracket entry closed by an exit")


def _same_events(result: TrialResult, twin: Outcome, store: Path) -> None:
    """Every outcome event (each gate's verdict and details included) equals the twin's, but the
    acknowledgements an adoption at restart replaces."""
    ours = [e for e in outcome(store) if e.kind != "order_accepted"]
    theirs = [e for e in outcome(twin.store) if e.kind != "order_accepted"]
    for mine, other in zip(ours, theirs, strict=False):
        assert mine == other, f"{result.line()}\n  {mine}\n  {other}"
    assert len(ours) == len(theirs), result.line()


@pytest.mark.parametrize("point", ["submit", "write_ahead"])
def test_a_bracket_entry_killed_before_its_answers_are_stored_restarts_as_the_uninterrupted_run(
    workload: Workload, twin: Outcome, directory: Path, point: str
) -> None:
    n = _bracket_entry_whose_legs_an_exit_cancels(twin)
    result = run_trial(workload, point, n, "KILL", twin, directory)
    assert result.reached and result.restarts >= 1, result.line()
    assert (result.duplicates, result.lost_fills, result.extra_fills, result.mismatches) == (0, 0, 0, 0), (
        result.line()
    )
    assert result.equal, result.line()
    _same_events(result, twin, directory / f"{workload.name}-{point}-{n}-KILL.db")


def test_an_order_adopted_at_restart_leaves_the_execution_quality_score_as_it_was(directory: Path) -> None:
    """An order flood: the 55th order is killed right after its write-ahead and adopted by the restart. Its
    acknowledgement latency is unknown and not charged: every later decision records the twin's score."""
    flood = busy_workload(directory, "flood", slice_of(ES_WEEK, directory / "flood.csv", 1200, 1500),
                          intents=600)
    twin = run_twin(flood, directory)
    result = run_trial(flood, "write_ahead", 55, "KILL", twin, directory)
    assert result.reached and result.restarts >= 1, result.line()
    assert result.equal, result.line()
    _same_events(result, twin, directory / "flood-write_ahead-55-KILL.db")


def test_a_bracket_leg_adopted_from_the_venue_is_entered_as_a_leg_of_its_parent() -> None:
    ledger = Ledger()
    parent = OrderRequest("tb-MES-p", "i", "MES", Side.BUY, Decimal(1), OrderType.MARKET, T0,
                          bracket=Bracket(Decimal(1660), Decimal(1680)))
    ledger.record_intent(parent)
    ledger.adopt(OrderSnapshot("tb-MES-p-tp", "SIM-2", "MES", Side.SELL, Decimal(1), Decimal(0),
                               OrderType.LIMIT, OrderStatus.ACCEPTED, limit_price=Decimal(1680)))
    leg = ledger.get("tb-MES-p-tp")
    assert leg is not None and leg.is_open and leg.reduce_only and leg.venue_order_id == "SIM-2"
    assert leg.request is not None and leg.request.parent_client_order_id == "tb-MES-p"
    assert leg.request.limit_price == Decimal(1680)


async def test_a_kill_while_a_bar_is_decided_leaves_the_bar_with_its_decisions_or_neither(
    tmp_path: Path,
) -> None:
    """A restart resumes after the last stored bar: a bar stored without what was decided on it (its
    signal, sizing, decision) is a decision lost for good. The kill is taken inside the strategy's sizer,
    after the bar and its signal were recorded, before its sizing and decision are."""
    settings = load_settings(REPO / "config" / "tradebot.toml")
    instrument = settings.instrument("MES")
    constitution = load_constitution(REPO / "config" / "constitution.yaml")
    store, killed = tmp_path / "run.db", tmp_path / "killed.db"
    clock = ReplayClock(T0)
    broker = create_broker({}, clock)
    broker.register_instrument(instrument)
    await broker.connect()

    async with EventWriter.open(store, durable_sync="normal") as writer:

        def sizer(inp: SizingInput) -> tuple[list[OrderIntent], dict[str, str]]:
            _wait_for_commit(writer, writer.last_seq)
            _committed_copy(store, killed)
            return [], {"action": "hold", "signal_ts": inp.signal.ts.isoformat()}

        engine = DecisionEngine(
            mode=Mode.OBSERVE, clock=clock, instruments={"MES": instrument}, broker=broker,
            portfolio=Portfolio(Decimal(10000), {"MES": instrument}),
            chain=build_chain(list(DEFAULT_CHAIN), constitution, calendars=shared_calendars()),
            sizer=sizer, recorder=StoreRecorder(writer), stats=RunStats(),
            limits=lambda s: constitution.rules_for(s).limits,
        )
        await engine.on_bar(_bar(0, 1670.0), None)
        bar = _bar(1, 1671.0)
        await engine.on_bar(bar, Signal("MES", bar.end, 0.1, 0.5, "normal_vol", 1671.0))
    await broker.close()

    with StoreReader(killed) as reader:
        kinds = [e.kind for e in reader.iter_events()]
    assert kinds.count("bar") == 1, f"the decided bar is stored without its decision: {kinds}"
