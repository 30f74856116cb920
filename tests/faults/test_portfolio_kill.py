"""A replay of two instruments (the ES week as MES, SPY one-minute bars of the same week; and the crypto pair
of 2022-12-13, ADAUSDT linear and BTCUSD inverse, on the 24/7 calendar with a sleeve each) killed mid-run
and restarted ends exactly as the uninterrupted run: the merged feeds resume after the last recorded bar of
either instrument, never deciding a bar twice nor skipping the other instrument's bar of the same minute."""

from __future__ import annotations

from pathlib import Path

import pytest
from kill_harness import (
    ES_WEEK,
    REPO,
    SHARED_DATA,
    SPY_WEEK,
    Outcome,
    TwoInstruments,
    assert_ends_as_the_twin,
    run_trial,
    run_twin,
    shipped_workload,
)

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]


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


ADA_DAY = SHARED_DATA / "adausdt_perp_binance_1m_2022-12-13.csv"
BTCUSD_DAY = SHARED_DATA / "btcusd_perp_coinm_binance_1m_2022-12-13.csv"


@pytest.fixture(scope="module")
def crypto_pair(directory: Path) -> TwoInstruments:
    """config/crypto-pair.toml with its run directory and constitution under ``directory``."""
    text = (REPO / "config" / "crypto-pair.toml").read_text()
    text = text.replace('run_dir = "runs"', f'run_dir = "{directory / "crypto" / "runs"}"')
    text = text.replace('constitution = "config/constitution.yaml"',
                        f'constitution = "{REPO / "config" / "constitution.yaml"}"')
    (directory / "crypto").mkdir(parents=True, exist_ok=True)
    config = directory / "crypto" / "tradebot.toml"
    config.write_text(text)
    return TwoInstruments("crypto", config, ADA_DAY, feeds=(("ADAUSDT", ADA_DAY), ("BTCUSD", BTCUSD_DAY)))


@pytest.fixture(scope="module")
def crypto_twin(crypto_pair: TwoInstruments, directory: Path) -> Outcome:
    outcome = run_twin(crypto_pair, directory)
    assert len(outcome.orders) >= 8
    return outcome


@pytest.mark.skipif(not (ADA_DAY.exists() and BTCUSD_DAY.exists()), reason="../shared/data not present")
@pytest.mark.parametrize(("point", "n"), [("bar", 1500), ("fill", 5), ("write_ahead", 4)])
def test_a_killed_crypto_pair_replay_restarts_to_the_same_outcome(
    crypto_pair: TwoInstruments, crypto_twin: Outcome, directory: Path, point: str, n: int
) -> None:
    result = run_trial(crypto_pair, point, n, "KILL", crypto_twin, directory)
    assert_ends_as_the_twin(result)
