"""Harvest policies: how a position is harvested, chosen by confidence.

Low confidence takes quick, small profits (SCALPER); high confidence lets a winner run (TREND_RUNNER).
Each policy has concrete exit parameters in ATR multiples plus a time stop; ``exit_plan`` turns them into
absolute prices, rounded by the instrument, that the OMS places as a bracket.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tradebot.domain.instruments import Instrument
from tradebot.domain.orders import ExitPlan, HarvestPolicy, Side


class HarvestParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    stop_atr: Decimal = Field(gt=0)
    target_atr: Decimal = Field(gt=0)
    time_stop_s: int = Field(gt=0)


def _defaults() -> dict[HarvestPolicy, HarvestParams]:
    return {
        HarvestPolicy.SCALPER: HarvestParams(
            stop_atr=Decimal("1.0"), target_atr=Decimal("1.5"), time_stop_s=15 * 60
        ),
        # the default exits: stop 1.6 ATR, take profit 2.4 ATR
        HarvestPolicy.SWING: HarvestParams(
            stop_atr=Decimal("1.6"), target_atr=Decimal("2.4"), time_stop_s=60 * 60
        ),
        HarvestPolicy.TREND_RUNNER: HarvestParams(
            stop_atr=Decimal("2.0"), target_atr=Decimal("4.0"), time_stop_s=4 * 60 * 60
        ),
    }


class HarvestConfig(BaseModel):
    """confidence < swing_from -> SCALPER; < trend_runner_from -> SWING; otherwise TREND_RUNNER.

    ``policies`` given as plain data (a config table) is laid over the defaults: a policy left out keeps
    its default parameters, and a policy's key left out keeps that policy's default value (so
    ``policies.SCALPER.time_stop_s = 600`` changes only that). Policy names are matched in any case (an
    environment variable's key arrives lower-cased)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    swing_from: float = Field(0.6, ge=0, le=1)
    trend_runner_from: float = Field(0.8, ge=0, le=1)
    policies: dict[HarvestPolicy, HarvestParams] = Field(default_factory=_defaults)

    @model_validator(mode="before")
    @classmethod
    def _over_defaults(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or not isinstance(data.get("policies"), Mapping):
            return data
        defaults = _defaults()
        policies: dict[Any, Any] = dict(defaults)
        for key, given in data["policies"].items():
            name = key.value if isinstance(key, HarvestPolicy) else str(key).upper()
            policy = HarvestPolicy.__members__.get(name)
            if policy is None:
                known = ", ".join(p.value for p in HarvestPolicy)
                raise ValueError(f"policies.{key}: no harvest policy by that name ({known})")
            if not isinstance(given, Mapping):
                policies[policy] = given  # refused by validation, naming the key
            else:
                policies[policy] = {**defaults[policy].model_dump(), **given}
        return {**data, "policies": policies}

    @model_validator(mode="after")
    def _complete_and_ordered(self) -> HarvestConfig:
        missing = [p.value for p in HarvestPolicy if p not in self.policies]
        if missing:
            raise ValueError(f"policies is missing {missing}")
        if self.swing_from > self.trend_runner_from:
            raise ValueError(f"swing_from ({self.swing_from}) must not exceed trend_runner_from "
                             f"({self.trend_runner_from})")
        return self

    def choose(self, confidence: float) -> HarvestPolicy:
        if confidence < self.swing_from:
            return HarvestPolicy.SCALPER
        if confidence < self.trend_runner_from:
            return HarvestPolicy.SWING
        return HarvestPolicy.TREND_RUNNER


def exit_plan(
    policy: HarvestPolicy,
    params: HarvestParams,
    side: Side,
    entry: Decimal,
    atr: Decimal,
    instrument: Instrument,
) -> ExitPlan:
    """Stop and target at ATR multiples from ``entry``, on the tick grid, each at least one tick away."""
    tick = instrument.tick_for(entry)
    stop_distance = max(instrument.round_price(params.stop_atr * atr), tick)
    target_distance = max(instrument.round_price(params.target_atr * atr), tick)
    direction = Decimal(side.sign)
    return ExitPlan(
        stop_loss=instrument.round_price(entry - direction * stop_distance),
        take_profit=instrument.round_price(entry + direction * target_distance),
        time_stop_s=params.time_stop_s,
        policy=policy,
    )
