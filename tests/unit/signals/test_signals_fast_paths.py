"""The reading-free fast paths give exactly what the readings give.

``update_vote`` must equal ``update(bar).vote`` bit for bit (signs of zero included), and the ensemble's
signals and readings must equal a straightforward recomputation from the components' readings (the
formula of the ensemble's docstring, written out here the plain way) on the real ES week.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tradebot.domain.bars import Bar
from tradebot.domain.signals import Signal
from tradebot.signals import PROFILE_NAMES, ComponentReading, ComponentSpec, build_ensemble
from tradebot.signals.base import SignalComponent, VotingComponent
from tradebot.signals.breakout import BreakoutParams, DonchianBreakout
from tradebot.signals.ensemble import Ensemble, EnsembleReading, calibrated_confidence
from tradebot.signals.mean_reversion import MeanReversionParams, MeanReversionZ
from tradebot.signals.momentum import Momentum, MomentumParams
from tradebot.signals.params import EnsembleParams
from tradebot.signals.registry import make_component
from tradebot.signals.trend import TrendEma, TrendParams
from tradebot.signals.volatility import VolatilityParams, VolatilityRegime

FACTORIES: dict[str, Callable[[], VotingComponent]] = {
    "trend": lambda: TrendEma(TrendParams(fast=5, slow=12, scale_bps=3.0)),
    "momentum": lambda: Momentum(MomentumParams(roc_period=6, rsi_period=9, roc_weight=0.3)),
    "mean_reversion": lambda: MeanReversionZ(MeanReversionParams(window=15, z_entry=0.0, z_max=2.0)),
    "breakout": lambda: DonchianBreakout(BreakoutParams(period=10, base_strength=0.2)),
}


def _bits(value: float | None) -> tuple[float, float] | None:
    """The value with its sign of zero made visible (0.0 == -0.0, but copysign tells them apart)."""
    return None if value is None else (value, math.copysign(1.0, value))


def _wiggly_bars() -> list[Bar]:
    """Flat stretches (zero spreads, zero changes) between moves, to reach the zero and -0.0 corners."""
    start = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    closes = [100.0] * 40 + [100.0 + (i % 7) * 0.25 for i in range(60)] + [101.0] * 40 + [99.0] * 30
    return [Bar("X", start + timedelta(minutes=i), c, c + 0.5, c - 0.5, c, 1.0) for i, c in enumerate(closes)]


@pytest.mark.parametrize("kind", sorted(FACTORIES))
def test_update_vote_is_the_readings_vote(kind: str, es_bars: list[Bar]) -> None:
    for bars in (es_bars[:3000], _wiggly_bars()):
        by_reading, by_vote = FACTORIES[kind](), FACTORIES[kind]()
        assert isinstance(by_vote, VotingComponent)
        seen = 0
        for bar in bars:
            reading = by_reading.update(bar)
            expected = None if reading is None else reading.vote
            assert _bits(by_vote.update_vote(bar)) == _bits(expected)
            seen += reading is not None
        assert seen > 0


def test_volatility_advance_is_update_without_the_reading(es_bars: list[Bar]) -> None:
    params = VolatilityParams(atr_period=5, percentile_window=20)
    by_reading, by_advance = VolatilityRegime(params), VolatilityRegime(params)
    for bar in es_bars[:2000]:
        reading = by_reading.update(bar)
        assert by_advance.advance(bar) is (reading is not None)
        assert (by_advance.atr, by_advance.percentile, by_advance.regime) == (
            by_reading.atr, by_reading.percentile, by_reading.regime
        )
        if reading is not None:
            assert reading.values == {"atr": by_advance.atr, "percentile": by_advance.percentile}


def test_a_nan_vote_is_refused_like_the_reading() -> None:
    bar = Bar("X", datetime(2024, 1, 2, tzinfo=UTC), 1.0, 1.0, 1.0, 1.0, 1.0)
    trend = TrendEma(TrendParams(fast=2, slow=3))
    for _ in range(3):
        trend.update_vote(bar)
    with pytest.raises(ValueError, match="strength must be in"):
        trend.update_vote(replace(bar, close=math.nan))


class ReadingOnly:
    """A component as a third-party plugin may write it: ``update`` only, no ``update_vote``."""

    def __init__(self, inner: SignalComponent, name: str | None = None) -> None:
        self.inner = inner
        self.name = name or inner.name
        self.warmup_bars = inner.warmup_bars

    def update(self, bar: Bar) -> ComponentReading | None:
        return self.inner.update(bar)


def reference_run(
    params: EnsembleParams, components: list[tuple[ReadingOnly, float]], bars: list[Bar]
) -> list[tuple[Signal | None, EnsembleReading | None]]:
    """The ensemble formula computed the plain way, from readings, with a dict of votes by name."""
    volatility = VolatilityRegime(params.volatility)
    total = sum(w for _, w in components)
    out: list[tuple[Signal | None, EnsembleReading | None]] = []
    for bar in bars:
        warm = volatility.update(bar) is not None
        votes: dict[str, float] = {}
        for component, _ in components:
            component_reading = component.update(bar)
            if component_reading is None:
                warm = False
            else:
                votes[component.name] = component_reading.vote
        if not warm:
            out.append((None, None))
            continue
        weighted = voting = 0.0
        for c, w in components:  # plain loops, as the docstring's sums read
            weighted += w * votes[c.name]
            if votes[c.name] != 0.0:
                voting += w
        score = max(-1.0, min(1.0, weighted / total))
        agreeing = sum(w for c, w in components if votes[c.name] * score > 0.0)
        agreement = agreeing / voting if voting > 0.0 else 0.0
        regime, atr = volatility.regime, volatility.atr
        assert regime is not None and atr is not None
        damping = params.dampening[regime]
        magnitude = abs(score) * (1.0 - damping)
        evidence = magnitude * agreement
        direction = math.copysign(magnitude, score) if score != 0.0 else 0.0
        confidence = calibrated_confidence(evidence, params.calibration.center, params.calibration.slope)
        reading = EnsembleReading(score, agreement, damping, evidence, direction, confidence, regime, atr,
                                  dict(votes))
        emit = (score != 0.0 and abs(direction) >= params.min_direction
                and agreement >= params.min_agreement and confidence >= params.min_confidence)
        signal = Signal(bar.symbol, bar.end, direction, confidence, regime, bar.close, atr, params.profile,
                        dict(votes), bar.ts) if emit else None
        out.append((signal, reading))
    return out


def _components(params: EnsembleParams) -> list[tuple[SignalComponent, float]]:
    return [(make_component(s.name, s.params), s.weight) for s in params.components]


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_ensemble_equals_the_plain_formula(profile: str, es_bars: list[Bar]) -> None:
    params = build_ensemble(profile, "MES").params
    bars = es_bars[:4000]
    fast = Ensemble("MES", params, _components(params), VolatilityRegime(params.volatility))
    generic = Ensemble("MES", params, [(ReadingOnly(c), w) for c, w in _components(params)],
                       VolatilityRegime(params.volatility))
    expected = reference_run(params, [(ReadingOnly(c), w) for c, w in _components(params)], bars)
    emitted = 0
    for bar, (signal, reading) in zip(bars, expected, strict=True):
        for ensemble in (fast, generic):
            assert ensemble.on_bar(bar) == signal
            assert ensemble.last_reading == reading
        emitted += signal is not None
    assert emitted > 20
    assert fast.emitted == generic.emitted == emitted
    assert fast.suppressed == generic.suppressed and sum(fast.suppressed.values()) == len(bars) - emitted


def test_evaluate_returns_the_last_reading(es_bars: list[Bar]) -> None:
    ensemble = build_ensemble("aggressive", "MES")
    readings = [ensemble.evaluate(bar) for bar in es_bars[:400]]
    assert readings[0] is None and ensemble.last_reading == readings[-1] is not None
    assert readings[-1].votes.keys() == {"trend_ema", "momentum", "mean_reversion", "breakout"}


def test_components_sharing_a_name_share_the_last_vote(es_bars: list[Bar]) -> None:
    """Two components reporting one name: the votes-by-name semantics (the last one's vote counts for
    both, and the signal lists the name once) are kept."""
    base = build_ensemble("balanced", "MES").params
    params = base.model_copy(update={
        "components": (ComponentSpec(name="trend_ema", weight=0.6),
                       ComponentSpec(name="momentum", weight=0.4)),
        "min_direction": 0.0, "min_agreement": 0.0, "min_confidence": 0.0,
    })

    def same_name() -> list[tuple[ReadingOnly, float]]:
        return [(ReadingOnly(TrendEma(), "shared"), 0.6), (ReadingOnly(Momentum(), "shared"), 0.4)]

    ensemble = Ensemble("MES", params, same_name(), VolatilityRegime(params.volatility))
    expected = reference_run(params, same_name(), es_bars[:1500])
    signals = [ensemble.on_bar(bar) for bar in es_bars[:1500]]
    assert signals == [s for s, _ in expected]
    assert any(s is not None and list(s.components) == ["shared"] for s in signals)
