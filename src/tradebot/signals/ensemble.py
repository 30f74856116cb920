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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from tradebot.domain.bars import Bar
from tradebot.domain.signals import Signal
from tradebot.signals.base import SignalComponent, VotingComponent
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


Voter = Callable[[Bar], float | None]
def _voter(component: SignalComponent) -> Voter:
    """``component.update_vote`` when it has one, else ``update(bar).vote`` (None while warming up)."""
    if isinstance(component, VotingComponent):
        return component.update_vote
    update = component.update

    def vote(bar: Bar) -> float | None:
        reading = update(bar)
        return None if reading is None else reading.vote

    return vote


class Ensemble:
    """Per bar: every component's vote into one preallocated list, then plain float arithmetic.

    Nothing is built per component per bar; the EnsembleReading of ``last_reading`` is only assembled
    when somebody asks for it (``evaluate`` does), from the score, agreement, regime and ATR kept here.
    """

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
        # precomputed once: names, weights, vote callables, per-regime factors, thresholds, calibration
        self._names = tuple(c.name for c, _ in self.components)
        self._weights = tuple(w for _, w in self.components)
        self._voters = tuple((i, _voter(c), w) for i, (c, w) in enumerate(self.components))
        # two components of one name share a vote (the last one's), as a name-keyed dict of votes would
        last_of = {name: i for i, name in enumerate(self._names)}
        aliases = tuple(last_of[name] for name in self._names)
        self._aliases = None if aliases == tuple(range(len(aliases))) else aliases
        self._dampening = dict(params.dampening)
        self._undamped = {regime: 1.0 - damping for regime, damping in self._dampening.items()}
        self._min_direction = params.min_direction
        self._min_agreement = params.min_agreement
        self._min_confidence = params.min_confidence
        self._center = params.calibration.center
        self._slope = params.calibration.slope
        self._agreeing_weight: dict[int, float] = {}  # mask of agreeing components -> sum() of weights
        self._votes: list[float] = [0.0] * len(self.components)  # this bar's, valid only when warm
        self._interval_s = -1
        self._interval = timedelta(0)
        # the last bar's reading, kept as plain values: warm, score, agreement, regime, atr
        self._warm = False
        self._score = 0.0
        self._voting_weight = 0.0
        self._agreement: float | None = None  # worked out on demand (_agreement_of_step)
        self._regime = ""
        self._atr = 0.0

    def _step(self, bar: Bar) -> bool:
        """Feed ``bar`` to every component; True (score, regime, atr set) once all are warm."""
        if bar.symbol != self.symbol:
            raise ValueError(f"ensemble for {self.symbol} was given a bar of {bar.symbol}")
        self.bars += 1
        self._warm = False
        volatility = self.volatility
        warm = volatility.advance(bar)
        votes = self._votes
        # sum(w_i * vote_i) and the weight of non-zero votes, in component order, as the votes come
        weighted = 0.0
        voting_weight = 0.0
        for i, vote, weight in self._voters:
            value = vote(bar)
            if value is None:
                warm = False
                continue
            votes[i] = value
            weighted += weight * value
            if value != 0.0:
                voting_weight += weight
        if not warm:
            return False
        atr = volatility.atr
        regime = volatility.regime
        assert atr is not None and regime is not None
        if self._aliases is not None:  # components sharing a name: redo the sums with the shared votes
            votes = [votes[j] for j in self._aliases]
            weighted = 0.0
            voting_weight = 0.0
            for i, weight in enumerate(self._weights):
                weighted += weight * votes[i]
                if votes[i] != 0.0:
                    voting_weight += weight
        ratio = weighted / self._total_weight
        # max(-1.0, min(1.0, ratio)), NaN included
        score = ratio if ratio < 1.0 else 1.0
        score = score if score > -1.0 else -1.0
        self._score = score
        self._voting_weight = voting_weight
        self._agreement = None
        self._regime = regime
        self._atr = atr
        self._warm = True
        return True

    def _agreement_of_step(self) -> float:
        """The agreement of the last warm bar, worked out when first needed (a weak bar never needs it)."""
        agreement = self._agreement
        if agreement is not None:
            return agreement
        voting_weight = self._voting_weight
        if voting_weight > 0.0:
            score = self._score
            votes = self._votes if self._aliases is None else [self._votes[j] for j in self._aliases]
            # the agreeing weight as sum() over the agreeing components, cached per set of them
            mask = 0
            bit = 1
            for vote in votes:
                if vote * score > 0.0:
                    mask |= bit
                bit <<= 1
            agreeing = self._agreeing_weight.get(mask)
            if agreeing is None:
                agreeing = sum(w for i, w in enumerate(self._weights) if mask >> i & 1)
                self._agreeing_weight[mask] = agreeing
            agreement = agreeing / voting_weight
        else:
            agreement = 0.0
        self._agreement = agreement
        return agreement

    def _reading(self) -> EnsembleReading | None:
        """The EnsembleReading of the last bar, from the values ``_step`` kept."""
        if not self._warm:
            return None
        score, agreement, regime = self._score, self._agreement_of_step(), self._regime
        magnitude = abs(score) * self._undamped[regime]
        evidence = magnitude * agreement
        return EnsembleReading(
            score=score,
            agreement=agreement,
            damping=self._dampening[regime],
            evidence=evidence,
            direction=math.copysign(magnitude, score) if score != 0.0 else 0.0,
            confidence=calibrated_confidence(evidence, self._center, self._slope),
            regime=regime,
            atr=self._atr,
            votes=self._vote_dict(),
        )

    def _vote_dict(self) -> dict[str, float]:
        names, votes = self._names, self._votes
        if len(names) == 1:
            return {names[0]: votes[0]}
        return dict(zip(names, votes))  # noqa: B905 - one vote per name, by construction

    @property
    def last_reading(self) -> EnsembleReading | None:
        """The combined reading of the last bar (None while any component is warming up)."""
        return self._reading()

    def evaluate(self, bar: Bar) -> EnsembleReading | None:
        """Feed ``bar`` to every component; the combined reading, or None while any one is warming up."""
        self._step(bar)
        return self._reading()

    def on_bar(self, bar: Bar) -> Signal | None:
        if not self._step(bar):
            self.suppressed[WARMUP] += 1
            return None
        score = self._score
        if score == 0.0:
            self.suppressed[SILENT] += 1
            return None
        magnitude = abs(score) * self._undamped[self._regime]
        direction = math.copysign(magnitude, score)
        if abs(direction) < self._min_direction:
            self.suppressed[WEAK_DIRECTION] += 1
            return None
        agreement = self._agreement_of_step()
        if agreement < self._min_agreement:
            self.suppressed[LOW_AGREEMENT] += 1
            return None
        confidence = calibrated_confidence(magnitude * agreement, self._center, self._slope)
        if confidence < self._min_confidence:
            self.suppressed[LOW_CONFIDENCE] += 1
            return None
        self.emitted += 1
        ts = bar.ts
        if bar.interval_s != self._interval_s:
            self._interval_s = bar.interval_s
            self._interval = timedelta(seconds=bar.interval_s)
        return Signal(
            bar.symbol, ts + self._interval, direction, confidence, self._regime, bar.close, self._atr,
            self.profile, self._vote_dict(), ts,
        )
