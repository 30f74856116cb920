"""The simulated venue never runs ahead of the event store: a kill at any moment leaves the two agreeing, and
the restarted replay ends exactly as the uninterrupted one.

The kill is deterministic. In the child process the store's writer thread is held back (it never commits
on its own; only an order's write-ahead commits, with everything queued before it), so the store lags the
venue by every bar since the last order — a batch commit that never came, made exact. The child kills
itself with SIGKILL right after the venue matched the bar that made its N-th fill: the venue has acted on
bars, and filled orders, that the store has not committed.

Then (a) the venue a restart would use — built exactly as the run builds it — and the store agree: the
venue holds no fill, position or order the store does not; (b) the restarted replay's orders, fills, PnL
and positions equal the uninterrupted twin's, and the venue and the store agree at the end.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from tradebot.brokers.sim import SimVenue
from tradebot.domain.clock import ReplayClock
from tradebot.domain.state import Mode
from tradebot.store import StoreReader

pytestmark = pytest.mark.timeout(600)

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "src" / "tradebot" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"
CONFIG = REPO / "config" / "tradebot.toml"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

KILLED_CHILD = """
import os, signal, sys
from datetime import UTC, datetime

from tradebot.brokers.sim.venue import SimVenue
from tradebot.store.writer import EventWriter

target = int(sys.argv[1])
epoch = datetime(1970, 1, 1, tzinfo=UTC)

init = EventWriter.__init__
def held_back(self, **kwargs):  # the writer thread sleeps through the run: only inline commits land
    # write-aheads commit inline, as in observe and live (a replay groups them with their bar: the store
    # then lags further, down to nothing at all, which the kill suite covers)
    init(self, **{**kwargs, "linger_s": 3600.0, "durable_sync": "normal"})
EventWriter.__init__ = held_back

on_bar = SimVenue.on_bar
def kill_after_fill(self, bar):
    on_bar(self, bar)
    if len(self.fills_since(epoch)) >= target:
        print(f"SIGKILL after the venue's fill #{target} on bar {bar.ts}", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
SimVenue.on_bar = kill_after_fill

from tradebot.cli import main
sys.argv = ["tradebot", *sys.argv[2:]]
main()
"""


def _env(run_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEBOT_")}
    env["TRADEBOT_RUN__RUN_DIR"] = str(run_dir)
    return env


def _replay_args(store: Path) -> list[str]:
    return ["replay", "--config", str(CONFIG), "--data", str(SAMPLE), "--out", str(store), "-q"]


def _run(command: list[str], run_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, env=_env(run_dir), capture_output=True, text=True, timeout=300)


@dataclass(frozen=True)
class Outcome:
    orders: tuple[tuple[str, ...], ...]
    fills: tuple[tuple[str, ...], ...]
    realized_pnl: Decimal
    fees: Decimal
    positions: dict[str, Decimal]


def _outcome(store: Path) -> Outcome:
    from tradebot.pipeline.summary import summarize_store

    with StoreReader(store) as reader:
        orders = tuple(
            tuple(str(e.body.get(k)) for k in ("client_order_id", "side", "quantity", "order_type",
                                                 "limit_price", "stop_price", "reduce_only", "ts"))
            for e in reader.iter_events(kinds=("order_submit",))
        )
        fills = tuple(
            tuple(str(e.body[k]) for k in ("fill_id", "client_order_id", "side", "quantity", "price", "fee",
                                            "ts"))
            for e in reader.iter_events(kinds=("order_filled",))
        )
    summary = summarize_store(store)
    return Outcome(
        orders,
        fills,
        Decimal(summary["realized_pnl"]),
        Decimal(summary["fees"]),
        {s: Decimal(q) for s, q in summary["positions"].items() if Decimal(q) != 0},
    )


def _settings() -> Any:
    from tradebot.settings import load_settings

    return load_settings(CONFIG)


def _venue_as_a_restart_builds_it(settings: Any, store: Path) -> SimVenue:
    """The simulated venue exactly as a restarted run on ``store`` gets it (the run's own builder)."""
    from tradebot.brokers.sim import SimBroker
    from tradebot.pipeline import session

    broker = session._build_broker(settings, Mode.REPLAY, ReplayClock(EPOCH), store)
    assert isinstance(broker, SimBroker)
    return broker.venue


def _disagreements(store: Path) -> list[str]:
    """Where the venue a restart would use knows something the store does not, or the other way round."""
    from tradebot.pipeline.resume import load_resume_state

    settings = _settings()
    symbol = settings.data.symbol
    resume = load_resume_state(store, {symbol: settings.instrument(symbol)})
    assert resume.portfolio is not None
    venue = _venue_as_a_restart_builds_it(settings, store)
    try:
        venue_fills = {f.fill_id: f for f in venue.fills_since(EPOCH)}
        venue_positions = {p.symbol: p.quantity for p in venue.positions() if p.quantity != 0}
        venue_open = {o.client_order_id for o in venue.open_orders()}
        venue_orders = {o.client_order_id: o for o in (venue.order(cid) for cid in venue_open) if o}
    finally:
        venue.close()
    with StoreReader(store) as reader:
        stored_fills = {e.body["fill_id"] for e in reader.iter_events(kinds=("order_filled",))}
    written_ahead = {entry.client_order_id for entry in resume.ledger.entries()}
    store_positions = {s: p.quantity for s, p in resume.portfolio.positions.items() if p.quantity != 0}
    problems = [f"venue fill {f} is not in the store" for f in sorted(set(venue_fills) - stored_fills)]
    if venue_positions != store_positions:
        problems.append(f"positions: venue {venue_positions} != store {store_positions}")
    for cid in sorted(venue_open):
        parent = venue_orders[cid].parent_client_order_id
        if cid not in written_ahead and parent not in written_ahead:
            problems.append(f"open order {cid} at the venue was never written ahead in the store")
    return problems


@pytest.fixture(scope="module")
def twin_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("twin")
    done = _run([sys.executable, "-m", "tradebot.cli", *_replay_args(root / "twin.db")], root)
    assert done.returncode == 0, done.stderr
    return root / "twin.db"


@pytest.fixture(scope="module")
def twin(twin_store: Path) -> Outcome:
    outcome = _outcome(twin_store)
    assert len(outcome.fills) >= 8  # the week trades: the kill points below fall on real fills
    return outcome


@pytest.mark.parametrize("fill", [2, 4, 8])
def test_a_kill_with_the_venue_ahead_of_the_store_restarts_into_the_same_outcome(
    twin: Outcome, tmp_path: Path, fill: int
) -> None:
    store = tmp_path / "killed.db"
    killed = _run([sys.executable, "-c", KILLED_CHILD, str(fill), *_replay_args(store)], tmp_path)
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert f"fill #{fill}" in killed.stderr
    with StoreReader(store) as reader:  # the kill came before the store committed the fill
        assert sum(1 for _ in reader.iter_events(kinds=("order_filled",))) < fill

    assert _disagreements(store) == []  # (a) right after the kill

    restarted = _run([sys.executable, "-m", "tradebot.cli", *_replay_args(store), "--resume"], tmp_path)
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    assert "resumed after bar" in restarted.stdout

    assert _disagreements(store) == []  # (a) at the end
    outcome = _outcome(store)
    assert outcome.orders == twin.orders  # (b)
    assert outcome.fills == twin.fills
    assert (outcome.realized_pnl, outcome.fees, outcome.positions) == (
        twin.realized_pnl, twin.fees, twin.positions
    )


def test_a_store_the_configured_venue_does_not_reproduce_refuses_the_restart(
    twin_store: Path, tmp_path: Path
) -> None:
    store = tmp_path / "copy.db"
    shutil.copy(twin_store, store)
    with StoreReader(store) as reader:
        before = reader.max_seq()
    env = {**_env(tmp_path), "TRADEBOT_BROKER__SIM__FEE_BPS": "2.0"}  # not the store's fees
    done = subprocess.run([sys.executable, "-m", "tradebot.cli", *_replay_args(store), "--resume"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    # another fee is another config: refused before the venue is rebuilt, the changed key named (the
    # venue's own check, exit 4 "does not reproduce its recorded fills", stays behind it)
    assert done.returncode == 2, done.stderr
    assert "different config hash" in done.stderr and "broker.sim.fee_bps: 0.5 -> " in done.stderr
    assert "Traceback" not in done.stderr
    with StoreReader(store) as reader:
        assert reader.max_seq() == before  # nothing written


def test_a_run_refuses_a_venue_state_file_of_its_own(tmp_path: Path) -> None:
    env = {**_env(tmp_path), "TRADEBOT_BROKER__SIM__STATE_PATH": str(tmp_path / "venue.db")}
    store = tmp_path / "run.db"
    done = subprocess.run([sys.executable, "-m", "tradebot.cli", *_replay_args(store)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "broker.sim.state_path" in done.stderr and "Traceback" not in done.stderr
    assert not store.exists() and not (tmp_path / "venue.db").exists()


def test_a_store_whose_fills_the_venue_does_not_reproduce_refuses_the_restart(
    twin_store: Path, tmp_path: Path
) -> None:
    store = tmp_path / "damaged.db"
    shutil.copy(twin_store, store)
    with sqlite3.connect(store) as conn:  # damaged: one recorded fill is no longer what the venue made
        query = "SELECT seq, body FROM events WHERE kind = 'order_filled' ORDER BY seq"
        seq, body = conn.execute(query).fetchone()
        fill = orjson.loads(body)
        fill["price"] = str(Decimal(fill["price"]) + Decimal("0.25"))
        (guard,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'events_no_update'").fetchone()
        conn.execute("DROP TRIGGER events_no_update")  # the store is append-only: lift it for the damage
        conn.execute("UPDATE events SET body = ? WHERE seq = ?", (orjson.dumps(fill), seq))
        conn.execute(guard)
    with StoreReader(store) as reader:
        before = reader.max_seq()
    done = _run([sys.executable, "-m", "tradebot.cli", *_replay_args(store), "--resume"], tmp_path)
    assert done.returncode == 4, done.stderr
    assert "does not reproduce its recorded fills" in done.stderr
    assert f"fill {fill['fill_id']} recorded as" in done.stderr and "Traceback" not in done.stderr
    with StoreReader(store) as reader:
        assert reader.max_seq() == before  # nothing written
