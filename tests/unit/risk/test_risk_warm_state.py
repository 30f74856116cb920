"""State kept between intents never changes a verdict: a warm chain and tracker record exactly what fresh
ones record (duplicate-key texts, rounding, daily statuses, quiet state checks, clamps into exits)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from risk_testkit import INSTRUMENTS, MES, NOW, constitution, ctx, intent, replace, with_rules

from tradebot.domain.events import OrderFilled
from tradebot.domain.instruments import PriceRounding
from tradebot.domain.orders import OrderIntent, OrderRequest, OrderType, Side
from tradebot.domain.state import Mode, TradingState
from tradebot.risk.build import DEFAULT_CHAIN, build_chain
from tradebot.risk.chain import GateChain
from tradebot.risk.consecutive_losses import ConsecutiveLossesGate
from tradebot.risk.context import GateContext
from tradebot.risk.decision_record import decision_record
from tradebot.risk.dvs_floor import DvsFloorGate
from tradebot.risk.instrument_sanity import InstrumentSanityGate
from tradebot.risk.pretrade_duplicate import order_key
from tradebot.risk.tracker import DailyStatus, RiskTracker
from tradebot.risk.trading_state import TradingStateMachine
from tradebot.risk.verdict import Outcome, Verdict


def test_values_that_compare_equal_record_as_given() -> None:
    losses = ConsecutiveLossesGate(constitution())
    as_bool = losses.check(intent(), ctx(consecutive_losses=True))
    assert as_bool.details["consecutive_losses"] is True  # 1 == True, but it records as true
    dvs = DvsFloorGate(with_rules("MES", limits={"dvs_min": 0.0}))
    assert dvs.check(intent(), ctx(dvs=0.0)).outcome is Outcome.PASS
    negative = dvs.check(intent(), ctx(dvs=-0.0))
    assert repr(negative.details["dvs"]) == "-0.0"  # -0.0 == 0.0, but it records as -0.0
    dvs.check(intent(), ctx(dvs=1.0))
    assert type(dvs.check(intent(), ctx(dvs=1)).details["dvs"]) is int  # 1 == 1.0, recorded as 1


def test_a_warm_chain_records_what_a_new_chain_records() -> None:
    warm = build_chain(DEFAULT_CHAIN, constitution())
    cases = [
        (intent(quantity=Decimal(q), confidence=c), ctx(dvs=d, consecutive_losses=n, trades_today=n))
        for q in ("1", "1.0", "2")
        for c in (0.8, 0.9)
        for d in (1.0, 0.95)
        for n in (0, 1)
    ]
    for item, context in cases + cases:
        fresh = build_chain(DEFAULT_CHAIN, constitution())
        expected = decision_record(fresh.evaluate(item, context), constitution_sha256="x")
        assert decision_record(warm.evaluate(item, context), constitution_sha256="x") == expected


def test_duplicate_keys_keep_their_text_across_exponents_and_zones() -> None:
    assert order_key("MES", "BUY", Decimal("1.00"), NOW)[2] == "1"
    assert order_key("MES", "BUY", Decimal("1"), NOW)[2] == "1"
    assert order_key("MES", "BUY", Decimal("1.50"), NOW)[2] == "1.5"
    plus_one = timezone(timedelta(hours=1))
    same_instant = NOW.astimezone(plus_one)
    assert order_key("MES", "BUY", Decimal(1), NOW)[3] == NOW.isoformat()
    assert order_key("MES", "BUY", Decimal(1), same_instant)[3] == same_instant.isoformat()
    assert same_instant.isoformat() != NOW.isoformat()


def test_rounding_keeps_each_exponent_of_a_price() -> None:
    gate = InstrumentSanityGate()
    for limit in ("4499.10", "4499.1", "4499.10", "4499.1"):
        verdict = gate.check(intent(limit_price=Decimal(limit), order_type=OrderType.LIMIT), ctx())
        assert verdict.intent is not None
        expected = MES.round_price(Decimal(limit), PriceRounding.DOWN)
        assert str(verdict.intent.limit_price) == str(expected)


def _fill(tracker: RiskTracker, cid: str, side: Side, price: str, now: datetime) -> None:
    request = OrderRequest(
        client_order_id=cid,
        intent_id=f"MES-{cid}",
        symbol="BTCUSDT",
        side=side,
        quantity=Decimal(1),
        order_type=OrderType.MARKET,
        ts=now,
    )
    tracker.on_order_submitted(request, now)
    tracker.on_order_event(
        OrderFilled(
            cid,
            "v",
            f"f-{cid}",
            "BTCUSDT",
            side,
            Decimal(1),
            Decimal(price),
            Decimal(0),
            "USDT",
            now,
            Decimal(0),
        ),
        now,
    )


def test_daily_status_follows_fills_prices_and_days() -> None:
    from tradebot.domain.bars import Bar

    tracker = RiskTracker(INSTRUMENTS)
    now = datetime(2024, 3, 12, 15, 0, tzinfo=UTC)
    first = tracker.daily_status("BTCUSDT", now)
    tracker.on_bar(Bar("BTCUSDT", now, 60000.0, 60000.0, 60000.0, 60000.0, 1.0), now)
    assert tracker.daily_status("BTCUSDT", now) == first  # flat: the price does not change the day's PnL
    _fill(tracker, "a", Side.BUY, "60000", now)
    held = tracker.daily_status("BTCUSDT", now)
    assert held.position == 1 and held.trades_today == 1
    tracker.on_bar(Bar("BTCUSDT", now, 60010.0, 60010.0, 60010.0, 60010.0, 1.0), now)
    assert tracker.daily_status("BTCUSDT", now).pnl_today == Decimal(10)
    _fill(tracker, "b", Side.SELL, "60020.5", now)
    assert tracker.daily_status("BTCUSDT", now).realized_today == Decimal("20.5")
    assert tracker.daily_status("BTCUSDT", now + timedelta(days=1)).trades_today == 0  # a new day


def test_a_quiet_status_check_is_redone_once_the_state_moves() -> None:
    machine = TradingStateMachine()
    limits = with_rules("MES", limits={"max_consecutive_losses": 2}).rules_for("MES").limits
    day = NOW.date()
    calm = DailyStatus("MES", day, Decimal(0), Decimal(0), 1, 1, Decimal(0))
    assert machine.on_status(NOW, calm, limits) == []
    assert machine.on_status(NOW, calm, limits) == []
    machine.operator_halt(NOW)
    assert machine.on_status(NOW, calm, limits) == [] and machine.state is TradingState.HALTED
    machine.operator_resume(NOW)
    assert machine.on_status(NOW, calm, limits) == [] and machine.state is TradingState.ACTIVE
    losing = DailyStatus("MES", day, Decimal(-5), Decimal(-5), 2, 2, Decimal(0))
    moved = machine.on_status(NOW, losing, limits)
    assert [t.to_state for t in moved] == [TradingState.HALTED]
    assert machine.on_status(NOW + timedelta(days=1), calm, limits) == []  # calm's day: no new session
    tomorrow = DailyStatus("MES", day + timedelta(days=1), Decimal(0), Decimal(0), 0, 0, Decimal(0))
    assert [t.to_state for t in machine.on_status(NOW, tomorrow, limits)] == [TradingState.ACTIVE]


def test_snapshots_judge_throttles_by_the_orders_sent() -> None:
    tracker = RiskTracker(INSTRUMENTS)
    chain = build_chain(DEFAULT_CHAIN, constitution())
    for i in range(3):
        now = NOW + timedelta(seconds=i)
        context = tracker.snapshot(
            intent(), now, Decimal(10000), Decimal(4500), Mode.OBSERVE, TradingState.ACTIVE, 1.0, 1.0
        )
        verdicts = {v.gate: v for v in chain.evaluate(intent(), context).verdicts}
        if "rate_throttle" in verdicts:
            assert verdicts["rate_throttle"].details["orders_last_min"] == i
        tracker.on_order_submitted(
            OrderRequest(
                client_order_id=f"c{i}",
                intent_id=f"MES-{i}",
                symbol="MES",
                side=Side.BUY,
                quantity=Decimal(1),
                order_type=OrderType.MARKET,
                ts=now,
            ),
            now,
        )


class _Gate:
    def __init__(self, name: str, exits: bool, to_exit: bool = False) -> None:
        self.name, self.applies_to_exits, self.to_exit = name, exits, to_exit

    def check(self, item: OrderIntent, context: GateContext) -> Verdict:
        if self.to_exit:
            return Verdict.clamped(self.name, "X", replace(item, reduce_only=True))
        return Verdict.passed(self.name)


def test_the_chain_reads_which_gates_apply_again_after_a_clamp_into_an_exit() -> None:
    chain = GateChain(
        [
            _Gate("a", False),
            _Gate("to_exit", True, to_exit=True),
            _Gate("entry_only", False),
            _Gate("z", True),
        ],
        "h",
    )
    decision = chain.evaluate(intent(), ctx())
    assert [v.gate for v in decision.verdicts] == ["a", "to_exit", "z"]
    assert decision.approved is not None and decision.approved.reduce_only
    exit_decision = chain.evaluate(intent(reduce_only=True), ctx())
    assert [v.gate for v in exit_decision.verdicts] == ["to_exit", "z"]
