from decimal import Decimal

from risk_testkit import BTC, MES, intent

from tradebot.domain.orders import OrderType, Side
from tradebot.risk import measures


def test_mes_risk_and_ticks() -> None:
    assert measures.trade_risk(intent(), MES) == Decimal(15)
    assert measures.stop_distance_ticks(intent(), MES) == Decimal(12)
    assert measures.notional(intent(), MES) == Decimal(22500)


def test_entry_price_and_leverage() -> None:
    limit = intent(order_type=OrderType.LIMIT, limit_price=Decimal(4490))
    assert measures.entry_price(limit) == Decimal(4490)
    assert measures.leverage_of(intent(leverage=Decimal(10)), MES) == 1  # futures: no leverage parameter
    btc = intent(symbol="BTCUSDT", leverage=Decimal(10), reference_price=Decimal(1000))
    assert measures.exposure(btc, BTC) == Decimal(100)


def test_reduces_and_adds() -> None:
    assert measures.reduces_exposure(intent(side=Side.SELL), Decimal(2))
    assert not measures.reduces_exposure(intent(side=Side.SELL, quantity=Decimal(3)), Decimal(2))
    assert measures.adds_to_position(intent(), Decimal(1)) and not measures.adds_to_position(
        intent(), Decimal(0)
    )
