"""The participation cap's state (each instrument's recent bar volumes) is rebuilt from the store on a
restart: the ES week with ~40-lot entries, whose overnight entries the cap blocks, killed mid-run and
restarted, ends event for event as the uninterrupted run (every verdict's rolling volume included)."""

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


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("liquidity-kills")


@pytest.fixture(scope="module")
def workload(directory: Path) -> Workload:
    busy = busy_workload(directory, "liquidity", ES_WEEK)
    busy.config.write_text(busy.config.read_text().replace('fraction = "0.001"', 'fraction = "0.004"'))
    constitution = busy.config.parent / "constitution.yaml"
    constitution.write_text(constitution.read_text().replace("position_limit: 1", "position_limit: null"))
    return busy


@pytest.fixture(scope="module")
def twin(workload: Workload, directory: Path) -> Outcome:
    outcome = run_twin(workload, directory)
    with StoreReader(outcome.store) as reader:
        codes = [e.body["code"] for e in reader.iter_events(kinds=("decision",))]
    assert codes.count("LIQ_PARTICIPATION_BLOCK") >= 20 and codes.count("APPROVED") >= 100
    return outcome


@pytest.mark.parametrize(("point", "n"), [("bar", 4000), ("write_ahead", 120), ("fill", 200)])
def test_a_killed_replay_restarts_with_the_same_volume_windows(
    workload: Workload, twin: Outcome, directory: Path, point: str, n: int
) -> None:
    result = run_trial(workload, point, n, "KILL", twin, directory)
    assert_ends_as_the_twin(result)
    assert result.exact, "every decision record (rolling volumes included) equal to the twin's"
