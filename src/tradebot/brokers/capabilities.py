"""What a broker can do, declared statically so unsupported orders are refused before submit."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tradebot.domain.orders import OrderType, TimeInForce


class PositionMode(StrEnum):
    ONE_WAY = "ONE_WAY"
    HEDGE = "HEDGE"


@dataclass(frozen=True, slots=True)
class Capabilities:
    order_types: frozenset[OrderType]
    time_in_force: frozenset[TimeInForce]
    brackets: bool = False  # entry + stop + target, children one-cancels-other
    oco: bool = False
    oto: bool = False
    reduce_only: bool = False
    native_cancel_all: bool = False
    position_modes: frozenset[PositionMode] = frozenset({PositionMode.ONE_WAY})
    fractional_qty: bool = False
    leverage: bool = False
    streaming_bars: bool = True  # False: bars are polled

    def as_dict(self) -> dict[str, object]:
        return {
            "order_types": sorted(t.value for t in self.order_types),
            "time_in_force": sorted(t.value for t in self.time_in_force),
            "brackets": self.brackets,
            "oco": self.oco,
            "oto": self.oto,
            "reduce_only": self.reduce_only,
            "native_cancel_all": self.native_cancel_all,
            "position_modes": sorted(m.value for m in self.position_modes),
            "fractional_qty": self.fractional_qty,
            "leverage": self.leverage,
            "streaming_bars": self.streaming_bars,
        }
