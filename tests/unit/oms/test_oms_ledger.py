"""The write-ahead ledger follows venue events; repeats and strays change nothing."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tradebot.domain.events import OrderAccepted, OrderCanceled, OrderFilled, OrderRejected, OrderStatus
from tradebot.domain.orders import Bracket, OrderRequest, OrderType, Side, child_order_id
from tradebot.oms import ledger as ledger_module
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


@pytest.fixture
def keep_four(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ledger keeps 4 finished orders (the default keeps thousands: ``domain/recent.py``)."""
    monkeypatch.setattr(ledger_module, "RETAINED", 4)


def _filled_order(ledger: Ledger, cid: str) -> None:
    ledger.record_intent(request(cid))
    ledger.apply(filled(cid, f"f-{cid}", "2", "0"))


def test_old_finished_orders_are_forgotten_open_and_recent_ones_kept(keep_four: None) -> None:
    ledger = Ledger()
    ledger.record_intent(request("working"))
    for i in range(10):
        _filled_order(ledger, f"o{i}")
    assert "o0" not in ledger and "o5" not in ledger
    assert all(f"o{i}" in ledger for i in range(6, 10)) and "working" in ledger
    assert [e.client_order_id for e in ledger.open_entries()] == ["working"]


def test_a_filled_bracket_entry_stays_until_its_legs_are_known_finished(keep_four: None) -> None:
    ledger = Ledger()
    ledger.record_intent(request("b", bracket=Bracket(Decimal("1674.25"), Decimal("1680.25"))))
    ledger.apply(filled("b", "fb", "2", "0"))  # legs not heard of yet: made from its request later
    for i in range(8):
        _filled_order(ledger, f"o{i}")
    assert "b" in ledger
    stop_id, target_id = child_order_id("b", "sl"), child_order_id("b", "tp")
    assert ledger.apply(filled(stop_id, "fs", "2", "0", side=Side.SELL))
    assert ledger.get(stop_id).reduce_only  # type: ignore[union-attr]  # made from the parent's request
    assert ledger.apply(OrderCanceled(target_id, TS))
    for i in range(8, 20):
        _filled_order(ledger, f"o{i}")
    assert "b" not in ledger and stop_id not in ledger and target_id not in ledger
    assert len(ledger.entries()) <= 4 + 3  # the bound, and at most the bracket's three entries waiting
