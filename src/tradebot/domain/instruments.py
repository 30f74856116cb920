"""Instrument specs and exact Decimal rounding of prices and quantities."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from enum import StrEnum

ZERO = Decimal(0)
ONE = Decimal(1)
INVERSE_PNL_QUANTUM = Decimal("1e-8")


class AssetClass(StrEnum):
    FUTURE = "FUTURE"
    PERPETUAL = "PERPETUAL"
    EQUITY = "EQUITY"


class PriceRounding(StrEnum):
    NEAREST = "NEAREST"
    DOWN = "DOWN"  # toward minus infinity: a buy limit that must not pay more
    UP = "UP"  # toward plus infinity: a sell limit that must not receive less


_PRICE_MODES = {
    PriceRounding.NEAREST: ROUND_HALF_EVEN,
    PriceRounding.DOWN: ROUND_FLOOR,
    PriceRounding.UP: ROUND_CEILING,
}


def _to_decimal(value: Decimal | float | int | str) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        # repr() gives the shortest string that round-trips, so 0.1 becomes Decimal("0.1")
        return Decimal(repr(value))
    return Decimal(value)


def _quantize_to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    units = (value / step).quantize(ONE, rounding=rounding)
    return (units * step).quantize(step)


@dataclass(frozen=True, slots=True)
class Instrument:
    """What the venue says about one tradable thing.

    ``tick_size`` is the price increment, ``lot_step`` the quantity increment, ``multiplier`` the
    currency value of one point per unit of quantity (5 for MES, 1 for a stock or a linear perp).
    An ``inverse`` (coin-margined) contract is quoted in ``currency`` per coin but margined and settled in
    the coin: ``multiplier`` is then one contract's face value in ``currency`` (Binance COIN-M BTCUSD:
    100 USD). Its notional is contracts x face value at any price, and a move from ``entry`` to ``exit``
    earns ``contracts x face x (1/entry - 1/exit)`` coins, which at the exit price is worth
    ``(exit - entry) x contracts x face / entry`` in ``currency``: the point value is ``face / entry``.
    ``sub_dollar_tick`` is the finer tick some venues use below a price of 1 (US equities: 0.0001).
    ``calendar`` names an exchange-calendars code (``CME``/``XNYS``) or ``24/7``.
    """

    symbol: str
    venue: str
    asset_class: AssetClass
    currency: str
    tick_size: Decimal
    lot_step: Decimal
    min_qty: Decimal
    multiplier: Decimal = ONE
    min_notional: Decimal = ZERO
    calendar: str = "24/7"
    sub_dollar_tick: Decimal | None = None
    max_qty: Decimal | None = None
    inverse: bool = False

    def __post_init__(self) -> None:
        for name in ("tick_size", "lot_step", "multiplier"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or value <= ZERO:
                raise ValueError(
                    f"Instrument {self.symbol}: {name} must be a positive Decimal, got {value!r}"
                )
        if not isinstance(self.min_qty, Decimal) or self.min_qty < ZERO:
            raise ValueError(f"Instrument {self.symbol}: min_qty must be a non-negative Decimal")
        if not isinstance(self.min_notional, Decimal) or self.min_notional < ZERO:
            raise ValueError(f"Instrument {self.symbol}: min_notional must be a non-negative Decimal")

    def tick_for(self, price: Decimal) -> Decimal:
        if self.sub_dollar_tick is not None and price < ONE:
            return self.sub_dollar_tick
        return self.tick_size

    def round_price(
        self, price: Decimal | float | int | str, rounding: PriceRounding = PriceRounding.NEAREST
    ) -> Decimal:
        """Round a price onto the tick grid, exactly."""
        value = _to_decimal(price)
        return _quantize_to_step(value, self.tick_for(value), _PRICE_MODES[rounding])

    def round_qty(self, qty: Decimal | float | int | str) -> Decimal:
        """Round a quantity down (toward zero) onto the lot grid: never trade more than asked."""
        value = _to_decimal(qty)
        sign = -1 if value < ZERO else 1
        rounded = _quantize_to_step(abs(value), self.lot_step, ROUND_DOWN)
        return rounded if sign > 0 else -rounded

    def is_valid_price(self, price: Decimal) -> bool:
        return price > ZERO and (price / self.tick_for(price)) % ONE == ZERO

    def is_valid_qty(self, qty: Decimal) -> bool:
        return qty > ZERO and qty >= self.min_qty and (qty / self.lot_step) % ONE == ZERO

    def notional(self, price: Decimal, qty: Decimal) -> Decimal:
        """Currency value of ``qty`` at ``price`` (always positive; an inverse contract's is its face)."""
        if self.inverse:
            return abs(qty * self.multiplier)
        return abs(price * qty * self.multiplier)

    def point_value(self, entry: Decimal) -> Decimal:
        """Currency value of a one-point move per unit of quantity held from ``entry``."""
        if self.inverse:
            return self.multiplier / entry
        return self.multiplier

    def pnl(self, entry: Decimal, exit: Decimal, qty: Decimal) -> Decimal:
        """Currency profit of ``qty`` (signed: a short is negative) held from ``entry`` to ``exit``; an
        inverse contract's to the 8th decimal (its exact value does not end)."""
        if self.inverse:
            return self.money((exit - entry) * qty * self.multiplier / entry)
        return (exit - entry) * qty * self.multiplier

    def money(self, amount: Decimal) -> Decimal:
        """``amount`` of this instrument's PnL as it is booked: an inverse contract's to the 8th decimal."""
        return amount.quantize(INVERSE_PNL_QUANTUM) if self.inverse else amount

    def average_entry(self, avg: Decimal, held: Decimal, price: Decimal, added: Decimal) -> Decimal:
        """The entry price of ``held`` (unsigned) at ``avg`` plus ``added`` at ``price``: weighted by
        quantity for a linear contract, harmonic for an inverse one (its coins add up, not its prices)."""
        total = held + added
        if self.inverse:
            return total / (held / avg + added / price) if held else price
        return (avg * held + price * added) / total

    @property
    def tick_value(self) -> Decimal:
        """Currency value of one tick for one unit of quantity (MES: 0.25 x 5 = 1.25)."""
        return self.tick_size * self.multiplier
