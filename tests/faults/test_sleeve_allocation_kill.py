"""The sleeves' capital weights are rebuilt from the store on a restart: two sleeves on the ES week (the busy
workload; allocation needing 5 trades, floor -0.05 %, so weights move at four of the week's closes, as in
tests/e2e/test_e2e_sleeve_allocation.py), killed just before, just after and between weight changes and
restarted, end event for event as the uninterrupted run: the same ``sleeve_weight`` events at the same
bars, the same weights in every decision and sizing record, the same orders and fills."""

from __future__ import annotations

from pathlib import Path

import pytest
from kill_harness import (
    SHARED_DATA,
    Outcome,
    Workload,
    assert_ends_as_the_twin,
    busy_workload,
    run_trial,
    run_twin,
)

from bench.config import ALLOCATION, TWO_SLEEVES
from tradebot.store import StoreReader

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

ES_WEEK = SHARED_DATA / "es_esz13_1m_2013-10-06_2013-10-11.csv"
# the bar (1-based, as the kill point counts) whose close is the first of a new UTC day: a session close
FIRST_CLOSE, SECOND_CLOSE = 1463, 2835


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("allocation-kills")


@pytest.fixture(scope="module")
def workload(directory: Path) -> Workload:
    busy = busy_workload(directory, "allocation", ES_WEEK, fraction="0.002", tables=TWO_SLEEVES + ALLOCATION)
    constitution = busy.config.parent / "constitution.yaml"
    text = constitution.read_text()
    constitution.write_text(text.replace("allocation_enabled: false", "allocation_enabled: true"))
    return busy


@pytest.fixture(scope="module")
def twin(workload: Workload, directory: Path) -> Outcome:
    outcome = run_twin(workload, directory)
    with StoreReader(outcome.store) as reader:
        changes = [e.body for e in reader.iter_events(kinds=("sleeve_weight",))]
    moves = [(c["closed_day"], c["sleeve"], c["new_weight"]) for c in changes]
    assert moves[0] == ("2013-10-07", "fast", "0.45") and len(moves) >= 3, moves  # the kills straddle them
    return outcome


@pytest.mark.parametrize(
    ("point", "n"),
    [
        ("bar", FIRST_CLOSE),  # before the bar that closes 10-07: the restart makes the first move
        ("bar", FIRST_CLOSE + 1),  # just after it: the restart rebuilds fast at 0.45 from the store
        ("bar", SECOND_CLOSE + 300),  # between moves, fast at 0.40
        ("fill", 250),
        ("write_ahead", 150),
    ],
)
def test_a_killed_replay_restarts_with_the_same_weights(
    workload: Workload, twin: Outcome, directory: Path, point: str, n: int
) -> None:
    result = run_trial(workload, point, n, "KILL", twin, directory)
    assert_ends_as_the_twin(result)
    assert result.exact, "every outcome event (sleeve_weight and decision records included) as the twin's"
