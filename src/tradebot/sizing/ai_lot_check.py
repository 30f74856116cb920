"""Can the AI sizer size one lot at all? The startup check of an instrument traded with the AI sizer.

The most the sizer can ever propose is at full confidence and the calmest market:

    size_usd = equity * max_pct * vol_factor_max
    notional basis: quantity = size_usd * max_leverage / (price * multiplier)
                    (max_leverage only where the venue has leverage)
    risk basis:     quantity = size_usd / (one tick * point value)
                    (the exit plan's stop is never nearer than one tick)

rounded onto the lot grid and capped as a proposal is (``largest_quantity``). When that is zero, no signal
can ever give an order: in LIVE mode the run refuses to start (exit 2, AI_SIZER_BELOW_ONE_LOT) instead of
sizing every signal to zero all day; in SHADOW mode (it only records) the run starts with a warning.

The equity is the configured starting cash (times the sleeve's base weight); the price is what is knowable
before the first bar is decided: the first bar of the instrument's bar file, else (a broker's feed) the
configured ``reference_prices`` entry; with neither the check cannot be made and says so (a warning).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal
from typing import Any

from tradebot.domain import reasons
from tradebot.domain.instruments import ZERO, Instrument
from tradebot.sizing.ai_sizer import CENT, AiSizerParams, SizerMode, largest_quantity

ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class LotCheck:
    """The check of one (strategy or sleeve, instrument) whose sizer is the AI sizer."""

    key: str  # the config table: "strategy.ai" or "sleeves.NAME.ai"
    symbol: str
    mode: SizerMode
    basis: str
    equity: Decimal
    price: Decimal | None  # None: no price known at startup, not checked
    price_source: str  # where the price came from (or why there is none)
    size_usd: Decimal  # the most the sizer puts at stake
    leverage: Decimal | None
    raw: Decimal | None  # the unrounded quantity at the most
    quantity: Decimal | None  # the largest order it can make (zero: none)
    why: str | None  # why that is zero
    equity_needed: Decimal | None  # about what equity one lot needs (when equity is what falls short)

    @property
    def checked(self) -> bool:
        return self.quantity is not None

    @property
    def below_one_lot(self) -> bool:
        return self.quantity is not None and self.quantity == ZERO

    @property
    def refuses(self) -> bool:
        """LIVE and no signal could ever be sized to an order: the run must not start."""
        return self.below_one_lot and self.mode is SizerMode.LIVE

    @property
    def warning(self) -> str | None:
        """What to warn about when the run starts anyway (SHADOW below one lot, or not checkable)."""
        if self.below_one_lot and self.mode is SizerMode.SHADOW:
            return f"{self.message()} (SHADOW: it only records, so the run starts)"
        if not self.checked:
            return (
                f"{self.key}: the AI sizer's one-lot check of {self.symbol} was not made: "
                f"{self.price_source}; set {self.key}.reference_prices.{self.symbol} to have it made at "
                "startup"
            )
        return None

    def message(self) -> str:
        lever = f" x leverage {self.leverage}" if self.leverage is not None else ""
        text = (
            f"{self.key}: {reasons.AI_SIZER_BELOW_ONE_LOT}: the AI sizer ({self.mode.value}, basis "
            f"{self.basis}) cannot size one {self.symbol} lot: at its most it puts ${self.size_usd}{lever} "
            f"at stake (equity {self.equity} x max_pct x vol_factor_max), {self.raw:.4f} of a lot at "
            f"{self.price} ({self.price_source}): {self.why}"
        )
        if self.equity_needed is not None:
            text += f"; one lot needs equity of about {self.equity_needed} (portfolio.starting_cash)"
        return text

    def body(self) -> dict[str, Any]:
        """The check as the store records it (``ai_sizer_check``)."""
        return {
            "code": reasons.AI_SIZER_BELOW_ONE_LOT if self.below_one_lot else None,
            "key": self.key,
            "symbol": self.symbol,
            "mode": self.mode.value,
            "basis": self.basis,
            "equity": str(self.equity),
            "price": str(self.price) if self.price is not None else None,
            "price_source": self.price_source,
            "size_usd": str(self.size_usd),
            "leverage": str(self.leverage) if self.leverage is not None else None,
            "raw_quantity": str(self.raw) if self.raw is not None else None,
            "quantity": str(self.quantity) if self.quantity is not None else None,
            "why": self.why,
            "equity_needed": str(self.equity_needed) if self.equity_needed is not None else None,
        }


def check_one_lot(
    key: str,
    params: AiSizerParams,
    instrument: Instrument,
    equity: Decimal,
    price: Decimal | None,
    price_source: str,
    *,
    has_leverage: bool,
    max_qty: Decimal | None,
) -> LotCheck:
    """The largest order ``params`` can size on ``instrument`` with ``equity`` at ``price`` (the module)."""
    size_usd = (equity * params.max_pct * params.vol_factor_max).quantize(CENT, rounding=ROUND_DOWN)
    leverage = params.max_leverage if has_leverage else None
    if price is None:
        return LotCheck(
            key, instrument.symbol, params.mode, params.basis, equity, None, price_source, size_usd, leverage,
            None, None, None, None,
        )
    price = instrument.round_price(price)
    if params.basis == "notional":
        raw = size_usd * (leverage or ONE) / instrument.notional(price, ONE)
    else:
        raw = size_usd / (instrument.tick_for(price) * instrument.point_value(price))
    caps = [c for c in (params.max_qty,) if c is not None] + ([max_qty] if max_qty is not None else [])
    cap = min(caps) if caps else None
    quantity, why = largest_quantity(raw, instrument, price, cap)
    needed = None
    if quantity == ZERO and raw > ZERO and (cap is None or raw < cap):
        one_lot = max(instrument.lot_step, instrument.min_qty)
        if instrument.min_notional > ZERO:
            one_lot = max(one_lot, instrument.min_notional / instrument.notional(price, ONE))
        needed = (equity * one_lot / raw).quantize(ONE, rounding=ROUND_CEILING)
    return LotCheck(key, instrument.symbol, params.mode, params.basis, equity, price, price_source, size_usd,
                    leverage, raw, quantity, why, needed)
