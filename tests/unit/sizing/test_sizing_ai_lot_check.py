"""The AI sizer's startup check: the largest order it can ever size (max_pct, vol_factor_max, max leverage
where the venue has it) with the starting equity at a representative price; zero means no signal could ever
become an order (LIVE refuses the run, SHADOW warns)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradebot.domain import reasons
from tradebot.domain.instruments import AssetClass, Instrument
from tradebot.sizing import AiSizerParams, SizerMode
from tradebot.sizing.ai_lot_check import check_one_lot

PRICE = Decimal("1675.25")  # the ES week's first bar


@pytest.fixture
def mes() -> Instrument:
    return Instrument("MES", "CME", AssetClass.FUTURE, "USD", Decimal("0.25"), Decimal(1), Decimal(1),
                      multiplier=Decimal(5), calendar="CME")


@pytest.fixture
def btc() -> Instrument:
    return Instrument("BTCUSDT", "BINANCE", AssetClass.PERPETUAL, "USDT", Decimal("0.1"), Decimal("0.001"),
                      Decimal("0.001"), min_notional=Decimal(100))


def params(mode: SizerMode = SizerMode.LIVE, **kw: object) -> AiSizerParams:
    return AiSizerParams(mode=mode, **kw)  # type: ignore[arg-type]


def test_mes_notional_with_ten_thousand_cannot_size_one_contract(mes: Instrument) -> None:
    check = check_one_lot("strategy.ai", params(), mes, Decimal(10000), PRICE, "first bar",
                          has_leverage=False, max_qty=Decimal(1))
    # $10,000 x 2 % x 1.5 = $300 against one contract of 1675.25 x 5 = $8,376.25: 0.0358 of a lot
    assert check.size_usd == Decimal("300.00") and check.leverage is None
    assert check.raw is not None and check.raw.quantize(Decimal("0.0001")) == Decimal("0.0358")
    assert check.quantity == 0 and check.below_one_lot and check.refuses
    assert check.why is not None and "rounds to zero on lot step 1" in check.why
    # one contract needs 8376.25 / 0.03 = 279,208.33 of equity
    assert check.equity_needed == Decimal(279209)
    message = check.message()
    code = reasons.AI_SIZER_BELOW_ONE_LOT
    assert message.startswith(f"strategy.ai: {code}: the AI sizer (LIVE, basis notional)")
    assert "cannot size one MES lot" in message and "279209" in message
    assert check.body()["code"] == reasons.AI_SIZER_BELOW_ONE_LOT


def test_the_equity_it_names_is_enough(mes: Instrument) -> None:
    needed = check_one_lot("k", params(), mes, Decimal(10000), PRICE, "", has_leverage=False,
                           max_qty=None).equity_needed
    assert needed is not None
    enough = check_one_lot("k", params(), mes, needed, PRICE, "", has_leverage=False, max_qty=None)
    short = check_one_lot("k", params(), mes, needed - 1, PRICE, "", has_leverage=False, max_qty=None)
    assert enough.quantity == 1 and short.quantity == 0


def test_shadow_below_one_lot_warns_and_does_not_refuse(mes: Instrument) -> None:
    check = check_one_lot("strategy.ai", params(SizerMode.SHADOW), mes, Decimal(10000), PRICE, "first bar",
                          has_leverage=False, max_qty=None)
    assert check.below_one_lot and not check.refuses
    assert check.warning is not None and "SHADOW: it only records" in check.warning


def test_risk_basis_sizes_mes_by_its_stop_and_the_position_limit_caps_it(mes: Instrument) -> None:
    check = check_one_lot("strategy.ai", params(basis="risk"), mes, Decimal(10000), PRICE, "first bar",
                          has_leverage=False, max_qty=Decimal(1))
    # $300 over a one-tick stop of $1.25: 240 contracts at most, capped to the 1-contract position limit
    assert check.raw == Decimal(240) and check.quantity == 1
    assert not check.below_one_lot and check.warning is None


def test_leverage_counts_only_where_the_venue_has_it(btc: Instrument) -> None:
    # $1,000: $30 at most; x 80 leverage = $2,400 of BTC at 20,000: 0.12 BTC
    levered = check_one_lot("k", params(), btc, Decimal(1000), Decimal(20000), "", has_leverage=True,
                            max_qty=None)
    assert levered.leverage == Decimal(80) and levered.quantity == Decimal("0.120")
    # without leverage: $30 is 0.001 BTC, $20 of notional, under the $100 minimum: $5,000 of notional
    # (0.005 BTC) needs about 1000 x 0.005 / 0.0015 = 3,334 of equity
    plain = check_one_lot("k", params(), btc, Decimal(1000), Decimal(20000), "", has_leverage=False,
                          max_qty=None)
    assert plain.quantity == 0 and plain.why == "notional 20.0000 under the minimum 100"
    assert plain.equity_needed == Decimal(3334)


def test_a_position_limit_under_one_lot_names_no_equity(mes: Instrument) -> None:
    check = check_one_lot("k", params(basis="risk"), mes, Decimal(10000), PRICE, "", has_leverage=False,
                          max_qty=Decimal("0.5"))
    assert check.quantity == 0 and check.equity_needed is None  # more equity would not help


def test_without_a_price_nothing_is_checked_and_it_says_how_to_have_it(mes: Instrument) -> None:
    check = check_one_lot("strategy.ai", params(), mes, Decimal(10000), None, "no bar file",
                          has_leverage=False, max_qty=None)
    assert not check.checked and not check.refuses
    assert check.warning is not None and "set strategy.ai.reference_prices.MES" in check.warning
