from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from risk_testkit import ctx, intent, with_rules

from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.domain.events import OrderAccepted, OrderRejected
from tradebot.domain.orders import OrderRequest, OrderType, Side
from tradebot.risk.quarantine import Quarantine, QuarantineGate, QuarantineView
from tradebot.risk.rule_state import RoundTrip
from tradebot.risk.verdict import Outcome

START = datetime(2024, 3, 12, 15, 0, tzinfo=UTC)
RULES = with_rules("MES", quarantine={"duration_bars": 6})
GATE = QuarantineGate(RULES)


def request(n: int, reduce_only: bool = False) -> OrderRequest:
    return OrderRequest(
        client_order_id=f"c{n}",
        intent_id=f"i{n}",
        symbol="MES",
        side=Side.BUY,
        quantity=Decimal(1),
        order_type=OrderType.MARKET,
        ts=START,
        reduce_only=reduce_only,
    )


def answer(state: Quarantine, n: int, rejected: bool, sleeve: str = "fast") -> None:
    state.on_order_submitted(request(n), intent(sleeve=sleeve), START)
    event: Any = (
        OrderRejected(client_order_id=f"c{n}", reason="margin", ts=START)
        if rejected
        else OrderAccepted(client_order_id=f"c{n}", venue_order_id=f"v{n}", ts=START)
    )
    state.on_order_event(event, START)


def bar(state: Quarantine, n: int, symbol: str = "MES") -> None:
    ts = START + timedelta(minutes=n)
    state.on_bar(Bar(symbol, ts, 1.0, 1.0, 1.0, 1.0, 1.0), date(2024, 3, 12), ts)


def verdict(state: Quarantine, sleeve: str = "fast"):  # type: ignore[no-untyped-def]
    entry = intent(sleeve=sleeve)
    return GATE.check(entry, ctx(views={QuarantineView: state.view(entry, START)}))


def test_a_reject_rate_above_15_percent_quarantines_the_symbol_and_the_sleeve_for_6_bars() -> None:
    state = Quarantine(RULES)
    for n in range(4):
        answer(state, n, rejected=False)
    assert verdict(state).outcome is Outcome.PASS  # 4 answers: under rate_min_events
    answer(state, 4, rejected=True)  # 1 of 5 = 20 %
    blocked = verdict(state)
    assert blocked.code == reasons.SYMBOL_QUARANTINED and blocked.details["trigger"] == "reject_rate"
    assert blocked.details["metrics"] == {"reject_rate": "0.2", "orders": "5"}
    assert verdict(state, sleeve="slow").code == reasons.SYMBOL_QUARANTINED
    [symbol_start, sleeve_start] = state.take_changes()
    assert (symbol_start["event"], symbol_start["scope"], sleeve_start["scope"]) == (
        "start",
        "symbol",
        "sleeve",
    )
    for n in range(6):
        bar(state, n)
        assert verdict(state).outcome is Outcome.BLOCK
    bar(state, 6)  # the seventh bar: both are released
    assert verdict(state).outcome is Outcome.PASS
    assert [c["event"] for c in state.take_changes()] == ["release", "release"]


def test_a_sleeve_alone_when_applies_to_says_sleeve_and_other_symbols_bars_do_not_count() -> None:
    rules = with_rules("MES", quarantine={"applies_to": "sleeve"})
    state = Quarantine(rules)
    for n in range(5):
        answer(state, n, rejected=n == 0)
    gate = QuarantineGate(rules)
    entry = intent(sleeve="fast")
    assert gate.check(entry, ctx(views={QuarantineView: state.view(entry, START)})).code == (
        reasons.SLEEVE_QUARANTINED
    )
    for n in range(10):
        bar(state, n, symbol="SPY")
    assert gate.check(entry, ctx(views={QuarantineView: state.view(entry, START)})).outcome is Outcome.BLOCK


def test_entries_blocked_as_too_costly_set_it_off_and_other_blocks_do_not_count() -> None:
    state = Quarantine(RULES)

    def decide(outcome: str, code: str) -> None:
        record = {
            "intent": {"symbol": "MES", "sleeve": "", "reduce_only": False},
            "outcome": outcome,
            "code": code,
        }
        state.on_decision(record, START)

    for _ in range(10):
        decide("BLOCKED", reasons.MARKET_CLOSED_BLOCK)  # stopped before the cost controls: not evidence
    decide("APPROVED", reasons.APPROVED)
    decide("APPROVED", reasons.APPROVED)
    for _ in range(3):
        decide("BLOCKED", reasons.LIQ_PARTICIPATION_BLOCK)
    assert verdict(state, sleeve="").outcome is Outcome.PASS  # 3 of 5 = 60 %: not above
    decide("BLOCKED", reasons.LIQ_REGIME_THIN_SCALE)  # 4 of 6
    blocked = verdict(state, sleeve="")
    assert blocked.code == reasons.SYMBOL_QUARANTINED and blocked.details["trigger"] == "cost_block_rate"
    assert [c["scope"] for c in state.take_changes()] == ["symbol"]  # the single strategy: no sleeve


def losing_trips(state: Quarantine, count: int, at: datetime = START) -> None:
    for n in range(count):
        pnl = Decimal(-5) if n % 2 else Decimal(1)  # mean -2 on 1,000 notional: -0.2 %
        state.on_round_trip(RoundTrip("MES", "fast", pnl, Decimal(1000), at + timedelta(minutes=n)))


def day_bar(state: Quarantine, day: date, symbol: str = "MES") -> None:
    ts = datetime(day.year, day.month, day.day, 15, 0, tzinfo=UTC)
    state.on_bar(Bar(symbol, ts, 1.0, 1.0, 1.0, 1.0, 1.0), day, ts)


def test_post_cost_expectancy_under_the_floor_over_12_trades_and_its_evidence_is_spent() -> None:
    rules = with_rules("MES", quarantine={"duration_days": 2})
    state = Quarantine(rules)
    day_bar(state, date(2024, 3, 12))  # a Tuesday: the instrument's first session day
    losing_trips(state, 11)
    assert state.view(intent(sleeve="fast"), START).symbol is None  # 11 trades: under min_trades
    state.on_round_trip(RoundTrip("MES", "fast", Decimal(-5), Decimal(1000), START))  # 12: mean -0.2 %
    held = state.view(intent(sleeve="fast"), START).symbol
    assert held is not None and held.trigger == "expectancy" and held.metrics["trades"] == "12"
    assert (held.since_day, held.until_day, held.until_bar) == (date(2024, 3, 12), 3, None)
    assert [c["event"] for c in state.take_changes()] == ["start", "start"]  # the symbol and the sleeve
    for day in (date(2024, 3, 13), date(2024, 3, 13), date(2024, 3, 14)):  # two more session days
        day_bar(state, day, "SPY")  # another instrument's days do not count
        day_bar(state, day)
        assert state.view(intent(sleeve="fast"), START).symbol is not None
    assert state.take_changes() == []
    day_bar(state, date(2024, 3, 15))  # the first bar of the third session day after its start
    assert state.view(intent(sleeve="fast"), START) == QuarantineView()
    assert [c["event"] for c in state.take_changes()] == ["release", "release"]
    losing_trips(state, 1, START + timedelta(days=3))
    assert state.view(intent(sleeve="fast"), START).symbol is None  # one new trade is not 12


def test_session_days_skip_the_weekend_a_friday_start_holds_through_tuesday() -> None:
    state = Quarantine(with_rules("MES", quarantine={"duration_days": 2}))
    day_bar(state, date(2024, 3, 15))  # Friday
    losing_trips(state, 12)
    for day in (date(2024, 3, 18), date(2024, 3, 19)):  # Monday, Tuesday (no weekend bars)
        day_bar(state, day)
        assert state.view(intent(sleeve="fast"), START).symbol is not None
    day_bar(state, date(2024, 3, 20))
    assert state.view(intent(sleeve="fast"), START).symbol is None


def test_exits_pass_a_disabled_quarantine_never_starts_and_stored_changes_are_not_stored_twice() -> None:
    assert not GATE.applies_to_exits
    off = Quarantine(with_rules("MES", quarantine={"enabled": False}))
    for n in range(10):
        answer(off, n, rejected=True)
    assert off.take_changes() == [] and off.view(intent(), START) == QuarantineView()
    state = Quarantine(RULES)
    for n in range(5):
        answer(state, n, rejected=True)
    stored = state.changes[0]
    state.on_stored_change(stored)
    assert [c["scope"] for c in state.take_changes()] == ["sleeve"]
    assert Quarantine(None).view(intent(), START) == QuarantineView()


events = st.lists(
    st.one_of(
        st.tuples(st.just("bar"), st.sampled_from(["MES", "SPY"])),
        st.tuples(st.just("answer"), st.booleans()),
        st.tuples(st.just("trip"), st.integers(-20, 5)),
    ),
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(events)
def test_the_gate_never_lets_a_quarantined_entry_through_and_no_quarantine_outlasts_6_bars(
    sequence: list[tuple[str, Any]],
) -> None:
    state = Quarantine(RULES)
    started_at: dict[tuple[str, str], int] = {}  # key -> MES bars seen when it started
    mes_bars = 0
    for n, (kind, value) in enumerate(sequence):
        if kind == "bar":
            bar(state, n, value)
            mes_bars += value == "MES"
        elif kind == "answer":
            answer(state, n, value)
        else:
            state.on_round_trip(RoundTrip("MES", "fast", Decimal(value), Decimal(1000), START))
        for change in state.take_changes():
            key = (change["scope"], change["name"])
            if change["event"] == "start":
                started_at[key] = mes_bars
            else:
                assert mes_bars - started_at.pop(key) == 7  # released on the 7th bar after its start
        for key in started_at:
            assert mes_bars - started_at[key] <= 6
        view = state.view(intent(sleeve="fast"), START)
        held = view.symbol is not None or view.sleeve is not None
        assert held == bool(started_at)
        assert (verdict(state).outcome is Outcome.BLOCK) == held


days_events = st.lists(
    st.one_of(
        st.tuples(st.just("bar"), st.tuples(st.sampled_from(["MES", "SPY"]), st.integers(0, 2))),
        st.tuples(st.just("trip"), st.integers(-20, 5)),
    ),
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(days_events, st.integers(1, 3))
def test_a_quarantine_in_session_days_holds_exactly_its_days(
    sequence: list[tuple[str, Any]], duration_days: int
) -> None:
    rules = with_rules("MES", quarantine={"duration_days": duration_days, "min_trades": 2})
    state, gate = Quarantine(rules), QuarantineGate(rules)
    day = {"MES": date(2024, 3, 12), "SPY": date(2024, 3, 12)}
    mes_days = 0  # MES session days seen
    started_at: dict[tuple[str, str], int] = {}
    for kind, value in sequence:
        if kind == "bar":
            symbol, skip = value
            if skip or (symbol == "MES" and mes_days == 0):
                day[symbol] += timedelta(days=skip)
                mes_days += symbol == "MES"
            day_bar(state, day[symbol], symbol)
        else:
            state.on_round_trip(RoundTrip("MES", "fast", Decimal(value), Decimal(1000), START))
        for change in state.take_changes():
            key = (change["scope"], change["name"])
            if change["event"] == "start":
                started_at[key] = mes_days
            else:
                assert mes_days - started_at.pop(key) == duration_days + 1
        for key in started_at:
            assert mes_days - started_at[key] <= duration_days
        entry = intent(sleeve="fast")
        held = state.view(entry, START) != QuarantineView()
        assert held == bool(started_at)
        blocked = gate.check(entry, ctx(views={QuarantineView: state.view(entry, START)})).outcome
        assert (blocked is Outcome.BLOCK) == held
