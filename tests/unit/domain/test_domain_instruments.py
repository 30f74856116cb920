"""Exact Decimal rounding for the three kinds of instrument tradebot trades."""

from decimal import Decimal

import pytest

from tradebot.domain.instruments import AssetClass, Instrument, PriceRounding


@pytest.fixture
def mes() -> Instrument:
    return Instrument(
        "MES",
        "CME",
        AssetClass.FUTURE,
        "USD",
        Decimal("0.25"),
        Decimal(1),
        Decimal(1),
        multiplier=Decimal(5),
        calendar="CME",
    )


@pytest.fixture
def btcusdt() -> Instrument:
    return Instrument(
        "BTCUSDT",
        "BINANCE",
        AssetClass.PERPETUAL,
        "USDT",
        Decimal("0.1"),
        Decimal("0.001"),
        Decimal("0.001"),
        min_notional=Decimal(100),
    )


@pytest.fixture
def spy() -> Instrument:
    return Instrument(
        "SPY",
        "ALPACA",
        AssetClass.EQUITY,
        "USD",
        Decimal("0.01"),
        Decimal(1),
        Decimal(1),
        calendar="XNYS",
        sub_dollar_tick=Decimal("0.0001"),
    )


@pytest.mark.parametrize(
    ("raw", "nearest", "down", "up"),
    [
        ("1676.13", "1676.25", "1676.00", "1676.25"),
        ("1676.125", "1676.00", "1676.00", "1676.25"),  # a half tick rounds to even
        ("1676.375", "1676.50", "1676.25", "1676.50"),
        ("1676.25", "1676.25", "1676.25", "1676.25"),
    ],
)
def test_mes_prices_round_to_quarter_points(
    mes: Instrument, raw: str, nearest: str, down: str, up: str
) -> None:
    assert mes.round_price(Decimal(raw)) == Decimal(nearest)
    assert mes.round_price(Decimal(raw), PriceRounding.DOWN) == Decimal(down)
    assert mes.round_price(Decimal(raw), PriceRounding.UP) == Decimal(up)


def test_mes_tick_value_and_notional(mes: Instrument) -> None:
    assert mes.tick_value == Decimal("1.25")
    assert mes.notional(Decimal("1676.25"), Decimal(1)) == Decimal("8381.25")
    assert mes.round_qty(Decimal("1.9")) == Decimal(1)
    assert mes.is_valid_price(Decimal("1676.75")) and not mes.is_valid_price(Decimal("1676.1"))


def test_floats_are_converted_exactly_not_binary(mes: Instrument, btcusdt: Instrument) -> None:
    assert btcusdt.round_price(59000.15) == Decimal("59000.2")  # 0.15 is not 0.1499999... here
    assert mes.round_price(0.1 + 0.2) == Decimal("0.25")


def test_btcusdt_steps(btcusdt: Instrument) -> None:
    assert btcusdt.round_price(Decimal("59000.149")) == Decimal("59000.1")
    assert btcusdt.round_qty(Decimal("0.0109")) == Decimal("0.010")
    assert btcusdt.round_qty(Decimal("-0.0109")) == Decimal("-0.010")
    assert btcusdt.round_qty(Decimal("0.0009")) == Decimal("0.000")
    assert btcusdt.is_valid_qty(Decimal("0.010")) and not btcusdt.is_valid_qty(Decimal("0.0105"))
    assert str(btcusdt.round_qty(Decimal("1"))) == "1.000"


def test_equity_cents_and_sub_dollar_ticks(spy: Instrument) -> None:
    assert spy.round_price(Decimal("168.456")) == Decimal("168.46")
    assert spy.round_price(Decimal("168.454"), PriceRounding.UP) == Decimal("168.46")
    assert spy.round_price(Decimal("0.12345")) == Decimal("0.1234")  # half-even on the finer grid
    assert spy.tick_for(Decimal("0.5")) == Decimal("0.0001")


def test_instrument_refuses_nonsense_specs() -> None:
    with pytest.raises(ValueError, match="tick_size"):
        Instrument("X", "V", AssetClass.EQUITY, "USD", Decimal(0), Decimal(1), Decimal(1))
    with pytest.raises(ValueError, match="lot_step"):
        Instrument("X", "V", AssetClass.EQUITY, "USD", Decimal("0.01"), Decimal(-1), Decimal(1))
