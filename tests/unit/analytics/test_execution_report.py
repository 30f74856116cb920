"""Roll-ups and their CSV on the hand-built store (see conftest)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tradebot.analytics import execution_report as ex
from tradebot.analytics.proxy import FixedBps
from tradebot.analytics.store_view import load_view
from tradebot.analytics.tca import TcaConfig, order_tca
from tradebot.analytics.trades import round_trips


def test_percentiles_interpolate_between_ranks() -> None:
    # 1, 2, 3, 4: p50 at rank 1.5 → 2.5; p90 at rank 2.7 → 3.7; p99 at rank 2.97 → 3.97
    assert ex.percentiles([4, 1, 3, 2]) == {"p50": 2.5, "p90": 3.7, "p99": 3.97}
    assert ex.percentiles([]) == {"p50": None, "p90": None, "p99": None}


def test_rollup_counts_and_is_percentiles(hand_store: Path) -> None:
    view = load_view(hand_store)
    records = order_tca(view, TcaConfig(proxy=FixedBps(4)))
    everything = ex.rollup(records)
    # 9 orders (c1, its 2 legs, c2, c3, c5, its 2 legs, c6); 7 fills; c1 partial; c6 rejected; 2 legs canceled
    assert (everything["orders"], everything["fills"], everything["partial_fills"]) == (9, 7, 1)
    assert (everything["rejects"], everything["cancels"], everything["filled"]) == (1, 2, 6)
    # IS bps of the 6 filled: c1 39.5, c1-tp 1.9231, c2 25.7143, c3 (106.25 vs 106: 0.25·50 + 1 = 13.5 over
    # 5300) 25.4717, c5 (fee only, 1/5300) 1.8868, c5-sl (104.75 vs the stop 105, as c2) 25.7143.
    # Sorted 1.8868, 1.9231, 25.4717, 25.7143, 25.7143, 39.5: p50 = (25.4717 + 25.7143)/2 = 25.593;
    # p90 at rank 4.5 = 25.7143 + 0.5·(39.5 − 25.7143) = 32.60715
    assert everything["is_bps"]["p50"] == 25.593
    assert everything["is_bps"]["p90"] == 32.6072
    assert everything["spread_sources"] == {"proxy": 6}
    by_role = ex.by_group(records)["role"]
    assert set(by_role) == {"entry", "signal", "stop", "target"}
    assert by_role["stop"]["orders"] == 2 and by_role["stop"]["cancels"] == 1


def test_blocked_by_gate_trades_per_day_and_flips(hand_store: Path) -> None:
    view = load_view(hand_store)
    blocked = ex.blocked(view.decisions)
    # 6 intents, 1 blocked by trades_per_day: 16.6667 %
    assert (blocked["intents"], blocked["blocked"], blocked["blocked_pct"]) == (6, 1, 16.6667)
    assert blocked["by_gate"] == {"trades_per_day": {"count": 1, "pct": 16.6667}}
    trades, _ = round_trips(view)
    assert ex.trades_per_day(trades) == {"2024-01-02": 1, "2024-01-03": 1, "2024-01-04": 1}
    assert ex.flip_rate(trades) == 1.0  # long, short, long: two changes in two pairs


def test_csv_outputs(hand_store: Path) -> None:
    records = order_tca(load_view(hand_store), TcaConfig())
    rows = list(csv.DictReader(io.StringIO(ex.tca_csv(records))))
    assert [r["client_order_id"] for r in rows][:3] == ["c1", "c1-tp", "c1-sl"]
    assert rows[0]["is_bps"] == "39.5" and rows[2]["is_bps"] == ""
    rollups = list(csv.DictReader(io.StringIO(ex.rollup_csv(ex.by_group(records)))))
    symbol = next(r for r in rollups if r["group"] == "symbol")
    assert (symbol["value"], symbol["orders"], symbol["is_bps_p50"]) == ("ES", "9", "25.593")
