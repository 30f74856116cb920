from datetime import timedelta
from decimal import Decimal

from risk_testkit import NOW, ctx, intent

from tradebot.domain import reasons
from tradebot.risk.pretrade_duplicate import DuplicateOrderGate, intent_key
from tradebot.risk.verdict import Outcome

GATE = DuplicateOrderGate()


def test_same_intent_id_is_a_duplicate() -> None:
    verdict = GATE.check(intent(), ctx(submitted_intent_ids=frozenset({intent().intent_id})))
    assert (verdict.code, verdict.details["problem"]) == (
        reasons.DUPLICATE_ORDER_BLOCK,
        "same_client_order_id",
    )


def test_same_symbol_side_qty_bar_is_a_duplicate() -> None:
    sent = frozenset({intent_key(intent(intent_id="MES-other", quantity=Decimal("1.00")))})
    verdict = GATE.check(intent(), ctx(submitted_keys=sent))
    assert verdict.details["problem"] == "same_symbol_side_qty_bar"
    next_bar = intent(bar_ts=NOW + timedelta(minutes=1))
    assert GATE.check(next_bar, ctx(submitted_keys=sent)).outcome is Outcome.PASS
