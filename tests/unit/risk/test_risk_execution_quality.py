from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tradebot.domain.events import OrderAccepted, OrderFilled, OrderRejected
from tradebot.domain.orders import Side
from tradebot.risk.execution_quality import ExecutionQuality

T0 = datetime(2024, 3, 12, 14, 0, tzinfo=UTC)


def _fill(cid: str, price: str) -> OrderFilled:
    return OrderFilled(
        cid, "v", f"f-{cid}", "X", Side.BUY, Decimal(1), Decimal(price), Decimal(0), "USD", T0, Decimal(0)
    )


def test_no_history_is_perfect() -> None:
    assert ExecutionQuality().score(T0) == 1.0


def test_rejects_slippage_and_latency_lower_the_score() -> None:
    eqs = ExecutionQuality()
    eqs.on_submitted("a", Side.BUY, Decimal(100), T0)
    eqs.on_order_event(OrderRejected("a", "no", T0), T0 + timedelta(milliseconds=100))
    eqs.on_submitted("b", Side.BUY, Decimal(100), T0)
    eqs.on_order_event(OrderAccepted("b", "v", T0), T0 + timedelta(milliseconds=100))
    eqs.on_order_event(_fill("b", "100.10"), T0)  # 10 bps against a 5 bps tolerance: full slip penalty 0.5
    eqs.on_submitted("c", Side.BUY, Decimal(100), T0)
    eqs.on_order_event(OrderAccepted("c", "v", T0), T0 + timedelta(milliseconds=3000))  # 1 s late: 0.25
    eqs.on_submitted("d", Side.BUY, Decimal(100), T0)
    eqs.on_order_event(_fill("d", "99.90"), T0)  # favourable: no penalty
    assert abs(eqs.score(T0) - (1 - (1.0 + 0.5 + 0.25 + 0.0) / 4)) < 1e-9


def test_missing_ack_counts_at_query_time() -> None:
    eqs = ExecutionQuality()
    eqs.on_submitted("a", Side.SELL, Decimal(100), T0)
    assert eqs.score(T0 + timedelta(seconds=1)) == 1.0
    assert eqs.score(T0 + timedelta(seconds=5)) == 0.5


def test_an_order_found_at_the_venue_after_a_restart_is_not_charged_an_unmeasured_latency() -> None:
    restart = T0 + timedelta(minutes=5)
    eqs = ExecutionQuality()
    eqs.on_submitted("lost-ack", Side.BUY, Decimal(100), T0)  # its acknowledgement was lost with a kill
    eqs.on_submitted("recovered", Side.BUY, Decimal(100), T0)
    eqs.on_order_event(_fill("recovered", "100.10"), restart)  # a fill recovered at restart: 10 bps slip
    eqs.on_submitted("seen", Side.BUY, Decimal(100), T0)
    eqs.on_order_event(OrderAccepted("seen", "v", T0), T0 + timedelta(milliseconds=3000))  # 1 s late: 0.25
    for cid in ("lost-ack", "recovered", "seen"):
        eqs.on_found_at_venue(cid, restart)
    # no latency for the first two (unknown); the slippage stays; the latency seen live stays
    assert abs(eqs.score(restart) - (1 - (0.0 + 0.5 + 0.25) / 3)) < 1e-9


def test_a_low_score_recovers_once_its_orders_age_out() -> None:
    eqs = ExecutionQuality()
    eqs.on_submitted("a", Side.BUY, Decimal(100), T0)
    eqs.on_order_event(OrderRejected("a", "no", T0), T0 + timedelta(milliseconds=100))
    assert eqs.score(T0 + timedelta(minutes=59)) == 0.0  # the reject still counts within the hour
    assert eqs.score(T0 + timedelta(minutes=61)) == 1.0  # no order since: nothing recent to judge


def test_only_the_orders_past_the_age_limit_leave_the_window() -> None:
    eqs = ExecutionQuality()
    eqs.on_submitted("old", Side.BUY, Decimal(100), T0)
    eqs.on_order_event(OrderRejected("old", "no", T0), T0)
    later = T0 + timedelta(minutes=50)
    eqs.on_submitted("new", Side.BUY, Decimal(100), later)
    eqs.on_order_event(OrderRejected("new", "no", later), later)
    eqs.on_submitted("ok", Side.BUY, Decimal(100), later)
    eqs.on_order_event(OrderAccepted("ok", "v", later), later)
    assert eqs.score(later) == 1 - 2 / 3
    assert eqs.score(T0 + timedelta(minutes=70)) == 0.5  # "old" aged out; "new" and "ok" remain
