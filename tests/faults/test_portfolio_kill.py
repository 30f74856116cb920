"""A replay of two instruments (the ES week as MES, SPY one-minute bars of the same week) killed mid-run and
restarted ends exactly as the uninterrupted run: the merged feeds resume after the last recorded bar of
either instrument, never deciding a bar twice nor skipping the other instrument's bar of the same minute."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from kill_harness import (
    ES_WEEK,
    SPY_WEEK,
    Outcome,
    Workload,
    assert_ends_as_the_twin,
    run_trial,
    run_twin,
    shipped_workload,
)

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]


@dataclass(frozen=True)
class TwoInstruments(Workload):
    feeds: tuple[tuple[str, Path], ...] = ()

    def args(self, store: Path) -> list[str]:
        args = ["replay", "--config", str(self.config), "--store", str(store), "-q"]
        for symbol, path in self.feeds:
            args += ["--data", f"{symbol}={path}"]
        return args


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("portfolio-kills")


@pytest.fixture(scope="module")
def workload(directory: Path) -> TwoInstruments:
    shipped = shipped_workload(directory, "two", ES_WEEK)
    return TwoInstruments("two", shipped.config, ES_WEEK, feeds=(("MES", ES_WEEK), ("SPY", SPY_WEEK)))


@pytest.fixture(scope="module")
def twin(workload: TwoInstruments, directory: Path) -> Outcome:
    outcome = run_twin(workload, directory)
    assert len(outcome.orders) >= 30  # both instruments trade: MES alone sends 10 this week
    return outcome


@pytest.mark.parametrize(("point", "n"), [("bar", 5000), ("fill", 6), ("write_ahead", 12), ("fill", 30)])
def test_a_killed_two_instrument_replay_restarts_to_the_same_outcome(
    workload: TwoInstruments, twin: Outcome, directory: Path, point: str, n: int
) -> None:
    result = run_trial(workload, point, n, "KILL", twin, directory)
    assert_ends_as_the_twin(result)
