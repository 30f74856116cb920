"""Alpaca assets → Instruments (US equities: tick 0.01, 0.0001 under $1, whole or fractional shares)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from alpaca.trading.models import Asset

from tradebot.domain.errors import BrokerError, ErrorAction, ErrorCategory, ErrorClass, ErrorScope
from tradebot.domain.instruments import AssetClass, Instrument

VENUE = "alpaca"
TICK = Decimal("0.01")
SUB_DOLLAR_TICK = Decimal("0.0001")
WHOLE_SHARE = Decimal(1)
FRACTION_STEP = Decimal("0.000000001")  # Alpaca accepts up to 9 decimals for fractional orders


@dataclass(frozen=True, slots=True)
class AssetFlags:
    """What the asset lookup says beyond the increments."""

    symbol: str
    tradable: bool
    shortable: bool
    easy_to_borrow: bool
    fractionable: bool
    marginable: bool


def asset_flags(asset: Asset) -> AssetFlags:
    return AssetFlags(
        symbol=asset.symbol,
        tradable=bool(asset.tradable),
        shortable=bool(asset.shortable),
        easy_to_borrow=bool(asset.easy_to_borrow),
        fractionable=bool(asset.fractionable),
        marginable=bool(asset.marginable),
    )


def _decimal_or(value: float | None, default: Decimal) -> Decimal:
    if value is None or value <= 0:
        return default
    return Decimal(repr(value))


def instrument_from_asset(asset: Asset) -> Instrument:
    """The Instrument for a tradable, active US-equity asset; anything else is refused by name."""
    status = getattr(asset.status, "value", asset.status)
    if not asset.tradable or status != "active":
        raise BrokerError(
            f"alpaca asset {asset.symbol} is not tradable (tradable={asset.tradable}, status={status})",
            ErrorClass(ErrorCategory.BROKER_STATE, ErrorScope.SYMBOL, ErrorAction.SKIP_SYMBOL,
                       "INSTRUMENT_NOT_TRADABLE", details={"symbol": asset.symbol, "status": str(status)}),
        )
    if asset.fractionable:
        lot_step = _decimal_or(asset.min_trade_increment, FRACTION_STEP)
        min_qty = _decimal_or(asset.min_order_size, lot_step)
    else:
        lot_step = WHOLE_SHARE
        min_qty = WHOLE_SHARE
    min_notional = Decimal(1) if asset.fractionable else Decimal(0)  # Alpaca: fractional orders >= $1
    tick = _decimal_or(asset.price_increment, TICK)
    return Instrument(
        symbol=asset.symbol,
        venue=VENUE,
        asset_class=AssetClass.EQUITY,
        currency="USD",
        tick_size=tick,
        lot_step=lot_step,
        min_qty=min_qty,
        min_notional=min_notional,
        calendar="XNYS",
        sub_dollar_tick=SUB_DOLLAR_TICK,
    )
