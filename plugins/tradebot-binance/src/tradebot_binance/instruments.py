"""exchangeInfo → Instrument: tick size, step size, minimum quantity and notional, precisions, status."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from tradebot.domain.instruments import AssetClass, Instrument

VENUE = "BINANCE_USDM"
TRADING = "TRADING"


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """What exchangeInfo says about one USD-M symbol, beyond the Instrument."""

    instrument: Instrument
    status: str
    contract_type: str
    price_precision: int
    quantity_precision: int
    order_types: frozenset[str]
    market_max_qty: Decimal | None

    @property
    def tradable(self) -> bool:
        return self.status == TRADING


def _plain(value: Decimal) -> Decimal:
    """Normalized without exponent notation: 100 stays 100 (not 1E+2), 0.00100 becomes 0.001."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _dec(value: Any, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError(f"exchangeInfo {where}: not a number: {value!r}") from None


def parse_symbol(raw: Mapping[str, Any]) -> SymbolInfo:
    """One ``symbols[]`` entry of /fapi/v1/exchangeInfo. Raises ValueError naming the bad field."""
    symbol = str(raw.get("symbol", ""))
    if not symbol:
        raise ValueError("exchangeInfo symbol entry without 'symbol'")
    filters = {str(f.get("filterType")): f for f in raw.get("filters", [])}
    for needed in ("PRICE_FILTER", "LOT_SIZE"):
        if needed not in filters:
            raise ValueError(f"exchangeInfo {symbol}: filter {needed} missing")
    price_filter, lot = filters["PRICE_FILTER"], filters["LOT_SIZE"]
    min_notional = Decimal(0)
    if "MIN_NOTIONAL" in filters:
        min_notional = _dec(filters["MIN_NOTIONAL"].get("notional", "0"), f"{symbol}.MIN_NOTIONAL.notional")
    market_max: Decimal | None = None
    if "MARKET_LOT_SIZE" in filters:
        market_max = _dec(filters["MARKET_LOT_SIZE"].get("maxQty", "0"), f"{symbol}.MARKET_LOT_SIZE.maxQty")
    max_qty = _dec(lot.get("maxQty", "0"), f"{symbol}.LOT_SIZE.maxQty")
    instrument = Instrument(
        symbol=symbol,
        venue=VENUE,
        asset_class=AssetClass.PERPETUAL,
        currency=str(raw.get("quoteAsset", raw.get("marginAsset", "USDT"))),
        tick_size=_plain(_dec(price_filter.get("tickSize"), f"{symbol}.PRICE_FILTER.tickSize")),
        lot_step=_plain(_dec(lot.get("stepSize"), f"{symbol}.LOT_SIZE.stepSize")),
        min_qty=_plain(_dec(lot.get("minQty", "0"), f"{symbol}.LOT_SIZE.minQty")),
        multiplier=Decimal(1),
        min_notional=_plain(min_notional),
        calendar="24/7",
        max_qty=_plain(max_qty) if max_qty > 0 else None,
    )
    return SymbolInfo(
        instrument=instrument,
        status=str(raw.get("status", "")),
        contract_type=str(raw.get("contractType", "")),
        price_precision=int(raw.get("pricePrecision", 8)),
        quantity_precision=int(raw.get("quantityPrecision", 8)),
        order_types=frozenset(str(t) for t in raw.get("orderTypes", [])),
        market_max_qty=_plain(market_max) if market_max else None,
    )


def parse_exchange_info(info: Mapping[str, Any]) -> dict[str, SymbolInfo]:
    symbols = info.get("symbols")
    if not isinstance(symbols, list):
        raise ValueError("exchangeInfo: 'symbols' missing or not a list")
    return {s.instrument.symbol: s for s in (parse_symbol(raw) for raw in symbols)}


def format_decimal(value: Decimal) -> str:
    """A Decimal as Binance wants it: plain notation, no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return text
