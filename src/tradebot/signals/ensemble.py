"""The ensemble: streaming components in, one Signal (or None) per bar out.

Per bar, every component is updated (also during warm-up, so their state stays current), then:

    vote_i     = direction_i * strength_i                      (directional components, weight w_i)
    score      = sum(w_i * vote_i) / sum(w_i)                  in [-1, 1]
    agreement  = weight of votes with the sign of score / weight of non-zero votes
    damping    = params.dampening[regime]                      (regime from the volatility component)
    evidence   = |score| * agreement * (1 - damping)           in [0, 1]
    direction  = sign(score) * |score| * (1 - damping)
    confidence = 1 / (1 + exp(-slope * (evidence - center)))   (calibration from the model artifact)

A Signal is emitted when every component is warm, some component votes, and |direction|, agreement and
confidence all reach the profile's thresholds. Otherwise ``on_bar`` returns None and ``suppressed``
counts why.
Work per bar is bounded (no history is re-read), and nothing here touches numpy or a DataFrame.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tradebot.domain.bars import Bar
from tradebot.domain.signals import Signal
from tradebot.signals.base import SignalComponent
from tradebot.signals.params import EnsembleParams
from tradebot.signals.volatility import VolatilityRegime

WARMUP = "warmup"
SILENT = "silent"
WEAK_DIRECTION = "weak_direction"
LOW_AGREEMENT = "low_agreement"
LOW_CONFIDENCE = "low_confidence"


@dataclass(frozen=True, slots=True)
class EnsembleReading:
    """Everything the ensemble computed for one bar, before the profile's thresholds."""

    score: float
    agreement: float
    damping: float
    evidence: float
    direction: float
    confidence: float
    regime: str
    atr: float
    votes: dict[str, float]


def calibrated_confidence(evidence: float, center: float, slope: float) -> float:
    x = slope * (evidence - center)
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-min(x, 700.0)))
    z = math.exp(max(x, -700.0))
    return z / (1.0 + z)


class Ensemble:
    def __init__(
        self,
        symbol: str,
        params: EnsembleParams,
        components: Sequence[tuple[SignalComponent, float]],
        volatility: VolatilityRegime,
    ) -> None:
        if not components:
            raise ValueError("an ensemble needs at least one directional component")
        self.symbol = symbol
        self.params = params
        self.profile = params.profile
        self.components = tuple(components)
        self.volatility = volatility
        self._total_weight = sum(w for _, w in components)
        self.warmup_bars = max([volatility.warmup_bars, *(c.warmup_bars for c, _ in components)])
        self.bars = 0
        self.emitted = 0
        self.suppressed: Counter[str] = Counter()
        self.last_reading: EnsembleReading | None = None

    def evaluate(self, bar: Bar) -> EnsembleReading | None:
        """Feed ``bar`` to every component; the combined reading, or None while any one is warming up."""
        if bar.symbol != self.symbol:
            raise ValueError(f"ensemble for {self.symbol} was given a bar of {bar.symbol}")
        self.bars += 1
        vol = self.volatility.update(bar)
        votes: dict[str, float] = {}
        warm = vol is not None
        for component, _ in self.components:
            component_reading = component.update(bar)
            if component_reading is None:
                warm = False
            else:
                votes[component.name] = component_reading.vote
        if not warm:
            self.last_reading = None
            return None
        atr = self.volatility.atr
        regime = self.volatility.regime
        assert atr is not None and regime is not None
        weighted = 0.0
        voting_weight = 0.0
        for component, weight in self.components:
            vote = votes[component.name]
            weighted += weight * vote
            if vote != 0.0:
                voting_weight += weight
        score = max(-1.0, min(1.0, weighted / self._total_weight))
        agreeing = sum(
            w for c, w in self.components if votes[c.name] * score > 0.0
        )
        agreement = agreeing / voting_weight if voting_weight > 0.0 else 0.0
        damping = self.params.dampening[regime]
        magnitude = abs(score) * (1.0 - damping)
        evidence = magnitude * agreement
        calibration = self.params.calibration
        reading = EnsembleReading(
            score=score,
            agreement=agreement,
            damping=damping,
            evidence=evidence,
            direction=math.copysign(magnitude, score) if score != 0.0 else 0.0,
            confidence=calibrated_confidence(evidence, calibration.center, calibration.slope),
            regime=regime,
            atr=atr,
            votes=votes,
        )
        self.last_reading = reading
        return reading

    def on_bar(self, bar: Bar) -> Signal | None:
        reading = self.evaluate(bar)
        why = self._suppression(reading)
        if why is not None:
            self.suppressed[why] += 1
            return None
        assert reading is not None
        self.emitted += 1
        return Signal(
            symbol=bar.symbol,
            ts=bar.end,
            direction=reading.direction,
            confidence=reading.confidence,
            regime=reading.regime,
            reference_price=bar.close,
            atr=reading.atr,
            profile=self.profile,
            components=dict(reading.votes),
            bar_ts=bar.ts,
        )

    def _suppression(self, reading: EnsembleReading | None) -> str | None:
        if reading is None:
            return WARMUP
        if reading.score == 0.0:
            return SILENT
        p = self.params
        if abs(reading.direction) < p.min_direction:
            return WEAK_DIRECTION
        if reading.agreement < p.min_agreement:
            return LOW_AGREEMENT
        if reading.confidence < p.min_confidence:
            return LOW_CONFIDENCE
        return None
