"""A long run keeps only its most recent finished orders and fills (``tradebot/domain/recent.py``), so memory
stays flat. Forgetting them must change nothing: the same run with a tiny retention ends exactly as with the
default one, and a kill and restart while orders are being forgotten still ends as the uninterrupted run."""

from __future__ import annotations

import subprocess
import sys
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

TINY = 8  # finished orders and fills kept; the ES week makes more than a hundred of each


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bounded")


@pytest.fixture(scope="module")
def workload(directory: Path) -> Workload:
    return busy_workload(directory, "es", ES_WEEK, intents=40)


@pytest.fixture(scope="module")
def default_twin(workload: Workload, directory: Path) -> Outcome:
    return run_twin(workload, directory / "default")


@pytest.fixture
def tiny_retention(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every tradebot process started from here on keeps ``TINY`` finished orders and fills."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        f"import tradebot.domain.recent\ntradebot.domain.recent.RETAINED = {TINY}\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(site))
    probe = "import tradebot.brokers.sim.venue as v, tradebot.oms.ledger as l; print(v.RETAINED, l.RETAINED)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == [str(TINY), str(TINY)]


def test_forgetting_finished_orders_changes_nothing(
    workload: Workload, default_twin: Outcome, directory: Path, tiny_retention: None
) -> None:
    assert len(default_twin.orders) > 10 * TINY and len(default_twin.fills) > 10 * TINY
    tiny = run_twin(workload, directory / "tiny")
    assert tiny.differences(default_twin) == []
    assert tiny.exit_code == default_twin.exit_code


@pytest.mark.parametrize(("point", "n"), [("fill", 90), ("write_ahead", 110)])
def test_a_kill_while_orders_are_forgotten_restarts_to_the_same_outcome(
    workload: Workload, default_twin: Outcome, directory: Path, tiny_retention: None, point: str, n: int
) -> None:
    result = run_trial(workload, point, n, "KILL", default_twin, directory)
    assert_ends_as_the_twin(result)
