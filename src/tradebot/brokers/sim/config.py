"""The ``[broker.sim]`` table: how the simulated venue fills, charges and remembers.

```toml
[broker.sim]
fill_price = "open"      # market orders fill at the next bar's open | close | mid ((high+low)/2)
slippage_bps = 1.0       # against the taker on market and stop fills (not on limit fills)
fee_bps = 0.5            # of notional (price x qty x multiplier), on every fill
starting_cash = "10000"
currency = "USD"
latency_bars = 0         # extra bars an order waits before it can fill (0: the next bar)
state_path = "runs/sim_venue.db"   # optional, for a venue used on its own (the conformance kit, tools): a
                                   # SQLite file that keeps orders, fills, positions across restarts. A run
                                   # refuses it: its venue is rebuilt from the event store instead

[broker.sim.instruments.MES]       # optional specs; other symbols use default_instrument
venue = "CME"
asset_class = "FUTURE"
tick_size = "0.25"
lot_step = "1"
min_qty = "1"
multiplier = "5"
```
Unknown keys are errors naming the key (``SimConfigError``, a ``ValueError``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tradebot.domain.instruments import AssetClass, Instrument


class SimConfigError(ValueError):
    """Invalid ``[broker.sim]`` table; ``problems`` lists every error as ``broker.sim.<key>: message``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid [broker.sim] config:\n  " + "\n  ".join(problems))
        self.problems = problems


class InstrumentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    venue: str = "SIM"
    asset_class: AssetClass = AssetClass.EQUITY
    currency: str = "USD"
    tick_size: Decimal = Field(Decimal("0.01"), gt=0)
    lot_step: Decimal = Field(Decimal(1), gt=0)
    min_qty: Decimal = Field(Decimal(1), ge=0)
    multiplier: Decimal = Field(Decimal(1), gt=0)
    min_notional: Decimal = Field(Decimal(0), ge=0)
    calendar: str = "24/7"
    sub_dollar_tick: Decimal | None = None
    max_qty: Decimal | None = None
    inverse: bool = False  # coin-margined: multiplier is the face value in currency (Instrument)

    def build(self, symbol: str) -> Instrument:
        """The Instrument this spec describes (its field names are Instrument's own)."""
        return Instrument(symbol=symbol, **dict(self))


class SimConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fill_price: Literal["open", "close", "mid"] = "open"
    slippage_bps: float = Field(0.0, ge=0, le=10_000)
    fee_bps: float = Field(0.0, ge=0, le=10_000)
    starting_cash: Decimal = Field(Decimal(10_000), ge=0)
    currency: str = "USD"
    state_path: Path | None = None
    latency_bars: int = Field(0, ge=0)
    rate_limit_retry_after_s: float = Field(1.0, ge=0)  # what an injected rate limit says
    instruments: dict[str, InstrumentSpec] = Field(default_factory=dict)
    # spec for symbols not in ``instruments``; None: unknown symbols are refused (UNKNOWN_INSTRUMENT)
    default_instrument: InstrumentSpec | None = Field(default_factory=InstrumentSpec)

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any]) -> SimConfig:
        """Validate the ``[broker.sim]`` table, listing every problem with its key."""
        try:
            return cls.model_validate(dict(table))
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                key = ".".join(str(part) for part in err["loc"])
                message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
                problems.append(f"broker.sim.{key}: {message}")
            raise SimConfigError(problems) from exc
