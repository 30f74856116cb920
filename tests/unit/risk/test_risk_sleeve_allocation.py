"""Sleeve allocation: each rule of the weights' move at a session close, the entry
allocation's risk score from the sleeve's weight, its $10 minimum never above a hard cap; properties over
any sequence of round trips and closes."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from risk_testkit import BTC, INSTRUMENTS, SPY, constitution, ctx, intent, with_rules

from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.domain.events import OrderFilled
from tradebot.domain.orders import Side
from tradebot.oms.builder import build_request
from tradebot.risk.entry_allocation import EntryAllocationGate
from tradebot.risk.rule_state import RoundTrip
from tradebot.risk.sleeve_allocation import (
    DRAWDOWN,
    EXPECTANCY_FLOOR,
    POSITIVE_EXPECTANCY,
    AllocationRules,
    SleeveAllocation,
    SleeveWeights,
    allocation_state,
)
from tradebot.risk.tracker import RiskTracker
from tradebot.risk.verdict import Outcome

D = Decimal
DAY1 = date(2024, 3, 11)
T0 = datetime(2024, 3, 11, 15, tzinfo=UTC)
RULES = AllocationRules(bases=(("fast", D("0.5")), ("slow", D("0.5"))), capital=D(10000))
GATE = EntryAllocationGate(constitution())


def trip(sleeve: str, return_pct: str, notional: str = "1000") -> RoundTrip:
    """A round trip of ``sleeve`` that returned ``return_pct`` (post-cost) on ``notional``."""
    return RoundTrip("SPY", sleeve, D(return_pct) * D(notional), D(notional), T0)


def closes(state: SleeveAllocation) -> Callable[[], dict[str, Decimal]]:
    """A bar of DAY1, then a function that closes the session day (the first bar of the next day) and
    returns the weights after it."""
    days = [DAY1]
    state.on_bar(_bar(DAY1), DAY1, T0)

    def close() -> dict[str, Decimal]:
        days.append(days[-1] + timedelta(days=1))
        state.on_bar(_bar(days[-1]), days[-1], T0)
        return state.weights()

    return close


def _bar(day: date) -> Bar:
    return Bar("SPY", datetime.combine(day, T0.timetz()), 1.0, 1.0, 1.0, 1.0, 1.0)


def fed(
    rules: AllocationRules = RULES, **trips: list[str]
) -> tuple[SleeveAllocation, Callable[[], dict[str, Decimal]]]:
    state = SleeveAllocation(rules)
    close = closes(state)
    for sleeve, returns in trips.items():
        for r in returns:
            state.on_round_trip(trip(sleeve, r))
    return state, close


def test_weights_start_at_the_bases_and_fewer_than_15_trades_never_move() -> None:
    state, close = fed(fast=["-0.01"] * 14, slow=["0.01"] * 14)
    assert state.weights() == {"fast": D("0.5"), "slow": D("0.5")}
    assert close() == {"fast": D("0.5"), "slow": D("0.5")} and state.changes == ()
    state.on_round_trip(trip("fast", "-0.01"))  # the 15th: now it moves
    assert close()["fast"] == D("0.45")
    assert [c.rule for c in state.changes] == [EXPECTANCY_FLOOR]


def test_expectancy_under_the_floor_falls_by_the_daily_delta() -> None:
    state, close = fed(fast=["-0.0011"] * 15, slow=["-0.0009"] * 15)  # slow: above the floor, not positive
    weights = close()
    assert weights == {"fast": D("0.45"), "slow": D("0.5")}
    (change,) = state.changes
    assert (change.sleeve, change.rule, change.old_weight, change.new_weight) == (
        "fast",
        EXPECTANCY_FLOOR,
        D("0.5"),
        D("0.45"),
    )
    assert change.performance.expectancy == D("-0.0011") and change.performance.trades == 15
    body = change.body()
    assert body["code"] == reasons.SLEEVE_WEIGHT_CHANGED and body["closed_day"] == "2024-03-11"
    assert body["weights"] == {"fast": "0.45", "slow": "0.5"} and body["stability"] == "0"


def test_a_drawdown_over_6_pct_of_the_capital_share_falls_even_with_a_positive_expectancy() -> None:
    # capital share 10,000 x 0.5 = 5,000; 6 % of it = 300. Up 400, then down 310 (three losses): 6.2 %
    rules = AllocationRules(bases=RULES.bases, capital=D(10000), min_trades=5)
    state, close = fed(rules)
    for pnl in ("200", "200", "-100", "-110", "-100"):
        state.on_round_trip(RoundTrip("SPY", "fast", D(pnl), D(100000), T0))
    performance = state.performance("fast")
    assert performance.expectancy > 0 and performance.drawdown == D("0.062")
    assert performance.stability == D("0.4")
    assert close()["fast"] == D("0.45")
    assert [c.rule for c in state.changes] == [DRAWDOWN]


def test_a_positive_expectancy_rises_only_into_capital_the_bases_leave_free() -> None:
    state, close = fed(fast=["-0.01"] * 15, slow=["0.002"] * 15)
    weights = close()  # fast gives up 0.05; slow may take it
    assert weights == {"fast": D("0.45"), "slow": D("0.55")}
    assert {c.sleeve: c.rule for c in state.changes} == {
        "fast": EXPECTANCY_FLOOR,
        "slow": POSITIVE_EXPECTANCY,
    }
    both_good, close = fed(fast=["0.003"] * 15, slow=["0.002"] * 15)
    assert close() == {"fast": D("0.5"), "slow": D("0.5")}  # nothing free: nothing rises
    assert both_good.changes == ()


def test_moves_stop_at_the_bounds_and_the_rest_is_held_as_cash() -> None:
    state, close = fed(fast=["-0.01"] * 15, slow=["0.01"] * 15)
    for _ in range(12):
        weights = close()
    assert weights == {"fast": D("0.10"), "slow": D("0.60")}  # 0.30 of the equity unallocated
    assert close() == weights and state.changes == ()  # at the bounds: no move, no event
    for _ in range(60):  # fast's window turns positive: it rises again into the free capital
        state.on_round_trip(trip("fast", "0.001"))
    assert close()["fast"] == D("0.15")


def test_a_move_is_at_most_the_daily_delta_whatever_the_performance() -> None:
    state, close = fed(fast=["-0.5"] * 60, slow=["0.5"] * 60)
    before = state.weights()
    after = close()
    assert all(abs(after[s] - before[s]) <= D("0.05") for s in before)


def test_only_the_window_counts_toward_expectancy() -> None:
    state, _ = fed(fast=["-0.01"] * 15 + ["0.001"] * 60, slow=[])
    assert state.performance("fast").expectancy == D("0.001")
    assert state.performance("fast").trades == 75 and state.performance("fast").window_trades == 60


def test_one_sleeve_or_the_single_strategy_never_moves() -> None:
    one = AllocationRules(bases=(("main", D(1)),), capital=D(10000))
    state, close = fed(one, main=["-0.05"] * 30)
    assert close() == {"main": D(1)} and state.changes == ()
    single = SleeveAllocation()
    closes(single)()
    assert single.weights() == {"": D(1)} and not single.has_sleeves
    assert single.view(intent(), T0).score == D(1)


def test_disabled_allocation_keeps_the_configured_weights() -> None:
    off = AllocationRules(bases=RULES.bases, capital=D(10000), enabled=False)
    _, close = fed(off, fast=["-0.05"] * 30)
    assert close() == {"fast": D("0.5"), "slow": D("0.5")}


def test_a_close_is_the_first_bar_of_a_later_session_day_only() -> None:
    state, _ = fed(fast=["-0.01"] * 15)
    state.on_bar(_bar(DAY1), DAY1, T0)  # same day: no close
    state.on_bar(_bar(DAY1 - timedelta(days=1)), DAY1 - timedelta(days=1), T0)  # an earlier day: none
    assert state.weights()["fast"] == D("0.5")
    state.on_bar(_bar(DAY1 + timedelta(days=3)), DAY1 + timedelta(days=3), T0)  # a weekend: one close
    assert state.weights()["fast"] == D("0.45")
    state.on_bar(_bar(DAY1 + timedelta(days=3)), DAY1 + timedelta(days=3), T0)
    assert state.changes == ()  # the changes are the last bar's only


def test_the_tracker_hands_round_trips_with_the_opening_sleeve() -> None:
    tracker = RiskTracker(INSTRUMENTS, allocation=RULES)
    state = allocation_state(tracker.states)
    now = datetime(2024, 3, 12, 15, tzinfo=UTC)
    tracker.on_bar(Bar("BTCUSDT", now, 100.0, 100.0, 100.0, 100.0, 1.0), now)
    entry = intent(symbol="BTCUSDT", intent_id="B-1", reference_price=D(100), sleeve="slow")
    request = build_request(entry, BTC, "cid-1")
    tracker.on_order_submitted(request, now, entry)
    tracker.on_order_event(filled("cid-1", "f1", Side.BUY, "100"), now)
    tracker.on_order_event(filled("cid-x", "f2", Side.SELL, "101"), now)  # its stop leg, say
    assert state.performance("slow").trades == 1
    assert state.performance("slow").expectancy == D("0.008")  # (1 - 0.2 fees) / 100
    assert state.performance("fast").trades == 0


def filled(cid: str, fill_id: str, side: Side, price: str) -> OrderFilled:
    now = datetime(2024, 3, 12, 15, tzinfo=UTC)
    return OrderFilled(cid, "v", fill_id, "BTCUSDT", side, D(1), D(price), D("0.1"), "USDT", now, D(0))


# --- the entry allocation's risk score ----------------------------------------------------------------
def weights_view(sleeve: str, fast: str, slow: str = "0.5") -> dict[type, object]:
    view = SleeveWeights(sleeve, (("fast", D(fast)), ("slow", D(slow))), RULES.bases)
    return {SleeveWeights: view}


def btc(sleeve: str = "fast") -> object:
    return intent(symbol="BTCUSDT", intent_id="B-1", quantity=D(1), reference_price=D(1000), sleeve=sleeve)


def test_the_risk_score_is_the_sleeve_weight_over_its_base_and_never_above_the_constitution() -> None:
    # equity 2,000: 400 x 0.94 = 376 at a full score; the fallen sleeve (0.25 of its 0.5 base) gets half
    full = GATE.check(btc(), ctx(instrument=BTC, equity=D(2000), views=weights_view("fast", "0.5")))
    half = GATE.check(btc(), ctx(instrument=BTC, equity=D(2000), views=weights_view("fast", "0.25")))
    above = GATE.check(btc(), ctx(instrument=BTC, equity=D(2000), views=weights_view("fast", "0.6")))
    assert full.intent is not None and full.intent.quantity == D("0.376")
    assert half.intent is not None and half.intent.quantity == D("0.188")
    assert half.details["risk_score"] == "0.5" and half.details["sleeve_score"] == "0.5"
    assert above.intent is not None and above.intent.quantity == D("0.376")  # capped at the constitution's
    other = GATE.check(btc(sleeve=""), ctx(instrument=BTC, equity=D(2000), views=weights_view("", "0.25")))
    assert other.intent is not None and other.intent.quantity == D("0.376")  # no allocated sleeve: 1


def test_the_entry_allocation_fails_closed_without_the_weights() -> None:
    with pytest.raises(LookupError):
        GATE.check(btc(), ctx(instrument=BTC, equity=D(2000), views={}))


def test_the_10_dollar_minimum_is_applied_before_the_caps_and_never_lifts_above_one() -> None:
    # equity 20: 4 x 0.94 = 3.76, lifted to the $10 minimum; a symbol with $994 of its $1,000 cap used has
    # $6 of room: the allocation is $6, not $10
    small = ctx(instrument=BTC, equity=D(20), views=weights_view("fast", "0.5"))
    lifted = GATE.check(btc(), small)
    assert lifted.details["formula_usd"] == "10" and lifted.details["allocation_usd"] == "10"
    near_cap = ctx(
        instrument=BTC,
        equity=D(20),
        views=weights_view("fast", "0.5"),
        exposure_by_symbol={"BTCUSDT": D(994)},
    )
    capped = GATE.check(btc(), near_cap)
    assert capped.details["formula_usd"] == "10" and capped.details["allocation_usd"] == "6"
    assert capped.intent is not None and capped.intent.quantity == D("0.006")


# --- properties ---------------------------------------------------------------------------------------
EVENTS = st.lists(
    st.one_of(
        st.tuples(
            st.just("trip"), st.sampled_from(("a", "b", "c", "")), st.decimals("-0.05", "0.05", places=4)
        ),
        st.tuples(st.just("close"), st.just(""), st.just(D(0))),
    ),
    max_size=300,
)
BASES = st.lists(st.decimals("0.10", "0.33", places=2), min_size=2, max_size=3)


@settings(max_examples=150, deadline=None)
@given(BASES, EVENTS, st.integers(1, 20))
def test_weights_stay_in_bounds_and_move_at_most_the_delta_per_close(
    bases: list[Decimal], events: list[tuple[str, str, Decimal]], min_trades: int
) -> None:
    names = ("a", "b", "c")[: len(bases)]
    rules = AllocationRules(
        bases=tuple(zip(names, bases, strict=True)), capital=D(1000), window=20, min_trades=min_trades
    )
    state = SleeveAllocation(rules)
    close = closes(state)
    total = sum(bases, D(0))
    for kind, sleeve, value in events:
        if kind == "trip":
            state.on_round_trip(RoundTrip("SPY", sleeve, value * 100, D(100), T0))
            continue
        before = state.weights()
        after = close()
        for name in names:
            assert D("0.10") <= after[name] <= D("0.60")
            assert abs(after[name] - before[name]) <= D("0.05")
        assert sum(after.values(), D(0)) <= total  # never more than the bases put to work
        assert {c.sleeve for c in state.changes} == {n for n in names if after[n] != before[n]}


@settings(max_examples=200, deadline=None)
@given(
    equity=st.decimals("1", "100000", places=2),
    confidence=st.floats(0, 1),
    weight=st.decimals("0.10", "0.60", places=2),
    symbol_used=st.decimals("0", "1200", places=2),
    total_used=st.decimals("0", "6000", places=2),
    min_usd=st.decimals("0", "50", places=0),
)
def test_the_entry_allocation_never_exceeds_a_hard_cap(
    equity: Decimal,
    confidence: float,
    weight: Decimal,
    symbol_used: Decimal,
    total_used: Decimal,
    min_usd: Decimal,
) -> None:
    gate = EntryAllocationGate(with_rules("SPY", entry_policy={"min_allocation_usd": min_usd}))
    exposure = {"SPY": symbol_used, "BTCUSDT": total_used}
    big = intent(
        symbol="SPY",
        intent_id="S-1",
        quantity=D(1000),
        reference_price=D(10),
        confidence=confidence,
        sleeve="fast",
    )
    verdict = gate.check(
        big,
        ctx(
            instrument=SPY,
            equity=equity,
            exposure_by_symbol=exposure,
            views=weights_view("fast", str(weight)),
        ),
    )
    room = min(D(1000) - symbol_used, D(5000) - symbol_used - total_used)
    if verdict.outcome is Outcome.BLOCK:
        return
    approved = verdict.intent if verdict.intent is not None else big
    assert approved.quantity * 10 <= room  # what it lets through fits under both caps
    assert D(verdict.details["allocation_usd"]) <= room
