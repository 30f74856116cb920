"""The trade intent wire schema: v1.1, with v1.0 still accepted.

v1.0 fields: intent_id, symbol, side, quantity, order_type, limit_price, stop_price, reference_price, tif,
reduce_only, confidence, regime, ts, leverage, exit_plan. v1.1 adds the optional AI fields ai_size_usd,
ai_leverage, ai_harvest_policy and risk_budget_usd. A message without ``schema_version`` is v1.0; under
v1.0 the v1.1 fields are neither read nor validated (they are reported as ignored, like unknown fields).

Unknown top-level fields are tolerated for forward compatibility: they are kept in the parse result's
``ignored`` record and have no effect. Inside ``exit_plan`` unknown keys are errors: a misspelled
``stop_loss`` silently dropped would be a position without its stop.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StringConstraints

from tradebot.domain.orders import HarvestPolicy, OrderType, Side, TimeInForce

SCHEMA_VERSIONS: Final = ("1.0", "1.1")
V11_FIELDS: Final = ("ai_size_usd", "ai_leverage", "ai_harvest_policy", "risk_budget_usd")


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _harvest(value: Any) -> Any:
    """A policy name, or an object carrying it under ``mode`` (the HarvestPolicy shape)."""
    if isinstance(value, dict):
        if "mode" not in value:
            raise ValueError("an ai_harvest_policy object needs a 'mode' (SCALPER | SWING | TREND_RUNNER)")
        value = value["mode"]
    return _upper(value)


PositiveDecimal = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
UpperSide = Annotated[Side, BeforeValidator(_upper)]
UpperOrderType = Annotated[OrderType, BeforeValidator(_upper)]
UpperTif = Annotated[TimeInForce, BeforeValidator(_upper)]
Harvest = Annotated[HarvestPolicy, BeforeValidator(_harvest)]
IntentId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


class ExitPlanWire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    stop_loss: PositiveDecimal | None = None
    take_profit: PositiveDecimal | None = None
    time_stop_s: int | None = Field(None, gt=0, strict=True)
    policy: Harvest | None = None


class TradeIntentWire(BaseModel):
    """One trade intent as received. Domain checks (instrument, tick/lot grid) happen in ``parse_intent``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    schema_version: Literal["1.0", "1.1"] = "1.0"
    intent_id: IntentId
    symbol: Annotated[str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True)]
    side: UpperSide
    quantity: PositiveDecimal | None = None
    order_type: UpperOrderType = OrderType.MARKET
    limit_price: PositiveDecimal | None = None
    stop_price: PositiveDecimal | None = None
    reference_price: PositiveDecimal | None = None
    tif: UpperTif = TimeInForce.DAY
    reduce_only: StrictBool = False
    confidence: float = Field(0.0, ge=0, le=1, allow_inf_nan=False)
    regime: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "external"
    ts: datetime | None = None
    leverage: PositiveDecimal | None = None
    exit_plan: ExitPlanWire | None = None
    # --- v1.1 ---
    ai_size_usd: PositiveDecimal | None = None
    ai_leverage: PositiveDecimal | None = None
    ai_harvest_policy: Harvest | None = None
    risk_budget_usd: PositiveDecimal | None = None
