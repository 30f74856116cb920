"""The liquidity regime on real bars: Binance USD-M ADAUSDT on 2022-12-13 (QuantConnect Lean, Apache-2.0,
from ../shared/data; skipped when absent), the day of a US CPI release (13:30 UTC). The benchmark's ``busy``
limits (orders flow on most signals) with entries of ~100,000 ADA (~$31,000) and the regime at its defaults:
THIN when the last 60 bars' volatility tops 1.8x the baseline's or their spread proxy 25 bps, and then an
entry is cut to $5,000 (LIQ_REGIME_THIN_SCALE). The hour after the release is THIN by volatility; so are a
few quieter moves. Every number in a THIN verdict is the file's own, and two runs are equal."""

from __future__ import annotations

import csv
import math
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import REPO, run_env, tradebot

from tradebot.domain.range_spread import corwin_schultz_bps
from tradebot.risk.liquidity_regime import parkinson_term
from tradebot.store import StoreReader

sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "faults"))
from store_outcome import first_difference, outcome

from bench.config import write_busy_config

ADA = REPO.parent / "shared" / "data" / "adausdt_perp_binance_1m_2022-12-13.csv"
THIN_MAX = Decimal(5000)
CPI = datetime.fromisoformat("2022-12-13T13:30:00+00:00")

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not ADA.exists(), reason="../shared/data not present"),
]


def write_config(directory: Path) -> Path:
    """The busy workload as ADAUSDT (its preset: tick 0.0001, lot 1) sized ~100,000 ADA an entry (0.1 % of
    $100k over a 10-tick stop), no position limit, the liquidity section at its defaults."""
    config = write_busy_config(
        directory, fraction="0.001", stop_ticks=10, target_ticks=20, tick_size="0.0001"
    )
    text = config.read_text()
    text = text[: text.index("[instruments.BENCH]")] + text[text.index("[strategy]") :]
    config.write_text(text.replace('symbol = "BENCH"', 'symbol = "ADAUSDT"'))
    constitution = directory / "constitution.yaml"
    text = constitution.read_text().replace("position_limit: 1", "position_limit: null")
    # the busy workload keeps the THIN cap out of its way; here it is the seed's $5,000
    constitution.write_text(text.replace("thin_max_order_usd: 1000000000", "thin_max_order_usd: 5000"))
    return config


def _replay(directory: Path) -> Path:
    config = write_config(directory)
    store = directory / "s.db"
    done = tradebot(
        "replay",
        "--config",
        str(config),
        "--data",
        str(ADA),
        "--store",
        str(store),
        "-q",
        env=run_env(directory / "run"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _replay(tmp_path_factory.mktemp("regime"))


def _decisions(store: Path) -> list[tuple[datetime, dict[str, Any]]]:
    with StoreReader(store) as reader:
        return [(e.ts, e.body) for e in reader.iter_events(kinds=("decision",))]


def _regime(record: dict[str, Any]) -> dict[str, Any] | None:
    return next((v for v in record["verdicts"] if v["gate"] == "liquidity_regime"), None)


def _bars() -> list[tuple[str, float, float, float]]:
    with ADA.open() as fh:
        return [(r["ts"], float(r["high"]), float(r["low"]), float(r["volume"])) for r in csv.DictReader(fh)]


def test_thin_hours_cut_entries_to_the_thin_max_order(store: Path) -> None:
    decisions = _decisions(store)
    thin = [(ts, r, v) for ts, r in decisions if (v := _regime(r)) and v["details"]["regime"] == "THIN"]
    clamped = [(ts, r, v) for ts, r, v in thin if v["code"] == "LIQ_REGIME_THIN_SCALE"]
    assert len(clamped) >= 10, len(clamped)
    assert (
        sum(CPI <= ts < CPI + timedelta(hours=1) for ts, _, _ in clamped) >= 5
    )  # the hour after the release
    for _, record, verdict in clamped:
        details = verdict["details"]
        assert verdict["outcome"] == "CLAMP" and details["spread_source"] == "range_proxy"
        assert Decimal(details["notional"]["to"]) <= THIN_MAX < Decimal(details["notional"]["from"])
        why = set(details["thin_because"])
        assert why and why <= {"vol", "spread"}
        if "vol" in why:
            assert Decimal(details["vol"]) > Decimal("1.8") * Decimal(details["normal_vol"])
        # the decision record shows the scale with the numbers behind it
        (scale,) = [s for s in record["scales"] if s["gate"] == "liquidity_regime"]
        assert scale["code"] == "LIQ_REGIME_THIN_SCALE" and scale["to_qty"] == details["quantity"]["to"]
        assert scale["because"]["regime"] == "THIN" and scale["because"]["vol"] == details["vol"]
        # the order sent is no larger than the cut (later gates only shrink it)
        order = record["order"]
        assert order is not None and Decimal(order["quantity"]) <= Decimal(details["quantity"]["to"])
        assert Decimal(order["quantity"]) * Decimal(record["intent"]["reference_price"]) <= THIN_MAX
        cost = Decimal(details["notional"]["to"]) * Decimal(details["spread_bps"]) / 20_000 * Decimal("1.3")
        assert Decimal(details["expected_cost"]) == cost.quantize(Decimal("0.0001"))
    # every entry that reached the gate has its regime in the decision record; NORMAL ones are not cut
    reached = [v for _, r in decisions if (v := _regime(r))]
    assert {v["details"]["regime"] for v in reached} >= {"THIN", "NORMAL"}
    assert all(v["outcome"] == "PASS" for v in reached if v["details"]["regime"] != "THIN")


def test_the_thin_numbers_are_the_files_own(store: Path) -> None:
    """The first THIN clamp after the release, recomputed from the CSV: the 60 bars up to the one it was
    decided on (at that bar's close), the baseline the bars before them since the start of the day."""
    bars = _bars()
    index = {ts: n for n, (ts, *_) in enumerate(bars)}
    ts, _, verdict = next(
        (ts, r, v) for ts, r in _decisions(store) if ts >= CPI and (v := _regime(r)) and v["code"]
    )
    n = index[(ts - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")] + 1  # bars seen at the decision
    window, baseline = bars[n - 60 : n], bars[max(n - 1440, 0) : n - 60]
    details = verdict["details"]
    vol = math.sqrt(math.fsum(parkinson_term(h, lo) for _, h, lo, _ in window) / 60)
    normal = math.sqrt(math.fsum(parkinson_term(h, lo) for _, h, lo, _ in baseline) / len(baseline))
    pairs = [
        corwin_schultz_bps(a[1], a[2], b[1], b[2]) for a, b in zip(bars[n - 61 : n - 1], window, strict=True)
    ]
    assert details["bars"] == 60 and details["baseline_bars"] == len(baseline) == n - 60
    assert float(details["vol"]) == pytest.approx(vol, rel=1e-12)
    assert float(details["normal_vol"]) == pytest.approx(normal, rel=1e-12)
    assert float(details["spread_bps"]) == pytest.approx(math.fsum(pairs) / 60, rel=1e-12)
    assert float(details["rolling_volume"]) == pytest.approx(math.fsum(v for *_, v in window), rel=1e-12)


def test_the_replay_is_deterministic(store: Path, tmp_path: Path) -> None:
    again = _replay(tmp_path)
    assert first_difference(outcome(store), outcome(again)) is None
