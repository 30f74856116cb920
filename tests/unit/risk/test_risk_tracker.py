from datetime import UTC, datetime, timedelta
from decimal import Decimal

from risk_testkit import INSTRUMENTS, NOW, intent

from tradebot.domain.bars import Bar
from tradebot.domain.events import OrderCanceled, OrderFilled, OrderRejected
from tradebot.domain.orders import OrderRequest, OrderType, Side
from tradebot.domain.state import Mode, TradingState
from tradebot.risk.rule_state import RoundTrip, RuleState
from tradebot.risk.tracker import RiskTracker


def _request(cid: str, side: Side = Side.BUY, reduce_only: bool = False, ts: datetime = NOW) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid,
        intent_id=f"MES-{cid}",
        symbol="MES",
        side=side,
        quantity=Decimal(1),
        order_type=OrderType.MARKET,
        ts=ts,
        reduce_only=reduce_only,
    )


def _fill(cid: str, side: Side, price: str, ts: datetime = NOW, fee: str = "0.5") -> OrderFilled:
    return OrderFilled(
        client_order_id=cid,
        venue_order_id="v",
        fill_id=f"f-{cid}",
        symbol="MES",
        side=side,
        quantity=Decimal(1),
        price=Decimal(price),
        fee=Decimal(fee),
        fee_currency="USD",
        ts=ts,
        leaves_qty=Decimal(0),
    )


def _snap(tracker: RiskTracker, now: datetime = NOW):  # type: ignore[no-untyped-def]
    return tracker.snapshot(
        intent(), now, Decimal(10000), Decimal(4500), Mode.OBSERVE, TradingState.ACTIVE, 1.0, 1.0
    )


def test_round_trip_counts_trade_pnl_and_loss() -> None:
    tracker = RiskTracker(INSTRUMENTS)
    tracker.on_order_submitted(_request("a"), NOW, intent(intent_id="MES-a", confidence=0.9))
    ctx = _snap(tracker)
    assert (ctx.trades_today, ctx.pending_qty, ctx.entries_in_position) == (1, Decimal(1), 1)
    assert ctx.last_entry_at == NOW and "MES-a" in ctx.submitted_intent_ids
    tracker.on_fill(_fill("a", Side.BUY, "4500"))
    tracker.on_fill(_fill("a", Side.BUY, "4500"))  # the same fill twice counts once
    tracker.on_order_submitted(_request("b", Side.SELL, reduce_only=True), NOW)
    assert _snap(tracker).pending_exit_qty == Decimal(-1)
    tracker.on_fill(_fill("b", Side.SELL, "4497"))
    ctx = _snap(tracker)
    assert ctx.position_qty == 0 and ctx.trades_today == 1
    assert ctx.pnl_today == Decimal(-16)  # 3 points x $5 + two $0.50 fees
    assert ctx.consecutive_losses == 1


def test_unfilled_rejected_entry_gives_its_trade_back_and_unrealized_counts() -> None:
    tracker = RiskTracker(INSTRUMENTS)
    tracker.on_order_submitted(_request("a"), NOW)
    tracker.on_order_event(OrderRejected("a", "margin", NOW), NOW)
    assert (_snap(tracker).trades_today, _snap(tracker).pending_qty) == (0, 0)
    tracker.on_order_submitted(_request("b"), NOW)
    tracker.on_fill(_fill("b", Side.BUY, "4500", fee="0"))
    tracker.on_bar(Bar("MES", NOW, 4490, 4490, 4489, 4490, 10), NOW)
    assert _snap(tracker).pnl_today == Decimal(-50)
    assert _snap(tracker).exposure_by_symbol["MES"] == Decimal(22450)


def test_counters_reset_on_the_next_session_day() -> None:
    tracker = RiskTracker(INSTRUMENTS)
    tracker.on_order_submitted(_request("a"), NOW)
    tracker.on_fill(_fill("a", Side.BUY, "4500"))
    tracker.on_fill(_fill("x", Side.SELL, "4490"))
    assert _snap(tracker).consecutive_losses == 1
    tomorrow = datetime(2024, 3, 13, 15, 0, tzinfo=UTC)
    ctx = _snap(tracker, tomorrow)
    assert (ctx.trades_today, ctx.consecutive_losses, ctx.pnl_today) == (0, 0, 0)
    # the CME day rolls at 17:00 Chicago: 22:30 UTC on the 12th already belongs to the 13th
    assert _snap(tracker, datetime(2024, 3, 12, 22, 30, tzinfo=UTC)).trades_today == 0


def test_throttle_and_cancel_loop_inputs() -> None:
    tracker = RiskTracker(INSTRUMENTS)
    for i in range(3):
        tracker.on_order_submitted(_request(f"c{i}", ts=NOW), NOW + timedelta(seconds=i))
        tracker.on_cancel_request(f"c{i}", NOW + timedelta(seconds=i))
        tracker.on_order_event(OrderCanceled(f"c{i}", NOW), NOW + timedelta(seconds=i))
    tracker.on_bar(Bar("MES", NOW, 1, 1, 1, 1, 1), NOW + timedelta(seconds=60))
    ctx = _snap(tracker, NOW + timedelta(seconds=61))
    assert (len(ctx.recent_orders), len(ctx.recent_cancels), ctx.cancels_without_fill) == (3, 3, 3)
    assert ctx.bars_since_last_cancel == 1
    assert ctx.trades_today == 0  # all canceled unfilled
    tracker.on_bar(Bar("MES", NOW, 1, 1, 1, 1, 1), NOW + timedelta(seconds=400))
    assert _snap(tracker, NOW + timedelta(seconds=400)).recent_orders == ()


def test_an_order_closed_without_a_venue_event_is_released_like_a_rejected_one() -> None:
    """Abandoned by reconciliation (never reached the venue): no working qty or exposure; trade given back."""
    tracker = RiskTracker(INSTRUMENTS)
    tracker.on_bar(Bar("MES", NOW, 4500, 4500, 4500, 4500, 10), NOW)
    tracker.on_order_submitted(_request("a"), NOW, intent(intent_id="MES-a"))
    assert (_snap(tracker).pending_qty, _snap(tracker).trades_today) == (1, 1)
    assert tracker.exposure_by_symbol() != {}
    tracker.on_order_closed("a", NOW)
    ctx = _snap(tracker)
    assert (ctx.pending_qty, ctx.trades_today, ctx.entries_in_position) == (0, 0, 0)
    assert tracker.exposure_by_symbol() == {}
    tracker.on_order_closed("a", NOW)  # twice, or for an unknown id: nothing more
    tracker.on_order_closed("unknown", NOW)
    assert _snap(tracker).trades_today == 0


class _Trips(RuleState):
    def __init__(self) -> None:
        self.trips: list[RoundTrip] = []

    def on_round_trip(self, trip: RoundTrip) -> None:
        self.trips.append(trip)


def test_a_closed_round_trip_reaches_the_rules_states_with_its_sleeve_and_post_cost_pnl() -> None:
    tracker = RiskTracker(INSTRUMENTS)
    trips = _Trips()
    tracker.states = (*tracker.states, trips)
    tracker.on_order_submitted(_request("a"), NOW, intent(intent_id="MES-a", sleeve="fast"))
    tracker.on_fill(_fill("a", Side.BUY, "4500"))
    assert trips.trips == []
    tracker.on_order_submitted(_request("b", Side.SELL, reduce_only=True), NOW, intent(sleeve="slow"))
    tracker.on_fill(_fill("b", Side.SELL, "4497", ts=NOW + timedelta(minutes=3)))
    (trip,) = trips.trips
    # the sleeve of the entry that opened it; 3 points x $5 lost and both $0.50 fees; MES notional 4500 x 5
    assert (trip.symbol, trip.sleeve) == ("MES", "fast")
    assert (trip.pnl, trip.notional) == (Decimal(-16), Decimal(22500))
    assert trip.return_pct == Decimal(-16) / Decimal(22500) and trip.closed_at == NOW + timedelta(minutes=3)
