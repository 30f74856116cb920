"""The assembled report of the hand-built store (see conftest): window, verdict, text and HTML figures."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson

from tradebot.analytics.html import FIGURES, format_figure, lookup, render_html
from tradebot.analytics.quotes import load_quotes
from tradebot.analytics.report import build_report, money, render_text
from tradebot.analytics.tca import TcaConfig


def test_the_whole_report(hand_store: Path, hand_quotes: Path) -> None:
    report = build_report(hand_store, config=TcaConfig(quotes={"ES": load_quotes(hand_quotes)}))
    data = report.data
    # net 217 = 358.5 − 77 − 64.5; trades 225 before costs, 217 after; fees 8; IS 39.5 + 2 + 13.5 + 13.5 + 1
    # + 13.5 = 83; max drawdown −168.5 (100217/100385.5 − 1 = −0.17 %)
    assert data["verdict"] == (
        "net PnL 217.00 (trades: 225.00 before costs, 217.00 after), fees 8.00, "
        "implementation shortfall 83.00, max drawdown -168.50 (-0.17%)"
    )
    # day 1's two orders measured against quotes, the rest with the proxy: the total is marked proxy
    assert (data["costs"]["spread_source"], data["costs"]["orders_with_proxy_spread"]) == ("proxy", 4)
    assert data["pnl_by_exit_reason"]["target"]["pnl_net"] == "358.5"
    assert data["halts"] == [] and data["open_positions"] == []
    orjson.dumps(data)  # JSON-ready as it is
    assert "E-" not in orjson.dumps(data).decode()


def test_a_window_keeps_the_trades_that_exit_in_it(hand_store: Path) -> None:
    start, end = datetime(2024, 1, 3, tzinfo=UTC), datetime(2024, 1, 4, tzinfo=UTC)
    data = build_report(hand_store, start=start, end=end).data
    # only day 2: the short (−77); equity from 100358.5 to 100281.5; 2 intents, 1 blocked
    assert [t["pnl_net"] for t in data["trades"]] == ["-77"]
    assert (data["performance"]["start_equity"], data["performance"]["net_pnl"]) == ("100358.5", "-77")
    assert (data["execution"]["blocked"]["intents"], data["execution"]["blocked"]["blocked"]) == (3, 1)
    assert {r["client_order_id"] for r in data["tca"]} == {"c2", "c3"}


def test_text_and_html_show_the_same_figures(hand_store: Path) -> None:
    report = build_report(hand_store)
    text = render_text(report.data)
    assert "PROXY (corwin_schultz" in text and "trades_per_day" in text and "358.50" in text
    page = render_html(report)
    for _, key, kind in FIGURES:
        assert f'data-key="{key}">{format_figure(lookup(report.data, key), kind)}<' in page


def test_money_is_fixed_point_to_the_cent() -> None:
    assert money(Decimal("0E-8")) == "0.00"
    assert money("-725.86806250") == "-725.87"
    assert money(Decimal("1E+3")) == "1000.00"
    assert money(None) == "-"
