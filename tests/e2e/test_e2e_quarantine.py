"""Quarantine on real bars: the ES week (CME ESZ13, 2013-10-06 .. 10-11) traded by two sleeves on one
instrument with the benchmark's ``busy`` limits (BENCH, a 24/7 calendar), ``fast`` (aggressive profile)
and ``slow`` (balanced). The fast sleeve loses its costs on these bars (about -0.05 % a trade after
costs), so with the expectancy floor at -0.05 % (the default, -0.15 %, leaves it alone) the trades set off
quarantines: the instrument's in one run (9, 22 entries blocked), the fast sleeve's in another (9, 21
blocked). Each start and release is a stored ``quarantine`` event with its trigger and numbers; every entry
decided while one holds is blocked with SYMBOL_QUARANTINED or SLEEVE_QUARANTINED, and no other; each ends by
itself after 6 bars; the slow sleeve trades on; two runs are equal. With ``duration_days: 1`` instead,
the instrument is quarantined twice (1,287 entries blocked), each time for the rest of its session day and
the next one (BENCH's calendar is 24/7: a session day is a UTC date), released by the first bar of the day
after."""

from __future__ import annotations

import sys
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import REPO, SAMPLE, run_env, tradebot

from tradebot.store import StoreReader

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "faults"))
from store_outcome import first_difference, outcome

from bench.config import TWO_SLEEVES, write_busy_config

pytestmark = pytest.mark.timeout(600)
FLOOR = Decimal("-0.0005")


def replay(directory: Path, applies_to: str, extra: str = "") -> Path:
    config = write_busy_config(directory, fraction="0.002", tables=TWO_SLEEVES)
    constitution = directory / "constitution.yaml"
    section = f'  quarantine:\n    applies_to: {applies_to}\n    expectancy_floor_pct: "{FLOOR}"\n' + extra
    constitution.write_text(constitution.read_text().replace("  portfolio:", section + "  portfolio:", 1))
    store = directory / "week.db"
    done = tradebot(
        "replay",
        "--config",
        str(config),
        "--data",
        str(SAMPLE),
        "--store",
        str(store),
        "-q",
        env=run_env(directory / "run"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return store


def events(store: Path) -> list[Any]:
    with StoreReader(store) as reader:
        return list(reader.iter_events(kinds=("quarantine", "decision", "bar")))


@pytest.fixture(scope="module")
def symbol_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return replay(tmp_path_factory.mktemp("q-symbol"), "symbol")


@pytest.fixture(scope="module")
def sleeve_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return replay(tmp_path_factory.mktemp("q-sleeve"), "sleeve")


def check_quarantines(store: Path, scope: str, code: str) -> int:
    """Every quarantine: set off by post-cost expectancy under the floor, entries blocked while it holds and
    only then, released by itself on the 7th bar after it started; the number of quarantines."""
    held: dict[str, int] = {}  # name -> bars since its start
    starts = blocked = 0
    for event in events(store):
        body = event.body
        if event.kind == "quarantine":
            assert body["scope"] == scope and body["code"] == code and body["trigger"] == "expectancy"
            if body["event"] == "start":
                assert Decimal(body["metrics"]["expectancy_pct"]) < FLOOR
                assert int(body["metrics"]["trades"]) >= 12
                held[body["name"]] = 0
                starts += 1
            else:
                assert held.pop(body["name"]) == 7
        elif event.kind == "bar":
            held = {name: bars + 1 for name, bars in held.items()}
        elif not body["intent"]["reduce_only"]:
            name = body["intent"]["symbol"] if scope == "symbol" else body["intent"]["sleeve"]
            if name in held:
                assert body["code"] == code or body["verdicts"][-1]["gate"] != "quarantine", body["code"]
                blocked += body["code"] == code
            else:
                assert body["code"] != code
    assert starts >= 1 and blocked >= 1, (starts, blocked)
    return starts


def test_a_losing_instrument_is_quarantined_and_let_back_in(symbol_store: Path) -> None:
    check_quarantines(symbol_store, "symbol", "SYMBOL_QUARANTINED")


def test_a_losing_sleeve_is_quarantined_while_the_other_trades_on(sleeve_store: Path) -> None:
    check_quarantines(sleeve_store, "sleeve", "SLEEVE_QUARANTINED")
    with StoreReader(sleeve_store) as reader:
        names = {e.body["name"] for e in reader.iter_events(kinds=("quarantine",))}
        approved_slow = [
            e
            for e in reader.iter_events(kinds=("decision",))
            if e.body["intent"]["sleeve"] == "slow" and e.body["code"] == "APPROVED"
        ]
    assert names == {"fast"} and approved_slow


def test_the_quarantine_replay_is_deterministic(sleeve_store: Path, tmp_path: Path) -> None:
    assert first_difference(outcome(sleeve_store), outcome(replay(tmp_path, "sleeve"))) is None


def test_a_quarantine_in_session_days_ends_with_the_first_bar_of_the_day_after_its_days(
    tmp_path: Path,
) -> None:
    store = replay(tmp_path, "symbol", "    duration_days: 1\n")
    held: date | None = None  # the start's session day while one holds
    starts = blocked = 0
    for event in events(store):
        body = event.body
        if event.kind == "quarantine":
            assert (body["code"], body["until_bar"]) == ("SYMBOL_QUARANTINED", None)
            if body["event"] == "start":
                held = date.fromisoformat(body["since_day"])
                starts += 1
            else:
                at = datetime.fromisoformat(body["at"])
                assert held is not None and at.date() == held + timedelta(days=2)
                assert at.time() == time(0, 0)  # the first bar of that day
                held = None
        elif event.kind == "decision" and not body["intent"]["reduce_only"]:
            if held is not None:
                assert body["code"] == "SYMBOL_QUARANTINED" or body["verdicts"][-1]["gate"] != "quarantine"
                blocked += body["code"] == "SYMBOL_QUARANTINED"
            else:
                assert body["code"] != "SYMBOL_QUARANTINED"
    assert starts >= 2 and blocked > 100, (starts, blocked)
