"""Two strategy sleeves netted on one instrument (the busy workload on the ES week), killed mid-run and
restarted, end exactly as the uninterrupted run: each sleeve's ensemble is warmed again from the bars before
the restart, so the netted targets, the orders and their decision records are the same, event for event."""

from __future__ import annotations

from pathlib import Path

import pytest
from kill_harness import (
    ES_WEEK,
    Outcome,
    Workload,
    assert_ends_as_the_twin,
    busy_workload,
    run_trial,
    run_twin,
)

from tradebot.store import StoreReader

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

SLEEVES = """[sleeves.fast]
instruments = ["BENCH"]
weight = 0.5
profile = "aggressive"
fraction = "0.002"

[sleeves.slow]
instruments = ["BENCH"]
weight = 0.5
profile = "balanced"
fraction = "0.002"

"""


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sleeve-kills")


@pytest.fixture(scope="module")
def workload(directory: Path) -> Workload:
    return busy_workload(directory, "sleeves", ES_WEEK, tables=SLEEVES)


@pytest.fixture(scope="module")
def twin(workload: Workload, directory: Path) -> Outcome:
    outcome = run_twin(workload, directory)
    assert len(outcome.orders) >= 20
    with StoreReader(outcome.store) as reader:
        led = {e.body["intent"]["sleeve"] for e in reader.iter_events(kinds=("decision",))}
    assert led >= {"fast", "slow"}  # both sleeves led orders: the netting is exercised
    return outcome


@pytest.mark.parametrize(("point", "n"), [("bar", 3000), ("fill", 9), ("write_ahead", 15), ("submit", 21)])
def test_a_killed_sleeve_replay_restarts_to_the_same_outcome(
    workload: Workload, twin: Outcome, directory: Path, point: str, n: int
) -> None:
    result = run_trial(workload, point, n, "KILL", twin, directory)
    assert_ends_as_the_twin(result)
    assert result.exact, "every decision record (sleeve targets included) equal to the twin's"
