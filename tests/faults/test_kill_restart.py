"""Kill the daemon at each deterministic point while orders flow, restart it, and demand the outcome of the
uninterrupted run: no order sent twice, no fill lost or invented, store and venue positions equal.

``make soak`` runs many more of these trials (tests/faults/soak.py); these are the few ``make test`` runs.
"""

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

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kills")


@pytest.fixture(scope="module")
def workload(directory: Path) -> Workload:
    return busy_workload(directory, "es", ES_WEEK, intents=40)


@pytest.fixture(scope="module")
def twin(workload: Workload, directory: Path) -> Outcome:
    outcome = run_twin(workload, directory)
    assert len(outcome.orders) > 100 and len(outcome.fills) > 100  # orders really flow
    assert not outcome.duplicate_orders and not outcome.duplicate_fills
    return outcome


@pytest.mark.parametrize(
    ("point", "n", "signal"),
    [
        ("bar", 3000, "KILL"),
        ("write_ahead", 50, "KILL"),
        ("submit", 60, "KILL"),
        ("cancel", 15, "KILL"),
        ("fill", 70, "KILL"),
        ("bar", 2000, "TERM"),
        ("write_ahead", 120, "TERM"),
    ],
)
def test_a_kill_then_restart_ends_as_the_uninterrupted_run(
    workload: Workload, twin: Outcome, directory: Path, point: str, n: int, signal: str
) -> None:
    result = run_trial(workload, point, n, signal, twin, directory)
    assert_ends_as_the_twin(result)


def test_a_kill_during_startup_reconciliation_then_restart_ends_as_the_uninterrupted_run(
    workload: Workload, twin: Outcome, directory: Path
) -> None:
    result = run_trial(workload, "reconcile", 1, "KILL", twin, directory, prelude=("write_ahead", 80, "KILL"))
    assert result.reached and result.restarts >= 1, result.line()
    assert (result.duplicates, result.lost_fills, result.extra_fills, result.mismatches) == (0, 0, 0, 0), (
        result.line()
    )
    assert result.equal, result.line()
