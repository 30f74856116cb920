"""Instrument presets: the common instruments' venue specs, so a config never has to spell them out.

``preset(symbol)`` is the spec as the ``[instruments.X]`` table would give it (field names of
``Instrument``); an explicit table in the config is laid over it field by field (a table that sets only
``min_qty`` keeps the preset's tick, lot step and multiplier). ``price_band(symbol)`` is the range of prices
the instrument has plausibly traded at, used to refuse a bar file that belongs to another instrument (SPY at
130 fed as MES, which trades in the thousands).

Specs as the venues publish them (CME contract specs, Binance USD-M and COIN-M exchange info, US equity
tick rules).
Futures presets describe the contract, not a particular expiry; their calendar is CME Globex.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

_CME_INDEX = {"venue": "CME", "asset_class": "FUTURE", "currency": "USD", "lot_step": "1", "min_qty": "1",
              "calendar": "CME"}
_US_EQUITY = {"venue": "NYSE", "asset_class": "EQUITY", "currency": "USD", "tick_size": "0.01",
              "lot_step": "1", "min_qty": "1", "multiplier": "1", "calendar": "NYSE",
              "sub_dollar_tick": "0.0001"}
_BINANCE_USDM = {"venue": "BINANCE", "asset_class": "PERPETUAL", "currency": "USDT", "multiplier": "1",
                 "calendar": "24/7"}
# COIN-M: inverse contracts of a fixed USD face, margined and settled in the coin
_BINANCE_COINM = {"venue": "BINANCE_COINM", "asset_class": "PERPETUAL", "currency": "USD", "lot_step": "1",
                  "min_qty": "1", "calendar": "24/7", "inverse": "true"}

_PRESETS: dict[str, dict[str, str]] = {
    # CME equity index futures: E-mini and Micro E-mini S&P 500, Nasdaq-100
    "ES": {**_CME_INDEX, "tick_size": "0.25", "multiplier": "50"},
    "MES": {**_CME_INDEX, "tick_size": "0.25", "multiplier": "5"},
    "NQ": {**_CME_INDEX, "tick_size": "0.25", "multiplier": "20"},
    "MNQ": {**_CME_INDEX, "tick_size": "0.25", "multiplier": "2"},
    # CME Euro FX futures: 125,000 EUR, tick 0.00005 USD per EUR
    "6E": {**_CME_INDEX, "tick_size": "0.00005", "multiplier": "125000"},
    # US equities and ETFs (whole shares; below $1 the sub-penny tick)
    "SPY": dict(_US_EQUITY),
    "QQQ": {**_US_EQUITY, "venue": "NASDAQ"},
    "AAPL": {**_US_EQUITY, "venue": "NASDAQ"},
    "NVDA": {**_US_EQUITY, "venue": "NASDAQ"},
    "ORCL": dict(_US_EQUITY),
    # Binance USD-M perpetuals (linear, settled in USDT)
    "BTCUSDT": {**_BINANCE_USDM, "tick_size": "0.1", "lot_step": "0.001", "min_qty": "0.001",
                "min_notional": "100"},
    "ETHUSDT": {**_BINANCE_USDM, "tick_size": "0.01", "lot_step": "0.001", "min_qty": "0.001",
                "min_notional": "20"},
    "ADAUSDT": {**_BINANCE_USDM, "tick_size": "0.0001", "lot_step": "1", "min_qty": "1", "min_notional": "5"},
    "XRPUSDT": {**_BINANCE_USDM, "tick_size": "0.0001", "lot_step": "0.1", "min_qty": "0.1",
                "min_notional": "5"},
    # Binance COIN-M perpetual BTCUSD_PERP: contracts of 100 USD
    "BTCUSD": {**_BINANCE_COINM, "tick_size": "0.1", "multiplier": "100"},
}

# (low, high): prices the instrument has plausibly traded at, wide on purpose (decades, splits, crashes)
_PRICE_BANDS: dict[str, tuple[str, str]] = {
    "ES": ("300", "20000"),
    "MES": ("300", "20000"),
    "NQ": ("500", "60000"),
    "MNQ": ("500", "60000"),
    "6E": ("0.5", "2.5"),
    "SPY": ("30", "2000"),
    "QQQ": ("10", "2000"),
    "AAPL": ("0.05", "2000"),
    "NVDA": ("0.01", "5000"),
    "ORCL": ("0.5", "2000"),
    "BTCUSDT": ("1000", "1000000"),
    "BTCUSD": ("1000", "1000000"),
    "ETHUSDT": ("10", "100000"),
    "ADAUSDT": ("0.001", "100"),
    "XRPUSDT": ("0.01", "100"),
}


def preset_symbols() -> tuple[str, ...]:
    return tuple(sorted(_PRESETS))


def preset(symbol: str) -> dict[str, Any] | None:
    """The preset spec of ``symbol`` (a fresh dict: ``[instruments.X]`` fields), or None."""
    spec = _PRESETS.get(symbol)
    return dict(spec) if spec is not None else None


def price_band(symbol: str) -> tuple[Decimal, Decimal] | None:
    band = _PRICE_BANDS.get(symbol)
    return (Decimal(band[0]), Decimal(band[1])) if band is not None else None
