"""Session reports from a store produced by a real ``tradebot replay`` of the bundled ES week."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

import tradebot
from tradebot.feeds.sample import sample_path
from tradebot.pipeline.session import summarize_store
from tradebot.session import build_session_report, report_dir, session_window, write_session_reports
from tradebot.store import StoreReader, parse_ts

REPO = Path(tradebot.__file__).resolve().parents[2]
WEEK = ["2013-10-07", "2013-10-08", "2013-10-09", "2013-10-10", "2013-10-11"]


@pytest.fixture(scope="session")
def replay_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("session_replay")
    store = run_dir / "week.db"
    env = {**os.environ, "TRADEBOT_RUN__RUN_DIR": str(run_dir),
           "TRADEBOT_GATES__CONSTITUTION": str(REPO / "config" / "constitution.yaml")}
    done = subprocess.run(
        [sys.executable, "-m", "tradebot.cli", "replay", "--data", str(sample_path()), "--out", str(store),
         "--config", str(REPO / "config" / "tradebot.toml"), "-q"],
        cwd=run_dir, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return store


def _raw(store: Path) -> list[tuple[str, str | None, dict[str, object]]]:
    with StoreReader(store) as reader:
        return [(e.kind, e.client_order_id, e.body) for e in reader.iter_events()]


@pytest.mark.timeout(600)
def test_whole_store_report_matches_the_store(replay_store: Path) -> None:
    report = build_session_report(replay_store)
    raw = _raw(replay_store)
    kinds = Counter(kind for kind, _, _ in raw)
    blocked = Counter(body["code"] for kind, _, body in raw
                      if kind == "decision" and body["outcome"] == "BLOCKED")
    summary = report.summary
    assert summary["intents"] == kinds["decision"] > 0
    assert summary["blocked"] == dict(blocked) and summary["blocked_total"] == sum(blocked.values())
    assert summary["orders"] == kinds["order_submit"] > 0
    assert summary["fills"] == kinds["order_filled"]
    assert summary["rejects"] == kinds["order_rejected"]
    assert summary["cancels"] == kinds["order_canceled"]
    fees = sum(Decimal(str(body["fee"])) for kind, _, body in raw if kind == "order_filled")
    assert Decimal(summary["fees"]) == fees
    assert summary["realized_pnl"] == summarize_store(replay_store)["realized_pnl"]
    # one row per order we sent, plus its bracket legs
    cids = {cid for kind, cid, _ in raw if kind.startswith("order_") and cid}
    assert {row.client_order_id for row in report.orders} == cids
    assert sum(row.fees for row in report.orders) == fees


@pytest.mark.timeout(600)
def test_order_rows_carry_fill_price_and_slippage_against_the_decision(replay_store: Path) -> None:
    report = build_session_report(replay_store)
    raw = _raw(replay_store)
    references = {body["order"]["client_order_id"]: Decimal(body["approved"]["reference_price"])  # type: ignore[index]
                  for kind, _, body in raw if kind == "decision" and body["outcome"] == "APPROVED"}
    fills = {cid: body for kind, cid, body in raw if kind == "order_filled"}
    entries = [row for row in report.orders if row.parent_client_order_id is None]
    assert entries and all(row.reference_kind == "decision" for row in entries)
    for row in entries:
        fill = fills[row.client_order_id]
        price, reference = Decimal(str(fill["price"])), references[row.client_order_id]
        assert row.status == "FILLED" and row.avg_fill_price == price
        expected = (price - reference) if row.side == "BUY" else (reference - price)
        assert row.slippage_per_unit == expected
        assert row.slippage_cost == expected * row.filled_qty * 5  # MES multiplier
    legs = [row for row in report.orders if row.parent_client_order_id is not None]
    assert {row.status for row in legs} == {"FILLED", "CANCELED"}
    for row in legs:
        assert row.reference_kind == ("stop" if row.client_order_id.endswith("-sl") else "target")
        assert row.reduce_only and row.quantity == Decimal(1)


@pytest.mark.timeout(600)
def test_daily_windows_partition_the_week(replay_store: Path) -> None:
    whole = build_session_report(replay_store).summary
    days = []
    for day in WEEK:
        window = session_window("eth", "CME", parse_ts(f"{day}T12:00:00Z"))
        days.append(build_session_report(replay_store, start=window.open, end=window.close))
    for key in ("intents", "approved", "orders", "fills", "bars", "signals"):
        assert sum(d.summary[key] for d in days) == whole[key], key
    assert sum(Decimal(d.summary["realized_pnl"]) for d in days) == Decimal(whole["realized_pnl"])
    assert sum(Decimal(d.summary["fees"]) for d in days) == Decimal(whole["fees"])
    blocked: Counter[str] = Counter()
    for d in days:
        blocked.update(d.summary["blocked"])
    assert dict(blocked) == whole["blocked"]
    assert sum(len(d.orders) for d in days) >= len(build_session_report(replay_store).orders)
    monday = days[0].summary
    assert monday["first_bar"].startswith("2013-10-06T22:00")
    assert monday["window"]["end"].startswith("2013-10-07")


@pytest.mark.timeout(600)
def test_rth_window_report(replay_store: Path) -> None:
    window = session_window("rth", "CME", parse_ts("2013-10-07T12:00:00Z"))
    report = build_session_report(replay_store, start=window.open, end=window.close)
    # windows are by event time; a bar event is recorded when the bar closes (its body ts is its open)
    assert report.summary["first_bar"] == "2013-10-07T13:29:00+00:00"
    assert report.summary["last_bar"] == "2013-10-07T19:58:00+00:00"
    assert "MARKET_CLOSED_BLOCK" not in report.summary["blocked"]
    opened = window.open.isoformat()
    assert all(row.submitted_at is None or opened <= row.submitted_at for row in report.orders)


@pytest.mark.timeout(600)
def test_reports_are_written_as_json_and_csv(replay_store: Path, tmp_path: Path) -> None:
    window = session_window("eth", "CME", parse_ts("2013-10-07T12:00:00Z"))
    report = build_session_report(replay_store, start=window.open, end=window.close)
    out = report_dir(tmp_path / "runs", window.day.isoformat() if window.day else "unknown")
    paths = write_session_reports(report, out)
    assert out == tmp_path / "runs" / "reports" / "2013-10-07"
    summary = json.loads(paths.summary_json.read_text())
    assert summary["intents"] == report.summary["intents"]
    rows = dict(csv.reader(paths.summary_csv.read_text().splitlines()))
    assert rows["intents"] == str(report.summary["intents"])
    for code, n in report.summary["blocked"].items():
        assert rows[f"blocked.{code}"] == str(n)
    execution = json.loads(paths.execution_json.read_text())
    assert len(execution["orders"]) == len(report.orders) > 0
    assert execution["fees"] == str(sum(row.fees for row in report.orders))
    with paths.execution_csv.open() as handle:
        table = list(csv.DictReader(handle))
    assert [r["client_order_id"] for r in table] == [row.client_order_id for row in report.orders]
    assert {"side", "quantity", "avg_fill_price", "status", "fees", "slippage_bps"} <= set(table[0])
    assert not list(out.glob(".*.tmp"))


def test_missing_store_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no event store at"):
        build_session_report(tmp_path / "absent.db")


def test_the_store_summary_equals_folding_every_event(replay_store: Path) -> None:
    from tradebot.pipeline.summary import summarize_events

    with StoreReader(replay_store) as reader:
        full = summarize_events((e.kind, e.body) for e in reader.iter_events())
        assert any("sizing" in e.body for e in reader.iter_events(kinds=("bar",)))
    fast = summarize_store(replay_store)
    assert fast == full
    assert full["bars"] > 6000 and full["intents"] > 0 and full["fills"] > 0


@pytest.mark.timeout(600)
def test_the_session_close_reports_carry_the_windows_tca(replay_store: Path, tmp_path: Path) -> None:
    from tradebot.analytics.report import build_report
    from tradebot.session import write_window_reports

    window = session_window("eth", "CME", parse_ts("2013-10-07T12:00:00Z"))
    paths = write_window_reports(replay_store, tmp_path / "runs", start=window.open, end=window.close,
                                 day="2013-10-07")
    assert paths.tca_json is not None and paths.tca_csv is not None and paths.tca_rollup_csv is not None
    tca = json.loads(paths.tca_json.read_text())
    expected = build_report(replay_store, start=window.open, end=window.close).data
    assert tca["verdict"] == expected["verdict"]  # tradebot report --from --to over the same window
    assert tca["execution"]["all"]["is_bps"] == expected["execution"]["all"]["is_bps"]
    assert set(tca["execution"]["all"]["is_bps"]) == {"p50", "p90", "p99"}
    assert set(tca["execution"]["by"]) >= {"symbol", "sleeve", "profile", "order_type", "venue"}
    with paths.tca_csv.open() as handle:
        orders = list(csv.DictReader(handle))
    assert len(orders) == len(tca["orders"]) > 0
    assert all(row["spread_source"] in ("proxy", "none") for row in orders)  # no quotes given: proxy, marked
    rollup = paths.tca_rollup_csv.read_text().splitlines()
    assert rollup[0].startswith("group,value") and any(line.startswith("symbol,MES") for line in rollup)


def test_each_bar_is_one_event_carrying_its_signal_and_sizing(replay_store: Path) -> None:
    with StoreReader(replay_store) as reader:
        kinds = reader.count_by_kind()
        bars = [e.body for e in reader.iter_events(kinds=("bar",))]
        decided = {e.body["intent"]["intent_id"] for e in reader.iter_events(kinds=("decision",))}
    assert "signal" not in kinds and "sizing" not in kinds
    sized = [b for b in bars if "sizing" in b]
    assert len(bars) == kinds["bar"] > 6000 and 0 < len(sized) < len(bars)  # none before the session opens
    for body in sized:
        signal, record = body["signal"], body["sizing"]
        assert signal["symbol"] == record["symbol"] == body["symbol"] and signal["bar_ts"] == body["ts"]
        assert record["direction"] == signal["direction"]
        assert record.get("intent_id") is None or record["intent_id"] in decided
    assert all("signal" in b for b in sized) and not [b for b in bars if "signal" in b and "sizing" not in b]
    summary = summarize_store(replay_store)
    assert summary["signals"] == len(sized)
