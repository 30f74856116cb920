"""The profiles' definitions before calibration: what ``tradebot model build`` fits and writes.

- conservative: trend + momentum only, both must agree, heavy dampening outside normal volatility,
  the highest thresholds;
- balanced: adds mean reversion, moderate dampening and thresholds;
- aggressive: adds the Donchian breakout as well, little dampening, the lowest thresholds.
"""

from __future__ import annotations

from typing import Final

from tradebot.signals.params import Calibration, ComponentSpec, EnsembleParams

_PLACEHOLDER = Calibration(center=0.5, slope=1.0)

DEFAULT_RECIPES: Final[dict[str, EnsembleParams]] = {
    "conservative": EnsembleParams(
        profile="conservative",
        components=(
            ComponentSpec(name="trend_ema", weight=0.5, params={"fast": 12, "slow": 40, "scale_bps": 5.0}),
            ComponentSpec(name="momentum", weight=0.5, params={"roc_period": 15, "rsi_period": 14}),
        ),
        dampening={"low_vol": 0.5, "normal_vol": 0.0, "high_vol": 0.6},
        min_direction=0.35,
        min_agreement=1.0,
        min_confidence=0.8,
        calibration=_PLACEHOLDER.model_copy(update={"q_center": 0.6, "q_high": 0.97}),
    ),
    "balanced": EnsembleParams(
        profile="balanced",
        components=(
            ComponentSpec(name="trend_ema", weight=0.4, params={"fast": 10, "slow": 30, "scale_bps": 5.0}),
            ComponentSpec(name="momentum", weight=0.35, params={"roc_period": 10, "rsi_period": 14}),
            ComponentSpec(
                name="mean_reversion", weight=0.25, params={"window": 30, "z_entry": 1.5, "z_max": 3.0}
            ),
        ),
        dampening={"low_vol": 0.25, "normal_vol": 0.0, "high_vol": 0.3},
        min_direction=0.25,
        min_agreement=0.6,
        min_confidence=0.65,
        calibration=_PLACEHOLDER.model_copy(update={"q_center": 0.5, "q_high": 0.93}),
    ),
    "aggressive": EnsembleParams(
        profile="aggressive",
        components=(
            ComponentSpec(name="trend_ema", weight=0.3, params={"fast": 8, "slow": 21, "scale_bps": 4.0}),
            ComponentSpec(name="momentum", weight=0.3, params={"roc_period": 8, "rsi_period": 10}),
            ComponentSpec(
                name="mean_reversion", weight=0.15, params={"window": 20, "z_entry": 1.2, "z_max": 3.0}
            ),
            ComponentSpec(name="breakout", weight=0.25, params={"period": 20}),
        ),
        dampening={"low_vol": 0.0, "normal_vol": 0.0, "high_vol": 0.1},
        min_direction=0.12,
        min_agreement=0.5,
        min_confidence=0.55,
        calibration=_PLACEHOLDER.model_copy(update={"q_center": 0.45, "q_high": 0.88}),
    ),
}
