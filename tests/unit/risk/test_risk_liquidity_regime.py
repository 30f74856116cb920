from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from risk_testkit import BTC, INSTRUMENTS, ctx, intent, with_rules

from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.domain.calendars import shared_calendars
from tradebot.domain.orders import OrderIntent, OrderRequest, Side
from tradebot.domain.range_spread import corwin_schultz_bps
from tradebot.domain.state import Mode, TradingState
from tradebot.risk.build import DEFAULT_CHAIN, build_chain
from tradebot.risk.context import GateContext
from tradebot.risk.decision_record import decision_record
from tradebot.risk.liquidity_regime import (
    LiquidityRegimeGate,
    RecentRanges,
    Regime,
    RegimeBars,
    parkinson_term,
    read_regime,
)
from tradebot.risk.measures import notional
from tradebot.risk.tracker import RiskTracker
from tradebot.risk.verdict import Outcome

DAY = date(2024, 3, 12)
START = datetime(2024, 3, 12, 14, 0, tzinfo=UTC)
PRICE = 60000.0
CONSTITUTION = with_rules("BTCUSDT", liquidity={})
GATE = LiquidityRegimeGate(CONSTITUTION)
RULES = CONSTITUTION.rules_for("BTCUSDT").liquidity


def bars(ranges: list[float], volume: float = 10.0, symbol: str = "BTCUSDT") -> list[Bar]:
    """Bars around PRICE, each with the given relative range (high/low - 1)."""
    out = []
    for n, r in enumerate(ranges):
        low = PRICE / (1 + r / 2)
        out.append(Bar(symbol, START + timedelta(minutes=n), PRICE, low * (1 + r), low, PRICE, volume))
    return out


def state_of(bar_list: list[Bar]) -> RegimeBars:
    state = RegimeBars()
    for bar in bar_list:
        state.on_bar(bar, DAY, bar.end)
    return state


def seen(bar_list: list[Bar]) -> GateContext:
    view = state_of(bar_list).view(btc(), START)
    return ctx(instrument=BTC, last_price=Decimal(60000), views={RecentRanges: view})


def btc(qty: str = "0.5", **overrides: Any) -> OrderIntent:
    values: dict[str, Any] = {"intent_id": "BTCUSDT-1", "reference_price": Decimal(60000), **overrides}
    return intent(symbol="BTCUSDT", quantity=Decimal(qty), exit_plan=None, **values)


# a calm day, then an hour whose bars range twice as wide: volatility 2x normal (> 1.8x), spread ~1 bps
VOLATILE = bars([0.0002] * 600 + [0.0004] * 60)
# the same width throughout, but 0.3 %: the Corwin-Schultz proxy of a bouncing market, ~30 bps (> 25)
WIDE = bars([0.003] * 300)
CALM = bars([0.0002] * 300)


def test_a_context_without_the_regime_view_fails_the_gate_closed() -> None:
    with pytest.raises(LookupError):
        GATE.check(btc(), ctx(instrument=BTC, views={}))


def test_the_proxies_on_known_bars() -> None:
    assert corwin_schultz_bps(100.3, 100.0, 100.3, 100.0) == pytest.approx(29.9, abs=0.2)
    assert corwin_schultz_bps(101, 100, 103, 102) == 0.0  # a trend, not a spread: negative estimate is 0
    assert parkinson_term(100.0, 100.0) == 0.0 and parkinson_term(1.0, 0.0) == 0.0
    assert parkinson_term(math.e, 1.0) == pytest.approx(1 / (4 * math.log(2)))


def test_a_volatile_hour_is_thin_and_the_entry_is_cut_to_the_thin_max_order() -> None:
    verdict = GATE.check(btc("0.5"), seen(VOLATILE))  # $30,000 notional
    assert verdict.outcome is Outcome.CLAMP and verdict.code == reasons.LIQ_REGIME_THIN_SCALE
    assert verdict.intent is not None and verdict.intent.quantity == Decimal("0.083")  # $4,980
    d = verdict.details
    assert d["regime"] == "THIN" and d["thin_because"] == ["vol"] and d["spread_source"] == "range_proxy"
    assert Decimal(d["vol_ratio"]) == Decimal(d["vol"]) / Decimal(d["normal_vol"]) > Decimal("1.8")
    assert Decimal(d["spread_bps"]) < 25 and d["rolling_volume"] == "600.0" and d["bars"] == 60
    assert d["baseline_bars"] == 600
    assert d["thin_max_order_usd"] == "5000" and d["quantity"] == {"from": "0.5", "to": "0.083"}
    assert {k: Decimal(v) for k, v in d["notional"].items()} == {"from": 30000, "to": 4980}
    assert Decimal(d["scale"]) == Decimal("0.166")
    # the expected cost of the order let through: half the spread x notional, x 1.3 in THIN
    cost = Decimal("4980.0") * Decimal(d["spread_bps"]) / 2 / 10_000 * Decimal("1.3")
    assert d["cost_mult"] == "1.3" and Decimal(d["expected_cost"]) == cost.quantize(Decimal("0.0001"))


def test_a_wide_spread_is_thin_whatever_the_volatility() -> None:
    reading = read_regime(state_of(WIDE).view(btc(), START), RULES)
    assert reading.regime is Regime.THIN and reading.thin_because == ("spread",)
    assert reading.vol_ratio == 1 and reading.spread_bps is not None and reading.spread_bps > 25


def test_thin_lets_an_order_under_its_max_through_and_blocks_one_it_cannot_cut_to_a_lot() -> None:
    small = GATE.check(btc("0.05"), seen(VOLATILE))  # $3,000
    assert small.outcome is Outcome.PASS and small.details["regime"] == "THIN"
    volatile_mes = state_of(bars([0.0002] * 600 + [0.0004] * 60, symbol="MES")).view(intent(), START)
    mes_ctx = ctx(views={RecentRanges: volatile_mes})
    shipped = LiquidityRegimeGate(with_rules("MES", liquidity={})).check(intent(), mes_ctx)
    assert (
        shipped.outcome is Outcome.PASS and shipped.details["regime"] == "THIN"
    )  # MES: sized for 1 contract
    mes = LiquidityRegimeGate(with_rules("MES", liquidity={"thin_max_order_usd": Decimal(5000)}))
    one_contract = mes.check(intent(), mes_ctx)  # 1 MES = $22,500
    assert one_contract.outcome is Outcome.BLOCK and one_contract.code == reasons.LIQ_REGIME_THIN_SCALE
    assert one_contract.details["problem"] == "below_min_qty"
    assert one_contract.details["quantity"] == {"from": "1", "to": "0"}


def test_normal_and_thick_change_nothing_but_are_recorded() -> None:
    verdict = GATE.check(btc("2"), seen(CALM))  # $120,000: no THIN cap
    assert verdict.outcome is Outcome.PASS and verdict.details["regime"] == "THICK"
    assert verdict.details["cost_mult"] == "1"
    cost = Decimal(120000) * Decimal(verdict.details["spread_bps"]) / 20_000
    assert Decimal(verdict.details["expected_cost"]) == cost.quantize(Decimal("0.0001"))
    # the same calm bars with less volume in the window than usual: NORMAL, not THICK
    quiet = bars([0.0002] * 240) + bars([0.0002] * 60, volume=1.0)
    assert GATE.check(btc("2"), seen(quiet)).details["regime"] == "NORMAL"


def test_too_little_history_is_normal_with_a_note() -> None:
    verdict = GATE.check(btc("2"), seen(VOLATILE[:59]))
    assert verdict.outcome is Outcome.PASS
    assert verdict.details["regime"] == "NORMAL" and verdict.details["note"] == "warming_up: 59 of 60 bars"
    assert verdict.details["spread_bps"] is None and verdict.details["expected_cost"] is None
    # a window but a baseline under two windows: the spread is judged, the volatility is not
    short = read_regime(state_of(VOLATILE[-150:]).view(btc(), START), RULES)
    assert short.regime is Regime.NORMAL and short.normal_vol is None
    assert short.note == "normal_vol unknown: 90 baseline bars, 120 needed"
    assert read_regime(state_of(WIDE[:100]).view(btc(), START), RULES).regime is Regime.THIN


def test_exits_never_meet_the_gate() -> None:
    assert not GATE.applies_to_exits


def test_the_settings_bind_per_instrument() -> None:
    looser = with_rules("BTCUSDT", liquidity={"thin_vol_mult": Decimal(3), "thin_max_order_usd": Decimal(1)})
    gate = LiquidityRegimeGate(looser)
    assert gate.check(btc("0.5"), seen(VOLATILE)).details["regime"] == "NORMAL"
    shorter = with_rules("BTCUSDT", liquidity={"regime_baseline_bars": 100})  # only 40 bars before the window
    assert read_regime(state_of(VOLATILE).view(btc(), START), shorter.rules_for("BTCUSDT").liquidity).note


def test_regime_bars_keep_each_instruments_recent_bars_as_exact_totals() -> None:
    state = state_of(bars([0.001] * 1500) + bars([0.002] * 3, symbol="SPY"))
    view = state.view(btc(), START)
    assert view.variances.count == view.volumes.count == view.spreads.count == 1440
    assert view.volumes.sum(60) == 600.0 and view.volumes.sum(1440) == 14400.0
    (bar,) = bars([0.001])
    term = parkinson_term(bar.high, bar.low)
    assert view.variances.sum(1) == term  # the last 1,440 of 1,500 terms, summed exactly (as fsum would)
    assert view.variances.sum(1440) == math.fsum([term] * 1440)
    spy = state.view(intent(symbol="SPY"), START)
    assert spy.variances.count == 3 and spy.spreads.count == 2  # the first bar has no pair yet
    assert state.view(intent(symbol="ES"), START) == RecentRanges()


def test_a_view_never_changes_after_it_was_taken() -> None:
    state = state_of(bars([0.001] * 100))
    view = state.view(btc(), START)
    before = (view.variances.sum(60), view.volumes.sum(60), view.spreads.sum(60))
    for bar in bars([0.01] * 3000, volume=99.0):  # enough to trim the totals more than once
        state.on_bar(bar, DAY, bar.end)
    assert (view.variances.sum(60), view.volumes.sum(60), view.spreads.sum(60)) == before
    assert state.view(btc(), START).volumes.sum(60) == 60 * 99.0


def test_the_decision_record_of_a_clamped_entry_shows_the_scale_and_its_numbers() -> None:
    chain = build_chain(["liquidity_regime"], CONSTITUTION)
    record = decision_record(chain.evaluate(btc("0.5"), seen(VOLATILE)))
    assert record["outcome"] == "CLAMPED" and record["clamps"] == ["LIQ_REGIME_THIN_SCALE"]
    (scale,) = record["scales"]
    assert (scale["gate"], scale["from_qty"], scale["to_qty"]) == ("liquidity_regime", "0.5", "0.083")
    because = scale["because"]
    assert because["regime"] == "THIN" and because["thin_because"] == ["vol"]
    assert {"spread_bps", "vol", "normal_vol", "rolling_volume", "expected_cost"} <= set(because)


# --- property: no sequence of intents leaves the chain with a THIN entry above the thin max order -------
# a short window and baseline, so that a few dozen bars move the regime around
PROPERTY_RULES = {"lookback_bars": 5, "regime_baseline_bars": 20, "max_participation_pct": None}
PROPERTY = with_rules("BTCUSDT", liquidity=PROPERTY_RULES, pretrade={"max_order_usd": Decimal(10**9)})
CHAIN = build_chain(DEFAULT_CHAIN[DEFAULT_CHAIN.index("liquidity_participation") :], PROPERTY)
CALENDARS = shared_calendars()

# runs of bars of one width (a calm stretch, a burst), so that the window and the baseline differ
bar_step = st.tuples(
    st.just("bars"), st.sampled_from([0.0, 0.0001, 0.0002, 0.0005, 0.002, 0.004]), st.integers(1, 12)
)
step = st.one_of(
    bar_step,
    bar_step,
    st.tuples(
        st.just("entry"),
        st.decimals(Decimal("0.001"), Decimal(5), places=3),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(-50, 50),  # the intent's price, in ticks of 10 from the last close
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(bar_step, max_size=5), st.lists(step, min_size=1, max_size=60))
def test_no_sequence_of_intents_leaves_a_thin_entry_above_the_thin_max_order(
    history: list[tuple[Any, ...]], intents: list[tuple[Any, ...]]
) -> None:
    steps = [*history, *intents]
    tracker = RiskTracker(INSTRUMENTS, CALENDARS)
    rules = PROPERTY.rules_for("BTCUSDT")
    now, price, sent = START, Decimal(60000), 0
    for n, s in enumerate(steps):
        if s[0] == "bars":
            for bar in bars([s[1]] * s[2]):
                now += timedelta(minutes=1)
                tracker.on_bar(Bar(bar.symbol, now, bar.open, bar.high, bar.low, bar.close, 1.0), now)
            continue
        _, qty, side, ticks = s
        entry = btc(str(qty), intent_id=f"BTCUSDT-{n}", side=side, reference_price=price + 10 * ticks, ts=now)
        ctx = tracker.snapshot(entry, now, Decimal(10**6), price, Mode.REPLAY, TradingState.ACTIVE, 1.0, 1.0)
        regime = read_regime(ctx.view(RecentRanges), rules.liquidity).regime
        decision = CHAIN.evaluate(entry, ctx)
        event(f"{regime.value} {decision_record(decision)['outcome']}")
        approved = decision.approved
        if approved is None:
            continue
        if regime is Regime.THIN:
            assert notional(approved, BTC) <= rules.liquidity.thin_max_order_usd
            collar = rules.pretrade.collar_pct * rules.liquidity.thin_collar_mult
            assert abs(approved.reference_price / price - 1) <= collar
        sent += 1
        request = OrderRequest(
            f"c{sent}",
            approved.intent_id,
            approved.symbol,
            approved.side,
            approved.quantity,
            approved.order_type,
            now,
        )
        tracker.on_order_submitted(request, now, approved)
