"""Positions and PnL from fills, exact in Decimal, each fill applied once."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tradebot.domain.events import OrderFilled
from tradebot.domain.instruments import AssetClass, Instrument
from tradebot.domain.orders import Side
from tradebot.pipeline.portfolio import Portfolio

TS = datetime(2013, 10, 7, 14, 0, tzinfo=UTC)


@pytest.fixture
def portfolio() -> Portfolio:
    mes = Instrument(
        "MES", "CME", AssetClass.FUTURE, "USD", Decimal("0.25"), Decimal(1), Decimal(1), multiplier=Decimal(5)
    )
    return Portfolio(starting_cash=Decimal(10000), instruments={"MES": mes})


def fill(fid: str, side: Side, qty: str, price: str, fee: str = "0.62") -> OrderFilled:
    return OrderFilled(
        "c", "v", fid, "MES", side, Decimal(qty), Decimal(price), Decimal(fee), "USD", TS, Decimal(0)
    )


def test_round_trip_long(portfolio: Portfolio) -> None:
    assert portfolio.apply_fill(fill("1", Side.BUY, "1", "1676.25")) is None
    portfolio.mark("MES", Decimal("1677.00"))
    assert portfolio.unrealized_pnl("MES") == Decimal("3.75")
    closed = portfolio.apply_fill(fill("2", Side.SELL, "1", "1678.00"))
    assert closed is not None
    assert closed.pnl == Decimal("8.75") - Decimal("0.62")  # 1.75 points x 5, less the closing fee
    assert portfolio.position_qty("MES") == 0
    assert portfolio.realized_pnl == Decimal("8.75")
    assert portfolio.fees == Decimal("1.24")
    assert portfolio.equity == Decimal(10000) + Decimal("8.75") - Decimal("1.24")


def test_short_loss_and_flip(portfolio: Portfolio) -> None:
    portfolio.apply_fill(fill("1", Side.SELL, "2", "1676.00", "0"))
    closed = portfolio.apply_fill(fill("2", Side.BUY, "3", "1677.00", "0"))
    assert closed is not None and closed.quantity == 2 and closed.pnl == Decimal("-10.00")
    position = portfolio.positions["MES"]
    assert position.quantity == 1 and position.avg_price == Decimal("1677.00")


def test_averaging_in(portfolio: Portfolio) -> None:
    portfolio.apply_fill(fill("1", Side.BUY, "1", "1676.00", "0"))
    portfolio.apply_fill(fill("2", Side.BUY, "1", "1677.00", "0"))
    assert portfolio.positions["MES"].avg_price == Decimal("1676.50")


def test_a_fill_seen_twice_counts_once(portfolio: Portfolio) -> None:
    portfolio.apply_fill(fill("1", Side.BUY, "1", "1676.25"))
    portfolio.apply_fill(fill("1", Side.BUY, "1", "1676.25"))
    assert portfolio.position_qty("MES") == 1
    assert portfolio.fees == Decimal("0.62")


def test_an_inverse_position_adds_coins_and_realizes_them_at_the_exit() -> None:
    """BTCUSD COIN-M: 10 contracts of 100 USD bought at 20,000 and 10 more at 25,000 hold 0.09 BTC; sold at
    30,000 they are worth 0.09 x 30,000 = 2,700 USD against 2,000 paid: 700 USD."""
    btcusd = Instrument(
        "BTCUSD", "BINANCE_COINM", AssetClass.PERPETUAL, "USD", Decimal("0.1"), Decimal(1), Decimal(1),
        multiplier=Decimal(100), inverse=True,
    )
    book = Portfolio(starting_cash=Decimal(10000), instruments={"BTCUSD": btcusd})

    def coin_fill(fid: str, side: Side, qty: str, price: str) -> OrderFilled:
        return OrderFilled("c", "v", fid, "BTCUSD", side, Decimal(qty), Decimal(price), Decimal(0), "USD", TS,
                           Decimal(0))

    book.apply_fill(coin_fill("1", Side.BUY, "10", "20000"))
    book.apply_fill(coin_fill("2", Side.BUY, "10", "25000"))
    book.mark("BTCUSD", Decimal(30000))
    assert book.unrealized_pnl("BTCUSD") == Decimal("700.00000000")
    closed = book.apply_fill(coin_fill("3", Side.SELL, "20", "30000"))
    assert closed is not None and closed.pnl == Decimal("700.00000000")
    assert book.equity == Decimal("10700.00000000")
