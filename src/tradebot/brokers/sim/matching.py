"""Bar-range fill rules: at what price (if any) a bar fills an order. Pure functions, no state.

- Market: the bar's open (or close, or mid = (high + low) / 2, as configured), plus slippage.
- Limit buy at L: open <= L fills at the open (a gap through the limit gets the better price), else
  low <= L fills at L. Sell mirrors it. No slippage on limit fills.
- Stop buy at S: open >= S fills at the open (gap through), else high >= S fills at S, plus slippage.
  Sell mirrors it.
- Stop-limit: triggers like a stop, then behaves as a limit. In the bar that triggers it intrabar it fills
  only if the stop price itself satisfies the limit; otherwise it rests as a limit from the next bar.
Slippage moves the price against the order by ``slippage_bps`` and the result is rounded onto the tick grid
against the order (buys up, sells down); without slippage it is rounded to the nearest tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, NamedTuple

from tradebot.domain.bars import Bar
from tradebot.domain.instruments import Instrument, PriceRounding
from tradebot.domain.orders import OrderType, Side

FillPrice = Literal["open", "close", "mid"]
BPS = Decimal(10_000)


@dataclass(frozen=True, slots=True)
class BarMatch:
    price: Decimal | None  # None: no fill on this bar
    triggered: bool = False  # a stop-limit's stop was touched (it now rests as a limit)
    at_open: bool = False  # filled at the bar's open (the fill time is the bar's start)


NO_FILL = BarMatch(None)
NO_FILL_TRIGGERED = BarMatch(None, triggered=True)


_DECIMALS: dict[float, Decimal] = {}  # bar prices repeat (they sit on a tick grid): convert each once
_MAX_DECIMALS = 4096


def _dec(value: float) -> Decimal:
    """``Decimal(repr(value))``. A cached entry may come from an equal value of another type (100 for
    100.0: Decimal('100') for Decimal('100.0')); only the value matters here (comparisons, arithmetic
    and tick rounding)."""
    found = _DECIMALS.get(value)
    if found is None:
        if len(_DECIMALS) >= _MAX_DECIMALS:
            _DECIMALS.clear()
        found = _DECIMALS[value] = Decimal(repr(value))
    return found


class BarPrices(NamedTuple):
    """A bar's open, high and low as exact Decimals, converted once per bar (not once per order)."""

    open: Decimal
    high: Decimal
    low: Decimal

    @classmethod
    def of(cls, bar: Bar) -> BarPrices:
        return cls(_dec(bar.open), _dec(bar.high), _dec(bar.low))


def with_slippage(instrument: Instrument, side: Side, price: Decimal, slippage_bps: float) -> Decimal:
    if slippage_bps <= 0:
        return instrument.round_price(price)
    factor = _dec(slippage_bps) / BPS
    moved = price * (1 + factor) if side is Side.BUY else price * (1 - factor)
    return instrument.round_price(moved, PriceRounding.UP if side is Side.BUY else PriceRounding.DOWN)


def market_price(bar: Bar, fill_price: FillPrice, prices: BarPrices | None = None) -> Decimal:
    if fill_price == "close":
        return _dec(bar.close)
    if prices is None:
        prices = BarPrices.of(bar)
    if fill_price == "open":
        return prices.open
    return (prices.high + prices.low) / 2


def _limit_touch(side: Side, limit: Decimal, prices: BarPrices) -> tuple[Decimal | None, bool]:
    open_, high, low = prices.open, prices.high, prices.low
    if side is Side.BUY:
        if open_ <= limit:
            return open_, True
        return (limit, False) if low <= limit else (None, False)
    if open_ >= limit:
        return open_, True
    return (limit, False) if high >= limit else (None, False)


def _stop_touch(side: Side, stop: Decimal, prices: BarPrices) -> tuple[Decimal | None, bool]:
    open_, high, low = prices.open, prices.high, prices.low
    if side is Side.BUY:
        if open_ >= stop:
            return open_, True
        return (stop, False) if high >= stop else (None, False)
    if open_ <= stop:
        return open_, True
    return (stop, False) if low <= stop else (None, False)


def _limit_price_on_grid(instrument: Instrument, side: Side, price: Decimal, limit: Decimal) -> Decimal:
    """A limit fill never trades through its limit, even after rounding an off-grid open."""
    rounded = instrument.round_price(price)
    return min(rounded, limit) if side is Side.BUY else max(rounded, limit)


def match(
    *,
    order_type: OrderType,
    side: Side,
    limit_price: Decimal | None,
    stop_price: Decimal | None,
    triggered: bool,
    bar: Bar,
    instrument: Instrument,
    fill_price: FillPrice,
    slippage_bps: float,
    prices: BarPrices | None = None,
) -> BarMatch:
    """How ``bar`` fills the order; ``prices``: ``BarPrices.of(bar)`` if the caller already has it."""
    if prices is None:
        prices = BarPrices.of(bar)
    if order_type is OrderType.MARKET:
        base = market_price(bar, fill_price, prices)
        return BarMatch(with_slippage(instrument, side, base, slippage_bps), at_open=fill_price == "open")
    if order_type is OrderType.LIMIT or (order_type is OrderType.STOP_LIMIT and triggered):
        if limit_price is None:
            raise ValueError(f"{order_type} order without a limit price")
        price, at_open = _limit_touch(side, limit_price, prices)
        if price is None:
            return NO_FILL_TRIGGERED if triggered else NO_FILL
        return BarMatch(_limit_price_on_grid(instrument, side, price, limit_price), triggered, at_open)
    if stop_price is None:
        raise ValueError(f"{order_type} order without a stop price")
    trigger, at_open = _stop_touch(side, stop_price, prices)
    if trigger is None:
        return NO_FILL
    if order_type is OrderType.STOP:
        return BarMatch(with_slippage(instrument, side, trigger, slippage_bps), at_open=at_open)
    if order_type is OrderType.STOP_LIMIT:
        if limit_price is None:
            raise ValueError("STOP_LIMIT order without a limit price")
        if at_open:
            # triggered at the open: the rest of the bar is a limit order's bar
            price, _ = _limit_touch(side, limit_price, prices)
            if price is None:
                return NO_FILL_TRIGGERED
            filled = _limit_price_on_grid(instrument, side, price, limit_price)
            return BarMatch(filled, triggered=True, at_open=price == trigger)
        marketable = trigger <= limit_price if side is Side.BUY else trigger >= limit_price
        if marketable:
            return BarMatch(_limit_price_on_grid(instrument, side, trigger, limit_price), True)
        return NO_FILL_TRIGGERED
    raise ValueError(f"the simulated venue does not match {order_type} orders")
