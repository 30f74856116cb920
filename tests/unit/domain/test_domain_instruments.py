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


@pytest.fixture
def btcusd() -> Instrument:
    """Binance COIN-M BTCUSD perpetual: inverse, contracts of 100 USD."""
    return Instrument(
        "BTCUSD", "BINANCE_COINM", AssetClass.PERPETUAL, "USD", Decimal("0.1"), Decimal(1), Decimal(1),
        multiplier=Decimal(100), inverse=True,
    )


def test_a_linear_contract_is_worth_price_times_multiplier(mes: Instrument) -> None:
    assert mes.notional(Decimal(4500), Decimal(-2)) == Decimal(45000)
    assert mes.point_value(Decimal(4500)) == Decimal(5)
    assert mes.pnl(Decimal(4500), Decimal("4510.25"), Decimal(-2)) == Decimal("-102.50")
    assert mes.average_entry(Decimal(4500), Decimal(1), Decimal(4510), Decimal(3)) == Decimal("4507.5")


def test_an_inverse_contract_is_worth_its_face_at_any_price(btcusd: Instrument) -> None:
    assert btcusd.notional(Decimal(17000), Decimal(10)) == Decimal(1000)
    assert btcusd.notional(Decimal(34000), Decimal(-10)) == Decimal(1000)


def test_an_inverse_contract_earns_its_coin_valued_at_the_exit(btcusd: Instrument) -> None:
    # long 10 contracts (1,000 USD) from 20,000 to 25,000: 0.05 - 0.04 = 0.01 BTC, 250 USD at 25,000
    assert btcusd.pnl(Decimal(20000), Decimal(25000), Decimal(10)) == Decimal("250.00000000")
    # the same move short loses as much, and a fall is worth less than the rise to a long (convexity)
    assert btcusd.pnl(Decimal(20000), Decimal(25000), Decimal(-10)) == Decimal("-250.00000000")
    assert btcusd.pnl(Decimal(20000), Decimal(15000), Decimal(10)) == Decimal("-250.00000000")
    assert btcusd.pnl(Decimal("17126.3"), Decimal("17153.3"), Decimal(-10)) == Decimal("-1.57652266")
    assert btcusd.point_value(Decimal(20000)) == Decimal("0.005")


def test_an_inverse_average_entry_is_harmonic(btcusd: Instrument) -> None:
    # 1,000 USD at 20,000 (0.05 BTC) and 1,000 USD at 25,000 (0.04 BTC): 2,000 USD for 0.09 BTC
    avg = btcusd.average_entry(Decimal(20000), Decimal(10), Decimal(25000), Decimal(10))
    assert avg == Decimal(2000) / Decimal("0.09")
    assert btcusd.average_entry(Decimal(0), Decimal(0), Decimal(25000), Decimal(3)) == Decimal(25000)
    # closing both at 30,000 earns what the two legs earn apart
    together = btcusd.pnl(avg, Decimal(30000), Decimal(20))
    apart = btcusd.pnl(Decimal(20000), Decimal(30000), Decimal(10)) + btcusd.pnl(
        Decimal(25000), Decimal(30000), Decimal(10))
    assert abs(together - apart) <= Decimal("1e-8")
