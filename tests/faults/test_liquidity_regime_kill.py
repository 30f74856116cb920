"""The liquidity regime's state (each instrument's recent bar ranges and volumes) is rebuilt from the store on
a restart: the ADAUSDT day of 2022-12-13 (../shared/data) with ~100,000 ADA entries, whose entries in THIN
hours the regime cuts to $5,000, killed mid-run and restarted, ends event for event as the uninterrupted run
— every regime verdict's spread, volatility, baseline and rolling volume included. The bar kill lands before
the CPI release (13:30 UTC, bar 810), so the THIN hour after it is read from a window and a baseline the
restart rebuilt from stored bars."""

from __future__ import annotations

from pathlib import Path

import pytest
from kill_harness import (
    SHARED_DATA,
    Outcome,
    Workload,
    assert_ends_as_the_twin,
    run_trial,
    run_twin,
)

from tradebot.store import StoreReader

ADA_DAY = SHARED_DATA / "adausdt_perp_binance_1m_2022-12-13.csv"

pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.slow,
    pytest.mark.skipif(not ADA_DAY.exists(), reason="../shared/data not present"),
]


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("regime-kills")


@pytest.fixture(scope="module")
def workload(directory: Path) -> Workload:
    """The busy workload as ADAUSDT (its preset), ~100,000 ADA an entry, no position limit."""
    from bench.config import write_busy_config

    config = write_busy_config(
        directory / "regime", fraction="0.001", stop_ticks=10, target_ticks=20, tick_size="0.0001"
    )
    text = config.read_text()
    text = text[: text.index("[instruments.BENCH]")] + text[text.index("[strategy]") :]
    config.write_text(text.replace('symbol = "BENCH"', 'symbol = "ADAUSDT"'))
    constitution = config.parent / "constitution.yaml"
    text = constitution.read_text().replace("position_limit: 1", "position_limit: null")
    # the busy workload keeps the THIN cap out of its way; here it is the seed's $5,000
    constitution.write_text(text.replace("thin_max_order_usd: 1000000000", "thin_max_order_usd: 5000"))
    return Workload("regime", config, ADA_DAY)


@pytest.fixture(scope="module")
def twin(workload: Workload, directory: Path) -> Outcome:
    outcome = run_twin(workload, directory)
    with StoreReader(outcome.store) as reader:
        clamps = [c for e in reader.iter_events(kinds=("decision",)) for c in e.body["clamps"]]
    assert clamps.count("LIQ_REGIME_THIN_SCALE") >= 10
    return outcome


@pytest.mark.parametrize(("point", "n"), [("bar", 800), ("write_ahead", 60), ("fill", 100)])
def test_a_killed_replay_restarts_with_the_same_regime(
    workload: Workload, twin: Outcome, directory: Path, point: str, n: int
) -> None:
    result = run_trial(workload, point, n, "KILL", twin, directory)
    assert_ends_as_the_twin(result)
    assert result.exact, "every decision record (regime numbers included) equal to the twin's"
