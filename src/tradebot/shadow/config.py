"""``[shadow.NAME]``: a parameter set evaluated beside the live one (a profile, and component parameters laid
over it: ``params = {trend_ema = {fast = 8}}``), and ``[shadow_costs]``'s per-side cost of its paper fills."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

LIVE = "live"  # the name of the live set's own paper record (a shadow set may not take it)


class ShadowSetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    profile: str | None = None  # None: the live [strategy] profile
    params: dict[str, dict[str, float | int]] = Field(default_factory=dict)  # component -> param -> value


class ShadowCosts(BaseModel):
    """The paper fills' cost, bps of notional a side; None: the simulated venue's fee + slippage."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_side_bps: Decimal | None = Field(None, ge=0, le=1000)
