"""The signal ensemble: streaming components, profiles, calibrated confidence.

Public API::

    build_ensemble(profile, symbol, params=None) -> Ensemble   # UnknownProfileError for a bad profile
    Ensemble.on_bar(bar) -> Signal | None
    profile_summary(signals) -> dict
"""

from tradebot.signals.base import ComponentReading, SignalComponent
from tradebot.signals.ensemble import Ensemble, EnsembleReading
from tradebot.signals.params import PROFILE_NAMES, Calibration, ComponentSpec, EnsembleParams, ModelParams
from tradebot.signals.profiles import UnknownProfileError, build_ensemble
from tradebot.signals.registry import ENTRY_POINT_GROUP, UnknownComponentError, available_components
from tradebot.signals.summary import profile_summary

__all__ = [
    "ENTRY_POINT_GROUP",
    "PROFILE_NAMES",
    "Calibration",
    "ComponentReading",
    "ComponentSpec",
    "Ensemble",
    "EnsembleParams",
    "EnsembleReading",
    "ModelParams",
    "SignalComponent",
    "UnknownComponentError",
    "UnknownProfileError",
    "available_components",
    "build_ensemble",
    "profile_summary",
]
