"""The write-ahead ledger follows venue events; repeats and strays change nothing."""

from datetime import UTC, datetime
from decimal import Decimal

from tradebot.domain.events import OrderAccepted, OrderCanceled, OrderFilled, OrderRejected, OrderStatus
from tradebot.domain.orders import Bracket, OrderRequest, OrderType, Side, child_order_id
from tradebot.oms.client_ids import client_order_id
from tradebot.oms.ledger import Ledger

TS = datetime(2013, 10, 7, 14, 0, tzinfo=UTC)


def request(cid: str = "tb-MES-1", bracket: Bracket | None = None) -> OrderRequest:
    return OrderRequest(cid, "MES-1", "MES", Side.BUY, Decimal(2), OrderType.MARKET, TS, bracket=bracket)


def filled(cid: str, fid: str, qty: str, leaves: str, side: Side = Side.BUY) -> OrderFilled:
    return OrderFilled(
        cid, "v1", fid, "MES", side, Decimal(qty), Decimal("1676.25"), Decimal(0), "USD", TS, Decimal(leaves)
    )


def test_lifecycle_with_partial_fills() -> None:
    ledger = Ledger()
    ledger.record_intent(request())
    assert ledger.unacknowledged()[0].status is OrderStatus.PENDING_SUBMIT
    ledger.mark_submitted("tb-MES-1")
    assert ledger.apply(OrderAccepted("tb-MES-1", "v1", TS))
    assert not ledger.apply(OrderAccepted("tb-MES-1", "v1", TS))  # a repeat changes nothing
    assert ledger.working_entry_qty("MES") == 2
    assert ledger.apply(filled("tb-MES-1", "f1", "1", "1"))
    assert ledger.get("tb-MES-1").status is OrderStatus.PARTIALLY_FILLED  # type: ignore[union-attr]
    assert not ledger.apply(filled("tb-MES-1", "f1", "1", "1"))
    assert ledger.apply(filled("tb-MES-1", "f2", "1", "0"))
    entry = ledger.get("tb-MES-1")
    assert entry is not None and entry.status is OrderStatus.FILLED and entry.filled_qty == 2
    assert not ledger.apply(OrderCanceled("tb-MES-1", TS))  # terminal stays terminal
    assert ledger.working_entry_qty("MES") == 0


def test_reject_and_unknown_ids() -> None:
    ledger = Ledger()
    ledger.record_intent(request())
    assert ledger.apply(OrderRejected("tb-MES-1", "margin", TS))
    assert ledger.get("tb-MES-1").reject_reason == "margin"  # type: ignore[union-attr]
    assert not ledger.apply(OrderAccepted("nobody", "v9", TS))


def test_bracket_children_come_from_the_parent() -> None:
    ledger = Ledger()
    ledger.record_intent(request(bracket=Bracket(Decimal("1674.25"), Decimal("1680.25"))))
    stop_id = child_order_id("tb-MES-1", "sl")
    assert ledger.apply(OrderAccepted(stop_id, "v2", TS))
    child = ledger.get(stop_id)
    assert child is not None and child.reduce_only and child.side is Side.SELL
    assert child.order_type is OrderType.STOP and child.request is not None
    assert child.request.stop_price == Decimal("1674.25")


def test_a_client_id_cannot_enter_twice() -> None:
    ledger = Ledger()
    ledger.record_intent(request())
    try:
        ledger.record_intent(request())
    except ValueError as exc:
        assert "already" in str(exc)
    else:
        raise AssertionError("a duplicate client order id was accepted")


def test_client_ids_are_deterministic_short_and_distinct() -> None:
    a = client_order_id("MES-20131007T140000-0")
    assert a == client_order_id("MES-20131007T140000-0")
    assert a != client_order_id("MES-20131007T140100-0")
    assert a != client_order_id("MES-20131007T140000-0", attempt=1)
    assert a.startswith("tb-MES-") and len(a) <= 32


def test_a_duplicate_id_refusal_does_not_reject_the_order_that_stands() -> None:
    ledger = Ledger()
    ledger.record_intent(request())
    ledger.apply(OrderAccepted("tb-MES-1", "v1", TS))
    refusal = OrderRejected("tb-MES-1", "duplicate", TS, venue_code="DUPLICATE_CLIENT_ORDER_ID")
    assert not ledger.apply(refusal)
    assert ledger.get("tb-MES-1").status is OrderStatus.ACCEPTED  # type: ignore[union-attr]
