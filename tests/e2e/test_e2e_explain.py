"""``tradebot explain SEQ`` on real replays: every decision names the stored snapshot it was made with, and
re-running it from that snapshot and the store before it gives the same record — on the shipped config and
on two sleeves with their allocation weights moving (the busy limits, the real ES week). A store that lacks
an event the decision depended on does not reproduce, and says which field differs (exit 9)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from e2e_helpers import REPO, SAMPLE, run_env, tradebot

from tradebot.pipeline.decision_snapshot import KIND, snapshot_sha256
from tradebot.pipeline.explain import explain
from tradebot.store import EventWriter, StoreReader

sys.path.insert(0, str(REPO))
from bench.config import ALLOCATION, TWO_SLEEVES, write_busy_config

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("shipped")
    store = tmp / "week.db"
    ran = tradebot("replay", "-q", "--data", str(SAMPLE), "--out", str(store), env=run_env(tmp / "run"))
    assert ran.returncode == 0, ran.stderr
    return store


@pytest.fixture(scope="module")
def sleeves(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sleeves")
    config = write_busy_config(directory, fraction="0.002", tables=TWO_SLEEVES + ALLOCATION)
    store = directory / "week.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEBOT_")}
    env["TRADEBOT_RUN__RUN_DIR"] = str(directory / "run")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tradebot.cli",
            "replay",
            "--config",
            str(config),
            "--data",
            str(SAMPLE),
            "--store",
            str(store),
            "-q",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return store


def decisions(store: Path) -> list[tuple[int, str, dict]]:
    with StoreReader(store) as reader:
        return [(e.seq, e.body["code"], e.body) for e in reader.iter_events(kinds=("decision",))]


def test_every_decision_names_a_stored_snapshot(shipped: Path) -> None:
    with StoreReader(shipped) as reader:
        snapshots = {snapshot_sha256(e.body): e.body for e in reader.iter_events(kinds=(KIND,))}
    named = {body["snapshot"] for _, _, body in decisions(shipped)}
    assert len(named) == 1 and named <= set(snapshots)
    snapshot = snapshots[named.pop()]
    assert snapshot["ensembles"]["MES"][""]["profile"] == "balanced"
    assert {c["name"] for c in snapshot["ensembles"]["MES"][""]["components"]} == {
        "trend_ema",
        "momentum",
        "mean_reversion",
    }
    assert snapshot["constitution"]["instruments"]["MES"]["limits"]["max_trades_per_day"] == 2
    assert snapshot["settings"]["strategy"]["profile"] == "balanced"
    assert "run" not in snapshot["settings"] and "broker" not in snapshot["settings"]


def test_decisions_of_the_shipped_config_reproduce(shipped: Path) -> None:
    rows = decisions(shipped)
    approved = [seq for seq, code, _ in rows if code == "APPROVED"]
    blocked = sorted({code: seq for seq, code, _ in rows if code != "APPROVED"}.values())  # one per code
    assert len(approved) == 10 and len(blocked) >= 4
    for seq in approved + blocked:
        result = explain(shipped, seq)
        assert result.identical, (seq, result.differences)
    out = tradebot("explain", str(approved[0]), "--store", str(shipped))
    assert out.returncode == 0, out.stderr
    assert "-> APPROVED" in out.stdout and "position_limit: PASS" in out.stdout
    assert out.stdout.rstrip().endswith("IDENTICAL")


def test_decisions_of_two_sleeves_with_moving_weights_reproduce(sleeves: Path) -> None:
    rows = decisions(sleeves)
    weights = {str(body.get("sleeve_weights")) for _, _, body in rows}
    assert len(weights) > 1  # the allocation moved during the week
    approved = [seq for seq, code, _ in rows if code in ("APPROVED", "CLAMPED")]
    sample = random.Random(7).sample(approved, min(25, len(approved)))
    later = [seq for seq, _, _ in rows[-50:]]  # the last day: every state has the whole week behind it
    for seq in sorted(set(sample + later)):
        result = explain(sleeves, seq)
        assert result.identical, (seq, result.differences)


async def _copy_without(source: Path, target: Path, drop: int) -> None:
    with StoreReader(source) as reader:
        events = [e for e in reader.iter_events() if e.seq != drop]
    async with EventWriter.open(target) as writer:
        for e in events:
            writer.append(e.kind, e.body, ts=e.ts, symbol=e.symbol, client_order_id=e.client_order_id)


def test_a_store_missing_what_the_decision_read_does_not_reproduce(shipped: Path, tmp_path: Path) -> None:
    """The halt that blocked a decision taken out of a copy of the store: re-run, the decision passes the
    trading-state gate, and explain says so (exit 9)."""
    rows = decisions(shipped)
    halted = next(seq for seq, code, _ in rows if code == "TRADING_HALTED")
    with StoreReader(shipped) as reader:
        halt = max(
            e.seq
            for e in reader.iter_events(kinds=("trading_state",))
            if e.seq < halted and e.body["to"] == "HALTED"
        )
    doctored = tmp_path / "doctored.db"
    anyio.run(_copy_without, shipped, doctored, halt)
    out = tradebot("explain", str(halted - 1), "--store", str(doctored))  # one event fewer before it
    assert out.returncode == 9, out.stdout + out.stderr
    assert "TRADING_HALTED" in out.stdout and "DIFFERENT" in out.stdout
    assert '  code: stored "TRADING_HALTED"' in out.stdout


def test_what_is_not_a_decision_is_refused(shipped: Path) -> None:
    out = tradebot("explain", "1", "--store", str(shipped))
    assert out.returncode == 2
    assert "event #1 is a run_start, not a decision" in out.stderr
    with StoreReader(shipped) as reader:
        last = reader.max_seq()
    out = tradebot("explain", str(last + 10), "--store", str(shipped))
    assert out.returncode == 2
    assert f"no event #{last + 10}" in out.stderr
