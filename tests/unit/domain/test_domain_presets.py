"""Instrument presets: common instruments need no table; a table is laid over the preset key by key."""

from decimal import Decimal
from pathlib import Path

import pytest

from tradebot.domain.instruments import AssetClass
from tradebot.domain.presets import preset, preset_symbols, price_band
from tradebot.settings import load_settings


def _settings(tmp_path: Path, text: str = ""):  # type: ignore[no-untyped-def]
    path = tmp_path / "tradebot.toml"
    path.write_text(text)
    return load_settings(path)


@pytest.mark.parametrize(
    "symbol",
    ["MES", "ES", "MNQ", "SPY", "QQQ", "AAPL", "NVDA", "BTCUSDT", "ETHUSDT", "ADAUSDT", "6E", "BTCUSD"],
)
def test_the_common_instruments_have_presets(tmp_path: Path, symbol: str) -> None:
    assert symbol in preset_symbols() and price_band(symbol) is not None
    instrument = _settings(tmp_path).instrument(symbol)
    assert instrument.symbol == symbol and instrument.tick_size > 0


def test_presets_carry_the_venue_specs(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    mes, btc, spy = settings.instrument("MES"), settings.instrument("BTCUSDT"), settings.instrument("SPY")
    assert (mes.multiplier, mes.tick_size, mes.calendar) == (Decimal(5), Decimal("0.25"), "CME")
    assert btc.asset_class is AssetClass.PERPETUAL and btc.min_notional == Decimal(100)
    assert (spy.calendar, spy.sub_dollar_tick) == ("NYSE", Decimal("0.0001"))
    coin_m = settings.instrument("BTCUSD")  # COIN-M: inverse contracts of 100 USD
    assert coin_m.inverse and not btc.inverse and not mes.inverse
    assert (coin_m.multiplier, coin_m.tick_size, coin_m.lot_step, coin_m.calendar) == (
        Decimal(100), Decimal("0.1"), Decimal(1), "24/7")


def test_a_table_is_laid_over_the_preset_field_by_field(tmp_path: Path) -> None:
    settings = _settings(tmp_path, '[instruments.BTCUSDT]\nmin_qty = "0.01"\n')
    btc = settings.instrument("BTCUSDT")
    assert btc.min_qty == Decimal("0.01")  # the table's
    assert btc.tick_size == Decimal("0.1") and btc.min_notional == Decimal(100)  # the preset's


def test_an_instrument_with_neither_table_nor_preset_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="no preset for ZZZ"):
        _settings(tmp_path).instrument("ZZZ")
    assert preset("ZZZ") is None
