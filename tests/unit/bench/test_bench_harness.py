"""The benchmark harness's logic: figures, percentiles, result documents, the synthetic bar generator,
the plumbing variants' item accounting and the target checks. Nothing here measures or asserts speed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bench.check_targets import PIPELINE_HOPS, check
from bench.check_targets import main as check_main
from bench.common import Figure, load_results, percentile, result_document, table, write_result
from bench.plumbing import VARIANTS, run_variant
from bench.synth import read_shapes, synthetic_rows, write_synthetic

SOURCE = Path(__file__).resolve().parents[3] / "src/tradebot/data/es_esz13_1m_2013-10-06_2013-10-11.csv"


@pytest.fixture
def small_source(tmp_path: Path) -> Path:
    path = tmp_path / "source.csv"
    path.write_text(
        "ts,open,high,low,close,volume\n"
        "2013-10-06T22:00:00Z,100,101,99,100.5,10\n"
        "2013-10-06T22:01:00Z,100.5,102,100.25,101.75,20\n"
        "2013-10-06T22:05:00Z,101.75,101.75,98,98.5,30\n"
    )
    return path


def test_figure_summary_has_runs_median_min_max() -> None:
    fig = Figure("x_per_s", "items/s")
    for value in (3.0, 1.0, 10.0, 2.0):
        fig.add(value)
    summary = fig.summary()
    assert summary["runs"] == [3.0, 1.0, 10.0, 2.0]
    assert summary["median"] == 2.5
    assert (summary["min"], summary["max"]) == (1.0, 10.0)
    assert summary["unit"] == "items/s"


def test_figure_without_runs_is_an_error() -> None:
    with pytest.raises(ValueError, match="no runs"):
        Figure("empty", "s").summary()


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_result_document_shape_and_round_trip(tmp_path: Path) -> None:
    fig = Figure("bars_per_s", "bars/s")
    fig.add(100.0)
    fig.add(300.0)
    doc = result_document("demo", [fig, Figure("unmeasured", "s")], params={"n": 2}, notes=["a note"])
    assert doc["benchmark"] == "demo"
    assert set(doc["machine"]) >= {"cpu_model", "cores", "memory_total_mb", "python", "os"}
    assert "tradebot" in doc["versions"] and "anyio" in doc["versions"]
    assert list(doc["figures"]) == ["bars_per_s"]  # a figure without runs is left out
    assert doc["figures"]["bars_per_s"]["median"] == 200.0
    path = write_result(doc, tmp_path)
    assert path.name == "demo.json"
    assert json.loads(path.read_text())["figures"] == doc["figures"]
    (tmp_path / "broken.json").write_text("{not json")
    assert list(load_results(tmp_path)) == ["demo"]
    assert "bars_per_s" in table([doc])


def test_synthetic_bars_chain_the_source_consistently(small_source: Path) -> None:
    start, first_open, shapes = read_shapes(small_source)
    assert start == datetime(2013, 10, 6, 22, tzinfo=UTC)
    assert first_open == 100.0
    assert len(shapes) == 3
    rows = list(synthetic_rows(small_source, 10))  # crosses the mirrored pass (rows 3..5)
    assert rows == list(synthetic_rows(small_source, 10))  # deterministic
    assert len(rows) == 10
    previous: datetime | None = None
    for ts_text, *prices, volume in rows:
        ts = datetime.fromisoformat(ts_text.replace("Z", "+00:00"))
        if previous is not None:
            assert ts - previous == timedelta(minutes=1)
        previous = ts
        o, h, lo, c = (Decimal(p) for p in prices)
        assert lo <= min(o, c) <= max(o, c) <= h
        assert all(p % Decimal("0.25") == 0 and p > 0 for p in (o, h, lo, c))
        assert float(volume) in (10.0, 20.0, 30.0)
    assert rows[0][1] == "100"  # the first bar opens at the source's first open
    # the second pass mirrors the first: the source's up bar becomes a down bar
    assert Decimal(rows[1][4]) > Decimal(rows[1][1]) and Decimal(rows[4][4]) < Decimal(rows[4][1])


def test_synthetic_file_passes_tradebot_feed_and_validation(tmp_path: Path) -> None:
    from tradebot.feeds.csv_bars import CsvBarFeed
    from tradebot.ingest.validation import BarValidator

    out = write_synthetic(SOURCE, 7_000, tmp_path / "bars.csv")  # more than one pass over the real week
    validator = BarValidator()
    bars = 0
    for item in CsvBarFeed(out, symbol="MES", interval_s=60):
        assert isinstance(item, tuple), item
        assert validator.check(item[1]) is None
        bars += 1
    assert bars == 7_000


def test_synthetic_refuses_a_non_positive_count(tmp_path: Path, small_source: Path) -> None:
    with pytest.raises(ValueError, match="count"):
        write_synthetic(small_source, 0, tmp_path / "x.csv")


def test_synthetic_names_the_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("ts,open,high,low,close,volume\n2013-10-06T22:00:00Z,100,101,99,x,1\n")
    with pytest.raises(ValueError, match="line 2"):
        read_shapes(bad)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_plumbing_variants_deliver_every_item(variant: str) -> None:
    _, total = run_variant(variant, 2_500)  # more than the stream capacity: backpressure is exercised
    assert total == 3 * 2_500


def _doc(name: str, figures: dict[str, float], quick: bool = False) -> dict[str, Any]:
    return {"benchmark": name, "params": {"quick": quick},
            "figures": {k: {"median": v, "unit": "", "runs": [v]} for k, v in figures.items()}}


def test_check_targets_pass_miss_and_missing_data() -> None:
    results = {
        "peers": _doc("peers", {"tradebot_bars_per_s": 30_000, "nautilus_trader_bars_per_s": 10_000}),
        "plumbing": _doc("plumbing", {"channel_hop_us": 2.0}),
        "replay": _doc("replay", {"real_week_default_store_disk_us_per_bar": 100.0}),
        "latency": _doc("latency", {"store_disk_p99_us": 1500.0, "store_disk_p50_us": 150.0}),
        "memory": _doc("memory", {"peak_rss_mb_100000": 100.0, "peak_rss_mb_1000000": 105.0}),
    }
    by_target = {o.target: o for o in check(results)}
    statuses = [o.status for o in by_target.values()]
    assert statuses == ["PASS", "PASS" if PIPELINE_HOPS * 2.0 / 100 < 0.10 else "MISS", "MISS", "PASS",
                        "PASS", "PASS", "NO DATA", "NO DATA"]
    assert "3.00x" in next(iter(by_target.values())).detail
    results["memory"] = _doc("memory", {"peak_rss_mb_100000": 100.0, "peak_rss_mb_1000000": 140.0})
    flat = next(o for o in check(results) if "within 10 %" in o.target)
    assert flat.status == "MISS"


def test_check_targets_flags_quick_results_and_strict_exit(tmp_path: Path) -> None:
    write_result({"benchmark": "startup", "params": {"quick": True},
                  "figures": {"help_ms": {"median": 100.0, "unit": "ms", "runs": [100.0]},
                              "observe_first_bar_ms": {"median": 900.0, "unit": "ms", "runs": [900.0]}}},
                 tmp_path)
    outcomes = check(load_results(tmp_path))
    assert [o.status for o in outcomes if "ms" in o.detail] == ["PASS", "PASS"]
    assert outcomes[-1].status == "MISS" and "startup" in outcomes[-1].detail
    assert check_main(["--results", str(tmp_path)]) == 0
    assert check_main(["--results", str(tmp_path), "--strict"]) == 1


def test_latency_figures_add_each_segments_median_and_skip_an_empty_one() -> None:
    from bench.latency import figures as latency_figures

    segments = {"to_oms": [500, 700, 900], "to_broker": []}
    got = {f.name: f.runs for f in latency_figures("store_x", [1_000, 2_000, 9_000], segments)}
    assert got == {
        "store_x_p50_us": [2.0],
        "store_x_p99_us": [9.0],
        "store_x_max_us": [9.0],
        "store_x_to_oms_p50_us": [0.7],
    }
