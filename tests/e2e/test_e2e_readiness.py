"""Go-live evidence on real data: an observe run over SPY's January 2011 (one-minute bars, 20 NYSE session
days) stores an attribution for every closed trade, and ``tradebot report --readiness`` prints the verdict
with its components: READY against the default criteria, NOT READY (exit 9) when more days are asked for,
and NOT READY for a replay's store, which is no observe history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_helpers import REPO, SAMPLE, run_env, tradebot

from tradebot.analytics.attribution import CODES
from tradebot.store import StoreReader

SPY_JANUARY = REPO.parent / "shared" / "data" / "spy_1m_2011-01.csv"
pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SPY_JANUARY.exists():
        pytest.skip(f"{SPY_JANUARY} is not beside the repository")
    tmp = tmp_path_factory.mktemp("observe")
    store = tmp / "observe.db"
    result = tradebot(
        "run",
        "--mode",
        "observe",
        "-q",
        "--data",
        f"SPY={SPY_JANUARY}",
        "--store",
        str(store),
        env=run_env(tmp / "run"),
    )
    assert result.returncode == 0, result.stderr
    return store


def test_every_closed_trade_of_a_multi_day_run_has_a_stored_attribution(observed: Path) -> None:
    report = tradebot("report", "--store", str(observed), "--json")
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    trades = data["trades"]
    assert len(trades) >= 30
    with StoreReader(observed) as reader:
        stored = {e.body["trade"]: e.body["code"] for e in reader.iter_events(kinds=("trade_attribution",))}
        closed = reader.count_by_kind()["trade_closed"]
    assert len(stored) == closed == len(trades)
    for trade in trades:
        key = f"{trade['symbol']}|{trade['entry_order']}|{trade['exit_order']}"
        assert stored[key] == trade["attribution"] in CODES
    assert sum(data["attribution"]["counts"].values()) == len(trades)


def test_readiness_of_twenty_observed_days(observed: Path) -> None:
    result = tradebot("report", "--store", str(observed), "--readiness")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.startswith("readiness: READY")
    assert "[x] days_observed: 20 session days observed (need >= 20)" in out
    assert "[x] a9_losses: 0 unexplained (A9) losses (allowed 0)" in out
    for component in (
        "data_valid",
        "gates_evaluated",
        "no_operator_override",
        "exits_per_plan",
        "no_unexplained_loss",
    ):
        assert f"  {component}: " in out
    as_json = json.loads(tradebot("report", "--store", str(observed), "--readiness", "--json").stdout)
    assert as_json["verdict"] == "READY"
    assert as_json["days"][0] == "2011-01-03" and "2011-01-17" not in as_json["days"]  # MLK day: closed
    assert as_json["process_score"] > 0.9


def test_more_days_asked_for_is_not_ready(observed: Path) -> None:
    result = tradebot("report", "--store", str(observed), "--readiness", "--min-days", "21")
    assert result.returncode == 9
    assert result.stdout.startswith("readiness: NOT READY")
    assert "[ ] days_observed: 20 session days observed (need >= 21)" in result.stdout


def test_a_replay_is_no_observe_history(tmp_path: Path) -> None:
    store = tmp_path / "replay.db"
    ran = tradebot("replay", "-q", "--data", str(SAMPLE), "--out", str(store), env=run_env(tmp_path / "run"))
    assert ran.returncode == 0, ran.stderr
    result = tradebot("report", "--store", str(store), "--readiness", "--min-days", "1")
    assert result.returncode == 9
    assert "[ ] days_observed: 0 session days observed (need >= 1)" in result.stdout
