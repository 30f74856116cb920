"""One replay of two real instruments over the same week: the ES week traded as MES (CME) and SPY one-minute
bars (NYSE), ``tradebot replay --data MES=… --data SPY=…``. Each trades under its own calendar, the
portfolio totals bind across them, and the run is deterministic."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest
from e2e_helpers import REPO, SAMPLE, run_env, tradebot

from tradebot.domain.calendars import shared_calendars
from tradebot.settings import load_settings
from tradebot.store import StoreReader

sys.path.insert(0, str(REPO / "tests" / "faults"))
from store_outcome import first_difference, outcome

pytestmark = pytest.mark.timeout(600)

SPY_WEEK = REPO.parent / "shared" / "data" / "spy_1m_2013-10-04_2013-10-11.csv"
SPY_DAILY = REPO.parent / "shared" / "data" / "spy_1d_1998-01-02_2021-03-31.csv"


def _replay(store: Path, *data: str) -> str:
    args = ["replay", "--store", str(store), "-q"]
    for item in data:
        args += ["--data", item]
    done = tradebot(*args, env=run_env(store.parent / "run"))
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def portfolio_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("portfolio") / "two.db"
    _replay(store, f"MES={SAMPLE}", f"SPY={SPY_WEEK}")
    return store


def _events(store: Path, kind: str) -> list[dict]:  # type: ignore[type-arg]
    with StoreReader(store) as reader:
        return [e.body for e in reader.iter_events(kinds=(kind,))]


def test_both_instruments_trade_each_under_its_own_calendar(portfolio_store: Path) -> None:
    submits = _events(portfolio_store, "order_submit")
    by_symbol = Counter(s["symbol"] for s in submits)
    assert by_symbol["MES"] > 0 and by_symbol["SPY"] > 0, by_symbol
    calendars = shared_calendars()
    settings = load_settings(REPO / "config" / "tradebot.toml")
    for submit in submits:
        from datetime import datetime

        when = datetime.fromisoformat(submit["ts"])
        calendar = settings.instrument(submit["symbol"]).calendar
        assert calendars.is_open(calendar, when), (submit["symbol"], when, calendar)
    # SPY's NYSE session is closed at 08:06 UTC, when its file begins; CME's Globex session is open
    spy_closed = [
        d for d in _events(portfolio_store, "decision")
        if d["intent"]["symbol"] == "SPY"
        and any(v.get("code") == "MARKET_CLOSED_BLOCK" for v in d["verdicts"])
    ]
    assert spy_closed


def test_the_portfolio_total_blocks_the_second_instrument(portfolio_store: Path) -> None:
    """With one MES contract held (~$8,500 notional), the default $5,000 total exposure leaves SPY no room."""
    blocked = [
        d for d in _events(portfolio_store, "decision")
        if d["intent"]["symbol"] == "SPY"
        and any(v.get("code") == "BLOCK_MAX_EXPOSURE" and v.get("details", {}).get("scope") == "total"
                for v in d["verdicts"])
    ]
    assert blocked, "no SPY entry was blocked by the portfolio total"
    exposure = blocked[0]["verdicts"][-1]["details"]["exposure"]
    assert float(exposure) >= 5000  # what MES holds, counted against SPY's entry


def test_two_instrument_replays_are_identical(portfolio_store: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.db"
    _replay(again, f"MES={SAMPLE}", f"SPY={SPY_WEEK}")
    assert first_difference(outcome(portfolio_store), outcome(again)) is None


def test_the_summary_names_both_instruments(tmp_path: Path) -> None:
    out = _replay(tmp_path / "s.db", f"SPY={SPY_WEEK}", f"MES={SAMPLE}")
    assert "MES" in out and "SPY" in out


def test_a_file_that_does_not_fit_its_instrument_is_refused_before_anything_is_stored(tmp_path: Path) -> None:
    store = tmp_path / "wrong.db"
    done = tradebot("replay", "--store", str(store), "--data", f"MES={SPY_WEEK}", env=run_env(tmp_path / "r"))
    assert done.returncode == 2, done.stderr
    assert "refused as MES" in done.stderr and "another instrument" in done.stderr
    assert "Traceback" not in done.stderr
    assert not store.exists()


def test_a_daily_file_replays_with_bars_at_the_session_close(tmp_path: Path) -> None:
    store = tmp_path / "daily.db"
    done = tradebot("replay", "--store", str(store), "-q", "--data", str(SPY_DAILY), "--symbol", "SPY",
                    env=run_env(tmp_path / "r"))
    assert done.returncode == 0, done.stderr[-3000:]
    bars = _events(store, "bar")
    assert len(bars) > 5000
    from datetime import UTC, datetime, timedelta

    first = bars[0]
    assert first["interval_s"] == 86_400
    end = datetime.fromisoformat(first["ts"]) + timedelta(seconds=first["interval_s"])
    assert end == datetime(1998, 1, 2, 21, 0, tzinfo=UTC)  # the NYSE close, 16:00 New York
