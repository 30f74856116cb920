from datetime import date, timedelta
from decimal import Decimal

import pytest
from risk_testkit import NOW, constitution, ctx, intent

from tradebot.domain import reasons
from tradebot.domain.bars import Bar
from tradebot.domain.orders import OrderType, Side
from tradebot.risk.liquidity_regime import RegimeBars
from tradebot.risk.pretrade_price_collar import PriceCollarGate
from tradebot.risk.verdict import Outcome

GATE = PriceCollarGate(constitution())


def test_collar_against_last() -> None:  # MES collar 0.5 %
    assert GATE.check(intent(reference_price=Decimal(4522)), ctx()).outcome is Outcome.PASS
    verdict = GATE.check(intent(reference_price=Decimal(4523)), ctx())
    assert (verdict.code, verdict.details["basis"]) == (reasons.PRICE_COLLAR_BLOCK, "last")


def test_collar_prefers_mid_and_checks_limit_price() -> None:
    limit = intent(order_type=OrderType.LIMIT, limit_price=Decimal(4400))
    verdict = GATE.check(limit, ctx(mid_price=Decimal(4500)))
    assert (verdict.code, verdict.details["basis"]) == (reasons.PRICE_COLLAR_BLOCK, "mid")
    assert GATE.check(limit, ctx(last_price=Decimal(4500), mid_price=Decimal(4401))).outcome is Outcome.PASS


def test_no_reference_price_blocks() -> None:
    assert GATE.check(intent(), ctx(last_price=Decimal(0))).code == reasons.PRICE_COLLAR_BLOCK


def _thin_mes() -> dict[type, object]:
    """The regime view of MES after a calm day and an hour twice as volatile: THIN (vol > 1.8x normal)."""
    state = RegimeBars()
    start = NOW - timedelta(minutes=660)
    for n, width in enumerate([0.5] * 600 + [1.0] * 60):  # points of range around 4500
        bar = Bar(
            "MES", start + timedelta(minutes=n), 4500.0, 4500 + width / 2, 4500 - width / 2, 4500.0, 100.0
        )
        state.on_bar(bar, date(2024, 3, 12), bar.end)
    view = state.view(intent(), NOW)
    return {type(view): view}


def test_a_thin_regime_narrows_an_entrys_collar_by_its_multiplier() -> None:  # 0.5 % x 0.8 = 0.4 %
    entry = intent(reference_price=Decimal(4519))  # 0.42 % from the last price
    assert GATE.check(entry, ctx()).details == {
        "deviation": str(Decimal(4519) / 4500 - 1),
        "basis": "last",
        "regime": "NORMAL",
    }
    verdict = GATE.check(entry, ctx(views=_thin_mes()))
    assert verdict.code == reasons.PRICE_COLLAR_BLOCK
    assert verdict.details["regime"] == "THIN" and verdict.details["collar_mult"] == "0.8"
    assert Decimal(verdict.details["collar_pct"]) == Decimal("0.004")
    assert GATE.check(intent(reference_price=Decimal(4517)), ctx(views=_thin_mes())).outcome is Outcome.PASS


def test_an_exits_collar_never_narrows_nor_needs_the_regime() -> None:
    exit_ = intent(reference_price=Decimal(4519), reduce_only=True, side=Side.SELL, exit_plan=None)
    for views in (_thin_mes(), {}):
        verdict = GATE.check(exit_, ctx(views=views))
        assert verdict.outcome is Outcome.PASS and "regime" not in verdict.details
    assert GATE.check(intent(reference_price=Decimal(4523), reduce_only=True), ctx(views={})).code == (
        reasons.PRICE_COLLAR_BLOCK  # the plain collar still holds for an exit
    )
    with pytest.raises(LookupError):  # an entry without the regime's view fails closed
        GATE.check(intent(), ctx(views={}))
