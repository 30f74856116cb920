"""TCA per order on the hand-built store (see conftest: every figure below is worked out by hand)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from tradebot.analytics.proxy import FixedBps
from tradebot.analytics.quotes import load_quotes
from tradebot.analytics.store_view import load_view
from tradebot.analytics.tca import OrderTca, TcaConfig, order_tca


def _by_id(store: Path, config: TcaConfig) -> dict[str, OrderTca]:
    return {r.client_order_id: r for r in order_tca(load_view(store), config)}


def test_is_and_spread_paid_against_quotes(hand_store: Path, hand_quotes: Path) -> None:
    rows = _by_id(hand_store, TcaConfig(quotes={"ES": load_quotes(hand_quotes)}))
    c1 = rows["c1"]
    # arrival 14:31: the 14:30 quote bar closes then, bid 99.75 ask 100.25: mid 100, quoted 0.5/100 = 50 bps
    assert (c1.benchmark, c1.arrival_price, c1.quoted_spread_bps) == ("quote_mid", Decimal(100), Decimal(50))
    # VWAP (1·100.25 + 1·100.50)/2 = 100.375; price cost (100.375 − 100)·2·50 = 37.5; fees 2; base 100·2·50
    # = 10000: IS = 39.5 = 39.5 bps (37.5 price + 2 fees)
    assert c1.fill_vwap == Decimal("100.375")
    assert (c1.is_cost, c1.is_bps, c1.is_price_bps, c1.is_fee_bps) == (
        Decimal("39.5"),
        Decimal("39.5000"),
        Decimal("37.5000"),
        Decimal("2.0000"),
    )
    # first fill 14:32:00.5: the quote known then is the 14:31 bar (bid 100, ask 100.5, mid 100.25):
    # spread paid = (100.375 − 100.25)/100.25 = 12.4688 bps, 0.125·2·50 = 12.5 in money
    assert (c1.spread_source, c1.mid_at_fill) == ("quotes", Decimal("100.25"))
    assert (c1.spread_paid_bps, c1.spread_paid_cost) == (Decimal("12.4688"), Decimal("12.5"))
    # submit 14:31:00 -> first fill 14:32:00.5 = 60500 ms; the first fill left 1 open: partial
    assert (c1.fill_latency_ms, c1.partial, c1.fills, c1.status) == (60500, True, 2, "FILLED")


def test_a_bracket_leg_is_measured_against_its_level(hand_store: Path, hand_quotes: Path) -> None:
    rows = _by_id(hand_store, TcaConfig(quotes={"ES": load_quotes(hand_quotes)}))
    tp = rows["c1-tp"]
    # SELL 2 @ 104 against the target 104: no price shortfall, fees 2 / (104·2·50) = 1.9231 bps
    assert (tp.role, tp.benchmark, tp.is_price_bps, tp.is_fee_bps) == (
        "target",
        "target_level",
        Decimal(0),
        Decimal("1.9231"),
    )
    # at 14:34 the 14:33 quote (104 / 104.5, mid 104.25) is known: sold 0.25 under the mid: 23.9808 bps
    assert tp.spread_paid_bps == Decimal("23.9808")
    assert tp.fill_latency_ms is None  # a resting leg has no submit of its own


def test_without_quotes_the_arrival_is_the_bar_close_and_the_spread_a_named_proxy(hand_store: Path) -> None:
    rows = _by_id(hand_store, TcaConfig(proxy=FixedBps(4)))
    c1, c2 = rows["c1"], rows["c2"]
    assert (c1.benchmark, c1.arrival_price, c1.is_bps) == ("bar_close", Decimal(100), Decimal("39.5000"))
    # SELL 1 @ 104.75 against the close 105: (105 − 104.75)·50 = 12.5, + fee 1 = 13.5 over 5250 = 25.7143 bps
    assert (c2.is_cost, c2.is_bps, c2.is_price_bps, c2.is_fee_bps) == (
        Decimal("13.5"),
        Decimal("25.7143"),
        Decimal("23.8095"),
        Decimal("1.9048"),
    )
    # the model's half spread: 4/2 = 2 bps, in money 2e-4 · 104.75 · 1 · 50 = 1.0475
    assert (c2.spread_source, c2.spread_model) == ("proxy", "fixed_bps(4)")
    assert (c2.spread_paid_bps, c2.spread_paid_cost) == (Decimal("2.0000"), Decimal("1.0475"))
    assert all(r.spread_source in ("proxy", "none") for r in rows.values())
    assert {r.client_order_id for r in rows.values() if r.spread_source == "none"} == {"c1-sl", "c5-tp", "c6"}


def test_the_bar_range_proxy_is_corwin_schultz(hand_store: Path) -> None:
    c3 = _by_id(hand_store, TcaConfig())["c3"]
    # bars before 14:32 on day 2: (H 105.5, L 104.5) and (H 106.5, L 104.5): b = ln(105.5/104.5)² +
    # ln(106.5/104.5)² , g = ln(106.5/104.5)², a = (√2b − √b)/(3 − 2√2) − √(g/(3 − 2√2)) = 0.005465...,
    # S = 2(eᵃ − 1)/(1 + eᵃ) = 54.5082 bps; half of it paid: 27.2541 bps
    assert c3.spread_paid_bps == Decimal("27.2541")
    assert c3.spread_model.startswith("corwin_schultz")


def test_a_stale_quote_is_not_used(hand_store: Path, hand_quotes: Path) -> None:
    rows = _by_id(
        hand_store, TcaConfig(quotes={"ES": load_quotes(hand_quotes, max_age=timedelta(minutes=5))})
    )
    # day 2 has no quote within 5 minutes: proxy, and the arrival is the bar close
    assert (rows["c2"].spread_source, rows["c2"].benchmark) == ("proxy", "bar_close")


def test_submit_arrival_uses_the_submit_time(hand_store: Path) -> None:
    c3 = _by_id(hand_store, TcaConfig(arrival="submit"))["c3"]
    # submit 14:32 on day 2: the last bar closed then is 14:31-14:32, close 106
    assert (c3.arrival_mode, c3.arrival_price) == ("submit", Decimal(106))


def test_rejects_and_cancels_have_a_status_and_no_cost(hand_store: Path) -> None:
    rows = _by_id(hand_store, TcaConfig())
    assert (rows["c6"].status, rows["c6"].reason, rows["c6"].is_bps) == (
        "REJECTED",
        "insufficient margin",
        None,
    )
    assert (rows["c1-sl"].status, rows["c1-sl"].role) == ("CANCELED", "stop")
    assert rows["c1"].as_dict()["fees"] == "2"  # exact, fixed point
