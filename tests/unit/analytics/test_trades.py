"""Round trips from the hand-built store's fills (see conftest)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from analytics_fixture import EVENTS, bar, fill, submit, t, write_store

from tradebot.analytics.store_view import load_view
from tradebot.analytics.trades import round_trips


def test_round_trips_with_costs_exit_reasons_and_excursions(hand_store: Path) -> None:
    trades, still_open = round_trips(load_view(hand_store))
    assert still_open == []
    first, second, third = trades
    # day 1: long 2 at VWAP 100.375, out at the target 104: (104 − 100.375)·2·50 = 362.5; fees 1+1+2 = 4
    assert (first.side, first.quantity, first.entry_price, first.exit_price) == (
        "LONG",
        2,
        Decimal("100.375"),
        104,
    )
    assert (first.pnl_gross, first.fees, first.pnl_net, first.exit_reason) == (
        Decimal("362.5"),
        4,
        Decimal("358.5"),
        "target",
    )
    # bars between 14:32:00.5 and 14:34: lows 99 / 99.5, highs 101 / 104.5: MAE 99 − 100.375 = −1.375
    # (−137.5 for 2·50), MFE 104.5 − 100.375 = 4.125 (412.5)
    assert (first.mae, first.mfe, first.mae_cost, first.mfe_cost) == (
        Decimal("-1.375"),
        Decimal("4.125"),
        Decimal("-137.5"),
        Decimal("412.5"),
    )
    # day 2: short 1 at 104.75, bought back at 106.25 by a reduce-only signal: −75, fees 2, net −77;
    # the bar between: high 106.5 (MAE 104.75 − 106.5 = −1.75), low 104.5 (MFE 0.25)
    assert (second.side, second.pnl_gross, second.pnl_net, second.exit_reason) == (
        "SHORT",
        Decimal(-75),
        Decimal(-77),
        "signal",
    )
    assert (second.mae, second.mfe) == (Decimal("-1.75"), Decimal("0.25"))
    # day 3: long 1 at 106, stopped at 104.75: −62.5, net −64.5
    assert (third.pnl_gross, third.pnl_net, third.exit_reason) == (Decimal("-62.5"), Decimal("-64.5"), "stop")


def test_a_reversal_closes_one_trade_and_opens_the_next_with_the_rest(tmp_path: Path) -> None:
    events = [
        EVENTS[0],
        bar(1, "14:30", 100, 100, 100, 100),
        submit(t(1, "14:31"), "a", "ia", "BUY", "1"),
        fill(t(1, "14:31"), "a", 1, "BUY", "1", "100", "1"),
        submit(t(1, "14:32"), "b", "ib", "SELL", "3"),
        fill(t(1, "14:32"), "b", 2, "SELL", "3", "101", "3"),  # closes 1 (fee 1), opens short 2 (fee 2)
    ]
    trades, still_open = round_trips(load_view(write_store(tmp_path / "r.db", events)))
    (trade,) = trades
    # (101 − 100)·1·50 = 50; fees 1 (entry) + 1 (a third of the reversing fill's 3)
    assert (trade.pnl_gross, trade.fees, trade.exit_reason) == (Decimal(50), Decimal(2), "reversal")
    (position,) = still_open
    assert (position.side, position.quantity, position.entry_price) == ("SHORT", 2, 101)
    assert position.entry_time == datetime(2024, 1, 2, 14, 32, tzinfo=UTC)
