"""A bar file whose prices do not fit the instrument it is fed as is refused with a reason."""

from decimal import Decimal
from pathlib import Path

from tradebot.domain.instruments import AssetClass, Instrument
from tradebot.feeds.price_fit import check_price_fit, file_price_fit

REPO = Path(__file__).resolve().parents[3]
SPY_WEEK = REPO.parent / "shared" / "data" / "spy_1m_2013-10-04_2013-10-11.csv"
ES_WEEK = REPO / "src" / "tradebot" / "data" / "es_esz13_1m_2013-10-06_2013-10-11.csv"


def _instrument(symbol: str, tick: str = "0.25") -> Instrument:
    return Instrument(symbol, "X", AssetClass.FUTURE, "USD", Decimal(tick), Decimal(1), Decimal(1))


def test_spy_prices_fed_as_mes_are_refused_naming_the_range() -> None:
    why = file_price_fit(SPY_WEEK, _instrument("MES"))
    assert why is not None and "outside the range MES trades in (300 .. 20000)" in why


def test_the_right_files_fit() -> None:
    assert file_price_fit(ES_WEEK, _instrument("MES")) is None
    assert file_price_fit(SPY_WEEK, _instrument("SPY", "0.01")) is None


def test_without_a_band_most_prices_must_sit_on_the_tick() -> None:
    on_grid = [1700.25, 1700.5, 1700.75, 1701.0]
    assert check_price_fit(_instrument("NOBAND"), on_grid) is None
    off_grid = [167.56, 167.61, 167.63, 167.57, 167.99]
    why = check_price_fit(_instrument("NOBAND"), off_grid)
    assert why is not None and "tick 0.25" in why


def test_nothing_to_judge_is_no_refusal() -> None:
    assert check_price_fit(_instrument("MES"), []) is None
