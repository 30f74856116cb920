"""Sleeve allocation on real bars: the ES week (CME ESZ13, 2013-10-06 .. 10-11, /work/shared/data) traded
by two sleeves on one instrument (the benchmark's ``busy`` limits, a 24/7 calendar: a session day is a UTC
date), ``fast`` (aggressive profile) and ``slow`` (balanced), each with a base weight of 0.5.

On these bars the fast sleeve loses its costs: after its first full day (29 round trips) its mean post-cost
return is -0.065 % a trade, after the second (60 in the window) -0.055 %. The default floor (-0.10 %) leaves
it alone, so the test sets the floor at -0.05 % and needs 5 trades instead of 15 (a week has five closes
and the slow sleeve closes about one round trip a day). Then fast falls at the closes of 10-07 and 10-08
(0.50 -> 0.45 -> 0.40) and slow, positive from its fifth trade on, rises into the capital fast gave up at the
closes of 10-09 and 10-10 (0.50 -> 0.55 -> 0.60). Every change is a stored ``sleeve_weight`` event with its
inputs; every decision record and every sizing record carries the weights it used; the entry allocation's
risk score follows the leading sleeve's weight; two runs are equal, event for event."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import REPO

from tradebot.store import StoreReader

sys.path.insert(0, str(REPO))
from bench.config import ALLOCATION, TWO_SLEEVES, write_busy_config

pytestmark = pytest.mark.timeout(300)
ES_WEEK = REPO.parent / "shared" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"


def replay(directory: Path) -> Path:
    config = write_busy_config(directory, fraction="0.002", tables=TWO_SLEEVES + ALLOCATION)
    constitution = directory / "constitution.yaml"  # the allocation formula on: its risk score is read
    constitution.write_text(
        constitution.read_text().replace("allocation_enabled: false", "allocation_enabled: true")
    )
    store = directory / "week.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEBOT_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tradebot.cli",
            "replay",
            "--config",
            str(config),
            "--data",
            str(ES_WEEK),
            "--store",
            str(store),
            "-q",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return store


def events(store: Path, *kinds: str) -> list[Any]:
    with StoreReader(store) as reader:
        return list(reader.iter_events(kinds=kinds))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return replay(tmp_path_factory.mktemp("allocation"))


def test_weights_move_at_the_closes_each_change_stored_with_its_inputs(store: Path) -> None:
    changes = events(store, "sleeve_weight")
    moves = [
        (e.body["closed_day"], e.body["sleeve"], e.body["rule"], e.body["old_weight"], e.body["new_weight"])
        for e in changes
    ]
    # measured: fast 0.5 -> 0.45 -> 0.40 (expectancy_floor, closes of 10-07 and 10-08), slow 0.5 -> 0.55
    # -> 0.60 (positive_expectancy, closes of 10-09 and 10-10); the other gates may shift a trade or two
    assert moves[0] == ("2013-10-07", "fast", "expectancy_floor", "0.5", "0.45"), moves
    assert {(m[1], m[2]) for m in moves} == {("fast", "expectancy_floor"), ("slow", "positive_expectancy")}
    assert len(moves) >= 3 and len({m[0] for m in moves}) >= 3, moves
    for change in changes:
        body = change.body
        assert body["code"] == "SLEEVE_WEIGHT_CHANGED"
        assert change.ts.time().isoformat() == "00:00:00"  # the first bar of the next UTC day
        assert int(body["trades"]) >= 5 and 0 <= Decimal(body["stability"]) <= 1
        expectancy = Decimal(body["expectancy"])
        if body["rule"] == "expectancy_floor":
            assert expectancy < Decimal("-0.0005")
        else:
            assert expectancy > 0 and Decimal(body["drawdown"]) <= Decimal("0.06")
        new = {k: Decimal(v) for k, v in body["weights"].items()}
        assert all(Decimal("0.10") <= w <= Decimal("0.60") for w in new.values())
        assert sum(new.values()) <= 1  # what fast gave up is cash until slow earns it
        assert abs(Decimal(body["new_weight"]) - Decimal(body["old_weight"])) <= Decimal("0.05")


def test_every_decision_and_sizing_record_carries_the_weights_it_used(store: Path) -> None:
    changes = [(e.seq, e.body["weights"]) for e in events(store, "sleeve_weight")]

    def weights_at(seq: int) -> dict[str, str]:
        current = {"fast": "0.5", "slow": "0.5"}
        for at, weights in changes:
            if at < seq:
                current = weights
        return current

    decisions = events(store, "decision")
    sizing = [(e.seq, e.body["sizing"]) for e in events(store, "bar") if "sizing" in e.body]
    assert len(decisions) >= 500 and len(sizing) >= 1000
    for record in decisions:
        assert record.body["sleeve_weights"] == weights_at(record.seq)
    for seq, body in sizing:
        assert body["weights"] == weights_at(seq)
    seen = {tuple(sorted(d.body["sleeve_weights"].items())) for d in decisions}
    assert len(seen) == len({e.ts for e in events(store, "sleeve_weight")}) + 1  # each weighting traded on


def test_the_entry_allocation_risk_score_follows_the_leading_sleeve(store: Path) -> None:
    scored = 0
    for record in events(store, "decision"):
        intent = record.body["intent"]
        if intent["reduce_only"]:
            continue
        verdict = next((v for v in record.body["verdicts"] if v["gate"] == "entry_allocation"), None)
        if verdict is None or "risk_score" not in verdict["details"]:
            continue  # stopped before the formula (an earlier gate blocked)
        weight = Decimal(record.body["sleeve_weights"][intent["sleeve"]])
        assert Decimal(verdict["details"]["risk_score"]) == min(weight / Decimal("0.5"), Decimal(1))
        scored += weight < Decimal("0.5")
    assert scored >= 20  # entries led by the fallen sleeve, sized down


def test_two_runs_are_equal(store: Path, tmp_path: Path) -> None:
    again = replay(tmp_path)
    kinds = ("sleeve_weight", "bar", "decision", "order_submit", "order_filled")
    assert [(e.kind, e.body) for e in events(again, *kinds)] == [
        (e.kind, e.body) for e in events(store, *kinds)
    ]
