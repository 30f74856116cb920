"""The AI sizer LIVE on the real ES week (CME ESZ13, 2013-10-06 .. 10-11) traded as MES with the shipped
config and constitution (CME calendar, RTH, 1 contract, $15 per-trade risk, two trades a day).

* Sized by risk (``[strategy.ai] basis = "risk"``) it trades; with the harvest policies' time stops set to
  5 minutes (``[strategy.ai.harvest.policies.*]``), every position its bracket has not closed by then is
  closed at market by a TIME_STOP exit, and each closes one time stop after its entry fill (to the bar).
* Sized by notional (the default basis) a $10,000 account cannot buy one MES contract (~$8,400 of notional
  for at most $300): the run refuses to start with one message and exit 2, and ``config check`` refuses it
  alike; in SHADOW the run starts and stores the check with its reason code.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import REPO, SAMPLE, run_env, tradebot

from tradebot.analytics.store_view import load_view
from tradebot.analytics.trades import round_trips
from tradebot.domain import reasons
from tradebot.store import StoreReader

pytestmark = pytest.mark.timeout(600)
TIME_STOP_S = 300
BAR = timedelta(minutes=1)
CONSTITUTION = REPO / "config" / "constitution.yaml"
AI_LIVE_BY_RISK = f"""
[strategy.ai]
basis = "risk"

[strategy.ai.harvest.policies.SCALPER]
time_stop_s = {TIME_STOP_S}

[strategy.ai.harvest.policies.SWING]
time_stop_s = {TIME_STOP_S}

[strategy.ai.harvest.policies.TREND_RUNNER]
time_stop_s = {TIME_STOP_S}
"""


def shipped_config(directory: Path, *, mode: str = "live", extra: str = "") -> Path:
    """config/tradebot.toml with the AI sizer in ``mode``, its run directory in ``directory``."""
    text = (REPO / "config" / "tradebot.toml").read_text()
    for old, new in (
        ('sizer = "fixed_fraction"', 'sizer = "ai"'),
        ('ai_mode = "shadow"', f'ai_mode = "{mode}"'),
        ('run_dir = "runs"', f'run_dir = "{directory / "runs"}"'),
        ('constitution = "config/constitution.yaml"', f'constitution = "{CONSTITUTION}"'),
    ):
        assert old in text, old
        text = text.replace(old, new)
    config = directory / "tradebot.toml"
    config.write_text(text + extra)
    return config


def events(store: Path, *kinds: str) -> list[Any]:
    with StoreReader(store) as reader:
        return list(reader.iter_events(kinds=kinds))


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("ai-live")
    config = shipped_config(directory, extra=AI_LIVE_BY_RISK)
    store = directory / "week.db"
    done = tradebot("replay", "--config", str(config), "--data", str(SAMPLE), "--store", str(store), "-q",
                    env=run_env(directory / "run"))
    assert done.returncode == 0, done.stderr[-3000:]
    return store


def test_the_startup_check_found_one_contract_sizable(week: Path) -> None:
    (check,) = events(week, "ai_sizer_check")
    assert check.body["mode"] == "LIVE" and check.body["basis"] == "risk"
    assert check.body["price"] == "1675.25"  # the week's first bar
    assert check.body["quantity"] == "1" and check.body["code"] is None  # capped by the 1-contract limit


def test_time_stops_close_positions_one_time_stop_after_their_entry_fill(week: Path) -> None:
    fills: dict[str, list[datetime]] = {}
    for fill in events(week, "order_filled"):
        fills.setdefault(fill.body["client_order_id"], []).append(datetime.fromisoformat(fill.body["ts"]))
    exits = [d for d in events(week, "decision") if d.body["intent"]["source"] == "time_stop"]
    assert len(exits) >= 3, "the week has positions its brackets leave open for 5 minutes"
    for decision in exits:
        body = decision.body
        assert body["outcome"] == "APPROVED", body  # an exit: no entry rule blocks it
        reason = body["extra"]
        assert reason["code"] == reasons.TIME_STOP and reason["time_stop_s"] == TIME_STOP_S
        entry_fill = min(fills[reason["entry_client_order_id"]])
        assert datetime.fromisoformat(reason["entry_fill_ts"]) == entry_fill
        deadline = entry_fill + timedelta(seconds=TIME_STOP_S)
        assert datetime.fromisoformat(reason["deadline"]) == deadline
        assert deadline <= decision.ts < deadline + BAR  # decided on the bar that reached the deadline
        (exit_fill,) = fills[body["order"]["client_order_id"]]
        held = exit_fill - entry_fill
        assert timedelta(seconds=TIME_STOP_S) <= held <= timedelta(seconds=TIME_STOP_S) + BAR, held


def test_no_ai_sized_position_outlives_its_time_stop(week: Path) -> None:
    trades, still_open = round_trips(load_view(week))
    assert not still_open and trades
    for trade in trades:
        assert trade.exit_time - trade.entry_time <= timedelta(seconds=TIME_STOP_S) + BAR, trade
    by_reason = {t.exit_reason for t in trades}
    assert "time_stop" in by_reason and by_reason <= {"time_stop", "stop", "target", "flatten", "signal"}
    closed_by_time = sum(t.exit_reason == "time_stop" for t in trades)
    assert closed_by_time == sum(
        1 for d in events(week, "decision") if d.body["intent"]["source"] == "time_stop"
    )


def test_the_resting_legs_are_canceled_with_the_time_stop_code(week: Path) -> None:
    exits = [d for d in events(week, "decision") if d.body["intent"]["source"] == "time_stop"]
    cancels = [c for c in events(week, "order_cancel_request") if c.body["code"] == reasons.TIME_STOP]
    entries = {d.body["extra"]["entry_client_order_id"] for d in exits}
    assert {c.body["client_order_id"].rsplit("-", 1)[0] for c in cancels} == entries


def test_mes_with_a_too_small_account_is_refused_at_startup(tmp_path: Path) -> None:
    config = shipped_config(tmp_path)  # notional basis, $10,000
    store = tmp_path / "refused.db"
    replay = tradebot("replay", "--config", str(config), "--data", str(SAMPLE), "--store", str(store), "-q",
                      env=run_env(tmp_path / "run"))
    check = tradebot("config", "check", "--config", str(config), env=run_env(tmp_path / "run"))
    for done in (replay, check):
        assert done.returncode == 2, (done.returncode, done.stderr)
        assert "Traceback" not in done.stderr
        (line,) = [x for x in done.stderr.splitlines() if reasons.AI_SIZER_BELOW_ONE_LOT in x]
        assert line.startswith(
            "  - strategy.ai: AI_SIZER_BELOW_ONE_LOT: the AI sizer (LIVE, basis notional) cannot size one "
            "MES lot: at its most it puts $300.00 at stake (equity 10000 x max_pct x vol_factor_max), 0.0358 "
            "of a lot at 1675.25 (the first bar of es_esz13_1m_2013-10-06_2013-10-11.csv)"
        ), line
        assert "one lot needs equity of about 279209 (portfolio.starting_cash)" in line
    assert not store.exists()  # refused before anything was stored


def test_in_shadow_it_starts_and_records_the_check(tmp_path: Path) -> None:
    config = shipped_config(tmp_path, mode="shadow")
    store = tmp_path / "shadow.db"
    done = tradebot("run", "--config", str(config), "--max-bars", "30", "--store", str(store),
                    env=run_env(tmp_path / "run"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "AI_SIZER_BELOW_ONE_LOT" in done.stderr and "SHADOW: it only records" in done.stderr
    (check,) = events(store, "ai_sizer_check")
    assert check.body["code"] == reasons.AI_SIZER_BELOW_ONE_LOT and check.body["mode"] == "SHADOW"
    check_cli = tradebot("config", "check", "--config", str(config), env=run_env(tmp_path / "run"))
    assert check_cli.returncode == 0 and "warning: strategy.ai: AI_SIZER_BELOW_ONE_LOT" in check_cli.stderr


def test_a_time_stop_exit_is_attributed_to_the_time_stop(week: Path) -> None:
    """The stored attribution of each trade the time stop closed is A2 (time stop / flatten deadline), unless
    something that went wrong outranks it (a fault, costs dominating)."""
    trades, _ = round_trips(load_view(week))
    stored = {e.body["trade"]: e.body for e in events(week, "trade_attribution")}
    assert len(stored) == len(trades)
    by_time = [stored[t.key] for t in trades if t.exit_reason == "time_stop"]
    assert by_time and all("A2" in a["flags"] for a in by_time)
    assert all(a["code"] in ("A2", "A3", "A4", "A6", "A7") for a in by_time)
