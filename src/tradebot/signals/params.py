"""The ensemble's parameters for one profile: components, weights, thresholds and calibration.

These are data, loaded from a verified model artifact (``tradebot.models``); nothing here is tuned at run
time. Every model forbids unknown keys so a typo in an artifact is an error, not a silent default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tradebot.signals.volatility import REGIMES, VolatilityParams

PROFILE_NAMES: Final = ("conservative", "balanced", "aggressive")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ComponentSpec(_Frozen):
    """A directional component: a built-in name or a ``tradebot.signals`` entry point, its vote weight
    and its own parameters (validated by the component)."""

    name: str = Field(min_length=1)
    weight: float = Field(gt=0)
    params: dict[str, Any] = Field(default_factory=dict)


class Calibration(_Frozen):
    """confidence = 1 / (1 + exp(-slope * (evidence - center))).

    Fitted offline (``tradebot model build``) so that the evidence quantile ``q_center`` of the training
    range maps to 0.5 and the quantile ``q_high`` maps to 0.9.
    """

    center: float = Field(ge=0, le=1)
    slope: float = Field(gt=0)
    q_center: float | None = Field(None, ge=0, le=1)
    q_high: float | None = Field(None, ge=0, le=1)


class EnsembleParams(_Frozen):
    profile: str = Field(min_length=1)
    components: tuple[ComponentSpec, ...] = Field(min_length=1)
    volatility: VolatilityParams = VolatilityParams()
    # share of the evidence removed in each volatility regime (0 = none, 0.9 = almost all)
    dampening: dict[str, float] = Field(default_factory=lambda: dict.fromkeys(REGIMES, 0.0))
    min_direction: float = Field(0.0, ge=0, le=1)  # |direction| needed to emit a signal
    min_agreement: float = Field(0.0, ge=0, le=1)  # share of non-silent weight that must agree
    min_confidence: float = Field(0.0, ge=0, le=1)
    calibration: Calibration

    @field_validator("dampening")
    @classmethod
    def _dampening_per_regime(cls, value: dict[str, float]) -> dict[str, float]:
        missing = [r for r in REGIMES if r not in value]
        unknown = [r for r in value if r not in REGIMES]
        if missing or unknown:
            raise ValueError(f"dampening needs exactly the regimes {list(REGIMES)} (missing {missing}, "
                             f"unknown {unknown})")
        for regime, amount in value.items():
            if not 0.0 <= amount < 1.0:
                raise ValueError(f"dampening[{regime}] must be in [0, 1), got {amount}")
        return value

    @model_validator(mode="after")
    def _unique_components(self) -> EnsembleParams:
        names = [c.name for c in self.components]
        if len(set(names)) != len(names):
            raise ValueError(f"component names must be unique, got {names}")
        return self

    def with_component_params(self, overrides: Mapping[str, Mapping[str, Any]]) -> EnsembleParams:
        """These parameters with ``overrides`` (component name -> its parameters) laid over the components'
        own. A name that is no component here is ignored: the caller refuses it, naming its own key."""
        components = tuple(
            spec.model_copy(update={"params": {**spec.params, **overrides[spec.name]}})
            if overrides.get(spec.name)
            else spec
            for spec in self.components
        )
        return self.model_copy(update={"components": components})


class ModelParams(_Frozen):
    """The params file of a model artifact: one EnsembleParams per profile."""

    format: int = Field(1, ge=1, le=1)
    profiles: dict[str, EnsembleParams]

    @model_validator(mode="after")
    def _names_match(self) -> ModelParams:
        for key, params in self.profiles.items():
            if params.profile != key:
                raise ValueError(f"profiles.{key}.profile is {params.profile!r}, expected {key!r}")
        return self
