"""Quarantines are rebuilt from the store on a restart: the two sleeves of tests/e2e/test_e2e_quarantine.py
on the ES week (the busy workload, expectancy floor -0.05 %), whose fast sleeve is quarantined nine times,
killed before, inside and after quarantines and restarted, end event for event as the uninterrupted run: the
same ``quarantine`` starts and releases at the same bars, the same entries blocked, the same orders and fills
(a restart neither forgets a quarantine nor stores one twice). The same with ``duration_days: 1`` (the
instrument quarantined for the rest of its session day and the next), killed inside one."""

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

from bench.config import TWO_SLEEVES
from tradebot.store import StoreReader

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

ES_WEEK = SHARED_DATA / "es_esz13_1m_2013-10-06_2013-10-11.csv"
QUARANTINE = '  quarantine:\n    applies_to: sleeve\n    expectancy_floor_pct: "-0.0005"\n'
IN_DAYS = '  quarantine:\n    applies_to: symbol\n    expectancy_floor_pct: "-0.0005"\n    duration_days: 1\n'


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("quarantine-kills")


def quarantine_workload(directory: Path, name: str, section: str) -> Workload:
    busy = busy_workload(directory, name, ES_WEEK, fraction="0.002", tables=TWO_SLEEVES)
    constitution = busy.config.parent / "constitution.yaml"
    constitution.write_text(constitution.read_text().replace("  portfolio:", section + "  portfolio:", 1))
    return busy


@pytest.fixture(scope="module")
def workload(directory: Path) -> Workload:
    return quarantine_workload(directory, "quarantine", QUARANTINE)


@pytest.fixture(scope="module")
def twin(workload: Workload, directory: Path) -> Outcome:
    outcome = run_twin(workload, directory)
    with StoreReader(outcome.store) as reader:
        changes = [e.body["event"] for e in reader.iter_events(kinds=("quarantine",))]
    assert changes.count("start") >= 3 and changes.count("release") >= 3, changes
    return outcome


@pytest.mark.parametrize(("point", "n"), [("bar", 3300), ("bar", 5200), ("fill", 150), ("write_ahead", 250)])
def test_a_killed_replay_restarts_with_the_same_quarantines(
    workload: Workload, twin: Outcome, directory: Path, point: str, n: int
) -> None:
    result = run_trial(workload, point, n, "KILL", twin, directory)
    assert_ends_as_the_twin(result)
    assert result.exact, "every outcome event (quarantine starts and releases included) as the twin's"


def test_a_replay_killed_inside_a_quarantine_of_session_days_restarts_with_it(directory: Path) -> None:
    workload = quarantine_workload(directory, "quarantine-days", IN_DAYS)
    twin = run_twin(workload, directory)
    with StoreReader(twin.store) as reader:
        starts = [e.body for e in reader.iter_events(kinds=("quarantine",)) if e.body["event"] == "start"]
    assert len(starts) >= 2 and all(body["until_day"] is not None for body in starts), starts
    result = run_trial(workload, "bar", 2000, "KILL", twin, directory)  # 2013-10-08: inside the first
    assert_ends_as_the_twin(result)
    assert result.exact, "every outcome event (quarantine starts and releases included) as the twin's"
