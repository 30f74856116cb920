"""A run on bars from a file behaves like a backtest: each run writes a new store (earlier ones kept),
``--resume`` continues one, a named store that holds a run is refused without ``--resume``, and no store is
continued by a run with another config, other instruments or other data (exit 2, naming the difference).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from e2e_helpers import REPO, run_env, tradebot

from tradebot.store import StoreReader

pytestmark = pytest.mark.timeout(600)

SPY = REPO.parent / "shared" / "data" / "spy_1m_2013-10-04_2013-10-11.csv"
ES_2024 = REPO.parent / "shared" / "data" / "es_esu4_1m_databento_2024-07-01T2340_2024-07-02T0010.csv"
BARS = "400"  # enough for orders on the sample's first day, quick to replay


def _summary(out: str) -> list[str]:
    """The summary rows of a run's output, without where its files went."""
    return [line for line in out.splitlines() if not re.match(r"(store|log|manifest|report):", line)]


def _store_of(out: str) -> Path:
    match = re.search(r"^store: +(\S+)$", out, re.M)
    assert match, out
    return Path(match.group(1))


def _events(store: Path) -> int:
    with StoreReader(store) as reader:
        return reader.max_seq()


def test_running_twice_writes_two_stores_with_the_same_numbers(tmp_path: Path) -> None:
    env = run_env(tmp_path / "runs")
    first = tradebot("run", "--mode", "observe", "--max-bars", BARS, "-q", env=env)
    second = tradebot("run", "--mode", "observe", "--max-bars", BARS, "-q", env=env)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "resumed after" not in second.stdout  # a fresh run, not a resume of the first
    assert re.search(rf"^bars: +{BARS} processed", second.stdout, re.M)
    assert _summary(first.stdout) == _summary(second.stdout)
    stores = sorted((tmp_path / "runs" / "stores").glob("*-observe.db"))
    assert [_store_of(first.stdout), _store_of(second.stdout)] == stores  # both kept, in run order
    # where everything went, at the end of the run
    for name in ("log", "manifest", "report"):
        assert re.search(rf"^{name}: +\S", second.stdout, re.M), name
    # status without --store: the latest run, as that run printed it
    status = tradebot("status", env=env)
    assert status.returncode == 0, status.stderr
    assert second.stdout.startswith(status.stdout.rstrip("\n"))
    assert _store_of(status.stdout) == stores[-1]


def test_resume_continues_the_latest_store(tmp_path: Path) -> None:
    env = run_env(tmp_path / "runs")
    first = tradebot("run", "--mode", "observe", "--max-bars", "200", "-q", env=env)
    assert first.returncode == 0, first.stderr
    # --max-bars counts the bars of the data, the resumed ones too
    resumed = tradebot("run", "--mode", "observe", "--max-bars", "400", "-q", "--resume", env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert _store_of(resumed.stdout) == _store_of(first.stdout)
    assert re.search(r"^run: +mode observe, resumed after bar ", resumed.stdout, re.M)
    assert re.search(r"^bars: +400 processed", resumed.stdout, re.M)  # went on after the first run's
    assert len(list((tmp_path / "runs" / "stores").glob("*.db"))) == 1


def test_a_named_store_that_holds_a_run_is_refused_without_resume(tmp_path: Path, sample: Path) -> None:
    env = run_env(tmp_path / "runs")
    store = tmp_path / "week.db"
    done = tradebot("replay", "--data", str(sample), "--store", str(store), "-q", env=env)
    assert done.returncode == 0, done.stderr
    before = _events(store)
    again = tradebot("replay", "--data", str(sample), "--store", str(store), "-q", env=env)
    assert again.returncode == 2, again.stdout + again.stderr
    assert f"{store} already holds a run" in again.stderr and "--resume" in again.stderr
    assert "Traceback" not in again.stderr and again.stdout == ""
    assert _events(store) == before  # nothing written
    # --out, the earlier name of --store, names the same store
    alias = tradebot("replay", "--data", str(sample), "--out", str(store), "--resume", "-q", env=env)
    assert alias.returncode == 0, alias.stderr
    assert re.search(r"resumed after bar 2013-10-11T21:14:00\+00:00", alias.stdout)


def test_resume_with_another_profile_is_refused_naming_the_key(tmp_path: Path) -> None:
    env = run_env(tmp_path / "runs")
    first = tradebot("run", "--mode", "observe", "--max-bars", "100", "-q", env=env)
    assert first.returncode == 0, first.stderr
    store = _store_of(first.stdout)
    before = _events(store)
    other = {**env, "TRADEBOT_STRATEGY__PROFILE": "aggressive"}
    refused = tradebot("run", "--mode", "observe", "-q", "--resume", env=other)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"cannot continue the store {store}" in refused.stderr
    assert "different config hash" in refused.stderr
    assert "strategy.profile: 'balanced' -> 'aggressive'" in refused.stderr
    assert _events(store) == before
    # without --resume the other profile is a new backtest of its own
    fresh = tradebot("run", "--mode", "observe", "--max-bars", "100", "-q", env=other)
    assert fresh.returncode == 0, fresh.stderr
    assert _store_of(fresh.stdout) != store


def test_resume_with_other_data_is_refused_naming_it(tmp_path: Path, sample: Path) -> None:
    assert ES_2024.exists()
    env = run_env(tmp_path / "runs")
    store = tmp_path / "mes.db"
    first = tradebot("run", "--data", str(sample), "--store", str(store), "--max-bars", "100", "-q", env=env)
    assert first.returncode == 0, first.stderr
    before = _events(store)
    other = tradebot("run", "--data", str(ES_2024), "--store", str(store), "--resume", "-q", env=env)
    assert other.returncode == 2, other.stdout + other.stderr
    assert f"data '{sample.name}' (stored) != '{ES_2024.name}' (this run)" in other.stderr
    assert _events(store) == before  # no bar of the other file appended to the store


def test_another_instruments_file_is_refused_before_the_store_is_used(tmp_path: Path, sample: Path) -> None:
    env = run_env(tmp_path / "runs")
    store = tmp_path / "mes.db"
    first = tradebot("run", "--data", str(sample), "--store", str(store), "--max-bars", "100", "-q", env=env)
    assert first.returncode == 0, first.stderr
    before = _events(store)
    spy = tradebot("run", "--data", str(SPY), "--store", str(store), "--resume", "-q", env=env)
    assert spy.returncode == 2, spy.stdout + spy.stderr
    assert "refused as MES" in spy.stderr and "Traceback" not in spy.stderr
    assert _events(store) == before  # no SPY bar appended to the MES store


def test_resume_with_nothing_to_continue_says_so(tmp_path: Path) -> None:
    refused = tradebot("run", "--mode", "observe", "--resume", "-q", env=run_env(tmp_path / "runs"))
    assert refused.returncode == 2
    assert "--resume: no store to continue under" in refused.stderr
    assert not (tmp_path / "runs" / "stores").exists() or not any((tmp_path / "runs" / "stores").iterdir())
